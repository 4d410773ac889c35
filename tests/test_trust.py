"""Issue 9 (trust): one test per attack an adversarial test of main got through, each against a
real `hall serve` on loopback (tests/conftest.py), plus the pure counters of hall/limits.py and
hall/lockout.py.

Source addresses: the server listens on 127.0.0.1; a client binds its socket to another
loopback address (127.0.0.2 …) to come "from somewhere else". No packet leaves the machine.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import socket
import stat
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
import websockets
from hypothesis import given, settings
from hypothesis import strategies as st

from hall import errors, lockout
from hall.auth import Auth
from hall.config import load_config
from hall.limits import DailyCounter, SlidingWindow, TicketLimits, client_address, parse_networks
from hall.service import HallService
from tests.conftest import DEMO_CONFIG, ROOT, HallServer, free_port

LATIN = re.compile(r"[A-Za-z]")


def chinese(r: httpx.Response, status: int, code: str) -> str:
    """The refusal has the status and code, and a message a citizen can read (no Latin)."""
    assert r.status_code == status, r.text
    err = r.json()["error"]
    assert err["code"] == code, err
    assert not LATIN.search(err["message"]), err["message"]
    return err["message"]


def from_address(server: HallServer, address: str, **kw: Any) -> httpx.Client:
    return httpx.Client(base_url=server.url, timeout=10,
                        transport=httpx.HTTPTransport(local_address=address), **kw)


def boss(server: HallServer) -> httpx.Client:
    with contextlib.suppress(RuntimeError):
        server.add_user("boss", "manager")
    return server.login("boss", None)


# ------------------------------------------------------------------ 9.1 ratings


def test_nobody_rates_someone_elses_ticket_from_the_public_stream(hall_server: HallServer
                                                                  ) -> None:
    server = hall_server
    clerk = server.clerk(3)
    ticket = server.issue("bdc-query")

    async def watch_and_finish() -> str:
        async with websockets.connect(server.ws_url) as ws:
            assert json.loads(await ws.recv())["type"] == "snapshot"
            for step, body in (("call", {}), ("start", None), ("finish", {"outcome": "done"})):
                r = await asyncio.to_thread(clerk.post, f"/api/windows/3/{step}", json=body)
                assert r.status_code == 200, r.text
            while True:
                event = json.loads(await asyncio.wait_for(ws.recv(), 5))
                if event["type"] == "ticket.finished" and event["data"]["window"] == 3:
                    return event["data"]["number"]

    number = asyncio.run(watch_and_finish())
    assert number == ticket["number"]
    attack = {"number": number, "level": 1, "reasons": ["态度不好"]}
    # an anonymous client that saw ticket.finished on the public stream
    chinese(httpx.post(f"{server.url}/api/evaluate/3", json=attack, timeout=10),
            401, "device_required")
    # another window's tablet, and another window's clerk, may not either
    other_tablet = server.tablet(1)
    chinese(other_tablet.post("/api/evaluate/3", json=attack), 403, "wrong_device")
    chinese(server.clerk(5).post("/api/evaluate/3", json=attack), 403, "wrong_device")
    # a forged device cookie or header is nobody
    forged = httpx.Client(base_url=server.url, timeout=10, cookies={"hall_device": "guess"})
    chinese(forged.post("/api/evaluate/3", json=attack), 401, "device_required")
    chinese(httpx.post(f"{server.url}/api/evaluate/3", json=attack, timeout=10,
                       headers={"X-Hall-Device": "guess"}), 401, "device_required")

    manager = boss(server)
    assert manager.get("/api/manage/ratings").json()["ratings"] == []
    assert manager.get("/api/manage/rectifications").json()["rectifications"] == []
    assert httpx.get(f"{server.url}/api/evaluate/3").json()["pending"]["number"] == number

    # the window's own tablet (enrolled with `hall device add … --window 3`) rates it
    tablet = server.tablet(3)
    assert tablet.get("/api/devices/me").json()["window"] == 3
    r = tablet.post("/api/evaluate/3", json={"number": number, "level": 5})
    assert r.status_code == 201 and r.json()["channel"] == "window_tablet", r.text
    # and the window's logged-in session may, for the next citizen
    nxt = server.issue("bdc-query")
    for step, body in (("call", {}), ("start", None), ("finish", {"outcome": "done"})):
        assert clerk.post(f"/api/windows/3/{step}", json=body).status_code == 200
    r = clerk.post("/api/evaluate/3", json={"number": nxt["number"], "level": 4})
    assert r.status_code == 201, r.text
    rated = manager.get("/api/manage/ratings").json()["ratings"]
    assert sorted(x["level"] for x in rated) == [4, 5]
    assert manager.get("/api/manage/rectifications").json()["rectifications"] == []
    # a withdrawn tablet is nobody again
    out = subprocess.run([sys.executable, "-m", "hall", "device", "remove", "tablet-3",
                          "--db", str(server.db)], cwd=ROOT, capture_output=True, text=True,
                         timeout=30)
    assert out.returncode == 0, out.stderr
    nxt = server.issue("bdc-query")
    for step, body in (("call", {}), ("start", None), ("finish", {"outcome": "done"})):
        assert clerk.post(f"/api/windows/3/{step}", json=body).status_code == 200
    chinese(tablet.post("/api/evaluate/3", json={"number": nxt["number"], "level": 5}),
            401, "device_required")
    log = manager.get("/api/manage/audit")
    assert log.status_code == 403  # (managers do not read the audit log; the admin does)
    with contextlib.suppress(RuntimeError):
        server.add_user("root", "admin")
    rows = server.login("root", None).get("/api/manage/audit").json()["audit"]
    assert {"device.add", "device.enrol", "device.remove"} <= {r["action"] for r in rows}
    bad = [r for r in rows if r["action"] == "device.enrol" and not r["success"]]
    assert bad == []  # enrolment with a wrong code is audited too, but none was tried here
    wrong = httpx.post(f"{server.url}/api/devices/enrol", json={"code": "nope"}, timeout=10)
    chinese(wrong, 401, "bad_enrolment_code")


# ------------------------------------------------------------------ 9.2 scalping


LIMITS = """
[limits]
tickets_per_minute_per_client = 5
tickets_per_day_per_client = 8
tickets_per_minute_per_kiosk = 100
tickets_per_day_per_kiosk = 12
trusted_proxies = ["127.0.0.5"]
"""


@pytest.fixture
def limited_server(tmp_path: Path) -> Iterator[HallServer]:
    config = tmp_path / "limited.toml"
    config.write_text(DEMO_CONFIG.read_text(encoding="utf-8") + LIMITS, encoding="utf-8")
    server = HallServer(tmp_path, config)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def test_a_thousand_ticket_burst_is_refused_after_the_limit(limited_server: HallServer) -> None:
    server = limited_server
    kiosk_code = server.add_device("kiosk-1", "kiosk")

    async def burst(address: str, count: int, headers: dict[str, str] | None = None
                    ) -> list[httpx.Response]:
        transport = httpx.AsyncHTTPTransport(local_address=address)
        async with httpx.AsyncClient(base_url=server.url, transport=transport,
                                     timeout=30) as client:
            gate = asyncio.Semaphore(20)

            async def one(i: int) -> httpx.Response:
                async with gate:
                    return await client.post("/api/tickets", json={"service": "consult"},
                                             headers={"Idempotency-Key": f"{address}-{i}",
                                                      **(headers or {})})

            return list(await asyncio.gather(*(one(i) for i in range(count))))

    started = time.monotonic()
    answers = asyncio.run(burst("127.0.0.2", 1000))
    assert time.monotonic() - started < 50  # the whole burst within the minute
    issued = [r for r in answers if r.status_code == 201]
    refused = [r for r in answers if r.status_code != 201]
    assert len(issued) == 5
    message = chinese(refused[0], 429, "too_many_tickets")
    assert "取号过于频繁" in message
    assert all(r.status_code == 429 for r in refused)
    consult = next(s for s in httpx.get(server.url + "/api/services").json()["services"]
                   if s["id"] == "consult")
    assert consult["waiting"] == 5  # the queue's cap was not eaten

    # a made-up X-Forwarded-For does not make the same client someone else
    spoof = from_address(server, "127.0.0.2")
    r = spoof.post("/api/tickets", json={"service": "consult"},
                   headers={"X-Forwarded-For": "10.9.8.7"})
    chinese(r, 429, "too_many_tickets")
    # another address is unaffected
    assert from_address(server, "127.0.0.3").post(
        "/api/tickets", json={"service": "consult"}).status_code == 201
    # the enrolled kiosk, at the very address that is blocked, counts as itself
    kiosk = asyncio.run(burst("127.0.0.2", 20, {"X-Hall-Device": kiosk_code}))
    assert [r.status_code for r in kiosk].count(201) == 12  # its own daily limit
    day = [r for r in kiosk if r.status_code != 201]
    assert "今日取号次数已达上限" in chinese(day[0], 429, "daily_ticket_limit")
    # behind the hall's own proxy (127.0.0.5), the address the proxy saw is the client
    proxy = from_address(server, "127.0.0.5")
    codes = [proxy.post("/api/tickets", json={"service": "consult"},
                        headers={"X-Forwarded-For": "203.0.113.7"}).status_code
             for _ in range(6)]
    assert codes == [201] * 5 + [429]
    assert proxy.post("/api/tickets", json={"service": "consult"},
                      headers={"X-Forwarded-For": "203.0.113.8"}).status_code == 201


@settings(max_examples=200, deadline=None)
@given(limit=st.integers(1, 6),
       gaps=st.lists(st.floats(0, 40, allow_nan=False), min_size=1, max_size=60))
def test_sliding_window_never_lets_more_than_the_limit_through(limit: int, gaps: list[float]
                                                               ) -> None:
    window = SlidingWindow(limit, 60.0)
    now, allowed = 1000.0, []
    for gap in gaps:
        now += gap
        if window.allows("k", now):
            window.record("k", now)
            allowed.append(now)
        else:  # refused only when `limit` were let through in the last minute
            assert sum(1 for t in allowed if t > now - 60) >= limit
    for t in allowed:
        assert sum(1 for u in allowed if t - 60 < u <= t) <= limit


def test_daily_counter_and_ticket_limits_reset_with_the_hall_day() -> None:
    day = DailyCounter(2)
    for _ in range(2):
        assert day.allows("a", "2026-09-18")
        day.record("a", "2026-09-18")
    assert not day.allows("a", "2026-09-18") and day.allows("b", "2026-09-18")
    assert day.allows("a", "2026-09-19")
    limits = TicketLimits(1, 5, 0, 0)  # kiosks: no limit
    assert limits.take(None, "1.2.3.4", 0, "d") is None
    refusal = limits.take(None, "1.2.3.4", 10, "d")
    assert refusal is not None and refusal.per == "minute" and 49 < refusal.retry_after <= 50
    assert limits.take(None, "1.2.3.4", 61, "d") is None
    assert all(limits.take("kiosk-1", "1.2.3.4", 61, "d") is None for _ in range(100))


def test_client_address_believes_only_the_halls_own_proxies() -> None:
    proxies = parse_networks(["10.0.0.0/24"])
    assert client_address("192.0.2.1", "6.6.6.6", proxies) == "192.0.2.1"
    assert client_address("10.0.0.9", "6.6.6.6, 192.0.2.7", proxies) == "192.0.2.7"
    assert client_address("10.0.0.9", "192.0.2.7, 10.0.0.3", proxies) == "192.0.2.7"
    assert client_address("10.0.0.9", None, proxies) == "10.0.0.9"
    assert client_address(None, "6.6.6.6", ()) == "unknown"


# ------------------------------------------------------------------ 9.6 files and processes


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_database_lock_and_voice_files_are_private_under_umask_022(tmp_path: Path) -> None:
    db_dir = tmp_path / "var"
    server = HallServer(tmp_path)
    server.db = db_dir / "hall.db"
    old = os.umask(0o022)
    try:
        server.start()
        clerk = server.clerk(1)
        server.issue("yibao-card")
        r = clerk.post("/api/windows/1/call")
        assert r.status_code == 200
        r = httpx.post(server.url + "/api/complaints", timeout=10, json={
            "description": "材料被退回三次", "contact": "13800138000"})  # seals: the key file
        assert r.status_code == 201, r.text
        voice = db_dir / "voice"
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not list(voice.glob("*.wav")):
            time.sleep(0.1)
        wavs = list(voice.glob("*.wav"))
        assert wavs, "no announcement was rendered"
        assert _mode(db_dir) == 0o700 and _mode(voice) == 0o700
        for path in [server.db, db_dir / "hall.db-wal", db_dir / "hall.db-shm",
                     db_dir / "hall.db.lock", db_dir / "hall.key", *wavs]:
            assert _mode(path) == 0o600, (path, oct(_mode(path)))
        server.stop()
        # a database and key an older version left readable by everyone are made private
        server.db.chmod(0o644)
        (db_dir / "hall.key").chmod(0o644)
        server.start()
        assert _mode(server.db) == 0o600 and _mode(db_dir / "hall.key") == 0o600
    finally:
        os.umask(old)
        server.stop()


def _serve(tmp: Path, db: Path, port: int, config: Path = DEMO_CONFIG,
           timeout: float = 30) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "hall", "serve", "--config", str(config),
                           "--db", str(db), "--port", str(port), "--no-hours"], cwd=ROOT,
                          capture_output=True, text=True, timeout=timeout)


def _port_is_free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


@pytest.mark.sqlite_only("one process owns a SQLite file; on PostgreSQL several share it "
                         "by design (tests/test_cluster.py)")
def test_a_second_server_on_the_same_database_refuses_and_kill_9_restarts(
        hall_server: HallServer, tmp_path: Path) -> None:
    ticket = hall_server.issue("yibao-card")
    port = free_port()
    second = _serve(tmp_path, hall_server.db, port)
    assert second.returncode != 0
    assert str(hall_server.db) in second.stderr and "另一个大厅服务进程" in second.stderr
    assert _port_is_free(port)
    assert hall_server.issue("yibao-card")["number"] == "A002"  # the first one still serves
    hall_server.kill()  # the kernel drops the lock with the process
    hall_server.start()
    assert httpx.get(f"{hall_server.url}/api/tickets/{ticket['token']}").status_code == 200


def test_a_server_that_cannot_start_exits_non_zero_and_frees_the_port(tmp_path: Path) -> None:
    # the port is taken
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        result = _serve(tmp_path, tmp_path / "a" / "hall.db", taken.getsockname()[1])
    assert result.returncode != 0 and "无法监听" in result.stderr
    # the application's start-up fails after the database is open (voice directory blocked)
    blocked = tmp_path / "b"
    blocked.mkdir()
    (blocked / "voice").write_text("not a directory")
    port = free_port()
    result = _serve(tmp_path, blocked / "hall.db", port)
    assert result.returncode != 0 and "启动失败" in result.stderr
    assert _port_is_free(port)
    # the database path cannot be a database (its directory is a file)
    (tmp_path / "file").write_text("x")
    result = _serve(tmp_path, tmp_path / "file" / "hall.db", port)
    assert result.returncode != 0 and "无法使用数据库文件" in result.stderr
    # the config cannot be read
    result = _serve(tmp_path, tmp_path / "c" / "hall.db", port, config=tmp_path)
    assert result.returncode != 0 and "cannot be read" in result.stderr
    assert _port_is_free(port)


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 2 MiB tmpfs: a disk that really fills up (needs root; skipped elsewhere)."""
    disk = tmp_path / "disk"
    disk.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m,mode=0700", "tmpfs",
                              str(disk)], capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here: {mounted.stderr.strip()}")
    try:
        yield disk
    finally:
        subprocess.run(["umount", "-l", str(disk)], capture_output=True)


