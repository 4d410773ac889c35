"""Alarms on a real `hall serve`: raised by the hall's own conditions (thresholds of a second
or so in the test's config), acknowledged by a manager (who, when, note, audit row), kept
across a restart, cleared when the condition ends; private to `/ws/manage`."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets

from hall.auth import COOKIE
from tests.conftest import DEMO_CONFIG, HallServer
from tests.devsim import PrinterSim

ENGLISH = re.compile(r"[A-Za-z]{2,}")
TINY = 0.02  # minutes: 1.2 s


def alarm_config(tmp: Path, norm: float | None = None, **sla: float) -> Path:
    """The demo hall with `[sla]` keys changed (and checked 5 times a second); `norm`: the
    norm_minutes of 社会保障卡(医保)申领."""
    text = DEMO_CONFIG.read_text(encoding="utf-8")
    for key, value in {"alarm_check_seconds": 0.2, **sla}.items():
        text, n = re.subn(rf"^{key} = .*$", f"{key} = {value}", text, count=1, flags=re.M)
        assert n == 1, key
    if norm is not None:
        text = text.replace("norm_minutes = 10\n", f"norm_minutes = {norm}\n", 1)
    path = tmp / "alarms.toml"
    path.write_text(text, encoding="utf-8")
    return path


def serve(tmp: Path, **settings: Any) -> HallServer:
    server = HallServer(tmp, alarm_config(tmp, **settings))
    server.start()
    server.add_user("boss", "manager")
    return server


@pytest.fixture
def servers() -> Iterator[list[HallServer]]:
    started: list[HallServer] = []
    yield started
    for server in started:
        server.stop()


def wait_for(read: Callable[[], Any], timeout: float = 15.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = read()
        if found:
            return found
        time.sleep(0.1)
    raise AssertionError("timed out")


def active(boss: httpx.Client, kind: str, key: str | None = None) -> dict[str, Any] | None:
    r = boss.get("/api/manage/alarms")
    assert r.status_code == 200, r.text
    return next((a for a in r.json()["alarms"]
                 if a["kind"] == kind and (key is None or a["key"] == key)), None)


def history(boss: httpx.Client, **query: str) -> list[dict[str, Any]]:
    r = boss.get("/api/manage/alarms", params={"history": "1", **query})
    assert r.status_code == 200, r.text
    return r.json()["alarms"]


async def collect(ws: Any, quiet: float) -> list[dict[str, Any]]:
    out = []
    while True:
        try:
            out.append(json.loads(await asyncio.wait_for(ws.recv(), quiet)))
        except TimeoutError:
            return out


def test_a_long_wait_is_raised_acknowledged_kept_across_restart_and_cleared(
        tmp_path: Path, servers: list[HallServer]) -> None:
    server = serve(tmp_path, wait_alarm_minutes=TINY)
    servers.append(server)
    server.add_user("root", "admin")
    boss = server.login("boss", None)

    async def scenario() -> tuple[list[dict[str, Any]], list[dict[str, Any]], dict[str, Any]]:
        public = await websockets.connect(server.ws_url)
        private = await websockets.connect(
            server.ws_url + "/manage",
            additional_headers={"Cookie": f"{COOKIE}={boss.cookies.get(COOKIE)}"})
        await collect(public, 0.3)
        await collect(private, 0.3)
        await asyncio.to_thread(server.issue, "yibao-card")
        alarm = await asyncio.to_thread(wait_for, lambda: active(boss, "wait_long", "yibao"))
        r = await asyncio.to_thread(boss.post, f"/api/manage/alarms/{alarm['id']}/ack",
                                    json={"note": "已请 2 号窗口协助叫号"})
        assert r.status_code == 200, r.text
        got_public, got_private = await collect(public, 1.0), await collect(private, 0.5)
        await public.close()
        await private.close()
        return got_public, got_private, r.json()

    got_public, got_private, acked = asyncio.run(scenario())
    assert acked["acked_by"] == "boss" and acked["ack_note"] == "已请 2 号窗口协助叫号"
    assert acked["status"] == "acked" and acked["status_name"] == "已确认"
    assert acked["message"] == "医保有群众等候超过 0.02 分钟"
    assert acked["kind_name"] == "等候时间过长" and acked["queue"] == "yibao"
    # the managers' stream has the alarm raised and acknowledged; the public one nothing of it
    private_types = [m["type"] for m in got_private]
    assert "alarm.raised" in private_types and "alarm.acked" in private_types
    assert not [m for m in got_public if m["type"].startswith("alarm.")]
    assert "已请 2 号窗口协助叫号" not in json.dumps(got_public, ensure_ascii=False)
    # an acknowledged alarm stays listed, as 已确认, while the wait lasts
    still = active(boss, "wait_long", "yibao")
    assert still is not None and still["id"] == acked["id"] and still["status"] == "acked"
    # the audit log has who acknowledged which alarm
    root = server.login("root", None)
    audit = root.get("/api/manage/audit").json()["audit"]
    row = next(a for a in audit if a["action"] == "alarm.ack")
    assert (row["user"], row["target"], row["success"]) == ("boss", f"alarm:{acked['id']}", 1)
    again = boss.post(f"/api/manage/alarms/{acked['id']}/ack", json={})
    assert again.status_code == 409 and "无需重复确认" in again.json()["error"]["message"]
    assert not ENGLISH.search(again.json()["error"]["message"])

    # a restart keeps the alarm: the same row, acknowledged, the wait still going on
    server.stop()
    server.start()
    boss = server.login("boss", None)
    kept = active(boss, "wait_long", "yibao")
    assert kept is not None and (kept["id"], kept["acked_by"], kept["raised_at"]) == (
        acked["id"], "boss", acked["raised_at"])

    # the condition ends (the ticket is called): the alarm is cleared, kept in the history
    clerk = server.clerk(1)
    assert clerk.post("/api/windows/1/call").status_code == 200
    done = wait_for(lambda: next((a for a in history(boss, kind="wait_long")
                                  if a["id"] == acked["id"] and a["cleared_at"]), None))
    assert done["status"] == "closed" and done["status_name"] == "已解除"
    assert active(boss, "wait_long", "yibao") is None
    assert history(boss, status="closed")[0]["id"] == acked["id"]
    # ... and as CSV, in Chinese
    r = boss.get("/api/manage/alarms", params={"history": "1", "format": "csv"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"))))
    line = next(x for x in rows if x["编号"] == str(acked["id"]))
    assert (line["类型"], line["状态"], line["确认人"], line["确认说明"]) == (
        "等候时间过长", "已解除", "boss", "已请 2 号窗口协助叫号")
    assert re.fullmatch(r"\d{4}年\d{1,2}月\d{1,2}日 \d{2}:\d{2}", line["发生时间"])
    assert line["解除时间"] and line["队列"] == "医保"


def test_windows_raise_idle_paused_away_and_handling_over_the_norm(
        tmp_path: Path, servers: list[HallServer]) -> None:
    server = serve(tmp_path, norm=TINY, idle_minutes=TINY, pause_minutes=TINY,
                   away_minutes=TINY)
    servers.append(server)
    boss = server.login("boss", None)
    # idle: window 1 open, nobody called, a citizen waiting for 医保
    one = server.clerk(1)
    ticket = server.issue("yibao-card")
    idle = wait_for(lambda: active(boss, "window_idle", "1"))
    assert idle["message"] == "1号窗口空闲超过 0.02 分钟，仍有群众等候"
    # called and started: no longer idle; over the service's own norm (norm_minutes)
    assert one.post("/api/windows/1/call").status_code == 200
    assert one.post("/api/windows/1/start").status_code == 200
    key = f"1/{ticket['number']}"
    handling = wait_for(lambda: active(boss, "handling_long", key))
    assert "社会保障卡(医保)申领" in handling["message"] and "0.02 分钟" in handling["message"]
    assert any(a["id"] == idle["id"] and a["cleared_at"] for a in history(boss))
    assert one.post("/api/windows/1/finish", json={"outcome": "done"}).status_code == 200
    wait_for(lambda: active(boss, "handling_long", key) is None)
    # the norm is the item's own, not its queue's: 医保关系转移接续 (same queue) has 15 minutes
    other = server.issue("yibao-transfer")
    assert one.post("/api/windows/1/call", json={"number": other["number"]}).status_code == 200
    assert one.post("/api/windows/1/start").status_code == 200
    time.sleep(1.5)
    assert active(boss, "handling_long", f"1/{other['number']}") is None
    # paused past the limit, with the reason
    two = server.clerk(2)
    assert two.post("/api/windows/2/pause", json={"reason": "系统故障"}).status_code == 200
    paused = wait_for(lambda: active(boss, "pause_long", "2"))
    assert "系统故障" in paused["message"]
    assert two.post("/api/windows/2/resume").status_code == 200
    wait_for(lambda: active(boss, "pause_long", "2") is None)
    # 离岗: window 3's clerk logs out while people wait for 不动产登记
    three = server.clerk(3)
    assert three.post("/api/logout").status_code == 200
    server.issue("bdc-query")
    away = wait_for(lambda: active(boss, "window_away", "3"))
    assert away["message"] == "3号窗口无人在岗超过 0.02 分钟，仍有群众等候"
    server.clerk(3)
    wait_for(lambda: active(boss, "window_away", "3") is None)


def test_a_bad_rating_raises_at_once_and_is_acknowledged(
        tmp_path: Path, servers: list[HallServer]) -> None:
    server = serve(tmp_path)
    servers.append(server)
    boss = server.login("boss", None)
    clerk = server.clerk(2)
    ticket = server.issue("shebao-retire")
    for step, body in (("call", None), ("start", None), ("finish", {"outcome": "done"})):
        assert clerk.post(f"/api/windows/2/{step}", json=body).status_code == 200
    r = httpx.post(f"{server.url}/api/tickets/{ticket['token']}/rating",
                   json={"level": 1, "contact": "13912345678"}, timeout=10)
    assert r.status_code == 201, r.text
    case = boss.get("/api/manage/rectifications").json()["rectifications"][0]["id"]
    # raised with the rating itself: listed at once, by case id, window and level only
    alarm = active(boss, "rectification_new", str(case))
    assert alarm is not None and alarm["rectification"] == case and alarm["window"] == 2
    assert alarm["message"] == f"新差评 #{case} 2号窗口 非常不满意，待处理"
    assert "5678" not in json.dumps(alarm)
    r = boss.post(f"/api/manage/alarms/{alarm['id']}/ack", json={"note": "已安排回访"})
    assert r.status_code == 200 and r.json()["acked_by"] == "boss"
    # the case's first 回访 ends the condition: cleared, kept as acknowledged in the history
    r = boss.post(f"/api/manage/rectifications/{case}/callback",
                  json={"reached": True, "note": "已致电致歉"})
    assert r.status_code == 200, r.text
    done = wait_for(lambda: next((a for a in history(boss, kind="rectification_new")
                                  if a["cleared_at"]), None))
    assert (done["id"], done["status_name"], done["ack_note"]) == (alarm["id"], "已解除",
                                                                   "已安排回访")


def test_acknowledging_refusals_are_chinese(tmp_path: Path,
                                            servers: list[HallServer]) -> None:
    server = serve(tmp_path)
    servers.append(server)
    server.add_user("root", "admin")
    boss = server.login("boss", None)
    opened = httpx.post(server.url + "/api/complaints", timeout=10,
                        json={"description": "材料反复被退回"})
    assert opened.status_code == 201, opened.text
    alarm = active(boss, "complaint_new", str(opened.json()["id"]))
    assert alarm is not None
    path = f"/api/manage/alarms/{alarm['id']}/ack"
    clerk = server.clerk(1)
    anon = httpx.Client(base_url=server.url, timeout=10)
    refusals = [
        (boss.post("/api/manage/alarms/999999/ack", json={}), 404, "unknown_alarm"),
        (clerk.post(path, json={}), 403, "forbidden"),
        (anon.post(path, json={}), 401, "unauthenticated"),
        (boss.post(path, json={"note": 5}), 422, "invalid_note"),
        (boss.post(path, json={"note": "长" * 201}), 422, "note_too_long"),
        (boss.post(path, json={"note": "好", "by": "x"}), 422, "unknown_field"),
        (boss.get("/api/manage/alarms?history=1&kind=weather"), 400, "invalid_query"),
        (boss.get("/api/manage/alarms?history=1&status=lost"), 400, "invalid_query"),
        (boss.get("/api/manage/alarms?history=1&from=2026-05-02&to=2026-05-01"), 400,
         "invalid_query"),
        (clerk.get("/api/manage/alarms"), 403, "forbidden"),
    ]
    for response, status, code in refusals:
        error = response.json()["error"]
        assert (response.status_code, error["code"]) == (status, code), response.text
        assert not ENGLISH.search(error["message"]), error
    assert boss.post(path, json={}).status_code == 200  # the note is optional
    # the refused attempt by a manager is in the audit log too
    audit = server.login("root", None).get("/api/manage/audit").json()["audit"]
    assert any(a["action"] == "alarm.ack" and a["target"] == "alarm:999999"
               and a["success"] == 0 for a in audit)


def test_a_printer_low_then_out_of_paper_then_refilled(tmp_path: Path,
                                                       servers: list[HallServer]) -> None:
    """The kiosk's printer (a simulated ESC/POS printer on a pty) says paper near end at
    start; each kiosk request asks it again (hall/displays/printer_adapter.py)."""
    printer = PrinterSim("near_end")
    try:
        config = alarm_config(tmp_path)
        config.write_text(config.read_text(encoding="utf-8") + f"""
