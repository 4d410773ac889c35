"""The window planner (明日排班建议, issue 12.2): its hour-by-hour search finds the plan a
brute-force search over every plan finds — on made-up rules and on a small hall played by the
simulator — and managers get it from the hall's history as JSON and Chinese CSV."""

from __future__ import annotations

import csv
import io
import json
import re
import subprocess
import sys
import tomllib
from collections.abc import Sequence
from datetime import date, timedelta
from pathlib import Path

import httpx
from hypothesis import given, settings
from hypothesis import strategies as st

from hall.config import parse_config
from hall.planner import (
    Evaluator,
    brute_force,
    full_day_metrics,
    least,
    plan_queue,
    queue_model,
    search,
)
from hall.sim_model import profile_from_config
from tests import backends
from tests.conftest import ROOT, HallServer

ENGLISH = re.compile(r"[A-Za-z]{2,}")


@settings(max_examples=300, deadline=None)
@given(st.lists(st.integers(0, 5), min_size=1, max_size=4), st.integers(0, 2),
       st.lists(st.integers(0, 5), min_size=4, max_size=4))
def test_search_finds_the_plan_brute_force_finds(need: list[int], slack: int,
                                                 starts: list[int]) -> None:
    """A made-up hall: hour i needs `need[i]` windows plus what the hour before left undone;
    an hour is within target when it leaves at most `slack` undone. So an hour's answer
    depends on the hours before, and a thin hour can leave a line no later count clears —
    as in a real hall. Wherever the search starts, it lands on the plan brute force picks."""
    hours, most = len(need), 5

    def within(plan: Sequence[int]) -> list[bool]:
        out, behind = [], 0
        for i, c in enumerate(plan):
            behind = max(0, need[i] + behind - c)
            out.append(behind <= slack)
        return out

    found = search(hours, lambda prefix, i: within(prefix)[i], lambda i: starts[i], most)
    best = brute_force(hours, most, within)
    if best is not None:
        assert found.windows == best and all(found.met)
    else:
        assert not all(found.met)


SMALL = """
[hall]
name = "小厅"
open = "09:00"
close = "12:00"
[[queues]]
id = "q"
prefix = "A"
name = "综合"
[[services]]
id = "s"
name = "事项"
queue = "q"
[[windows]]
number = 1
name = "1号窗口"
queues = ["q"]
[workdays]
official = false
[simulate]
breaks_per_day = 1
break_minutes = 8
[simulate.arrivals]
s = [5, 14, 7]
[simulate.handling_minutes]
s = 12
"""


def test_the_planner_answers_as_brute_force_over_simulated_days() -> None:
    """Three hours, up to four windows, five simulated days per plan: all 4^3 plans are
    played through whole days, and the lexicographically first within target is the one the
    planner's hour-by-hour search (with its copied days) found."""
    config = parse_config(tomllib.loads(SMALL))
    profile = profile_from_config(config)
    day, target, reps = date(2027, 3, 1), 10.0, 5
    model = queue_model(config, profile, "q", most=4)
    planned = plan_queue(config, profile, "q", target, reps, 1, day, most=4)

    def within(plan: Sequence[int]) -> list[bool]:
        return [m is None or m <= target * 60
                for m in full_day_metrics(model, plan, reps, 1, day)]

    best = brute_force(3, 4, within, least(model))
    assert best is not None
    assert [h.windows for h in planned.hours] == best
    assert len(set(best)) > 1  # the hours differ: the case is not trivial
    assert all(h.met for h in planned.hours)
    # and the copies the search played on give each hour what a whole day gives it
    evaluator = Evaluator(model, target, reps, 1, day)
    whole = full_day_metrics(model, best, reps, 1, day)
    assert [evaluator.metric(best[:i + 1]) for i in range(3)] == whole