def test_a_full_disk_answers_disk_full_and_loses_nothing(tmp_path: Path,
                                                         small_disk: Path) -> None:
    server = HallServer(tmp_path)
    server.db = small_disk / "hall.db"
    server.start()
    try:
        filler = small_disk / "filler"
        # leave the database almost no room to grow
        fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
        try:
            with contextlib.suppress(OSError):
                while True:
                    os.write(fd, b"\0" * 4096)
        finally:
            os.close(fd)
        told: list[dict[str, Any]] = []
        full: httpx.Response | None = None
        for _ in range(3000):
            r = httpx.post(server.url + "/api/tickets", json={"service": "consult"}, timeout=10)
            if r.status_code != 201:
                full = r
                break
            told.append(r.json())
        assert full is not None, "the disk never filled"
        message = chinese(full, 507, "disk_full")
        assert "存储空间已满" in message
        # still answering, and nothing it said it had is gone
        assert httpx.get(server.url + "/api/hall", timeout=10).status_code == 200
        filler.unlink()
        after = httpx.post(server.url + "/api/tickets", json={"service": "consult"}, timeout=10)
        assert after.status_code == 201, after.text
        server.kill()
        server.start()
        for t in told + [after.json()]:
            r = httpx.get(f"{server.url}/api/tickets/{t['token']}", timeout=10)
            assert r.status_code == 200 and r.json()["number"] == t["number"]
        numbers = [int(t["number"][1:]) for t in told + [after.json()]]
        assert numbers == list(range(1, len(numbers) + 1))  # the refused one used no number
    finally:
        server.stop()


