"""The perimeter against a real `hall serve` (issue 9.3, 9.4, 9.5, 9.8): one test per attack
that broke main, each made the way the attacker made it (raw sockets, real WebSocket frames,
real Chromium, the real SQLite file)."""

from __future__ import annotations

import asyncio
import json
import resource
import socket
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets

from hall.csv_export import spreadsheet_safe
from tests import backends
from tests.conftest import HallServer, free_port, roomy_config
from tests.test_server import assert_error as assert_error_shape


def assert_error(response: httpx.Response, status: int, code: str | None = None) -> dict:
    """The error shape (tests/test_server.py), with a message people can read."""
    error = assert_error_shape(response, status, code)
    assert any("\u4e00" <= c <= "\u9fff" for c in error["message"]), error
    return error


def manager(server: HallServer, name: str = "boss") -> httpx.Client:
    server.add_user(name, "manager")
    return server.login(name, None)


def paused(server: HallServer, window: int) -> bool:
    windows = httpx.get(server.url + "/api/hall", timeout=10).json()["windows"]
    return next(w for w in windows if w["number"] == window)["state"] == "paused"


# ---------------------------------------------------------------- 9.3 cross-site requests


def test_a_page_on_another_port_cannot_pause_a_clerks_window(hall_server: HallServer) -> None:
    """The attack: a page on 127.0.0.1:<other port> is same-site, so the browser sends the
    clerk's SameSite=Strict cookie with its POST. The server must look at `Origin`."""
    clerk = hall_server.clerk(1)
    other = f"http://127.0.0.1:{free_port()}"
    for origin in (other, "null", f"http://localhost:{hall_server.port}"):
        r = clerk.post("/api/windows/1/pause", json={"reason": "午休"},
                       headers={"Origin": origin})
        assert "拒绝" in assert_error(r, 403, "cross_origin")["message"]
    r = clerk.post("/api/windows/1/call", headers={"Origin": other})
    assert_error(r, 403, "cross_origin")
    assert not paused(hall_server, 1)
    # the pad's own page (same origin) works, and so does a device without Origin
    r = clerk.post("/api/windows/1/pause", json={"reason": "午休"},
                   headers={"Origin": hall_server.url})
    assert r.status_code == 200, r.text
    assert paused(hall_server, 1)
    assert clerk.post("/api/windows/1/resume").status_code == 200  # httpx sends no Origin
    # reading stays open to any origin: screens and phones only read
    assert httpx.get(hall_server.url + "/api/hall", headers={"Origin": other}).status_code == 200


def test_text_plain_and_form_bodies_are_refused_415(hall_server: HallServer) -> None:
    """The bodies a foreign page can POST without a CORS preflight are no longer read as
    JSON."""
    url = hall_server.url + "/api/tickets"
    body = json.dumps({"service": "yibao-card"})
    for content_type in ("text/plain", "text/plain;charset=UTF-8",
                         "application/x-www-form-urlencoded", "multipart/form-data; b=x", None):
        headers = {"Content-Type": content_type} if content_type else {}
        r = httpx.post(url, content=body, headers=headers)
        assert "格式不受支持" in assert_error(r, 415, "unsupported_media_type")["message"]
    clerk = hall_server.clerk(1)
    r = clerk.post("/api/windows/1/pause", data={"reason": "x"})
    assert_error(r, 415, "unsupported_media_type")
    assert not paused(hall_server, 1)
    assert httpx.get(hall_server.url + "/api/hall").json()["queues"][0]["waiting"] == 0
    r = httpx.post(url, content=body, headers={"Content-Type": "application/json; charset=utf-8"})
    assert r.status_code == 201, r.text


# ---------------------------------------------------------------- 9.4 no 500 from bad input


