"""Three `hall serve` processes on one PostgreSQL database behind a real haproxy (issue 13.3).

These run whatever `--backend` says: a city's several processes exist only on PostgreSQL, so
they always start their own database of the test run's PostgreSQL server
(tests/backends.py) and their own haproxy (tests/cluster_harness.py).
"""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets

from hall.events import public_message
from hall.store import Event
from tests import backends
from tests.clocked import TZ, ClockedServer
from tests.cluster_harness import PASSWORD, ROOT, HallCluster
from tests.conftest import NO_LIMITS, roomy_config

pytestmark = pytest.mark.timeout(300)

# one service of every queue; window n serves the queues config.toml gives it (12: 办不成事)
SERVICES = ("yibao-card", "shebao-pension", "bdc-query", "tax-invoice", "id-card",
            "company-setup", "consult", "cross-region", "cannot-do")


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[HallCluster]:
    config = roomy_config(tmp_path)
    config.write_text(config.read_text(encoding="utf-8") + NO_LIMITS, encoding="utf-8")
    with HallCluster(tmp_path, config, backends.cluster().database()) as running:
        yield running


def add_users(cluster: HallCluster, users: list[tuple[str, str]]) -> None:
    """`hall user add` for each (name, role), several at once (each hashes a password)."""
    for start in range(0, len(users), 4):
        procs = [subprocess.Popen(
            [sys.executable, "-m", "hall", "user", "add", name, "--role", role, "--db",
             cluster.db, "--config", str(cluster.config), "--password-stdin"],
            cwd=ROOT, env=cluster.env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True) for name, role in users[start:start + 4]]
        for proc in procs:
            _, err = proc.communicate(PASSWORD + "\n", timeout=60)
            assert proc.returncode == 0, err


def login(url: str, username: str, window: int | None) -> httpx.Cookies:
    r = httpx.post(url + "/api/login", json={"username": username, "password": PASSWORD,
                                             "window": window}, timeout=30)
    assert r.status_code == 200, r.text
    return r.cookies


def clerks_at_windows(cluster: HallCluster, windows: range) -> dict[int, httpx.Cookies]:
    """clerk{n} logged in at window n, each on process n mod 3 directly (the sessions are in
    the database: the cookie is then used through the balancer, on any process)."""
    add_users(cluster, [("lead", "manager"), *((f"clerk{n}", "clerk") for n in windows)])
    lead = login(cluster.url, "lead", None)
    cookies = {}
    for n in windows:
        node = cluster.nodes[n % len(cluster.nodes)]
        if n == 12:  # the 办不成事 window takes only a clerk a manager assigned
            r = httpx.patch(node.url + "/api/manage/windows/12", json={"assign": "clerk12"},
                            cookies=lead, timeout=30)
            assert r.status_code == 200, r.text
        cookies[n] = login(node.url, f"clerk{n}", n)
    return cookies


def public_seqs(db: str, after: int, upto: int) -> list[int]:
    """The seqs the public `/ws` owes a screen for (after, upto], from the durable log."""
    rows = backends.rows(db, "SELECT seq, time, type, data FROM events WHERE seq > ? AND "
                             "seq <= ? ORDER BY seq", (after, upto))
    return [r["seq"] for r in rows if public_message(
        Event(r["seq"], r["time"], r["type"], json.loads(r["data"]))) is not None]


def last_seq(db: str) -> int:
    return backends.rows(db, "SELECT COALESCE(MAX(seq), 0) AS seq FROM events")[0]["seq"]


async def current_number(client: httpx.AsyncClient, n: int, lost: list[str]) -> str | None:
    """The number window `n` has called, read again after a step got no answer."""
    for _ in range(50):
        try:
            r = await client.get(f"/api/windows/{n}")
        except httpx.TransportError as exc:
            lost.append(f"window {n} read: {exc!r}")
        else:
            if r.status_code == 200:
                current = r.json()["current"]
                return current["number"] if current else None
            lost.append(f"window {n} read: {r.status_code} {r.text[:100]}")
        await asyncio.sleep(0.1)
    raise AssertionError(f"window {n} could not be read: {lost[-3:]}")