def test_check_config_refuses_numbers_no_hall_means(tmp_path: Path) -> None:
    text = DEMO_CONFIG.read_text(encoding="utf-8")
    text = text.replace("[hall]\n", "[hall]\nws_heartbeat_seconds = 1e-9\n"
                        "send_buffer_bytes = -4096\n", 1)
    text = text.replace("max_body_bytes = 65536", "max_body_bytes = -1")
    text = text.replace("aging_minutes = 20", "aging_minutes = nan")
    text = text.replace("default_minutes = 6", "default_minutes = inf", 1)
    text += "\n[limits]\ntickets_per_minute_per_client = -5\n"
    path = tmp_path / "bad.toml"
    path.write_text(text, encoding="utf-8")
    result = subprocess.run([sys.executable, "-m", "hall", "check-config", "--config",
                             str(path)], cwd=ROOT, capture_output=True, text=True, timeout=30)
    assert result.returncode == 1
    keys = {line.split(":")[0] for line in result.stderr.splitlines()}
    assert {"hall.ws_heartbeat_seconds", "hall.send_buffer_bytes", "hall.max_body_bytes",
            "hall.aging_minutes", "queues[0].default_minutes",
            "limits.tickets_per_minute_per_client"} <= keys, result.stderr
    for nan in ("nan", "inf", "-inf"):
        path.write_text(DEMO_CONFIG.read_text(encoding="utf-8").replace(
            "[hall]\n", f"[hall]\nws_heartbeat_seconds = {nan}\n", 1), encoding="utf-8")
        with pytest.raises(Exception) as caught:
            load_config(path)
        assert "hall.ws_heartbeat_seconds" in str(caught.value)


