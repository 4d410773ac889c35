"""Thousands of hall screens for a measurement, cheap enough not to be what is measured.

Why not the `websockets` client of bench/run.py: on two shared cores, 5,000 of its
connections in one Python process take ~0.1 ms of Python per message each, so a call reaching
5,000 screens spent half a second in the *load generator* before the last screen "saw" it,
and the benchmark measured itself. A screen here is a bare asyncio protocol on uvloop: the
opening handshake, then frames are cut from the stream and only a `ticket.called` is looked
at (its number found with one regex); pings are answered, nothing else is decoded. The
screens are spread over worker processes (one per core), and the times they record are
`time.perf_counter()`, the machine's monotonic clock, which every process shares.
"""

from __future__ import annotations

import asyncio
import base64
import multiprocessing
import os
import re
import time
from multiprocessing.connection import Connection
from urllib.parse import urlsplit

CALLED = re.compile(rb'"type":"ticket\.called","data":\{"number":"([A-Z]\d+)"')
Receipt = tuple[str, float]


class Screen(asyncio.Protocol):
    """One `/ws` connection that records when each call arrives."""

    def __init__(self, host: str, path: str, receipts: list[Receipt]) -> None:
        self.host, self.path, self.receipts = host, path, receipts
        self.buffer = bytearray()
        self.upgraded = False
        self.ready = asyncio.get_running_loop().create_future()
        self.closed = asyncio.get_running_loop().create_future()
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  (uvloop's is no subclass)
        key = base64.b64encode(os.urandom(16)).decode()
        transport.write((f"GET {self.path} HTTP/1.1\r\nHost: {self.host}\r\n"
                         "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                         f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
                         ).encode())

    def data_received(self, data: bytes) -> None:
        now = time.perf_counter()
        self.buffer += data
        if not self.upgraded:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            if b" 101 " not in self.buffer[:end]:
                self._fail(ConnectionError(bytes(self.buffer[:end]).decode(errors="replace")))
                return
            del self.buffer[:end + 4]
            self.upgraded = True
        while (frame := self._frame()) is not None:
            opcode, payload = frame
            if opcode == 1:
                if not self.ready.done():
                    self.ready.set_result(None)  # the snapshot
                elif (found := CALLED.search(payload)) is not None:
                    self.receipts.append((found.group(1).decode(), now))
            elif opcode == 9:  # ping: a pong, masked as a client must
                self._send(0xA, payload)
            elif opcode == 8:
                self._send(0x8, payload[:2])
                assert self.transport is not None
                self.transport.close()

    def _frame(self) -> tuple[int, bytes] | None:
        buf = self.buffer
        if len(buf) < 2:
            return None
        length, at = buf[1] & 0x7F, 2
        if length == 126:
            if len(buf) < 4:
                return None
            length, at = int.from_bytes(buf[2:4], "big"), 4
        elif length == 127:
            if len(buf) < 10:
                return None
            length, at = int.from_bytes(buf[2:10], "big"), 10
        if len(buf) < at + length:
            return None
        opcode, payload = buf[0] & 0x0F, bytes(buf[at:at + length])
        del buf[:at + length]
        return opcode, payload

    def _send(self, opcode: int, payload: bytes) -> None:
        mask = os.urandom(4)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        assert self.transport is not None and len(payload) < 126
        self.transport.write(bytes([0x80 | opcode, 0x80 | len(payload)]) + mask + masked)

    def _fail(self, exc: BaseException) -> None:
        if not self.ready.done():
            self.ready.set_exception(exc)
        if self.transport is not None:
            self.transport.close()

    def connection_lost(self, exc: BaseException | None) -> None:
        self._fail(exc or ConnectionError("closed before the snapshot"))
        if not self.closed.done():
            self.closed.set_result(None)


async def _screens(ws_url: str, count: int, calls: int, pipe: Connection) -> None:
    parts = urlsplit(ws_url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    receipts: list[Receipt] = []
    loop = asyncio.get_running_loop()
    screens: list[Screen] = []
    for start in range(0, count, 100):  # a hundred at a time, each waiting for its snapshot
        batch = []
        for _ in range(min(100, count - start)):
            _, screen = await loop.create_connection(
                lambda: Screen(f"{host}:{port}", path, receipts), host, port)
            batch.append(screen)
        await asyncio.wait_for(asyncio.gather(*(s.ready for s in batch)), 120)
        screens += batch
    pipe.send(("ready", len(screens)))
    # once the parent says the calls are made: until every screen has them all, or 30 s
    while not pipe.poll():
        await asyncio.sleep(0.05)
    deadline = time.monotonic() + 30
    while len(receipts) < calls * count and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    pipe.send(("receipts", receipts))
    for screen in screens:
        if screen.transport is not None:
            screen.transport.close()


def _work(ws_url: str, count: int, calls: int, pipe: Connection) -> None:
    import uvloop

    uvloop.run(_screens(ws_url, count, calls, pipe))


class Screens:
    """`count` screens on `ws_url` in `workers` processes: `start()` returns once every one
    has its snapshot; `receipts()` (after the calls) every (number, time) they saw."""

    def __init__(self, ws_url: str, count: int, calls: int, workers: int | None = None) -> None:
        workers = workers or min(4, os.cpu_count() or 1)
        shares = [count // workers + (1 if i < count % workers else 0) for i in range(workers)]
        self.pipes: list[Connection] = []
        self.procs: list[multiprocessing.process.BaseProcess] = []
        ctx = multiprocessing.get_context("spawn")
        for share in shares:
            here, there = ctx.Pipe()
            self.pipes.append(here)
            self.procs.append(ctx.Process(target=_work, args=(ws_url, share, calls, there),
                                          daemon=True))

    def start(self, timeout: float = 300) -> None:
        for proc in self.procs:
            proc.start()
        for pipe in self.pipes:
            if not pipe.poll(timeout):
                raise TimeoutError("screens did not connect")
            kind, _ = pipe.recv()
            assert kind == "ready"

    def receipts(self, timeout: float = 120) -> list[Receipt]:
        for pipe in self.pipes:
            pipe.send("done")
        got: list[Receipt] = []
        for pipe in self.pipes:
            if not pipe.poll(timeout):
                raise TimeoutError("screens did not report")
            kind, receipts = pipe.recv()
            got += receipts
        for proc in self.procs:
            proc.join(10)
        return got

    def stop(self) -> None:
        for proc in self.procs:
            if proc.is_alive():
                proc.kill()
