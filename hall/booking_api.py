"""HTTP routes of appointments, check-in and 云取号 (hall/appointments.py does the work).

Thin like hall/api.py. Public answers carry what the citizen typed back only masked (the name
as 张*三) and never the ID number or the phone; the booking's token and code go only to the
person who booked (the answer to their own request, their own page). Booking, 云取号 and
check-in count against the ticket limits of the client (hall.guard `take_ticket`, issue 9.2):
the per-person limits stop one person booking too much, these stop one address guessing codes
or booking for a crowd.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from hall import errors
from hall.api import as_list, manager_of, ok, query_date, read_json
from hall.appointments import Appointments
from hall.guard import client_of, kiosk_of, take_ticket


def _desk(request: Request) -> Appointments:
    return request.app.state.appointments


async def overview(request: Request) -> Response:
    return ok(await _desk(request).overview())


async def days(request: Request) -> Response:
    return ok({"days": await _desk(request).days(request.query_params.get("service"))})


async def slots(request: Request) -> Response:
    return ok(await _desk(request).slots(request.query_params.get("service"),
                                         query_date(request, "date")))


async def book(request: Request) -> Response:
    _desk(request)._require_on()
    await take_ticket(request)
    body = await read_json(request)
    return ok(await _desk(request).book(body, client_of(request)), 201)


async def appointment(request: Request) -> Response:
    desk = _desk(request)
    token = request.path_params["token"]
    if request.method == "DELETE":
        return ok(await desk.cancel(token, client_of(request)))
    if request.method == "PATCH":
        body = await read_json(request)
        if set(body) - {"start"}:
            raise errors.invalid("只能更改预约时段", "unknown_field", ",".join(sorted(body)))
        return ok(await desk.change(token, body.get("start"), client_of(request)))
    return ok(await desk.get(token))


async def check_in(request: Request) -> Response:
    """201 with the new ticket for a booking; 200 with the ticket made callable for a phone
    ticket (no new number)."""
    _desk(request)._require_on()
    await take_ticket(request)
    body = await read_json(request, required=False)
    if set(body) - {"kiosk"}:
        raise errors.invalid("请求中有无法识别的内容", "unknown_field", ",".join(sorted(body)))
    ticket, issued = await _desk(request).check_in(request.path_params["code"],
                                                   body.get("kiosk"), client_of(request))
    return ok(ticket, 201 if issued else 200)


async def check_in_by_id(request: Request) -> Response:
    """Check-in with the ID card on this kiosk's reader: `{"id_read": token}` as the kiosk
    page got it over /ws/kiosk (the number itself never reaches the page). Only an enrolled
    kiosk has reads, so the kiosk is the device credential's, never a body field."""
    desk = _desk(request)
    desk._require_on()
    await take_ticket(request)
    body = await read_json(request)
    if set(body) - {"id_read"}:
        raise errors.invalid("请求中有无法识别的内容", "unknown_field", ",".join(sorted(body)))
    kiosk = await kiosk_of(request)
    reads = request.app.state.card_reads
    token = body.get("id_read")
    read = reads.take(kiosk, token, None, "id_read")
    try:
        ticket, issued = await desk.check_in_by_id(read.id_number.number, kiosk,
                                                   client_of(request))
    except errors.HallError:
        reads.release(token, None)  # the person may still take a walk-in ticket with it
        raise
    return ok(ticket, 201 if issued else 200)


async def late(request: Request) -> Response:
    return ok(await _desk(request).late(request.path_params["token"], client_of(request)))


async def phone_ticket(request: Request) -> Response:
    _desk(request)._require_on()
    await take_ticket(request)
    body = await read_json(request)
    return ok(await _desk(request).take_phone_ticket(body, client_of(request)), 201)


# ---------------------------------------------------------------- managers


async def manage_list(request: Request) -> Response:
    await manager_of(request)
    day = query_date(request, "date") or _desk(request).service.clock().astimezone(
        _desk(request).tz).date()
    return as_list(request, "appointments", await _desk(request).manage_list(day))


async def manage_reveal(request: Request) -> Response:
    session = await manager_of(request)
    return ok(await _desk(request).reveal(request.path_params["id"],
                                          session.actor(client_of(request))))


async def manage_figures(request: Request) -> Response:
    await manager_of(request)
    desk = _desk(request)
    today = desk.service.clock().astimezone(desk.tz).date()
    last = query_date(request, "to") or today
    first = query_date(request, "from") or last.replace(day=1)
    return as_list(request, "figures", await desk.figures(first, last))


def routes() -> list[BaseRoute]:
    return [
        Route("/api/booking", overview, methods=["GET"]),
        Route("/api/booking/days", days, methods=["GET"]),
        Route("/api/slots", slots, methods=["GET"]),
        Route("/api/appointments", book, methods=["POST"]),
        Route("/api/appointments/{token}", appointment, methods=["GET", "PATCH", "DELETE"]),
        Route("/api/appointments/id-check-in", check_in_by_id, methods=["POST"]),
        Route("/api/appointments/{code}/check-in", check_in, methods=["POST"]),
        Route("/api/appointments/{token}/late", late, methods=["POST"]),
        Route("/api/phone-tickets", phone_ticket, methods=["POST"]),
        Route("/api/manage/appointments", manage_list, methods=["GET"]),
        Route("/api/manage/appointments/figures", manage_figures, methods=["GET"]),
        Route("/api/manage/appointments/{id:int}/reveal", manage_reveal, methods=["POST"]),
    ]
