"""Alarms, the pure part (hall.alarms): which conditions hold, and how a run of evaluations
turns them into alarms — property-tested against a model of the alarm log."""

from __future__ import annotations

import re
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from hall.alarms import (
    Condition,
    Plan,
    QueueFacts,
    Thresholds,
    WindowFacts,
    case_condition,
    device_conditions,
    queue_conditions,
    reconcile,
    window_conditions,
)

IDENTS = [(kind, key) for kind in ("wait_long", "window_idle", "paper_out") for key in "123"]
LATIN = re.compile(r"[A-Za-z]{2,}")


class Log:
    """The alarm log as the store keeps it: rows with an id, a condition and whether cleared."""

    def __init__(self) -> None:
        self.rows: list[dict[str, Any]] = []

    def active(self) -> dict[tuple[str, str], int]:
        return {r["ident"]: r["id"] for r in self.rows if not r["cleared"]}

    def apply(self, plan: Plan) -> None:
        for c in plan.raised:
            self.rows.append({"id": len(self.rows) + 1, "ident": c.ident, "cleared": False})
        for alarm_id in plan.cleared:
            self.rows[alarm_id - 1]["cleared"] = True


def holding(idents: list[tuple[str, str]]) -> list[Condition]:
    return [Condition(kind, key, f"{kind} {key}") for kind, key in idents]


steps = st.lists(st.lists(st.sampled_from(IDENTS), max_size=6), min_size=1, max_size=12)


@settings(max_examples=300)
@given(steps)
def test_an_alarm_is_one_stretch_of_a_condition(history: list[list[tuple[str, str]]]) -> None:
    log = Log()
    edges = {ident: 0 for ident in IDENTS}
    before: set[tuple[str, str]] = set()
    for now in history:
        # each condition listed twice: raising is idempotent within one evaluation too
        plan = reconcile(log.active(), holding(now + now))
        log.apply(plan)
        current = set(now)
        for ident in current - before:
            edges[ident] += 1
        # exactly the conditions that hold have an alarm, one each
        open_rows = [r["ident"] for r in log.rows if not r["cleared"]]
        assert sorted(open_rows) == sorted(current)
        # the same conditions again change nothing
        assert not reconcile(log.active(), holding(now))
        before = current
    # a condition that ended and came back is a new alarm: one row per stretch
    for ident, count in edges.items():
        assert sum(1 for r in log.rows if r["ident"] == ident) == count


@given(st.sets(st.sampled_from(IDENTS)), st.sets(st.sampled_from(IDENTS)),
       st.sets(st.sampled_from(["wait_long", "window_idle", "paper_out"])))
def test_what_could_not_be_judged_is_left_as_it_is(
        active: set[tuple[str, str]], kept: set[tuple[str, str]], kept_kinds: set[str]) -> None:
    ids = {ident: i for i, ident in enumerate(sorted(active), start=1)}
    plan = reconcile(ids, [], keep=kept, keep_kinds=kept_kinds)
    assert not plan.raised
    cleared = {ident for ident, i in ids.items() if i in plan.cleared}
    assert cleared == {i for i in active if i not in kept and i[0] not in kept_kinds}


def window(number: int, **facts: Any) -> WindowFacts:
    base: dict[str, Any] = dict(
        name=f"{number}号窗口", clerk="clerk", paused=False, pause_reason=None, since=0.0,
        current=None, started_at=None, service_name=None, norm_minutes=None,
        waiting_since=None, closed_today=False)
    return WindowFacts(number, **{**base, **facts})


LIMITS = Thresholds(idle_minutes=5, away_minutes=10, pause_minutes=30)


def kinds(windows: list[WindowFacts], now: float) -> list[tuple[str, str]]:
    return [c.ident for c in window_conditions(windows, now, LIMITS)]


