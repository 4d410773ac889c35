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

A live event reaches a screen whose sender waits with nothing queued by a frame written
straight to its connection while the publisher goes through the subscribers (hall/ws_direct.py:
a task step per screen was most of a call's cost at 5,000 screens); whenever that cannot be
done in order (a send in hand, a paused transport, a closing socket) the event takes the queue.

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
from hall.ws_direct import EXTENSION, FrameWriter
from hall.ws_frames import text_frame

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
        sent = await _replay(ws, service, since_raw, render)
        if sent is None:
            snapshot = await service.hall_snapshot()
            sent = snapshot["seq"]
            await ws.send_text(json.dumps({"type": "snapshot", "seq": sent, "data": snapshot},
                                          ensure_ascii=False, separators=(",", ":")))
        frames: FrameWriter | None = (ws.scope.get("extensions") or {}).get(EXTENSION)

        def deliver(event: Event) -> bool:
            """Straight to the transport (hall/ws_direct.py), called by the publisher while
            this loop waits with its queue empty, so nothing sent before it is still queued."""
            nonlocal sent
            if event.seq <= sent:
                return True
            text = render(event)
            if text is not None:
                frame = event.frame() if text is event.message() else text_frame(text.encode())
                if frames is None or not frames.write(frame):
                    return False
            sent = event.seq
            return True

        while True:
            sub.direct = deliver if frames is not None else None
            try:
                event = await sub.queue.get()
            finally:
                sub.direct = None
            if event is HEARTBEAT:
                if check is not None and not await check():
                    return  # logged out or deactivated: the endpoint closes the socket
                await ws.send_text(PING)
            elif event.seq > sent:
                text = render(event)
                if text is not None:
                    await ws.send_text(text)
                sent = event.seq


async def _replay(ws: WebSocket, service: HallService, since_raw: str | None,
                  render: Render) -> int | None:
    """Replay the events after `since`; the seq sent last, or None when a snapshot is needed.

    A `since` the log cannot answer exactly (beyond its last event: the server's database was
    replaced; before its oldest kept one; or more than REPLAY_LIMIT behind) gets
    `{"type": "resync"}` and then a fresh snapshot on the same connection (issue 9.5: it used
    to be closed after the resync, which looked like a silent close to a simple client)."""
    if since_raw is None or not since_raw.isascii() or not since_raw.isdigit():
        return None
    if len(since_raw) > 15:  # beyond any seq; and SQLite's integers
        await ws.send_text(RESYNC)
        return None
    since = int(since_raw)
    replay = await service.events_since(since, REPLAY_LIMIT + 1)
    gap = bool(replay) and replay[0].seq != since + 1
    if gap or len(replay) > REPLAY_LIMIT or since > await service.last_seq():
        await ws.send_text(RESYNC)
        return None
    for event in replay:
        text = render(event)
        if text is not None:
            await ws.send_text(text)
    return replay[-1].seq if replay else since


async def _drain_incoming(ws: WebSocket) -> None:
    """Screens send nothing; reading still matters: it is how a closed connection (and a
    server shutting down) ends the endpoint at once. What a client may send is capped by the
    server (`[hall] ws_max_message_bytes`, uvicorn's `ws_max_size`): a bigger message closes
    the connection with 1009 before it is buffered (issue 9.5: 16 MiB used to be accepted)."""
    with contextlib.suppress(WebSocketDisconnect, RuntimeError):
        while True:
            message = await ws.receive()
            if message["type"] == "websocket.disconnect":
                return
