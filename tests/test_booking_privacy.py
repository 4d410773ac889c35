"""What a booking leaves behind (domain.md, Privacy): no public answer, `/ws` event, page or
log line carries the ID number, the phone or the full name a citizen typed; the SQLite file
and its WAL hold none of them in clear (the test greps their bytes)."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime
from pathlib import Path

import httpx
import pytest
import websockets

from tests import backends
from tests.clocked import TZ, ClockedServer
from tests.test_booking import id_number

DAY = datetime(2026, 12, 1, 8, 0, tzinfo=TZ).date()
NAME = "欧阳小明"
ID = id_number(42)
PHONE = "13912345678"
SECRETS = (ID, PHONE, NAME, ID[:17])  # the first 17 digits: also no ID typed without its check


def at(hhmm: str) -> datetime:
    hours, minutes = map(int, hhmm.split(":"))
    return datetime(DAY.year, DAY.month, DAY.day, hours, minutes, tzinfo=TZ)


def leaks(text: str) -> list[str]:
    return [s for s in SECRETS if s in text]


async def replay(url: str, last: int) -> list[dict]:
    out: list[dict] = []
    async with websockets.connect(url + "?since=0") as ws:
        while not out or out[-1].get("seq", 0) < last:
            out.append(json.loads(await asyncio.wait_for(ws.recv(), 5)))
    return out


def test_no_public_payload_event_page_or_file_carries_the_id_or_the_name(
        tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    hall = ClockedServer(tmp_path, at("08:00")).start()
    seen: list[str] = []
    try:
        c = hall.client()

        def public(r: httpx.Response, status: int = 200) -> dict:
            assert r.status_code == status, r.text
            seen.append(r.text)
            return r.json()

        me = {"name": NAME, "id_number": ID.lower()[:6] + " " + ID.lower()[6:], "phone": PHONE}
        public(c.get("/api/booking"))
        public(c.get("/api/booking/days", params={"service": "bdc-transfer"}))
        slots = public(c.get("/api/slots", params={"service": "bdc-transfer",
                                                   "date": DAY.isoformat()}))["slots"]
        booked = public(c.post("/api/appointments", json={
            "service": "bdc-transfer", "start": slots[0]["start"], **me}), 201)
        assert booked["name"] == "欧**明"
        public(c.get(f"/api/appointments/{booked['token']}"))
        public(c.patch(f"/api/appointments/{booked['token']}", json={"start": slots[1]["start"]}))
        refused = c.post("/api/appointments", json={"service": "bdc-transfer",
                                                    "start": slots[2]["start"], **me})
        assert refused.status_code == 409  # the limit's refusal does not echo who
        seen.append(refused.text)
        other = public(c.post("/api/appointments", json={
            "service": "hukou-move", "start": f"{DAY.isoformat()}T14:00:00+08:00",
            "name": "李四", "id_number": id_number(43), "phone": "13900001111"}), 201)
        public(c.delete(f"/api/appointments/{other['token']}"))
        hall.clock.now = at("09:05")
        ticket = public(c.post(f"/api/appointments/{booked['code']}/check-in", json={}), 201)
        public(c.get(f"/api/tickets/{ticket['token']}"))
        phone = public(c.post("/api/phone-tickets", json={
            "service": "yibao-card", "id_number": id_number(44), "phone": "13700001111"}), 201)
        c.post("/api/tickets", json={"service": "yibao-card"}).raise_for_status()
        public(c.post(f"/api/appointments/{phone['appointment_token']}/late"))
        public(c.post(f"/api/appointments/{phone['code']}/check-in", json={}))
        hall.clock.now = at("15:00")
        hall.run(hall.app.state.appointments.sweep())  # the hukou booking was cancelled: none
        public(c.get("/api/hall"))
        public(c.get("/api/services"))
        for page in ("/book", f"/a/{booked['token']}", "/kiosk", f"/t/{ticket['token']}"):
            r = c.get(page)
            assert r.status_code == 200
            seen.append(r.text)
        last = c.get("/api/hall").json()["seq"]
        events = asyncio.run(replay(hall.ws_url, last))
        types = {e["type"] for e in events}
        assert {"booking.changed", "ticket.issued", "ticket.delayed", "ticket.arrived"} <= types
        assert next(e for e in events if e["type"] == "booking.changed")["data"]["free"] == 0
        seen.extend(json.dumps(e, ensure_ascii=False) for e in events)
        # the manager's list is masked too (managers are not the public, but see no more)
        boss = hall.login("boss", None, "manager")
        seen.append(boss.get("/api/manage/appointments").text)
        seen.append(boss.get("/api/manage/events", params={"limit": 500}).text)
    finally:
        hall.stop()
    assert all(not leaks(text) for text in seen), [leaks(t) for t in seen if leaks(t)]
    captured = capfd.readouterr()
    assert not leaks(captured.out + captured.err)
    stored = backends.stored_bytes(hall.db)
    assert stored, "the database files were found"
    for secret in SECRETS:
        assert secret.encode() not in stored, secret
        assert secret.encode("utf-16-le") not in stored, secret
    assert b"appointments" in stored  # the grep reads the real file