def test_each_fuzz_case_that_gave_500_is_a_4xx(hall_server: HallServer) -> None:
    url = hall_server.url
    json_headers = {"Content-Type": "application/json"}

    def post(path: str, raw: str | bytes, client: Any = httpx) -> httpx.Response:
        return client.post(url + path if client is httpx else path, content=raw,
                           headers=json_headers)

    assert_error(post("/api/tickets", "[" * 30000), 400, "too_deep")
    assert_error(post("/api/tickets", '{"a": ' * 5000), 400, "too_deep")
    r = post("/api/tickets", "[" * 100000)  # beyond the body limit: refused before reading
    assert_error(r, r.status_code)
    assert_error(post("/api/tickets", '{"service": ' + "{\"a\": " * 5000 + "1" + "}" * 5001),
                 400)
    # lone surrogates, in every string field and where a message echoes the input
    for body in ('{"service": "\\ud800"}', '{"service": "yibao-card", "kiosk": "\\udfff"}',
                 '{"service": "yibao-card", "channel": "\\ud800"}',
                 '{"\\ud800": 1}', '{"description": "\\ud800"}'):
        assert post("/api/tickets", body).status_code in (400, 404, 422)
        assert_error(post("/api/tickets", body), post("/api/tickets", body).status_code)
    for body in ('{"description": "\\ud800abc"}', '{"description": "x", "service": "\\ud800"}',
                 '{"description": "x", "contact": "\\udc00"}'):
        r = post("/api/complaints", body)
        assert 400 <= r.status_code < 500
        assert_error(r, r.status_code)
    r = post("/api/login", '{"username": "\\ud800", "password": "x", "window": 1}')
    assert_error(r, r.status_code)
    assert 400 <= r.status_code < 500
    # lists and dicts where a string is expected
    for body in ({"service": ["yibao-card"]}, {"service": {"a": 1}},
                 {"service": "yibao-card", "priority": ["elderly"]},
                 {"service": "yibao-card", "channel": {"x": 1}},
                 {"service": "yibao-card", "priority": {"x": 1}}):
        r = httpx.post(url + "/api/tickets", json=body)
        assert 400 <= r.status_code < 500, (body, r.text)
        assert_error(r, r.status_code)
    for body in ({"username": ["a"], "password": "x", "window": 1},
                 {"username": "a", "password": {"x": 1}, "window": 1},
                 {"username": "a", "password": "x", "window": [1]},
                 {"username": "a", "password": "x", "window": "1"}):
        r = httpx.post(url + "/api/login", json=body)
        assert 400 <= r.status_code < 500, (body, r.text)
        assert_error(r, r.status_code)
    clerk = hall_server.clerk(1)
    hall_server.issue()
    for path, body in (("/api/windows/1/call", {"number": ["A001"]}),
                       ("/api/windows/1/call", {"number": {"n": 1}}),
                       ("/api/windows/1/pause", {"reason": ["x"]}),
                       ("/api/windows/1/transfer", {"queue": ["yibao"]}),
                       ("/api/windows/1/transfer", {"window": 99999999999999999999}),
                       ("/api/windows/1/transfer", {"window": {"a": 1}}),
                       ("/api/windows/1/callback", {"number": ["A001"]}),
                       ("/api/windows/1/finish", {"outcome": ["done"]}),
                       ("/api/windows/1/finish", {"outcome": "done", "note": {"a": 1}})):
        r = clerk.post(path, json=body)
        assert 400 <= r.status_code < 500, (path, body, r.text)
        assert_error(r, r.status_code)
    # huge integers in path ids and bodies
    boss = manager(hall_server)
    for path in ("/api/windows/99999999999999999999", "/api/evaluate/99999999999999999999",
                 "/api/manage/complaints/99999999999999999999",
                 "/api/manage/rectifications/99999999999999999999",
                 "/screen/window/99999999999999999999", "/evaluate/99999999999999999999"):
        assert_error(boss.get(path), 404)
    assert_error(boss.post("/api/manage/complaints/99999999999999999999/assess", json={}), 404)
    for body in ({"description": "x", "window": 99999999999999999999},
                 {"description": "x", "window": -99999999999999999999},
                 {"description": "x", "window": 1e308}):
        r = httpx.post(url + "/api/complaints", json=body)
        assert 400 <= r.status_code < 500, (body, r.text)
        assert_error(r, r.status_code)
    r = post("/api/complaints", '{"description": "x", "window": 1e999}')
    assert_error(r, r.status_code)
    # dates and numbers in manager queries
    for path in ("/api/manage/ratings", "/api/manage/figures", "/api/manage/complaints",
                 "/api/manage/rectifications", "/api/manage/stats", "/api/manage/productivity",
                 "/api/manage/charts/trend.svg"):
        for params in ({"to": "9999-12-31"}, {"from": "0001-01-01", "to": "9999-12-31"},
                       {"from": "garbage"}, {"to": "2026-02-30"}, {"from": "\x00"},
                       {"window": "99999999999999999999"}, {"level": "1" * 30}):
            r = boss.get(path, params=params)
            assert r.status_code < 500, (path, params, r.text)
            if r.status_code >= 400:
                assert_error(r, r.status_code)
        assert_error(boss.get(path, params={"to": "9999-12-31"}), 400, "invalid_query")
    r = boss.get("/api/manage/events", params={"limit": "9" * 40})
    assert_error(r, 400, "invalid_query")
    # the server still works
    assert hall_server.issue()["number"] == "A002"


