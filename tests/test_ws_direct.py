"""A call written straight to every screen's connection (hall/ws_direct.py): the frame is what a
WebSocket client reads, the server the hall runs under offers the seam, screens get every
event in order through it, and a screen that stopped reading is not written to."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import threading
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import httpx
import pytest
import uvicorn
import websockets
from hypothesis import given, settings
from hypothesis import strategies as st
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket
from websockets.frames import Frame, Opcode
from websockets.streams import StreamReader

from hall.events import public_message
from hall.store import Event
from hall.ws_direct import EXTENSION, DirectFrames, FrameWriter
from hall.ws_frames import text_frame
from tests.clocked import TZ, ClockedServer
from tests.conftest import free_port


def parse_frames(data: bytes) -> list[Frame]:
    """Frames as the `websockets` library's own parser reads them off the wire (as a client:
    a server's frames are unmasked)."""
    reader = StreamReader()
    reader.feed_data(data)
    reader.feed_eof()
    frames: list[Frame] = []
    while reader.buffer:
        parser = Frame.parse(reader.read_exact, mask=False)
        try:
            next(parser)
        except StopIteration as done:
            frames.append(done.value)
        else:
            raise AssertionError("a frame was cut short")
    return frames


@settings(max_examples=200, deadline=None)
@given(st.one_of(st.text(max_size=300),
                 st.integers(0, 3).map(lambda k: "号" * (125 + k)),  # 7-bit length's edge
                 st.sampled_from([65535, 65536, 70000]).map(lambda n: "a" * n)))
def test_a_frame_is_what_a_websocket_client_reads(text: str) -> None:
    frames = parse_frames(text_frame(text.encode()))
    assert len(frames) == 1
    assert frames[0].opcode is Opcode.TEXT and frames[0].fin
    assert frames[0].data.decode() == text


def test_screens_get_every_call_in_order_written_straight_to_them(tmp_path: Path) -> None:
    """Forty screens on the hall's own server (uvicorn's sans-I/O WebSockets, as `hall serve`
    runs): each waits with the seam offered, and each receives the snapshot and then every
    ticket and call in seq order, none twice."""
    server = ClockedServer(tmp_path, _now()).start()
    try:
        clerk = server.login("clerk1", 1)

        async def run() -> None:
            screens = [await websockets.connect(server.ws_url) for _ in range(40)]
            starts = [json.loads(await asyncio.wait_for(ws.recv(), 10))["seq"]
                      for ws in screens]
            subscribers = list(server.app.state.service.bus._subscribers)
            assert len(subscribers) == 40
            for _ in range(100):  # each sender, back to waiting after anything published
                if all(sub.direct is not None for sub in subscribers):
                    break
                await asyncio.sleep(0.02)
            else:
                raise AssertionError("the screens are not offered the direct seam")

            async with httpx.AsyncClient(base_url=server.url, timeout=20) as kiosk:
                for _ in range(3):
                    await asyncio.gather(*(kiosk.post("/api/tickets",
                                                      json={"service": "yibao-card"})
                                           for _ in range(10)))
            called = await asyncio.to_thread(clerk.post, "/api/windows/1/call")
            assert called.status_code == 200
            owed = [r["seq"] for r in server.rows(
                "SELECT seq, time, type, data FROM events WHERE seq > ? ORDER BY seq",
                (min(starts),))
                    if public_message(Event(r["seq"], r["time"], r["type"],
                                            json.loads(r["data"]))) is not None]
            for ws, start in zip(screens, starts, strict=True):
                got = []
                for _ in [seq for seq in owed if seq > start]:
                    got.append(json.loads(await asyncio.wait_for(ws.recv(), 10)))
                assert [e["seq"] for e in got] == [seq for seq in owed if seq > start]
                assert sum(e["type"] == "ticket.issued" for e in got) == 30
                assert got[-1]["type"] == "ticket.called"
            for ws in screens:
                await ws.close()

        asyncio.run(run())
    finally:
        server.stop()


def _now() -> datetime:
    return datetime(2026, 12, 2, 10, 0, tzinfo=TZ)  # a Wednesday, the hall open


class _Probe:
    """A bare app behind DirectFrames on a real uvicorn: its endpoint writes 1 KiB frames
    through the seam until the seam refuses, then closes."""

    def __init__(self) -> None:
        self.written = 0
        self.refused = threading.Event()
        self.done = threading.Event()
        app = Starlette(routes=[WebSocketRoute("/ws", self.endpoint)],
                        middleware=[Middleware(DirectFrames)])
        self.port = free_port()
        self.server = uvicorn.Server(uvicorn.Config(
            app, host="127.0.0.1", port=self.port, log_level="warning",
            ws="websockets-sansio", ws_per_message_deflate=False))

    async def endpoint(self, ws: WebSocket) -> None:
        await ws.accept()
        writer: FrameWriter = ws.scope["extensions"][EXTENSION]
        for i in range(64 * 1024):  # 64 MiB at most
            frame = text_frame(f"{i:08d}".encode().ljust(1024, b"."))
            if not writer.write(frame):
                self.refused.set()
                break
            self.written += 1
            await asyncio.sleep(0)
        while not self.done.is_set():
            await asyncio.sleep(0.05)

    @contextlib.contextmanager
    def running(self) -> Iterator[None]:
        thread = threading.Thread(target=self.server.run, daemon=True)
        thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            assert time.monotonic() < deadline, "the probe server did not start"
            time.sleep(0.02)
        try:
            yield
        finally:
            self.done.set()
            self.server.should_exit = True
            thread.join(20)


@pytest.fixture
def probe() -> Iterator[_Probe]:
    p = _Probe()
    with p.running():
        yield p


def test_a_screen_that_stopped_reading_is_not_written_to(probe: _Probe) -> None:
    """A client that reads nothing: once the server's buffer for it is full the seam refuses
    (the event then waits in the subscriber's queue, which overflows into a resync: test_ws),
    and what was written before arrives whole and in order when the client reads again."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", probe.port))
    sock.sendall(b"GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
                 b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                 b"Sec-WebSocket-Version: 13\r\n\r\n")
    assert probe.refused.wait(30), "the seam kept writing to a client that reads nothing"
    assert probe.written < 64 * 1024
    sock.settimeout(5)
    data = b""
    while len(data) < 4 or b"\r\n\r\n" not in data:
        data += sock.recv(65536)
    head, rest = data.split(b"\r\n\r\n", 1)
    assert head.startswith(b"HTTP/1.1 101")
    want = probe.written * (1024 + 4)
    while len(rest) < want:
        rest += sock.recv(1 << 20)
    sock.close()
    frames = parse_frames(rest[:want])
    assert [int(f.data[:8]) for f in frames] == list(range(probe.written))