async def run_window(url: str, n: int, cookies: httpx.Cookies, stop: asyncio.Event,
                     calls: list[tuple[int, str, str]], lost: list[str] | None = None) -> None:
    """A clerk calling and finishing as fast as the hall answers, until the kiosks are done
    and the window's queues are empty. With `lost`, a step whose process died under it (no
    answer, or the balancer's 502) is noted there and the window is read again, as the pad
    does, to go on from whatever had committed."""
    async with httpx.AsyncClient(base_url=url, cookies=cookies, timeout=60) as client:
        current: str | None = None
        while True:
            done = stop.is_set()
            step = "call" if current is None else "finish"
            body = {"outcome": "done"} if step == "finish" else None
            try:
                r: httpx.Response | None = await client.post(f"/api/windows/{n}/{step}",
                                                             json=body)
            except httpx.TransportError as exc:
                r, error = None, repr(exc)
            if r is None or r.status_code == 502:
                assert lost is not None, error if r is None else r.text
                lost.append(f"window {n} {step}: {error if r is None else r.status_code}")
                current = await current_number(client, n, lost)
                if current is not None and all(c[1] != current for c in calls):
                    calls.append((n, current, "?"))
                continue
            if step == "finish":
                assert r.status_code == 200, r.text
                current = None
            elif r.status_code == 200:
                current = r.json()["current"]["number"]
                calls.append((n, current, r.headers["x-hall-process"]))
            else:
                assert r.status_code == 409, r.text
                assert r.json()["error"]["code"] == "no_ticket_waiting", r.text
                if done:
                    return
                await asyncio.sleep(0.1)


def test_twenty_kiosks_and_twelve_windows_on_three_processes(cluster: HallCluster) -> None:
    """No number is given twice, every ticket is called exactly once, by one window, though
    kiosks and windows talk to three processes at once."""
    cookies = clerks_at_windows(cluster, range(1, 13))
    per_kiosk = 20

    async def run() -> tuple[list[dict[str, Any]], list[tuple[int, str, str]]]:
        issued: list[dict[str, Any]] = []
        calls: list[tuple[int, str, str]] = []
        stop = asyncio.Event()

        async def kiosk(i: int) -> None:
            async with httpx.AsyncClient(base_url=cluster.url, timeout=60) as client:
                for k in range(per_kiosk):
                    r = await client.post("/api/tickets", json={
                        "service": SERVICES[(i + k) % len(SERVICES)], "kiosk": f"kiosk-{i}"})
                    assert r.status_code == 201, r.text
                    issued.append({**r.json(), "process": r.headers["x-hall-process"]})

        windows = [asyncio.create_task(run_window(cluster.url, n, c, stop, calls))
                   for n, c in cookies.items()]
        await asyncio.gather(*(kiosk(i) for i in range(20)))
        stop.set()
        await asyncio.gather(*windows)
        return issued, calls

    issued, calls = asyncio.run(run())
    assert len(issued) == 20 * per_kiosk
    numbers = [t["number"] for t in issued]
    assert len(set(numbers)) == len(numbers)
    # every queue's numbers run 1..n with no hole: the counters are shared, not per process
    by_prefix: dict[str, list[int]] = {}
    for number in numbers:
        by_prefix.setdefault(number[0], []).append(int(number[1:]))
    for prefix, values in by_prefix.items():
        assert sorted(values) == list(range(1, len(values) + 1)), prefix
    called = [number for _, number, _ in calls]
    assert Counter(called).most_common(1)[0][1] == 1  # no ticket called twice
    assert sorted(called) == sorted(numbers)  # and none left waiting
    # spread: kiosks were answered, and calls made, by every process
    assert {t["process"] for t in issued} == {"p1", "p2", "p3"}
    assert {p for _, _, p in calls} == {"p1", "p2", "p3"}
    rows = backends.rows(cluster.db, "SELECT number, state, calls, window FROM tickets")
    assert len(rows) == len(issued)
    assert all(r["state"] == "done" and r["calls"] == 1 for r in rows)
    window_of = {number: n for n, number, _ in calls}
    assert {r["number"]: r["window"] for r in rows} == window_of
    called_events = [json.loads(r["data"])["number"] for r in backends.rows(
        cluster.db, "SELECT data FROM events WHERE type = 'ticket.called' ORDER BY seq")]
    assert sorted(called_events) == sorted(numbers)


