"""`/ws`: snapshot first, ordered events, exact replay with `since`, and slow clients."""

from __future__ import annotations

import asyncio
import json
import socket
from pathlib import Path

import httpx
import websockets

from hall.events import public_message
from hall.store import Event
from tests.conftest import HallServer, roomy_config


def public_seqs(server: HallServer, after: int, upto: int = 2 ** 62) -> list[int]:
    """The seqs the public `/ws` owes a client for (after, upto], read from the durable log:
    every event but the managers' own (hall.events: an alarm raised while tickets pile up,
    a case step), which leave gaps a screen skips."""
    rows = [tuple(r.values()) for r in server.rows(
        "SELECT seq, time, type, data FROM events WHERE seq > ? AND seq <= ? ORDER BY seq",
        (after, upto))]
    return [seq for seq, time, type_, data in rows
            if public_message(Event(seq, time, type_, json.loads(data))) is not None]


async def recv(ws: websockets.ClientConnection, timeout: float = 5) -> dict:
    return json.loads(await asyncio.wait_for(ws.recv(), timeout))


async def recv_until(ws: websockets.ClientConnection, type_: str, count: int) -> list[dict]:
    got: list[dict] = []
    while sum(1 for e in got if e["type"] == type_) < count:
        got.append(await recv(ws))
    return got


def test_snapshot_then_events_in_order(hall_server: HallServer) -> None:
    hall_server.issue("yibao-card")

    async def run() -> None:
        async with websockets.connect(hall_server.ws_url) as ws:
            first = await recv(ws)
            assert first["type"] == "snapshot"
            waiting = {q["id"]: q["waiting"] for q in first["data"]["queues"]}
            assert waiting["yibao"] == 1
            seq = first["seq"]
            clerk = hall_server.clerk(1)
            await asyncio.to_thread(clerk.post, "/api/windows/1/call")
            events = await recv_until(ws, "ticket.called", 1)
            assert [e["seq"] for e in events] == list(range(seq + 1, seq + 1 + len(events)))
            called = events[-1]
            assert set(called) == {"seq", "type", "data", "time"}
            assert called["data"]["number"] == "A001" and called["data"]["window"] == 1
            assert called["data"]["window_name"] == "1号窗口"
            assert called["data"]["window_state"]["current"] == "A001"
            assert "+08:00" in called["time"]

    asyncio.run(run())


def test_reconnect_with_since_gets_exactly_the_missed_calls(hall_server: HallServer) -> None:
    for _ in range(12):
        hall_server.issue("yibao-card")
    clerk = hall_server.clerk(1)

    async def run() -> None:
        async with websockets.connect(hall_server.ws_url) as ws:
            last_seen = (await recv(ws))["seq"]
        # the screen is off the network while ten calls happen
        made = []
        for _ in range(10):
            r = await asyncio.to_thread(clerk.post, "/api/windows/1/call")
            made.append(r.json()["current"]["number"])
            await asyncio.to_thread(clerk.post, "/api/windows/1/finish", json={"outcome": "done"})
        async with websockets.connect(f"{hall_server.ws_url}?since={last_seen}") as ws:
            replay = await recv_until(ws, "ticket.finished", 10)
            seqs = [e["seq"] for e in replay]
            assert seqs == public_seqs(hall_server, last_seen, seqs[-1])
            assert [e["data"]["number"] for e in replay if e["type"] == "ticket.called"] == made
            # and then it continues live, with no gap
            await asyncio.to_thread(clerk.post, "/api/windows/1/call")
            live = await recv(ws)
            assert public_seqs(hall_server, seqs[-1], live["seq"]) == [live["seq"]]
            assert live["type"] == "ticket.called"

    asyncio.run(run())


def test_since_beyond_the_log_asks_for_resync(hall_server: HallServer) -> None:
    async def run() -> None:
        async with websockets.connect(f"{hall_server.ws_url}?since=999999") as ws:
            assert (await recv(ws))["type"] == "resync"

    asyncio.run(run())


def test_a_slow_client_never_stalls_the_others(tmp_path: Path) -> None:
    """A client that stops reading is told to resync and closed; a healthy screen connected
    at the same time receives every event."""
    hall_server = HallServer(tmp_path, roomy_config(tmp_path, ws_client_queue=50,
                                                         send_buffer_bytes=16384))
    hall_server.start()
    try:
        _slow_client(hall_server)
    finally:
        hall_server.stop()


def _slow_client(hall_server: HallServer) -> None:
    port = hall_server.port

    def stalled_socket() -> socket.socket:
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.connect(("127.0.0.1", port))
        sock.sendall(b"GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
                     b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                     b"Sec-WebSocket-Version: 13\r\n\r\n")
        return sock

    async def run() -> None:
        slow = stalled_socket()
        total = 1500
        async with websockets.connect(hall_server.ws_url, max_queue=None) as ws:
            start = (await recv(ws))["seq"]

            async def issue_many() -> None:
                limits = httpx.Limits(max_connections=20)
                async with httpx.AsyncClient(base_url=hall_server.url, limits=limits,
                                             timeout=30) as client:
                    async def one(i: int) -> None:
                        service = ("yibao-card", "shebao-pension", "bdc-query")[i % 3]
                        r = await client.post("/api/tickets", json={"service": service})
                        assert r.status_code == 201

                    for batch in range(0, total, 200):
                        await asyncio.gather(*(one(i) for i in range(batch, batch + 200)))

            await issue_many()
            owed = public_seqs(hall_server, start)
            assert len(owed) >= total  # (the batches of 200 issue 1,600)
            for seq in owed:
                event = await recv(ws, timeout=20)
                assert event["seq"] == seq
        # the stalled client, reading at last, finds its stream cut off and closed long
        # before the end: the server dropped it instead of buffering everything for it
        slow.settimeout(40)  # uvicorn waits up to 20 s for a close reply before hanging up
        data = b""
        while chunk := slow.recv(65536):
            data += chunk
        slow.close()
        assert data.count(b'"seq"') < total / 2

    asyncio.run(run())


def test_heartbeat_pings_and_departed_screens_are_dropped(tmp_path: Path) -> None:
    """Every connection gets a ping on the heartbeat; a screen that went away is noticed by
    the next send and no longer counted."""
    hall_server = HallServer(tmp_path, roomy_config(tmp_path, ws_heartbeat_seconds=0.5))
    hall_server.start()
    try:
        hall_server.add_user("boss", "manager")
        boss = hall_server.login("boss", None)

        async def run() -> None:
            sockets = [await websockets.connect(hall_server.ws_url) for _ in range(3)]
            for ws in sockets:
                assert (await recv(ws))["type"] == "snapshot"
                assert (await recv(ws, timeout=3))["type"] == "ping"
            count = (await asyncio.to_thread(boss.get, "/api/manage/server")).json()
            assert count["subscribers"] == 3
            for ws in sockets:
                await ws.close()
            for _ in range(40):
                await asyncio.sleep(0.1)
                server = (await asyncio.to_thread(boss.get, "/api/manage/server")).json()
                if server["subscribers"] == 0:
                    return
            raise AssertionError(f"departed screens still counted: {server}")

        asyncio.run(run())
    finally:
        hall_server.stop()
