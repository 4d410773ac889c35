"""`/ws`: a snapshot (or the missed events), then every event in order.

Order of work on connect matters: subscribe to the bus first, then read the snapshot (or the
durable log after `since`), then send live events whose `seq` is beyond what was already sent.
Events published while the snapshot was being read sit in the subscriber's queue, and the seq
filter drops those already included: no gap, no duplicate.

A client that closes is noticed by its reader; one that vanished without closing (a screen
losing power) by the next send failing: an event, or the bus's heartbeat (`{"type": "ping"}`
every 25 s), which also lets a screen tell a quiet hall from a dead connection.

Back-pressure: each client has a bounded queue (events.Bus). Its overflow cancels the sending
loop at once, even while a send is blocked on a client that stopped
reading; the client is then told to resync if its socket still takes data, and closed. A screen
that comes back reconnects with `since` and misses nothing.

Two doors, one stream: `/ws` is public (screens, pads, tablets, phones) and leaves out what
`hall.events.public_message` says is private (好差评, 差评 and 办不成事 alarms and case steps);
`/ws/manage` sends every event, to a manager's or admin's session only (the session cookie is
checked on connect, and again on every heartbeat, so a logout or a deactivated account ends
it within one heartbeat). We chose an authenticated WebSocket over polling so the manager
pages keep showing a new rating or alarm the moment it happens, with the same resume-by-seq.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

from starlette.websockets import WebSocket, WebSocketDisconnect

from hall.api import MANAGER_ROLES
from hall.auth import COOKIE
from hall.events import HEARTBEAT, Subscriber, public_message
from hall.service import HallService
from hall.store import Event

Render = Callable[[Event], str | None]
Check = Callable[[], Awaitable[bool]]

REPLAY_LIMIT = 5000
RESYNC = json.dumps({"type": "resync"})
PING = json.dumps({"type": "ping"})


async def websocket_endpoint(ws: WebSocket) -> None:
    await _serve(ws, public_message, None)


async def manage_endpoint(ws: WebSocket) -> None:
    """Every event, for managers: refused (HTTP 403 on the handshake) without their session,
    or when opened by a page of another site (a browser sends the cookie along, so the Origin
    must be this server's own)."""
    cookie = ws.cookies.get(COOKIE)
    origin = ws.headers.get("origin")
    if origin is not None and urlsplit(origin).netloc != ws.headers.get("host"):
        await ws.close(code=1008)
        return

    async def allowed() -> bool:
        session = await ws.app.state.auth.session(cookie)
        return session is not None and session.role in MANAGER_ROLES

    if not await allowed():
        await ws.close(code=1008)
        return
    await _serve(ws, Event.message, allowed)


async def _serve(ws: WebSocket, render: Render, check: Check | None) -> None:
    service: HallService = ws.app.state.service
    since_raw = ws.query_params.get("since")
    await ws.accept()
    sub = service.bus.subscribe()
    sender = asyncio.create_task(_send_all(ws, service, sub, since_raw, render, check))
    sub.on_overflow = sender.cancel
    reader = asyncio.create_task(_drain_incoming(ws))
    try:
        await asyncio.wait({sender, reader}, return_when=asyncio.FIRST_COMPLETED)
        if sub.overflowed:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(ws.send_text(RESYNC), 1.0)
    finally:
        service.bus.unsubscribe(sub)
        sender.cancel()
        reader.cancel()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(ws.close(), 1.0)


async def _send_all(ws: WebSocket, service: HallService, sub: Subscriber,
                    since_raw: str | None, render: Render, check: Check | None) -> None:
    with contextlib.suppress(WebSocketDisconnect, RuntimeError, OSError):
        if since_raw is not None and since_raw.isdigit():
            since = int(since_raw)
            replay = await service.events_since(since, REPLAY_LIMIT + 1)
            if len(replay) > REPLAY_LIMIT or since > await service.last_seq():
                await ws.send_text(RESYNC)
                return
            for event in replay:
                text = render(event)
                if text is not None:
                    await ws.send_text(text)
            sent = replay[-1].seq if replay else since
        else:
            snapshot = await service.hall_snapshot()
            sent = snapshot["seq"]
            await ws.send_text(json.dumps({"type": "snapshot", "seq": sent, "data": snapshot},
                                          ensure_ascii=False, separators=(",", ":")))
        while True:
            event = await sub.queue.get()
            if event is HEARTBEAT:
                if check is not None and not await check():
                    return  # logged out or deactivated: the endpoint closes the socket
                await ws.send_text(PING)
            elif event.seq > sent:
                text = render(event)
                if text is not None:
                    await ws.send_text(text)
                sent = event.seq


async def _drain_incoming(ws: WebSocket) -> None:
    """Screens send nothing; reading still matters: it is how a closed connection (and a
    server shutting down) ends the endpoint at once."""
    with contextlib.suppress(WebSocketDisconnect, RuntimeError):
        while True:
            message = await ws.receive()
            if message["type"] == "websocket.disconnect":
                return
