"""HTTP routes of 好差评 and 办不成事 (hall/ratings.py and hall/cases.py do the work).

Thin like hall/api.py: read and check the request, find the caller, call one `Feedback`
function, answer. Public routes never return a contact, a ticket token other than the caller's
own, or which ticket gave which rating; manager lists take `?format=csv` via `as_list`.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from hall import errors
from hall.api import as_list, clerk_of, manager_of, ok, query_date, query_int, read_json, reader_of
from hall.desk import reject_unknown
from hall.feedback import Feedback
from hall.guard import client_of, rater_of
from hall.ratings import EVALUATE_FIELDS, RATING_FIELDS


def _feedback(request: Request) -> Feedback:
    return request.app.state.feedback


def _period(request: Request) -> tuple[date, date]:
    """`from`/`to` (inclusive); by default the month so far, the period halls report on."""
    today = _feedback(request).service.clock().astimezone(_feedback(request).tz).date()
    end = query_date(request, "to") or today
    start = query_date(request, "from") or end.replace(day=1)
    return start, end


# ---------------------------------------------------------------- citizens


async def rating_form(request: Request) -> Response:
    return ok(_feedback(request).form())


async def rate_ticket(request: Request) -> Response:
    fb = _feedback(request)
    body = await read_json(request)
    reject_unknown(body, RATING_FIELDS)
    invited = body.get("invited", False)
    if not isinstance(invited, bool):
        raise errors.invalid("是否邀请评价只能是 是 或 否", "invalid_invited", "invited")
    inp = fb.check_rating(body.get("level"), body.get("reasons"), body.get("comment"),
                          body.get("indicators"), body.get("contact"))
    return ok(await fb.rate_ticket(request.path_params["token"], inp, invited), 201)


async def follow_up(request: Request) -> Response:
    return ok(await _feedback(request).ticket_follow_up(request.path_params["token"]))


async def fix_rating(request: Request) -> Response:
    body = await read_json(request)
    return ok(await _feedback(request).review_fix(request.path_params["token"], body,
                                                  client_of(request)), 201)


async def evaluate_info(request: Request) -> Response:
    return ok(await _feedback(request).evaluate_info(request.path_params["window"]))


async def evaluate(request: Request) -> Response:
    """Only the window's own tablet (device credential) or the window's session may rate here
    (issue 9.1: anyone on the public /ws could rate the citizen just served)."""
    await rater_of(request, request.path_params["window"])
    fb = _feedback(request)
    body = await read_json(request)
    reject_unknown(body, EVALUATE_FIELDS)
    if not isinstance(body.get("number"), str):
        raise errors.invalid("请说明待评价的号码，如 A005", "invalid_number", "number")
    inp = fb.check_rating(body.get("level"), body.get("reasons"), body.get("comment"),
                          body.get("indicators"))
    return ok(await fb.rate_pending(request.path_params["window"], body["number"], inp), 201)


async def complain(request: Request) -> Response:
    return ok(await _feedback(request).open_complaint(await read_json(request)), 201)


# ---------------------------------------------------------------- clerks


async def window_complaint(request: Request) -> Response:
    number = request.path_params["n"]
    session = await clerk_of(request, number)
    body = await read_json(request)
    return ok(await _feedback(request).open_window_complaint(
        number, session.actor(client_of(request)), body), 201)


async def window_ratings(request: Request) -> Response:
    number = request.path_params["n"]
    await reader_of(request, number)
    return ok(await _feedback(request).window_ratings(number))


# ---------------------------------------------------------------- managers


async def manage_ratings(request: Request) -> Response:
    await manager_of(request)
    start, end = _period(request)
    rows = await _feedback(request).ratings(
        start, end, window=query_int(request, "window"), level=query_int(request, "level"),
        channel=request.query_params.get("channel") or None)
    return as_list(request, "ratings", rows)


def _case_routes(kind: str, plural: str) -> list[BaseRoute]:
    async def listing(request: Request) -> Response:
        await manager_of(request)
        open_only = request.query_params.get("open") in ("1", "true")
        rows = await _feedback(request).cases(
            kind, start=query_date(request, "from"), end=query_date(request, "to"),
            status=request.query_params.get("status") or None,
            window=query_int(request, "window"), open_only=open_only)
        return as_list(request, plural, rows)

    async def one(request: Request) -> Response:
        await manager_of(request)
        return ok(await _feedback(request).case(kind, request.path_params["id"]))

    async def action(request: Request) -> Response:
        session = await manager_of(request)
        fb = _feedback(request)
        actor = session.actor(client_of(request))
        name = request.path_params["action"]
        case_id = request.path_params["id"]
        if name == "reveal":
            return ok(await fb.reveal_contact(kind, case_id, actor))
        body: dict[str, Any] = await read_json(request, required=False)
        if kind == "rectification":
            return ok(await fb.rectification_step(case_id, name, actor, body))
        return ok(await fb.complaint_step(case_id, name, actor, body))

    base = f"/api/manage/{plural}"
    return [
        Route(base, listing, methods=["GET"]),
        Route(base + "/{id:int}", one, methods=["GET"]),
        Route(base + "/{id:int}/{action}", action, methods=["POST"]),
    ]


async def manage_figures(request: Request) -> Response:
    await manager_of(request)
    start, end = _period(request)
    return ok(await _feedback(request).figures(start, end))


def routes() -> list[BaseRoute]:
    return [
        Route("/api/ratings/form", rating_form, methods=["GET"]),
        Route("/api/tickets/{token}/rating", rate_ticket, methods=["POST"]),
        Route("/api/tickets/{token}/follow-up", follow_up, methods=["GET"]),
        Route("/api/tickets/{token}/fix-rating", fix_rating, methods=["POST"]),
        Route("/api/evaluate/{window:int}", evaluate_info, methods=["GET"]),
        Route("/api/evaluate/{window:int}", evaluate, methods=["POST"]),
        Route("/api/complaints", complain, methods=["POST"]),
        Route("/api/windows/{n:int}/complaint", window_complaint, methods=["POST"]),
        Route("/api/windows/{n:int}/ratings", window_ratings, methods=["GET"]),
        Route("/api/manage/ratings", manage_ratings, methods=["GET"]),
        *_case_routes("rectification", "rectifications"),
        *_case_routes("complaint", "complaints"),
        Route("/api/manage/figures", manage_figures, methods=["GET"]),
    ]
