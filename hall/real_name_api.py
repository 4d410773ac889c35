"""HTTP and WebSocket routes of 实名取号 (the rules are hall/real_name.py).

* `WS /ws/kiosk`: an enrolled kiosk's page learns of each ID card read at its own reader.
  Why a WebSocket of its own and not `/ws`: `/ws` is public (any phone in the hall may open
  it), and a card read is one person's. This door is opened only by a browser holding a
  kiosk's device credential (the `hall_device` cookie or `X-Hall-Device` header of
  hall/credentials.py), checked again on every heartbeat (a removed kiosk is cut off
  within one), and it carries only that kiosk's reads, masked (张*三, 110***********1234),
  with a token that stands for the read (hall/card_reads.py); the number never reaches the
  browser. A WebSocket rather than a long poll: the read must show the moment the card
  touches the reader, and the kiosk page already lives on sockets.
* `GET /api/manage/real-name?from=&to=`: the real-name tickets of those days as managers
  see them: masked names and numbers, who took it, whether the card was read.
* `POST /api/manage/tickets/{id}/reveal {"reason"}`: the full name and number of one
  ticket's people, for a manager with a reason (a complaint, a police request); the reveal
  and its reason are written to the audit log in the same transaction as the read.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from hall import errors, real_name
from hall.api import manager_of, ok, query_date, read_json
from hall.card_reads import CardReads
from hall.credentials import COOKIE, HEADER
from hall.guard import client_of
from hall.model import STATE_NAMES, State
from hall.numbering import hall_day
from hall.sealed import Sealer
from hall.service import HallService, audit
from hall.store import Tx

REASON_MAX = 200


def people_for(service: HallService) -> tuple[CardReads, real_name.People]:
    """The card reads of the hall's kiosks and the sealer of real-name tickets (the same key
    file as the feedback contacts, hall/sealed.py)."""
    config = service.config
    reads = CardReads(config.real_name.read_seconds, config.real_name.elderly_age,
                      lambda: hall_day(service.clock(), service.tz))
    sealer = Sealer(service.store.key_path)
    return reads, real_name.People(config, sealer, reads)


# ---------------------------------------------------------------- the kiosk's own socket


async def kiosk_endpoint(ws: WebSocket) -> None:
    origin = ws.headers.get("origin")
    if origin is not None and urlsplit(origin).netloc != ws.headers.get("host"):
        await ws.close(code=1008)
        return
    secret = ws.headers.get(HEADER) or ws.cookies.get(COOKIE)
    credentials = ws.app.state.credentials

    async def kiosk() -> str | None:
        device = await credentials.device(secret)
        return device.name if device is not None and device.kind == "kiosk" else None

    name = await kiosk()
    if name is None:
        await ws.close(code=1008)
        return
    service: HallService = ws.app.state.service
    reads: CardReads = ws.app.state.card_reads
    await ws.accept()
    queue = reads.subscribe(name)
    sender = asyncio.create_task(_send(ws, reads, queue, name, kiosk,
                                       service.config.hall.ws_heartbeat_seconds))
    receiver = asyncio.create_task(_drain(ws))
    try:
        await asyncio.wait({sender, receiver}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        reads.unsubscribe(name, queue)
        sender.cancel()
        receiver.cancel()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(ws.close(), 1.0)


async def _send(ws: WebSocket, reads: CardReads, queue: asyncio.Queue[dict[str, Any]],
                name: str, still: Callable[[], Awaitable[str | None]],
                heartbeat: float) -> None:
    with contextlib.suppress(WebSocketDisconnect, RuntimeError, OSError):
        await ws.send_json({"type": "hello", "kiosk": name, "reader": reads.reader_health(name)})
        while True:
            try:
                message = await asyncio.wait_for(queue.get(), heartbeat)
            except TimeoutError:
                if await still() != name:
                    return  # the kiosk was removed (`hall device remove`)
                message = {"type": "ping", "reader": reads.reader_health(name)}
            await ws.send_json(message)


async def _drain(ws: WebSocket) -> None:
    with contextlib.suppress(WebSocketDisconnect, RuntimeError):
        while True:
            if (await ws.receive())["type"] == "websocket.disconnect":
                return


# ---------------------------------------------------------------- managers


def _people(request: Request) -> real_name.People:
    return request.app.state.people


def _service(request: Request) -> HallService:
    return request.app.state.service


async def manage_list(request: Request) -> Response:
    await manager_of(request)
    service = _service(request)
    today = hall_day(service.clock(), service.tz)
    last = query_date(request, "to") or today
    first = query_date(request, "from") or last
    if last < first:
        raise errors.bad_request("结束日期不能早于开始日期", "invalid_query", "to")
    sealer = _people(request).sealer

    def read(conn: sqlite3.Connection) -> list[dict[str, Any]]:
        rows = conn.execute(
            "SELECT t.id, t.day, t.number, t.service, t.state, t.priority, t.priority_by, p.* "
            "FROM ticket_people p JOIN tickets t ON t.id = p.ticket_id "
            "WHERE p.day BETWEEN ? AND ? ORDER BY t.day, t.id",
            (first.isoformat(), last.isoformat())).fetchall()
        return [{"id": r["id"], "day": r["day"], "number": r["number"],
                 "service": r["service"], "service_name": service.config.service(r["service"]).name
                 if service.config.has_service(r["service"]) else r["service"],
                 "state_name": STATE_NAMES[State(r["state"])], "priority": r["priority"],
                 "priority_by": r["priority_by"], **real_name.masked_row(sealer, r)}
                for r in rows]

    return ok({"tickets": await service.store.read(read)})


async def manage_reveal(request: Request) -> Response:
    session = await manager_of(request)
    ticket_id = request.path_params["id"]
    body = await read_json(request)
    reason = body.get("reason")
    if not isinstance(reason, str) or not reason.strip():
        raise errors.invalid("请写明查看实名信息的原因", "reason_required", "reason")
    if len(reason) > REASON_MAX:
        raise errors.invalid(f"原因不能超过 {REASON_MAX} 个字", "reason_too_long", "reason")
    service = _service(request)
    sealer = _people(request).sealer
    actor = session.actor(client_of(request))

    def op(tx: Tx) -> dict[str, Any] | None:
        row = tx.one("SELECT t.day, t.number, p.* FROM ticket_people p JOIN tickets t "
                     "ON t.id = p.ticket_id WHERE p.ticket_id = ?", (ticket_id,))
        if row is None:
            audit(tx, actor, "ticket.reveal_person", f"ticket:{ticket_id}", False,
                  reason.strip())
            return None
        audit(tx, actor, "ticket.reveal_person", f"{row['day']} {row['number']}", True,
              reason.strip())
        return {"id": ticket_id, "day": row["day"], "number": row["number"],
                **real_name.revealed_row(sealer, row)}

    revealed = await service.store.write(op, service.clock())
    if revealed is None:
        raise errors.not_found("这张号票没有实名信息", "no_real_name")
    return ok(revealed)


def routes() -> list[BaseRoute]:
    return [
        WebSocketRoute("/ws/kiosk", kiosk_endpoint),
        Route("/api/manage/real-name", manage_list, methods=["GET"]),
        Route("/api/manage/tickets/{id:int}/reveal", manage_reveal, methods=["POST"]),
    ]