# ---------------------------------------------------------------- 9.5 resource limits


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def test_a_16_mib_websocket_message_is_closed_1009_and_memory_stays_sane(
        hall_server: HallServer) -> None:
    assert hall_server.proc is not None
    before = _rss_kib(hall_server.proc.pid)
    payload = "x" * (16 * 1024 * 1024)

    async def one() -> int | None:
        async with websockets.connect(hall_server.ws_url, max_size=None) as ws:
            await asyncio.wait_for(ws.recv(), 5)  # the snapshot
            try:
                await ws.send(payload)
                await asyncio.wait_for(ws.recv(), 10)
            except websockets.ConnectionClosed:
                pass
            await asyncio.wait_for(ws.wait_closed(), 10)
            return ws.close_code

    async def run() -> list[int | None]:
        return await asyncio.gather(*(one() for _ in range(20)))

    codes = asyncio.run(run())
    assert codes == [1009] * 20
    after = _rss_kib(hall_server.proc.pid)
    assert after - before < 64 * 1024, (before, after)  # main grew by ~800 MiB here
    assert httpx.get(hall_server.url + "/api/hall").status_code == 200


def test_half_sent_requests_are_cut_off_at_the_deadline(tmp_path: Path) -> None:
    server = HallServer(tmp_path, roomy_config(tmp_path, header_timeout_seconds=2,
                                               body_timeout_seconds=3))
    server.start()
    socks: list[socket.socket] = []
    try:
        for i in range(300):
            s = socket.create_connection(("127.0.0.1", server.port))
            if i % 3 == 0:
                s.sendall(b"GET /api/hall HTTP/1.1\r\nHost: x\r\nX-Slow: ")
            elif i % 3 == 1:
                s.sendall(b"POST /api/tickets HTTP/1.1\r\nHost: x\r\n"
                          b"Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"se")
            # else: connected, sends nothing at all
            s.setblocking(False)
            socks.append(s)
        started = time.monotonic()
        # the server keeps serving the others meanwhile
        assert httpx.get(server.url + "/api/hall", timeout=5).status_code == 200
        closed_at: dict[int, float] = {}
        answers: dict[int, bytes] = {}
        while len(closed_at) < len(socks) and time.monotonic() - started < 15:
            for i, s in enumerate(socks):
                if i in closed_at:
                    continue
                try:
                    data = s.recv(65536)
                except BlockingIOError:
                    continue
                except ConnectionResetError:
                    data = b""
                answers[i] = answers.get(i, b"") + data
                if not data:
                    closed_at[i] = time.monotonic() - started
            time.sleep(0.05)
        assert len(closed_at) == len(socks), f"{len(socks) - len(closed_at)} still open"
        assert max(closed_at.values()) < 3 + 1.5, max(closed_at.values())
        assert all(answers[i].startswith(b"HTTP/1.1 408") for i in range(0, 300, 3))
        assert b"request_timeout" in answers[1]
        assert httpx.get(server.url + "/api/hall", timeout=5).status_code == 200
        # a client that is merely slow but within the deadline is served
        with socket.create_connection(("127.0.0.1", server.port)) as s:
            s.sendall(b"GET /api/hall HTTP/1.1\r\nHost: x\r\n")
            time.sleep(1)
            s.sendall(b"Connection: close\r\n\r\n")
            s.settimeout(5)
            assert s.recv(100).startswith(b"HTTP/1.1 200")
    finally:
        for sock in socks:
            sock.close()
        server.stop()


def test_serve_raises_its_open_files_limit_and_says_so(tmp_path: Path) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or hard <= 256:
        pytest.skip("needs a finite hard limit above 256")
    resource.setrlimit(resource.RLIMIT_NOFILE, (256, hard))  # the child inherits it
    server = HallServer(tmp_path)
    try:
        server.start()
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    try:
        assert server.proc is not None
        limits = Path(f"/proc/{server.proc.pid}/limits").read_text()
        line = next(x for x in limits.splitlines() if x.startswith("Max open files"))
        assert line.split()[3:5] == [str(hard), str(hard)], line
        assert f"打开文件数上限：已由 256 提高到 {hard}" in server.log.read_text(encoding="utf-8")
    finally:
        server.stop()


def test_ws_since_out_of_range_gets_resync_then_the_snapshot(hall_server: HallServer) -> None:
    hall_server.issue()

    async def run() -> None:
        for since in ("999999", "99999999999999999999999"):
            async with websockets.connect(f"{hall_server.ws_url}?since={since}") as ws:
                assert json.loads(await asyncio.wait_for(ws.recv(), 5))["type"] == "resync"
                snapshot = json.loads(await asyncio.wait_for(ws.recv(), 5))
                assert snapshot["type"] == "snapshot"
                hall = await asyncio.to_thread(httpx.get, hall_server.url + "/api/hall")
                assert snapshot["data"]["queues"] == hall.json()["queues"]
                # and the connection stays live
                await asyncio.to_thread(hall_server.issue)
                event = json.loads(await asyncio.wait_for(ws.recv(), 5))
                assert event["type"] == "ticket.issued" and event["seq"] > snapshot["seq"]

    asyncio.run(run())
    # events before the oldest kept one (an archive job pruned them): resync, not a gap
    hall_server.issue()
    hall_server.rows("DELETE FROM events WHERE seq <= 2")

    async def pruned() -> None:
        async with websockets.connect(f"{hall_server.ws_url}?since=1") as ws:
            assert json.loads(await asyncio.wait_for(ws.recv(), 5))["type"] == "resync"
            assert json.loads(await asyncio.wait_for(ws.recv(), 5))["type"] == "snapshot"

    asyncio.run(pruned())


# ---------------------------------------------------------------- 9.8 headers and exports


PAGES = ("/kiosk", "/screen", "/screen/window/1", "/counter", "/evaluate/1", "/complaint",
         "/manage", "/manage/ratings", "/manage/complaints", "/manage/rectifications")


def test_every_answer_carries_the_security_headers(hall_server: HallServer) -> None:
    token = hall_server.issue()["token"]
    boss = manager(hall_server)
    paths = [*PAGES, f"/t/{token}", "/api/hall", "/api/services", "/api/nowhere",
             "/static/hall/hall.js", f"/t/{token}/qr.svg", "/api/manage/windows",
             "/api/manage/complaints?format=csv"]
    for path in paths:
        r = boss.get(path)
        assert r.status_code in (200, 404), (path, r.status_code)
        csp = r.headers.get("content-security-policy", "")
        assert "default-src 'self'" in csp and "script-src 'self'" in csp, path
        assert "'unsafe-inline'" not in csp.split("script-src", 1)[1].split(";")[0]
        assert "frame-ancestors 'none'" in csp
        assert r.headers.get("x-content-type-options") == "nosniff", path
        assert r.headers.get("x-frame-options") == "DENY", path
        assert r.headers.get("referrer-policy") == "no-referrer", path
        private = path.startswith(("/manage", "/api/manage"))
        assert (r.headers.get("cache-control") == "no-store") == private or not private, path
    for path in ("/manage", "/manage/complaints", "/api/manage/windows",
                 "/api/manage/complaints?format=csv"):
        assert boss.get(path).headers.get("cache-control") == "no-store", path
    assert "no-store" not in httpx.get(hall_server.url + "/screen").headers.get(
        "cache-control", "")


def test_csv_cells_that_a_spreadsheet_would_run_are_neutralised(hall_server: HallServer) -> None:
    formulas = ["=HYPERLINK(\"http://x\",\"点我\")", "+86-1", "-2+3", "@SUM(A1)",
                "\t=1+1", "\r=1+1"]
    for text in formulas:
        r = httpx.post(hall_server.url + "/api/complaints", json={"description": text + " 办不成"})
        assert r.status_code == 201, r.text
    boss = manager(hall_server)
    r = boss.get("/api/manage/complaints", params={"format": "csv"})
    assert r.status_code == 200
    import csv
    import io
    rows = list(csv.DictReader(io.StringIO(r.text.lstrip("\ufeff"))))
    cells = {row["反映内容"] for row in rows}
    for text in formulas:  # (the description is stored trimmed)
        assert "'" + (text + " 办不成").strip() in cells, (text, cells)
    assert spreadsheet_safe("\t=1+1") == "'\t=1+1" and spreadsheet_safe("\r@x") == "'\r@x"
    assert spreadsheet_safe(-3) == -3 and spreadsheet_safe("3-1") == "3-1"
    # every cell of every export: none starts like a formula
    for path in ("/api/manage/complaints", "/api/manage/events", "/api/manage/windows"):
        out = boss.get(path, params={"format": "csv"}).text.lstrip("\ufeff")
        for row in csv.reader(io.StringIO(out)):
            assert not any(c[:1] in ("=", "+", "-", "@", "\t", "\r") for c in row), row


def test_what_citizens_type_is_sealed_at_rest(hall_server: HallServer) -> None:
    id_number = "110101199003077777"
    said = f"身份证 {id_number} 办不了"
    comment = f"我的身份证号是 {id_number}，等太久"
    clerk = hall_server.clerk(1)
    ticket = hall_server.issue()
    for step, body in (("call", None), ("start", None), ("finish", {"outcome": "done"})):
        assert clerk.post(f"/api/windows/1/{step}", json=body).status_code == 200
    r = httpx.post(f"{hall_server.url}/api/tickets/{ticket['token']}/rating",
                   json={"level": 2, "comment": comment})
    assert r.status_code == 201, r.text
    r = httpx.post(hall_server.url + "/api/complaints", json={"description": said})
    assert r.status_code == 201, r.text
    desk = hall_server.clerk(12)
    r = desk.post("/api/windows/12/complaint", json={"description": said + " 当面"})
    assert r.status_code == 201, r.text
    boss = manager(hall_server)
    complaints = boss.get("/api/manage/complaints").json()["complaints"]
    assert {c["description"] for c in complaints} == {said, said + " 当面"}
    ratings = boss.get("/api/manage/ratings").json()["ratings"]
    assert [x["comment"] for x in ratings] == [comment]
    case = boss.get("/api/manage/rectifications").json()["rectifications"][0]
    assert case["rating"]["comment"] == comment
    assert comment in boss.get("/api/manage/ratings", params={"format": "csv"}).text
    raw = backends.stored_bytes(hall_server.db)
    assert id_number.encode() not in raw
    assert "等太久".encode() not in raw and "办不了".encode() not in raw


def test_idempotency_keys_are_the_clients_own_and_bound_to_the_body(
        hall_server: HallServer) -> None:
    key = {"Idempotency-Key": "kiosk-1-tap-42"}
    first = httpx.post(hall_server.url + "/api/tickets", json={"service": "yibao-card"},
                       headers=key)
    assert first.status_code == 201
    # another client (another address) guesses the key: it gets a ticket of its own
    other = httpx.Client(transport=httpx.HTTPTransport(local_address="127.0.0.2"))
    theirs = other.post(hall_server.url + "/api/tickets", json={"service": "yibao-card"},
                        headers=key)
    assert theirs.status_code == 201, theirs.text
    assert theirs.json()["token"] != first.json()["token"]
    assert theirs.json()["number"] == "A002"
    # the first client's retry still gets its own ticket
    again = httpx.post(hall_server.url + "/api/tickets", json={"service": "yibao-card"},
                       headers=key)
    assert again.json()["token"] == first.json()["token"]
    # the same key with another body is refused, in Chinese
    changed = httpx.post(hall_server.url + "/api/tickets",
                         json={"service": "shebao-pension"}, headers=key)
    error = assert_error(changed, 409, "idempotency_mismatch")
    assert "请求编号已用于另一个不同的取号请求" in error["message"]
    assert httpx.get(hall_server.url + "/api/hall").json()["queues"][0]["waiting"] == 2


def test_the_pure_checks_behind_the_guard() -> None:
    """The decisions, without a server: which origins may act, how deep is too deep, what
    cannot be stored."""
    from hall.api import MAX_DEPTH, _nesting, _unfit
    from hall.perimeter import origin_allowed

    host = "10.0.0.5:8000"
    assert origin_allowed(None, host)  # a kiosk program, a device adapter, curl
    assert origin_allowed("http://10.0.0.5:8000", host)
    assert origin_allowed("http://HALL.local", "hall.local:80")
    assert not origin_allowed("http://10.0.0.5:8001", host)  # another port: same site
    assert not origin_allowed("null", host)  # sandboxed frames, file:// pages
    assert not origin_allowed("http://evil.example", host)
    assert not origin_allowed("chrome-extension://abc", host)
    # behind a proxy: the page's public origin is the configured one
    assert origin_allowed("https://hall.gov.cn", "127.0.0.1:8000", "https://hall.gov.cn")
    assert not origin_allowed("https://hall.gov.cn.evil", "127.0.0.1:8000", "https://hall.gov.cn")
    assert _nesting(b"[" * (MAX_DEPTH + 1)) > MAX_DEPTH
    assert _nesting(b'{"a": "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["}') == 1
    assert _nesting(b'["\\"[[", {"b": [1]}]') == 3
    assert _unfit({"a": "\ud800"}) and _unfit({"\udfff": 1}) and _unfit({"a": [2 ** 60]})
    assert _unfit({"a": float("inf")}) and _unfit([float("nan")])
    assert _unfit({"a": [1, "张三", None, True, {"b": 2.5, "c": -(2 ** 53)}]}) is None