# ------------------------------------------------------------------ 9.7 lockout


def _login(client: httpx.Client, name: str, password: str) -> httpx.Response:
    return client.post("/api/login", json={"username": name, "password": password})


def test_the_street_cannot_lock_the_manager_out_nor_learn_names(hall_server: HallServer
                                                                ) -> None:
    server = hall_server
    server.add_user("manager", "manager")
    street = from_address(server, "127.0.0.2")
    answers = [_login(street, "manager", "guess-guess") for _ in range(7)]
    assert [r.status_code for r in answers] == [401] * 4 + [423] * 3
    chinese(answers[0], 401, "bad_credentials")
    chinese(answers[4], 423, "locked")
    chinese(_login(street, "manager", "Tulip-7741-q"), 423, "locked")  # X is locked out
    office = from_address(server, "127.0.0.1")
    assert _login(office, "manager", "Tulip-7741-q").status_code == 200  # Y is not

    # a name that does not exist is answered exactly like a real one
    def story(address: str, name: str) -> list[tuple[int, str]]:
        client = from_address(server, address)
        return [(r.status_code, r.text) for r in
                (_login(client, name, "guess-guess") for _ in range(6))]

    assert story("127.0.0.3", "manager") == story("127.0.0.4", "nobody-here")

    def timing(address: str, name: str) -> float:
        client = from_address(server, address)
        times = []
        for _ in range(4):
            started = time.perf_counter()
            assert _login(client, name, "guess-guess").status_code == 401
            times.append(time.perf_counter() - started)
        return statistics.median(times)

    real, ghost = timing("127.0.0.6", "manager"), timing("127.0.0.7", "nobody-at-all")
    assert 1 / 3 < real / ghost < 3, (real, ghost)


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 9, 18, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))

    def __call__(self) -> datetime:
        return self.now


