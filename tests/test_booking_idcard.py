"""预约签到 by ID card (issue 11.3): the holder lays their card on the kiosk's reader (a pty
speaking the reader's bytes) while 预约签到 is open, and today's booking is checked in; the
number travels from the reader to the server only, the kiosk page gets a token."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets

from hall.config import Device
from tests.clocked import ClockedServer, demo_config
from tests.devsim import IdCardSim, sam_text
from tests.test_booking import TUESDAY, at, book, id_number, refusal, start_of


@pytest.fixture
def rig(tmp_path: Path) -> Iterator[tuple[ClockedServer, IdCardSim, str]]:
    sim = IdCardSim()
    config = demo_config()
    config = replace(config, devices=(*config.devices, Device(
        "idcard", "idcard-kiosk-1", sim.path, 115200, kiosk="kiosk-1")))
    server = ClockedServer(tmp_path, TUESDAY, config).start()
    code = server.run(server.app.state.credentials.add("kiosk-1", "kiosk", None))
    try:
        yield server, sim, code
    finally:
        server.stop()
        sim.close()


def read_card(server: ClockedServer, sim: IdCardSim, code: str, name: str,
              number: str) -> dict[str, Any]:
    """Lay the card on the reader; the read as the enrolled kiosk's page receives it."""
    async def run() -> dict[str, Any]:
        async with websockets.connect(server.ws_url + "/kiosk",
                                      additional_headers={"X-Hall-Device": code}) as ws:
            assert json.loads(await ws.recv())["type"] == "hello"
            sim.place(sam_text(name, number, number[6:14]))
            while True:
                message = json.loads(await asyncio.wait_for(ws.recv(), 10))
                if message["type"] == "idcard":
                    return message

    try:
        return asyncio.run(run())
    finally:
        sim.lift()
        time.sleep(1.0)  # the reader reads a card once: let it see the card taken away


def test_a_booking_checks_in_with_the_holders_id_card(
        rig: tuple[ClockedServer, IdCardSim, str]) -> None:
    server, sim, code = rig
    c = server.client()
    kiosk = httpx.Client(base_url=server.url, timeout=10, headers={"X-Hall-Device": code})
    day: date = TUESDAY.date()
    number = id_number(31)
    book(c, "bdc-transfer", start_of(day, "10:00"),
         {"name": "赵小五", "id_number": number, "phone": "13800130031"})
    try:
        server.clock.now = at(day, "09:20")  # before check-in opens: the slot is named
        read = read_card(server, sim, code, "赵小五", number)
        assert number not in json.dumps(read, ensure_ascii=False)
        message = refusal(kiosk.post("/api/appointments/id-check-in",
                                     json={"id_read": read["read"]}), 409, "checkin_too_early")
        assert "10:00-10:30" in message
        # a read is the kiosk's own: anyone else holding the token gets nothing
        refusal(c.post("/api/appointments/id-check-in", json={"id_read": read["read"]}), 422,
                "id_read_not_here")
        server.clock.now = at(day, "09:45")
        read = read_card(server, sim, code, "赵小五", number)
        r = kiosk.post("/api/appointments/id-check-in", json={"id_read": read["read"]})
        assert r.status_code == 201, r.text
        assert r.json()["number"] == "C001"
        assert r.json()["callable_at"] == "2026-12-01T10:00:00+08:00"
        # someone with no booking today is told to take a ticket instead
        other = id_number(32)
        read = read_card(server, sim, code, "钱小六", other)
        refusal(kiosk.post("/api/appointments/id-check-in", json={"id_read": read["read"]}),
                404, "unknown_appointment")
    finally:
        kiosk.close()