def _cookie_header(cookies: httpx.Cookies) -> str:
    return "; ".join(f"{k}={v}" for k, v in cookies.items())


async def recv(ws: Any, timeout: float = 10) -> dict[str, Any]:
    return json.loads(await asyncio.wait_for(ws.recv(), timeout))


def test_a_screen_on_one_process_sees_a_call_made_on_another(cluster: HallCluster) -> None:
    p1, p2, p3 = cluster.nodes
    add_users(cluster, [("clerk1", "clerk")])
    clerk = login(p2.url, "clerk1", 1)

    async def run() -> tuple[int, list[dict[str, Any]], str, float]:
        async with websockets.connect(p1.ws_url) as ws:
            snapshot = await recv(ws)
            assert snapshot["type"] == "snapshot"
            async with httpx.AsyncClient(timeout=30) as client:
                for _ in range(3):  # on the third process
                    r = await client.post(p3.url + "/api/tickets", json={"service": "yibao-card"})
                    assert r.status_code == 201
                sent = time.monotonic()
                r = await client.post(p2.url + "/api/windows/1/call",
                                      headers={"Cookie": _cookie_header(clerk)})
                assert r.status_code == 200, r.text
                number = r.json()["current"]["number"]
            got = []
            while not got or got[-1]["type"] != "ticket.called":
                got.append(await recv(ws))
            waited = time.monotonic() - sent
        return snapshot["seq"], got, number, waited

    first, got, number, waited = asyncio.run(run())
    called = got[-1]
    assert called["data"]["number"] == number == "A001"
    assert called["data"]["window"] == 1
    assert called["data"]["window_state"]["current"] == "A001"
    # in seq order, nothing of the log left out, nothing twice
    assert [e["seq"] for e in got] == public_seqs(cluster.db, first, called["seq"])
    assert [e["type"] for e in got].count("ticket.issued") == 3
    assert waited < 2.0


async def issue_until(url: str, stop: asyncio.Event, kiosk: int,
                      answers: list[dict[str, Any]], failures: list[dict[str, Any]]) -> None:
    """A kiosk taking tickets back to back. A ticket that got no answer (its process died with
    the request in it) is asked again with the same Idempotency-Key, as the kiosk page does:
    the hall gives the same ticket if the first request had committed."""
    async with httpx.AsyncClient(base_url=url, timeout=30) as client:
        k = 0
        while not stop.is_set():
            key = f"kiosk{kiosk}-{uuid.uuid4().hex}"
            service = SERVICES[(kiosk + k) % len(SERVICES)]
            k += 1
            for attempt in range(20):
                sent = time.monotonic()
                try:
                    r = await client.post("/api/tickets", json={"service": service},
                                          headers={"Idempotency-Key": key})
                except httpx.TransportError as exc:
                    failures.append({"key": key, "sent": sent, "error": repr(exc)})
                else:
                    if r.status_code == 201:
                        answers.append({**r.json(), "key": key, "sent": sent,
                                        "attempt": attempt, "answered": time.monotonic(),
                                        "process": r.headers["x-hall-process"]})
                        break
                    failures.append({"key": key, "sent": sent, "status": r.status_code,
                                     "body": r.text[:200]})
                await asyncio.sleep(0.05)
            else:
                raise AssertionError(f"no ticket for {key}: {failures[-3:]}")