async def test_the_lock_grows_with_each_further_failure(tmp_path: Path) -> None:
    clock = Clock()
    service = await HallService.open(load_config(DEMO_CONFIG), tmp_path / "hall.db", clock)
    auth = Auth(service)
    try:
        await auth.add_user("boss", "manager", "Tulip-7741-q")
        minutes = []
        for _ in range(4):
            with pytest.raises(errors.HallError) as caught:
                await auth.login("boss", "wrong-one", None, "192.0.2.1")
            assert caught.value.status == 401
        for _ in range(4):  # each failure after a lock ends doubles the next lock
            with pytest.raises(errors.HallError) as caught:
                await auth.login("boss", "wrong-one", None, "192.0.2.1")
            assert caught.value.status == 423
            minutes.append(int(re.search(r"(\d+) 分钟", caught.value.message).group(1)))
            clock.now += timedelta(seconds=lockout.lock_seconds(5 + len(minutes) - 1) + 1)
        assert minutes == [1, 2, 4, 8]
        session, _ = await auth.login("boss", "Tulip-7741-q", None, "192.0.2.1")
        assert session.role == "manager"  # the right password after the lock: failures forgotten
        with pytest.raises(errors.HallError) as caught:
            await auth.login("boss", "wrong-one", None, "192.0.2.1")
        assert caught.value.status == 401
    finally:
        await service.close()
    assert [lockout.lock_seconds(n) for n in (4, 5, 6, 7)] == [0, 60, 120, 240]
    assert lockout.lock_seconds(100) == lockout.MAX_SECONDS


