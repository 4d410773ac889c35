"""Sending a live event to thousands of screens without a task step per screen.

Why: a call reaches every hall screen, window tablet and phone page at once. Through the
ordinary path each of them costs a wake-up of its sender task, Starlette's and uvicorn's send
layers and a WebSocket frame built for it alone: ~16 µs of Python per screen, which at 5,000
screens was the largest part of the time from a call to the last screen (bench/cluster.py,
docs/bench-cluster.md). A server-to-client text frame is the same bytes for every screen (no
mask, and compression is off: hall/cli.py), so it is built once per event (`Event.frame`,
hall/ws_frames.py) and
written straight to each connection's transport while the publisher goes through the
subscribers (hall/events.py `Subscriber.offer`).

The seam is an ASGI extension, not a reach into private attributes from hall/ws.py:
`DirectFrames`, the first middleware of the app, sees the server's own `send` and, when it is
uvicorn's sans-I/O WebSocket protocol (the one hall/cli.py chooses), offers a `FrameWriter` as
`scope["extensions"]["hall.frames"]`. Under any other server, or a test client, the extension
is absent and every message takes the ordinary path.

A frame is written only when nothing could be out of order or lost by it (`FrameWriter.write`
answers False otherwise, and the event goes to the subscriber's queue as before): the
handshake is done, no close was sent or received, and the transport is not paused for a
client that stopped reading. That pause is the back-pressure the queue path has too (uvicorn
waits for `writable` there): the queue fills, overflows, and the screen is told to resync.
"""

from __future__ import annotations

from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send

EXTENSION = "hall.frames"

try:  # the server hall/cli.py runs; without it, every message takes the ordinary path
    from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
    from websockets.protocol import State
except ImportError:  # pragma: no cover
    WebSocketsSansIOProtocol = None  # type: ignore[assignment,misc]


class FrameWriter:
    """One accepted WebSocket's transport, for frames built once for many connections."""

    __slots__ = ("_protocol",)

    def __init__(self, protocol: Any) -> None:
        self._protocol = protocol

    def write(self, frame: bytes) -> bool:
        """Write `frame` now; False (nothing written) when it cannot go out at once in order:
        the caller sends it the ordinary way, which waits or gives up as uvicorn decides."""
        p = self._protocol
        if (not p.handshake_complete or p.close_sent or p.disconnected
                or not p.writable.is_set() or p.conn.state is not State.OPEN
                or p.transport is None or p.transport.is_closing()):
            return False
        p.transport.write(frame)
        return True


class DirectFrames:
    """ASGI middleware: offers a `FrameWriter` to WebSocket endpoints when the server's
    `send` is uvicorn's sans-I/O protocol. Installed first, so `send` is still the server's."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket" and WebSocketsSansIOProtocol is not None:
            protocol = getattr(send, "__self__", None)
            extensions = scope.get("extensions")
            if extensions is None:
                extensions = scope["extensions"] = {}
            if isinstance(protocol, WebSocketsSansIOProtocol) and EXTENSION not in extensions:
                extensions[EXTENSION] = FrameWriter(protocol)
        await self.app(scope, receive, send)
