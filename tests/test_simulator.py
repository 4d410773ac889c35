"""The hall day simulator (issue 12, docs/simulator.md): deterministic for a seed; the fast
hall decides every step as the server's own transactions do, ticket for ticket; its totals
are what the manager's statistics say about the same days; one M/M/c queue over a long run
comes within 5 % of Erlang C; the command line and its refusals."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import tomllib
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hall.config import ConfigError, load_config, parse_config
from hall.erlang import erlang_c, mean_wait
from hall.model import Candidate
from hall.routing import WindowRule, choose_next
from hall.sim_halls import DayClock, FastHall, Ticket
from hall.sim_model import profile_from_config
from hall.simulate import Options, report, run
from tests import backends
from tests.conftest import DEMO_CONFIG, ROOT, HallServer

MONDAY = date(2026, 12, 7)
NOT_FIGURES = ("wall_seconds", "tickets_per_second", "db")


def simulate(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "hall", "simulate", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=timeout)


def figures(data: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if k not in NOT_FIGURES}


# ---------------------------------------------------------------------------- determinism


def test_a_seed_replays_the_same_day() -> None:
    first = simulate("--json", "--seed", "7", "--days", "2", "--start", MONDAY.isoformat())
    again = simulate("--json", "--seed", "7", "--days", "2", "--start", MONDAY.isoformat())
    other = simulate("--json", "--seed", "8", "--days", "2", "--start", MONDAY.isoformat())
    assert first.returncode == again.returncode == other.returncode == 0, first.stderr
    a, b, c = (json.loads(r.stdout) for r in (first, again, other))
    assert a["tickets"] > 500
    assert figures(a) == figures(b)
    assert figures(a) != figures(c)  # the seed is what fixes the day


def test_the_fast_day_is_the_servers_day_ticket_for_ticket(tmp_path: Path) -> None:
    """The same seed through HallService's transactions (`--exact`) and through the fast hall
    leaves the same tickets: numbers, states, times, windows, clerks, outcomes, due dates."""
    config = load_config(DEMO_CONFIG)
    profile = profile_from_config(config)
    runs = {}
    for mode in ("fast", "exact"):
        db = tmp_path / f"{mode}.db"
        result = run(config, profile, Options(days=1, seed=3, exact=mode == "exact",
                                              start=MONDAY, db=db))
        runs[mode] = (figures(report(config, result, 3, profile)), db)
    columns = ("id, day, number, queue, service, channel, priority, priority_by, needs_help, "
               "appointment_at, state, outcome, note, issued_at, order_at, window, clerk, "
               "first_called_at, called_at, started_at, finished_at, calls, skips, transfers, "
               "due_date")
    rows = {mode: sqlite3.connect(db).execute(f"SELECT {columns} FROM tickets ORDER BY id")
            .fetchall() for mode, (_, db) in runs.items()}
    assert len(rows["fast"]) > 300
    assert rows["fast"] == rows["exact"]
    assert runs["fast"][0] == {**runs["exact"][0], "mode": "fast"}
    kinds = {r[10] for r in rows["fast"]} | {"transferred" for r in rows["fast"] if r[23]}
    assert {"done", "no_show", "transferred"} <= kinds  # skips and transfers were played
    exact = sqlite3.connect(runs["exact"][1])
    # the exact day went through the server's steps: every one audited, every one an event
    assert exact.execute("SELECT COUNT(*) FROM events WHERE type = 'ticket.called'"
                         ).fetchone()[0] >= len(rows["exact"])
    assert exact.execute("SELECT COUNT(*) FROM audit WHERE action = 'finish'").fetchone()[0] \
        == sum(1 for r in rows["exact"] if r[10] == "done")


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["yibao", "shebao", "budongchan"]),
                          st.integers(0, 3000), st.booleans(), st.booleans(),
                          st.one_of(st.none(), st.integers(0, 3000))), max_size=40),
       st.sampled_from([1, 5, 11, 3]), st.integers(0, 4000))
def test_the_fast_line_offers_routing_the_ticket_the_whole_line_would_give(
        waiting: list[tuple[str, int, bool, bool, int | None]], window: int, now: int) -> None:
    """FastHall hands `choose_next` only the oldest of each kind per queue and the booked
    whose slot began; the pick must be the one from the whole line."""
    config = load_config(DEMO_CONFIG)
    config = replace(config, hall=replace(config.hall, aging_minutes=10))
    hall = FastHall(config, DayClock(MONDAY, config.hall.tz), 1, lambda *a: None)
    everyone = []
    for i, (queue, order, priority, help_, booked) in enumerate(waiting, start=1):
        t = Ticket()
        t.id, t.queue, t.order_at = i, queue, float(order)
        t.priority = "elderly" if priority else None
        t.needs_help = help_
        t.appointment_at = None if booked is None else float(booked)
        hall.tickets[i] = t
        hall._enter(t)
        everyone.append(t.cand)
    w = config.window(window)
    rule = WindowRule(w.number, w.queues, w.kind, w.order)
    whole = choose_next(rule, everyone, float(now), 600)
    fast = choose_next(rule, hall._candidates(rule, float(now)), float(now), 600)
    assert (whole.id if whole else None) == (fast.id if fast else None)
    assert all(isinstance(c, Candidate) for c in hall._candidates(rule, float(now)))


# ---------------------------------------------------------------------------- the reports


def test_totals_are_what_the_manager_statistics_say(tmp_path: Path) -> None:
    """Simulate two days into a file (the last two working days: closed days, rolled up as
    the server rolls up its own), serve it, and read /api/manage/stats for them."""
    server = HallServer(tmp_path)
    on_file = backends.BACKEND != "postgresql"  # else the simulated days are copied in
    target = server.db if on_file else tmp_path / "sim.db"
    days = simulate("--json", "--db", str(target), "--days", "2", "--seed", "5")
    assert days.returncode == 0, days.stderr
    sim = json.loads(days.stdout)
    if not on_file:
        backends.migrate(server.db)
        for table in ("tickets", "events"):
            backends.copy_rows(target, server.db, table)
    first, last = sim["days"][0], sim["days"][-1]
    server.start()
    try:
        server.add_user("boss", "manager")
        boss = server.login("boss", None)
        by_queue = boss.get(f"/api/manage/stats?from={first}&to={last}&by=queue").json()
        hall = boss.get(f"/api/manage/stats?from={first}&to={last}&by=hall").json()
    finally:
        server.stop()
    stats = {row["queue"]: row for row in by_queue["stats"]}
    checked = 0
    for q in sim["queues"]:
        if not q["tickets"]:
            assert q["queue"] not in stats
            continue
        row = stats[q["queue"]]
        assert (row["issued"], row["served"], row["no_show"], row["missed"],
                row["transferred"], row["wait_avg_minutes"], row["wait_p90_minutes"]) == (
            q["tickets"], q["served"], q["no_show"], q["missed"], q["transferred"],
            q["wait_avg_minutes"], q["wait_p90_minutes"]), q["name"]
        checked += 1
    assert checked >= 8
    total = hall["stats"][0]
    assert (total["issued"], total["served"], total["wait_avg_minutes"],
            total["wait_p90_minutes"]) == (sim["tickets"], sim["served"],
                                           sim["wait_avg_minutes"], sim["wait_p90_minutes"])


# ---------------------------------------------------------------------------- queueing theory


def single_queue(windows: int, per_hour: float, minutes: float, **simulate: Any) -> str:
    """A hall of one queue open all day, `windows` windows, Poisson arrivals and exponential
    handling (M/M/c), nothing else: no priority, no breaks, no walk, no no-shows."""
    settings_ = {"priority_share": 0, "help_share": 0, "booked_share": 0, "no_show_share": 0,
                 "transfer_share": 0, "walk_seconds": 0, "breaks_per_day": 0,
                 "overtime_minutes": 0, "handling_distribution": '"exponential"', **simulate}
    windows_toml = "".join(f'[[windows]]\nnumber = {n}\nname = "{n}号窗口"\nqueues = ["q"]\n'
                           for n in range(1, windows + 1))
    return f"""
