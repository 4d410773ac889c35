"""The core against a real `hall serve` process on loopback: concurrency, crashes, bad input."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx

from tests.conftest import DEMO_CONFIG, ROOT, HallServer

ERROR_KEYS = {"code", "message"}


def assert_error(response: httpx.Response, status: int, code: str | None = None) -> dict:
    assert response.status_code == status, response.text
    body = response.json()
    # `field` (which input was wrong) is there when one input was: machines read it, people
    # read the Chinese message
    assert set(body) == {"error"}, body
    assert ERROR_KEYS <= set(body["error"]) <= ERROR_KEYS | {"field"}, body
    if code is not None:
        assert body["error"]["code"] == code, body
    return body["error"]


def test_twenty_kiosks_never_share_a_number(hall_server: HallServer) -> None:
    """20 concurrent kiosks × 25 tickets: every number distinct, every ticket stored."""

    async def kiosk(client: httpx.AsyncClient, k: int) -> list[dict]:
        out = []
        for i in range(25):
            service = ("yibao-card", "shebao-pension")[(k + i) % 2]
            r = await client.post("/api/tickets", json={"service": service})
            assert r.status_code == 201, r.text
            out.append(r.json())
        return out

    async def run() -> list[dict]:
        limits = httpx.Limits(max_connections=40)
        async with httpx.AsyncClient(base_url=hall_server.url, limits=limits,
                                     timeout=30) as client:
            results = await asyncio.gather(*(kiosk(client, k) for k in range(20)))
        return [t for r in results for t in r]

    tickets = asyncio.run(run())
    numbers = [t["number"] for t in tickets]
    assert len(numbers) == 500 and len(set(numbers)) == 500
    a = sorted(int(n[1:]) for n in numbers if n.startswith("A"))
    b = sorted(int(n[1:]) for n in numbers if n.startswith("B"))
    assert a == list(range(1, len(a) + 1)) and b == list(range(1, len(b) + 1))
    stored = {r["number"] for r in hall_server.rows("SELECT number FROM tickets")}
    assert stored == set(numbers)


def test_eight_windows_never_call_the_same_ticket(hall_server: HallServer) -> None:
    """8 windows calling concurrently until the queues are empty: each ticket called once."""
    for _ in range(60):
        hall_server.issue("yibao-card")
        hall_server.issue("shebao-pension")
    windows = [1, 2, 5]  # the windows that serve 医保 and 社保
    extra = [3, 4, 6, 7, 8]  # five more calling their own (empty) queues at the same time
    called: dict[int, list[str]] = {w: [] for w in windows + extra}
    clients = {w: hall_server.clerk(w) for w in windows + extra}

    def work(window: int) -> None:
        client = clients[window]
        while True:
            r = client.post(f"/api/windows/{window}/call")
            if r.status_code == 409:
                assert r.json()["error"]["code"] == "no_ticket_waiting"
                return
            assert r.status_code == 200, r.text
            called[window].append(r.json()["current"]["number"])
            assert client.post(f"/api/windows/{window}/finish",
                               json={"outcome": "done"}).status_code == 200

    threads = [threading.Thread(target=work, args=(w,)) for w in windows + extra]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    everything = [n for w in called.values() for n in w]
    assert len(everything) == 120 and len(set(everything)) == 120
    assert all(not called[w] for w in extra)
    calls = hall_server.rows("SELECT COUNT(*) AS n, SUM(calls) AS calls FROM tickets "
                             "WHERE state = 'done'")
    assert calls == [{"n": 120, "calls": 120}]


def test_kill_9_loses_no_ticket_a_kiosk_was_told_it_has(roomy_server: HallServer) -> None:
    """10 clients issue tickets; the server is SIGKILLed midway; after restart every ticket
    whose 201 arrived is there with its number, and numbering continues without reuse."""
    hall_server = roomy_server
    confirmed: list[dict] = []
    lock = threading.Lock()
    stop = threading.Event()

    def client() -> None:
        with httpx.Client(base_url=hall_server.url, timeout=5) as c:
            while not stop.is_set():
                try:
                    r = c.post("/api/tickets", json={"service": "yibao-card"})
                except httpx.HTTPError:
                    return
                if r.status_code == 201:
                    with lock:
                        confirmed.append(r.json())

    threads = [threading.Thread(target=client) for _ in range(10)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 10
    while len(confirmed) < 300 and time.monotonic() < deadline:
        time.sleep(0.01)
    hall_server.kill()
    stop.set()
    for t in threads:
        t.join(10)
    assert len(confirmed) >= 100
    hall_server.start()
    for t in confirmed:
        r = httpx.get(f"{hall_server.url}/api/tickets/{t['token']}")
        assert r.status_code == 200 and r.json()["number"] == t["number"]
    after = hall_server.issue("yibao-card")
    highest = max(int(t["number"][1:]) for t in confirmed)
    assert int(after["number"][1:]) > highest
    numbers = [r["number"] for r in hall_server.rows("SELECT number FROM tickets")]
    assert len(numbers) == len(set(numbers))


def test_idempotency_key_returns_the_same_ticket(hall_server: HallServer) -> None:
    headers = {"Idempotency-Key": "kiosk-1-tap-42"}
    first = httpx.post(hall_server.url + "/api/tickets", json={"service": "yibao-card"},
                       headers=headers)
    again = httpx.post(hall_server.url + "/api/tickets", json={"service": "yibao-card"},
                       headers=headers)
    assert first.status_code == 201 and again.status_code == 201
    assert again.json()["number"] == first.json()["number"]
    assert hall_server.issue("yibao-card")["number"] == "A002"


def test_bad_input_gets_the_error_shape_and_the_server_keeps_serving(
        hall_server: HallServer) -> None:
    url = hall_server.url

    def post(u: str, **kw: Any) -> httpx.Response:  # a JSON body, well formed or not
        return httpx.post(u, headers={"Content-Type": "application/json"}, **kw)

    assert_error(post(url + "/api/tickets", content=b"{not json"), 400, "malformed_json")
    assert_error(post(url + "/api/tickets", content=b"[1, 2]"), 400, "malformed_json")
    assert_error(post(url + "/api/tickets", json={"service": 17}), 422)
    assert_error(post(url + "/api/tickets", json={"service": "yibao-card", "needs_help": "yes"}),
                 422)
    assert_error(post(url + "/api/tickets", json={"service": "yibao-card", "priority": "vip"}),
                 422)
    assert_error(post(url + "/api/tickets", json={"service": "no-such"}), 404, "unknown_service")
    big = b'{"service": "' + b"x" * (2 * 1024 * 1024) + b'"}'
    assert_error(post(url + "/api/tickets", content=big), 413, "too_large")
    assert_error(httpx.get(url + "/api/tickets/not-a-token"), 404, "unknown_ticket")
    assert_error(httpx.get(url + "/api/nowhere"), 404)
    assert_error(httpx.delete(url + "/api/tickets"), 405)

    hall_server.issue("yibao-card")
    clerk = hall_server.clerk(1)
    assert_error(clerk.post("/api/windows/99/call"), 404, "unknown_window")
    assert_error(clerk.post("/api/windows/2/call"), 403, "forbidden")
    assert_error(httpx.post(url + "/api/windows/1/call"), 401, "unauthenticated")
    error = assert_error(clerk.post("/api/windows/1/start"), 409, "illegal_state")
    assert "没有号票" in error["message"]
    clerk.post("/api/windows/1/call")
    clerk.post("/api/windows/1/start")
    error = assert_error(clerk.post("/api/windows/1/skip"), 409, "illegal_state")
    assert "办理中" in error["message"]  # names the current state, in Chinese
    assert_error(clerk.post("/api/windows/1/finish", json={"outcome": "maybe"}), 422)
    assert_error(clerk.post("/api/windows/1/finish", content=b"oops",
                            headers={"Content-Type": "application/json"}), 400)
    assert_error(clerk.post("/api/windows/1/transfer", json={"queue": "nope"}), 404)
    # still serving
    assert clerk.post("/api/windows/1/finish", json={"outcome": "done"}).status_code == 200
    assert hall_server.issue("yibao-card")["number"] == "A002"


def test_login_lockout_cookie_and_audit(hall_server: HallServer) -> None:
    hall_server.add_user("wang", "clerk")
    hall_server.add_user("boss", "manager")
    hall_server.add_user("audit", "auditor")
    url = hall_server.url
    for _ in range(4):
        assert_error(httpx.post(url + "/api/login", json={
            "username": "wang", "password": "wrong-password", "window": 1}), 401)
    assert_error(httpx.post(url + "/api/login", json={
        "username": "wang", "password": "wrong-password", "window": 1}), 423, "locked")
    # locked: even the right password is refused now
    assert_error(httpx.post(url + "/api/login", json={
        "username": "wang", "password": "Tulip-7741-q", "window": 1}), 423, "locked")
    r = httpx.post(url + "/api/login", json={"username": "boss", "password": "Tulip-7741-q"})
    assert r.status_code == 200
    cookie = r.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie
    boss = httpx.Client(base_url=url, cookies=r.cookies)
    assert boss.get("/api/manage/windows").status_code == 200
    assert_error(boss.get("/api/manage/audit"), 403)
    auditor = hall_server.login("audit", None)
    log = auditor.get("/api/manage/audit").json()["audit"]
    failures = [e for e in log if e["user"] == "wang" and e["action"] == "login"]
    assert len(failures) == 6 and not any(e["success"] for e in failures)
    assert any(e["user"] == "boss" and e["success"] for e in log)
    csv = auditor.get("/api/manage/audit?format=csv")
    assert csv.headers["content-type"].startswith("text/csv") and "wang" in csv.text
    # a clerk is not a manager
    clerk = hall_server.clerk(3)
    assert_error(clerk.get("/api/manage/windows"), 403)
    clerk.post("/api/logout")
    assert_error(clerk.post("/api/windows/3/call"), 401)


def test_a_second_clerk_takes_the_window_over_only_after_the_first_leaves(
        hall_server: HallServer) -> None:
    """Shift change: the second clerk is refused while the first is logged in (409), and
    gets the window once the first logged out (tests/test_window_login.py: a manager)."""
    first = hall_server.clerk(1)
    hall_server.add_user("zhao", "clerk")
    assert_error(httpx.post(hall_server.url + "/api/login", json={
        "username": "zhao", "password": "Tulip-7741-q", "window": 1}), 409, "window_in_use")
    assert first.post("/api/logout").status_code == 200
    second = hall_server.login("zhao", 1)
    assert_error(first.post("/api/windows/1/pause", json={"reason": "x"}), 401)
    state = second.get("/api/windows/1").json()
    assert state["window"]["clerk"] == "zhao"


def test_check_config_names_every_mistake_by_key(tmp_path: Path) -> None:
    bad = DEMO_CONFIG.read_text(encoding="utf-8")
    bad = bad.replace('queues = ["kuaquyu"]', 'queues = ["kuaquyu", "X"]')
    bad = bad.replace('prefix = "B"', 'prefix = "A"')
    bad = bad.replace('kind = "consult"', 'kind = "vip"')
    bad = bad.replace('timezone = "Asia/Shanghai"', 'timezone = "Mars/Base"')
    path = tmp_path / "bad.toml"
    path.write_text(bad, encoding="utf-8")
    result = subprocess.run([sys.executable, "-m", "hall", "check-config", "--config",
                             str(path)], cwd=ROOT, capture_output=True, text=True, timeout=30)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert 'windows[9].queues: unknown queue "X"' in lines or \
        "windows[9].queues: unknown queue 'X'" in lines
    assert any(line.startswith("queues[1].prefix: duplicate prefix") for line in lines)
    assert any(line.startswith("windows[8].kind:") for line in lines)
    assert any(line.startswith("hall.timezone:") for line in lines)
    serve = subprocess.run([sys.executable, "-m", "hall", "serve", "--config", str(path),
                            "--db", str(tmp_path / "x.db"), "--port", "1"], cwd=ROOT,
                           capture_output=True, text=True, timeout=30)
    assert serve.returncode == 1 and 'unknown queue' in serve.stderr
    ok = subprocess.run([sys.executable, "-m", "hall", "check-config", "--config",
                         str(DEMO_CONFIG)], cwd=ROOT, capture_output=True, text=True, timeout=30)
    assert ok.returncode == 0


def test_serve_prints_every_page_url(hall_server: HallServer) -> None:
    log = hall_server.log.read_text(encoding="utf-8")
    for page in ("/kiosk", "/counter", "/screen", "/screen/window/1", "/t/", "/manage"):
        assert f"{hall_server.url}{page}" in log


def test_ticket_status_shows_window_once_called(hall_server: HallServer) -> None:
    t = hall_server.issue("bdc-query")
    assert t["state"] == "waiting" and t["window"] is None and t["position"] == 0
    clerk = hall_server.clerk(3)
    clerk.post("/api/windows/3/call")
    status = httpx.get(f"{hall_server.url}/api/tickets/{t['token']}").json()
    assert status["state"] == "called"
    assert status["window"] == {"number": 3, "name": "3号窗口"}
    snapshot = httpx.get(hall_server.url + "/api/hall").json()
    assert snapshot["recent_calls"][0]["number"] == t["number"]
    text = json.dumps(snapshot, ensure_ascii=False)
    assert t["token"] not in text  # public payloads carry no secret or personal data