def test_a_kiosk_enrolled_in_chromium_is_not_held_to_the_address_limit(
        limited_server: HallServer, new_page: Any) -> None:
    """The installer types the 登记码 on /device?next=/kiosk; the kiosk's browser then takes
    more tickets than one address may, while a plain browser beside it gets the 429 message."""
    from playwright.sync_api import expect

    server = limited_server
    code = server.add_device("kiosk-hall", "kiosk")
    kiosk = new_page(1280, 800)
    kiosk.goto(server.url + "/device?next=/kiosk")
    expect(kiosk.locator("#d-current")).to_have_text("本设备尚未登记")
    kiosk.get_by_label("登记码").fill("wrong-code")
    kiosk.get_by_role("button", name="登记").click()
    expect(kiosk.locator("#d-msg")).to_have_text("登记码无效，请核对后重新输入")
    kiosk.get_by_label("登记码").fill(code)
    kiosk.get_by_role("button", name="登记").click()
    expect(kiosk).to_have_url(server.url + "/kiosk")
    for i in range(7):  # beyond tickets_per_minute_per_client = 5
        kiosk.goto(server.url + "/kiosk")
        kiosk.locator('button.svc[data-service="consult"]').click()
        expect(kiosk.locator("#t-number")).to_have_text(f"G{i + 1:03d}")

    plain = new_page(1280, 800)
    for i in range(6):
        plain.goto(server.url + "/kiosk")
        plain.locator('button.svc[data-service="consult"]').click()
        if i < 5:
            expect(plain.locator("#t-number")).to_have_text(f"G{i + 8:03d}")
    expect(plain.locator("#kiosk-msg")).to_contain_text("取号过于频繁")
    plain.goto(server.url + "/device")
    expect(plain.locator("#d-current")).to_have_text("本设备尚未登记")
    kiosk.goto(server.url + "/device")
    expect(kiosk.locator("#d-current")).to_have_text("本设备已登记为：大厅取号机 kiosk-hall")