[[devices]]
kind = "printer"
name = "printer-kiosk-1"
url = "{printer.path}"
kiosk = "kiosk-1"
""", encoding="utf-8")
        server = HallServer(tmp_path, config)
        server.start()
        servers.append(server)
        server.add_user("boss", "manager")
        boss = server.login("boss", None)
        low = wait_for(lambda: active(boss, "paper_low", "printer-kiosk-1"))
        assert low["message"] == ("取号打印机 printer-kiosk-1（取号机 kiosk-1）"
                                  "打印纸将用完，请及时换纸")
        assert low["device"] == "printer-kiosk-1"

        def kiosk() -> int:
            return httpx.post(server.url + "/api/tickets", timeout=10,
                              json={"service": "tax-invoice", "kiosk": "kiosk-1"}).status_code

        printer.state = "paper_out"
        assert kiosk() == 503
        out = wait_for(lambda: active(boss, "paper_out", "printer-kiosk-1"))
        assert "缺纸" in out["message"] and active(boss, "paper_low") is None
        printer.state = "silent"
        assert kiosk() == 503
        fault = wait_for(lambda: active(boss, "device_fault", "printer-kiosk-1"))
        assert "无应答" in fault["message"]
        printer.state = "ok"
        assert kiosk() == 201
        wait_for(lambda: not [a for a in boss.get("/api/manage/alarms").json()["alarms"]
                              if a["device"]])
        kinds = [a["kind"] for a in history(boss) if a["device"]]
        assert sorted(kinds) == ["device_fault", "paper_low", "paper_out"]
    finally:
        printer.close()