def test_kill_9_of_one_process_loses_no_acknowledged_ticket(cluster: HallCluster) -> None:
    victim = cluster.nodes[1]
    add_users(cluster, [("clerk1", "clerk")])
    clerk = login(victim.url, "clerk1", 1)  # a session made on the process that will die

    async def run() -> tuple[list[dict[str, Any]], list[dict[str, Any]], float]:
        answers: list[dict[str, Any]] = []
        failures: list[dict[str, Any]] = []
        stop = asyncio.Event()
        kiosks = [asyncio.create_task(issue_until(cluster.url, stop, i, answers, failures))
                  for i in range(20)]
        # under way on every process (a loaded machine may take a while to warm up)
        for _ in range(600):
            if min(Counter(a["process"] for a in answers)[n.name] for n in cluster.nodes) > 20:
                break
            await asyncio.sleep(0.1)
        killed = time.monotonic()
        await asyncio.to_thread(victim.kill)
        await asyncio.sleep(3.0)
        stop.set()
        await asyncio.gather(*kiosks)
        return answers, failures, killed

    answers, failures, killed = asyncio.run(run())
    stored = {r["token"]: r for r in backends.rows(cluster.db, "SELECT token, number, id "
                                                                "FROM tickets")}
    # every ticket a kiosk was told it has is in the database, as it was told
    for answer in answers:
        assert answer["token"] in stored, answer
        assert stored[answer["token"]]["number"] == answer["number"]
    # one ticket per kiosk request, also for those asked twice
    assert len({a["key"] for a in answers}) == len(answers) == len(stored)
    # the others kept serving: after the kill, tickets came from the two live processes,
    # and a request sent after the kill needed no retry by the kiosk (the balancer's own
    # retry takes it to a live process)
    after = [a for a in answers if a["sent"] > killed + 0.05]
    assert len(after) > 100
    assert {a["process"] for a in after} == {"p1", "p3"}
    assert [f for f in failures if f["sent"] > killed + 0.05] == []
    # the clerk whose session was made on the dead process goes on through the balancer
    r = httpx.post(cluster.url + "/api/windows/1/call", cookies=clerk, timeout=30)
    assert r.status_code == 200, r.text
    assert re.fullmatch(r"[AB]\d{3}", r.json()["current"]["number"])


def test_a_screen_whose_process_died_reconnects_with_since_and_misses_nothing(
        cluster: HallCluster) -> None:
    cookies = clerks_at_windows(cluster, range(1, 5))

    async def run() -> tuple[list[dict[str, Any]], int, str]:
        stop = asyncio.Event()
        got: list[dict[str, Any]] = []
        answers: list[dict[str, Any]] = []
        failures: list[dict[str, Any]] = []
        calls: list[tuple[int, str, str]] = []
        lost: list[str] = []
        ws = await websockets.connect(cluster.ws_url)
        victim = ws.response.headers["X-Hall-Process"]
        snapshot = await recv(ws)
        assert snapshot["type"] == "snapshot"
        kiosks = [asyncio.create_task(issue_until(cluster.url, stop, i, answers, failures))
                  for i in range(6)]
        windows = [asyncio.create_task(run_window(cluster.url, n, c, stop, calls, lost))
                   for n, c in cookies.items()]

        async def kill_soon() -> None:
            await asyncio.sleep(1.5)
            node = next(n for n in cluster.nodes if n.name == victim)
            await asyncio.to_thread(node.kill)
            await asyncio.sleep(2.0)
            stop.set()

        killer = asyncio.create_task(kill_soon())
        reconnects = 0
        while True:
            try:
                event = await recv(ws, timeout=3 if stop.is_set() else 10)
            except websockets.ConnectionClosed:
                reconnects += 1
                assert reconnects == 1
                since = got[-1]["seq"] if got else snapshot["seq"]
                # as the screen page does: try again after a pause while the balancer has
                # not yet marked the dead process down (it may answer 502 for a moment)
                for attempt in range(20):
                    try:
                        ws = await websockets.connect(f"{cluster.ws_url}?since={since}")
                        break
                    except websockets.InvalidStatus:
                        assert attempt < 19, "the balancer never took the dead process out"
                        await asyncio.sleep(0.5)
                assert ws.response.headers["X-Hall-Process"] != victim
                continue
            except TimeoutError:
                if stop.is_set() and all(t.done() for t in (*kiosks, *windows)):
                    break
                raise
            assert event["type"] not in ("resync", "snapshot"), event
            if event["type"] != "ping":
                got.append(event)
        await ws.close()
        await asyncio.gather(killer, *kiosks, *windows)
        assert reconnects == 1
        assert calls and answers
        print("lost steps:", lost, "kiosk failures:", failures)
        return got, snapshot["seq"], victim

    got, first, victim = asyncio.run(run())
    seqs = [e["seq"] for e in got]
    assert seqs == public_seqs(cluster.db, first, last_seq(cluster.db))
    # and among them the calls of every window, made on every process
    assert {e["data"]["window"] for e in got if e["type"] == "ticket.called"} == {1, 2, 3, 4}


