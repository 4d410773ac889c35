"""The alarm routes: the live list and its history (`GET /api/manage/alarms`, also as CSV) and
acknowledging one (`POST /api/manage/alarms/{id}/ack`). Managers and admins only; the rules
are in hall.alarm_desk."""

from __future__ import annotations

from datetime import date

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from hall.alarm_desk import AlarmDesk
from hall.api import as_list, manager_of, ok, query_date, read_json
from hall.desk import reject_unknown
from hall.guard import client_of


def _desk(request: Request) -> AlarmDesk:
    return request.app.state.alarms


def _days(request: Request) -> tuple[date, date]:
    """`from` / `to` (hall days); either alone means that one day, neither means today."""
    today = request.app.state.service.clock().astimezone(request.app.state.service.tz).date()
    first, last = query_date(request, "from"), query_date(request, "to")
    first = first or last or today
    return first, last or first


async def manage_alarms(request: Request) -> Response:
    """The alarms whose condition holds (acknowledged or not); with `?history=1`, every alarm
    raised on the days `from`..`to`, filtered by `kind` and `status`."""
    await manager_of(request)
    desk = _desk(request)
    if request.query_params.get("history") not in (None, "", "0"):
        first, last = _days(request)
        params = request.query_params
        rows = await desk.history(first, last, params.get("kind") or None,
                                  params.get("status") or None)
    else:
        rows = await desk.active()
    return as_list(request, "alarms", rows)


async def ack_alarm(request: Request) -> Response:
    session = await manager_of(request)
    body = await read_json(request, required=False)
    reject_unknown(body, {"note"})
    return ok(await _desk(request).ack(request.path_params["id"],
                                       session.actor(client_of(request)), body.get("note")))


def routes() -> list[BaseRoute]:
    return [
        Route("/api/manage/alarms", manage_alarms, methods=["GET"]),
        Route("/api/manage/alarms/{id:int}/ack", ack_alarm, methods=["POST"]),
    ]