def test_idle_and_away_count_from_the_first_person_waiting() -> None:
    # idle for an hour, but the first person came 4 minutes ago: not yet
    assert kinds([window(1, since=0.0, waiting_since=3360.0)], 3600) == []
    assert kinds([window(1, since=0.0, waiting_since=3300.0)], 3600) == [("window_idle", "1")]
    # nobody waiting: an idle window is no alarm
    assert kinds([window(1, since=0.0)], 3600) == []
    # called, not yet started: the citizen is walking up
    assert kinds([window(1, current="A001", waiting_since=0.0)], 3600) == []
    # 离岗 only for a window its clerk left today, while people wait
    assert kinds([window(2, clerk=None, closed_today=False, waiting_since=0.0)], 3600) == []
    assert kinds([window(2, clerk=None, closed_today=True, since=3000.0, waiting_since=0.0)],
                 3600) == [("window_away", "2")]
    assert kinds([window(2, clerk=None, closed_today=True, since=3100.0, waiting_since=0.0)],
                 3600) == []


def test_pause_and_handling_limits() -> None:
    paused = window(3, paused=True, pause_reason="午休", since=0.0)
    (alarm,) = window_conditions([paused], 30 * 60, LIMITS)
    assert alarm.ident == ("pause_long", "3") and "午休" in alarm.message
    assert window_conditions([paused], 30 * 60 - 1, LIMITS) == []
    serving = window(4, current="B007", started_at=0.0, service_name="职工退休申请",
                     norm_minutes=20)
    (alarm,) = window_conditions([serving], 20 * 60, LIMITS)
    # the ticket is in the key: the next citizen running long is another alarm
    assert alarm.ident == ("handling_long", "4/B007")
    assert "职工退休申请" in alarm.message and "20 分钟" in alarm.message
    # an item without a norm raises nothing, however long it takes
    assert window_conditions([window(4, current="B007", started_at=0.0)], 86400, LIMITS) == []


def test_queue_thresholds() -> None:
    queues = [QueueFacts("A", "医保", 10, 0.0, 10, 15), QueueFacts("B", "社保", 9, 0.0, 10, 0.5)]
    found = queue_conditions(queues, now=15 * 60)
    assert [c.ident for c in found] == [("queue_long", "A"), ("wait_long", "A"),
                                        ("wait_long", "B")]
    assert found[2].message == "社保有群众等候超过 0.5 分钟"


def test_devices_speak_chinese_and_unknown_health_is_kept() -> None:
    rows = [{"name": "kiosk1-printer", "kind": "printer", "kiosk": "kiosk-1",
             "health": "paper near end"},
            {"name": "p2", "kind": "printer", "kiosk": "k2", "health": "paper out"},
            {"name": "led-3", "kind": "led", "window": 3, "health": "cannot open /dev/ttyUSB0"},
            {"name": "voice", "kind": "voice", "health": "speech failed: boom"},
            {"name": "p3", "kind": "printer", "health": "not checked"},
            {"name": "p4", "kind": "printer", "health": "unused: k2 already has a printer"},
            {"name": "pad", "kind": "caller", "window": 1, "health": "ok"}]
    found, unknown = device_conditions(rows)
    assert [c.ident for c in found] == [("paper_low", "kiosk1-printer"), ("paper_out", "p2"),
                                        ("device_fault", "led-3"), ("device_fault", "voice")]
    assert ("paper_out", "p3") in unknown
    assert "3号窗口" in found[2].message
    for c in found:  # names the hall chose aside, a manager reads Chinese
        text = c.message.replace(str(c.details["device"]), "").replace("kiosk-1", "")
        assert not LATIN.search(text.replace("k2", "")), c.message


def test_case_conditions() -> None:
    new = case_condition("rectification", 7, False, 2, "2号窗口", "非常不满意")
    assert new.ident == ("rectification_new", "7")
    assert new.message == "新差评 #7 2号窗口 非常不满意，待处理"
    late = case_condition("complaint", 3, True, None, None)
    assert late.ident == ("complaint_overdue", "3") and late.message == "办不成事 #3 已超期"