def eta(url: str, service: str) -> int:
    r = httpx.get(url + "/api/services", timeout=30)
    return next(s["eta_minutes"] for s in r.json()["services"] if s["id"] == service)


def test_windows_opened_on_one_process_shorten_the_wait_the_others_tell(
        cluster: HallCluster) -> None:
    """The open windows are kept in each process's memory (for the estimated wait): a login on
    one process is read again by the others when its event arrives."""
    p1, p2, p3 = cluster.nodes
    add_users(cluster, [("clerk1", "clerk"), ("clerk2", "clerk")])
    for _ in range(4):
        assert httpx.post(p1.url + "/api/tickets", json={"service": "yibao-card"},
                          timeout=30).status_code == 201
    alone = eta(p1.url, "yibao-card")
    assert alone == eta(p3.url, "yibao-card")
    login(p2.url, "clerk1", 1)
    login(p2.url, "clerk2", 2)
    shorter = eta(p2.url, "yibao-card")
    assert shorter < alone
    deadline = time.monotonic() + 5
    while (eta(p1.url, "yibao-card"), eta(p3.url, "yibao-card")) != (shorter, shorter):
        assert time.monotonic() < deadline, "another process kept the old estimate"
        time.sleep(0.1)


def hall_backends(db: str) -> set[int]:
    return {r["pid"] for r in backends.rows(
        db, "SELECT pid FROM pg_stat_activity WHERE application_name = 'hall' "
            "AND datname = current_database()")}


def test_processes_connect_again_when_postgresql_ends_their_connections(
        cluster: HallCluster) -> None:
    """PostgreSQL ends every connection of the hall (a restart, a failover) while kiosks take
    tickets: each process connects again by itself; a ticket caught in the break is answered
    503 (never 500) and given by the kiosk's retry; a screen misses no event."""
    p1 = cluster.nodes[0]
    database = cluster.db.rsplit("/", 1)[1]
    before = hall_backends(cluster.db)

    async def run() -> tuple[int, list[dict[str, Any]], list[dict[str, Any]],
                             list[dict[str, Any]], float]:
        answers: list[dict[str, Any]] = []
        failures: list[dict[str, Any]] = []
        stop = asyncio.Event()
        async with websockets.connect(p1.ws_url) as ws:
            first = (await recv(ws))["seq"]
            kiosks = [asyncio.create_task(issue_until(cluster.url, stop, i, answers, failures))
                      for i in range(6)]
            await asyncio.sleep(1.0)
            ended = time.monotonic()
            await asyncio.to_thread(
                backends.cluster().sql,
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE "
                "application_name = 'hall' AND datname = current_database()", database)
            await asyncio.sleep(2.0)
            stop.set()
            await asyncio.gather(*kiosks)
            numbers = {a["number"] for a in answers}
            got: list[dict[str, Any]] = []
            issued: set[str] = set()
            while not issued >= numbers:
                event = await recv(ws)
                got.append(event)
                if event["type"] == "ticket.issued":
                    issued.add(event["data"]["number"])
        return first, got, answers, failures, ended

    first, got, answers, failures, ended = asyncio.run(run())
    assert all(f.get("status") == 503 and "database_unavailable" in f["body"]
               for f in failures), failures
    # every process answered again after the break, on new connections (writer, reader and
    # listener each)
    assert {a["process"] for a in answers if a["sent"] > ended + 1.0} == {"p1", "p2", "p3"}
    after = hall_backends(cluster.db)
    assert len(after) >= 3 * len(cluster.nodes) and not after & before
    # one ticket per kiosk request, and the screen on p1 saw the log as it is
    assert len(backends.rows(cluster.db, "SELECT id FROM tickets")) == len(answers)
    assert [e["seq"] for e in got] == public_seqs(cluster.db, first, got[-1]["seq"])


