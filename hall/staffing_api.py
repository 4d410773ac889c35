"""Runtime staffing over HTTP (managers and admins; design.md "Management additions"):

* `POST  /api/manage/windows` `{"number"?, "name", "queues": [...], "order"?}` → 201, a
  temporary window (潮汐窗口);
* `PATCH /api/manage/windows/{n}` `queues` / `order` / `closed` (the route is hall/api.py's,
  beside `force_logout` and `assign`; it hands these to `StaffingDesk.change_window`);
* `GET   /api/manage/queues`, `PATCH /api/manage/queues/{id}` `{"daily_cap", "open_until_empty"}`.

The rules and their Chinese refusals are in hall/staffing.py, the transactions in
hall/staffing_desk.py.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from hall.api import as_list, manager_of, ok, read_json
from hall.guard import client_of
from hall.staffing_desk import StaffingDesk


def desk(request: Request) -> StaffingDesk:
    return request.app.state.staffing


async def open_window(request: Request) -> Response:
    session = await manager_of(request)
    body = await read_json(request)
    return ok(await desk(request).open_window(body, session.actor(client_of(request))), 201)


async def queues(request: Request) -> Response:
    await manager_of(request)
    return as_list(request, "queues", await desk(request).queues())


async def change_queue(request: Request) -> Response:
    session = await manager_of(request)
    body = await read_json(request)
    return ok(await desk(request).change_queue(request.path_params["id"], body,
                                               session.actor(client_of(request))))


def routes() -> list[BaseRoute]:
    return [
        Route("/api/manage/windows", open_window, methods=["POST"]),
        Route("/api/manage/queues", queues, methods=["GET"]),
        Route("/api/manage/queues/{id}", change_queue, methods=["PATCH"]),
    ]