def test_the_plan_on_the_command_line_is_a_table_a_manager_reads() -> None:
    done = subprocess.run([sys.executable, "-m", "hall", "simulate", "--plan", "--target-p90",
                           "15", "--replications", "4", "--start", "2026-12-07"],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("排班建议（2026年12月7日）")
    header = next(line for line in lines if line.startswith("时段"))
    for name in ("医保", "社保", "不动产登记", "合计"):
        assert name in header
    rows = [line for line in lines if re.match(r"\d\d:00-\d\d:00\s+\d", line)]
    assert len(rows) >= 10  # 08:00-18:00, twice (windows, then the expected P90)
    as_json = subprocess.run([sys.executable, "-m", "hall", "simulate", "--plan", "--json",
                              "--replications", "4", "--start", "2026-12-07"],
                             cwd=ROOT, capture_output=True, text=True, timeout=120)
    data = json.loads(as_json.stdout)
    assert data["target_p90_minutes"] == 15
    yibao = next(q for q in data["queues"] if q["queue"] == "yibao")
    assert [h["hour"] for h in yibao["hours"]][:2] == ["08:00-09:00", "09:00-10:00"]
    assert all(h["windows"] >= 1 for h in yibao["hours"])  # people come every hour


def _history(server: HallServer) -> None:
    """Ten working days of simulated history ending three weeks ago … two weeks ago. The
    simulator writes SQLite files: on PostgreSQL its tickets are copied into the hall's
    database."""
    start = date.today() - timedelta(days=20)
    on_file = backends.BACKEND != "postgresql"
    days = server.db if on_file else server.tmp / "history.db"
    done = subprocess.run([sys.executable, "-m", "hall", "simulate", "--db", str(days),
                           "--days", "8", "--start", start.isoformat()],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    if not on_file:
        backends.migrate(server.db)
        assert backends.copy_rows(days, server.db, "tickets") > 1000


def test_managers_get_tomorrows_plan_from_history(tmp_path: Path) -> None:
    server = HallServer(tmp_path)
    _history(server)
    server.start()
    try:
        server.add_user("boss", "manager")
        boss = server.login("boss", None)
        boss.timeout = 120
        r = boss.get("/api/manage/plan?target_p90=15&weeks=4")
        assert r.status_code == 200, r.text
        plan = r.json()
        assert plan["profile"] == "history" and plan["history_days"] == 8
        assert plan["weeks"] == 4 and plan["target_p90_minutes"] == 15
        assert date.fromisoformat(plan["day"]) > date.today()
        names = {q["name"] for q in plan["queues"]}
        assert {"医保", "社保", "不动产登记"} <= names
        assert sum(t["windows"] for t in plan["totals"]) > 50
        text = boss.get("/api/manage/plan?target_p90=15&weeks=4&format=csv")
        assert text.status_code == 200 and text.content.startswith(b"\xef\xbb\xbf")
        rows = list(csv.reader(io.StringIO(text.content.decode("utf-8-sig"))))
        assert rows[0] == ["时段", "队列", "建议开窗数", "预计取号数", "预计90%等候(分钟)",
                           "达到目标"]
        assert len(rows) > 50
        assert all(not ENGLISH.search(cell) for row in rows for cell in row)
        assert {row[1] for row in rows[1:]} >= {"医保", "社保"}
        # a stricter target needs at least as many windows in every queue and hour
        strict = boss.get("/api/manage/plan?target_p90=5&weeks=4").json()
        for loose_q, strict_q in zip(plan["queues"], strict["queues"], strict=True):
            assert sum(h["windows"] for h in strict_q["hours"]) >= \
                sum(h["windows"] for h in loose_q["hours"])
    finally:
        server.stop()


def test_the_plan_is_for_managers_only(hall_server: HallServer) -> None:
    anonymous = httpx.get(hall_server.url + "/api/manage/plan", timeout=10)
    assert anonymous.status_code == 401
    clerk = hall_server.clerk(1)
    refused = clerk.get("/api/manage/plan")
    assert refused.status_code == 403
    assert refused.json()["error"]["message"] == "需要管理员权限"
    hall_server.add_user("boss", "manager")
    boss = hall_server.login("boss", None)
    for query, field in (("target_p90=abc", "target_p90"), ("target_p90=0", "target_p90"),
                         ("weeks=99", "weeks"), ("weeks=x", "weeks")):
        r = boss.get(f"/api/manage/plan?{query}")
        assert r.status_code == 400, query
        error = r.json()["error"]
        assert error["field"] == field and not ENGLISH.search(error["message"])
    empty = boss.get("/api/manage/plan")  # a new hall: no history yet
    assert empty.status_code == 409
    assert empty.json()["error"] == {"code": "no_history",
                                     "message": "最近 4 周没有号票记录，暂无法给出排班建议"}