def test_every_process_rolling_the_day_over_at_once_closes_it_once(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each process runs the midnight roll-over (and closes stale days when it starts): run
    by two at the same moment, yesterday's tickets are closed once, with one `hall.closed`
    and one roll-up of the day's figures (the second finds the work done, under the lock)."""
    db = backends.cluster().database()
    monkeypatch.setenv("HALL_DATA_DIR", str(tmp_path / "var"))
    monday = datetime(2026, 3, 2, 10, 0, tzinfo=TZ)
    a = ClockedServer(tmp_path, monday, db=db).start()
    b = ClockedServer(tmp_path, monday, db=db).start()
    try:
        for server, count in ((a, 3), (b, 2)):
            for _ in range(count):
                r = server.client().post("/api/tickets", json={"service": "yibao-card"})
                assert r.status_code == 201, r.text
        a.clock.now = b.clock.now = monday + timedelta(days=1, hours=-9, seconds=5)
        both = [asyncio.run_coroutine_threadsafe(s.app.state.service.close_stale_days(),
                                                 s.loop) for s in (a, b)]
        closed = sorted(f.result(30) for f in both)
    finally:
        a.stop()
        b.stop()
    assert closed == [0, 5]
    assert [r["state"] for r in backends.rows(db, "SELECT state FROM tickets")] == ["missed"] * 5
    assert len(backends.rows(db, "SELECT seq FROM events WHERE type = 'hall.closed'")) == 1
    assert backends.rows(db, "SELECT day FROM figures_days") == [{"day": "2026-03-02"}]


# the balancer is the hall's own proxy: its X-Forwarded-For names the client
LIMITED = ('\n[limits]\ntickets_per_minute_per_client = 5\ntickets_per_day_per_client = 8\n'
           'trusted_proxies = ["127.0.0.1"]\n')


def test_a_client_spread_over_three_processes_gets_its_limit_once(tmp_path: Path) -> None:
    """The balancer spreads one address's burst over every process; the hall's limit is
    still five a minute for that address, not five per process (the counts are in the
    database: hall/limits_shared.py), and another address still gets its own."""
    config = roomy_config(tmp_path)
    config.write_text(config.read_text(encoding="utf-8") + LIMITED, encoding="utf-8")
    with HallCluster(tmp_path, config, backends.cluster().database()) as cluster:

        async def burst(address: str, count: int) -> list[httpx.Response]:
            transport = httpx.AsyncHTTPTransport(local_address=address)
            async with httpx.AsyncClient(base_url=cluster.url, transport=transport,
                                         timeout=30) as client:
                gate = asyncio.Semaphore(6)

                async def one() -> httpx.Response:
                    async with gate:
                        return await client.post("/api/tickets", json={"service": "consult"})

                return list(await asyncio.gather(*(one() for _ in range(count))))

        answers = asyncio.run(burst("127.0.0.2", 60))
        assert {r.headers["X-Hall-Process"] for r in answers} == {"p1", "p2", "p3"}
        assert [r.status_code for r in answers].count(201) == 5
        refused = [r for r in answers if r.status_code != 201]
        assert {(r.status_code, r.json()["error"]["code"]) for r in refused} == {
            (429, "too_many_tickets")}
        assert "取号过于频繁" in refused[0].json()["error"]["message"]
        assert asyncio.run(burst("127.0.0.3", 1))[0].status_code == 201
        waiting = backends.rows(cluster.db, "SELECT COUNT(*) AS n FROM tickets")[0]["n"]
        assert waiting == 6  # the refused took no number