[hall]
name = "单队列"
open = "00:00"
close = "23:59"
[[queues]]
id = "q"
prefix = "A"
name = "单队列"
width = 6
daily_cap = 999999
[[services]]
id = "s"
name = "事项"
queue = "q"
helpdesk = false
{windows_toml}
[workdays]
official = false
[simulate]
{"".join(f"{k} = {v}" + chr(10) for k, v in settings_.items())}
[simulate.outcomes]
done = 1
[simulate.arrivals]
s = [{", ".join([str(per_hour)] * 24)}]
[simulate.handling_minutes]
s = {minutes}
"""


def test_erlang_c_gives_the_textbook_values() -> None:
    assert erlang_c(1, 0.5) == pytest.approx(0.5)  # M/M/1: the utilisation
    assert erlang_c(2, 1.0) == pytest.approx(1 / 3)
    # the call-centre textbook case: 10 Erlangs offered to 11 agents, 68.2 % wait
    assert erlang_c(11, 10.0) == pytest.approx(0.6821, abs=5e-5)
    assert erlang_c(3, 3.0) == 1.0  # unstable: everyone waits
    # M/M/2 at a = 1: Wq = C / (c mu - lambda) = (1/3) / (2 - 1) minutes
    assert mean_wait(1.0, 1.0, 2) == pytest.approx(1 / 3)


def test_a_long_mmc_run_comes_within_5_percent_of_erlang_c() -> None:
    """Two windows, 60 arrivals an hour, one minute's handling on average (utilisation 0.5),
    80 days of 24 hours: about 100,000 citizens. Waits of those arriving in the first hour of
    a day are left out (every day starts with an empty hall, the formula is the steady state)."""
    config = parse_config(tomllib.loads(single_queue(2, 60, 1)))
    result = run(config, profile_from_config(config),
                 Options(days=80, seed=1, start=date(2027, 3, 1), keep_days=True))
    waits = [(c.first_called_ms - c.issued_ms) / 60_000 for r in result.records
             for c in r.citizens
             if c.first_called_ms is not None and 3_600_000 <= c.arrive_ms < 23 * 3_600_000]
    assert len(waits) > 90_000
    simulated = sum(waits) / len(waits)
    theory = mean_wait(1.0, 1.0, 2)
    assert abs(simulated / theory - 1) < 0.05, (simulated, theory)
    waited = sum(1 for w in waits if w > 0) / len(waits)
    assert abs(waited / erlang_c(2, 1.0) - 1) < 0.05, waited


# ---------------------------------------------------------------------------- command line


def test_the_command_line_prints_one_json_object_with_tickets() -> None:
    done = simulate("--json", "--start", MONDAY.isoformat())
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["tickets"] == sum(q["tickets"] for q in data["queues"]) > 300
    assert data["wait_p90_minutes"] is not None and data["tickets_per_second"] > 0
    assert {w["window"] for w in data["windows"]} == set(range(1, 13))
    text = simulate("--start", MONDAY.isoformat())
    assert text.returncode == 0
    assert "90%等候" in text.stdout and "合计" in text.stdout and "模拟速度" in text.stdout


@pytest.mark.sqlite_only("the simulator refuses a hall's own SQLite file")
def test_a_halls_own_database_is_never_written(tmp_path: Path) -> None:
    server = HallServer(tmp_path)
    server.start()
    try:
        server.issue()
        held = simulate("--db", str(server.db))
        assert held.returncode == 2
        assert "正被大厅服务进程" in held.stderr
    finally:
        server.stop()
    real = simulate("--db", str(server.db))
    assert real.returncode == 2
    assert "业务数据库" in real.stderr
    count = sqlite3.connect(server.db).execute("SELECT COUNT(*) FROM tickets").fetchone()[0]
    assert count == 1


def test_a_postgresql_database_is_never_written() -> None:
    """A simulation is kept in a SQLite file of its own; a postgresql:// URL is a hall's
    database: refused before anything is connected or created, its password never shown."""
    url = "postgresql://hall:s3cret-pw@127.0.0.1:1/hall"
    done = simulate("--db", url, "--start", MONDAY.isoformat())
    assert done.returncode == 2
    assert "业务数据库" in done.stderr and "s3cret-pw" not in done.stderr
    assert not (ROOT / "postgresql:").exists()  # not taken for a file's path


def test_a_simulation_file_takes_the_next_days(tmp_path: Path) -> None:
    db = tmp_path / "sim.db"
    one = json.loads(simulate("--json", "--db", str(db), "--start", MONDAY.isoformat()).stdout)
    two = json.loads(simulate("--json", "--db", str(db)).stdout)
    assert one["days"] == ["2026-12-07"] and two["days"] == ["2026-12-08"]
    days = sqlite3.connect(db).execute("SELECT DISTINCT day FROM tickets ORDER BY day").fetchall()
    assert days == [("2026-12-07",), ("2026-12-08",)]


def test_simulate_settings_are_checked_by_key() -> None:
    raw = tomllib.loads(DEMO_CONFIG.read_text(encoding="utf-8"))
    raw["simulate"].update({"no_show_share": 1.5, "handling_distribution": "uniform",
                            "days": 0, "colour": "red"})
    raw["simulate"]["arrivals"]["nope"] = [1, 2]
    raw["simulate"]["arrivals"]["consult"] = [1] * 11
    raw["simulate"]["handling_minutes"]["consult"] = -3
    with pytest.raises(ConfigError) as caught:
        parse_config(raw)
    text = "\n".join(caught.value.problems)
    for key in ("simulate.no_show_share", "simulate.handling_distribution", "simulate.days",
                "simulate.colour", "simulate.arrivals.nope", "simulate.arrivals.consult",
                "simulate.handling_minutes.consult"):
        assert key in text, key


def test_without_arrivals_it_says_what_to_do(tmp_path: Path) -> None:
    bare = tmp_path / "bare.toml"
    text = DEMO_CONFIG.read_text(encoding="utf-8")
    bare.write_text(text[:text.index("# The hall day `python -m hall simulate`")]
                    + text[text.index("# Devices (docs/devices.md)."):], encoding="utf-8")
    done = simulate("--config", str(bare))
    assert done.returncode == 1
    assert "[simulate.arrivals]" in done.stderr and "--from-history" in done.stderr


def test_the_profile_is_learned_from_history(tmp_path: Path) -> None:
    """Ten simulated working days in the past make a history; learned from it, a day has
    about as many citizens as the configured profile."""
    db = tmp_path / "history.db"
    today = date.today()
    start = date.fromordinal(today.toordinal() - 21)
    made = simulate("--json", "--db", str(db), "--days", "10", "--start", start.isoformat())
    assert made.returncode == 0, made.stderr
    history: str | Path = db
    if backends.BACKEND == "postgresql":  # a hall's history in PostgreSQL, read by its URL
        history = backends.new_db(tmp_path)
        backends.migrate(history)
        backends.copy_rows(db, history, "tickets")
    learned = simulate("--json", "--from-history", str(history), "--weeks", "4", "--days", "3",
                       "--start", MONDAY.isoformat())
    assert learned.returncode == 0, learned.stderr
    data = json.loads(learned.stdout)
    assert data["profile"] == "history" and data["history_days"] == 10
    expected = profile_from_config(load_config(DEMO_CONFIG)).expected()
    assert abs(data["tickets"] / 3 / expected - 1) < 0.2
    future = tmp_path / "future.db"  # days to come are no history
    assert simulate("--db", str(future), "--start", "2099-03-02").returncode == 0
    empty = simulate("--from-history", str(future))
    assert empty.returncode == 1 and "无法从历史学习" in empty.stderr


def test_a_long_run_shows_a_progress_bar_on_a_terminal_only() -> None:
    """Runs longer than a second draw a bar on stderr when it is a terminal (a pty here),
    and write nothing there when it is not (a pipe: scripts and logs stay clean)."""
    import os
    import pty

    main, other = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "hall", "simulate", "--days", "60",
                             "--start", MONDAY.isoformat()], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=other, text=True)
    os.close(other)
    seen = b""
    while True:
        try:
            chunk = os.read(main, 4096)
        except OSError:  # the other end closed: the run is over
            break
        if not chunk:
            break
        seen += chunk
    out, _ = proc.communicate(timeout=120)
    os.close(main)
    assert proc.returncode == 0
    bar = seen.decode("utf-8", "replace")
    assert "模拟 [" in bar and "%" in bar and "张" in bar
    assert "合计" in out  # the report itself is on stdout
    piped = simulate("--days", "60", "--start", MONDAY.isoformat())
    assert piped.returncode == 0 and piped.stderr == ""
