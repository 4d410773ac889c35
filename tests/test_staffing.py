"""Runtime staffing (issue 10.2: 潮汐窗口, 延时服务) without editing config.toml.

On a real `hall serve` over a real SQLite file: a temporary window takes tickets at once and
is still there after a restart; a queue moved between windows changes who is called next; a
lowered daily cap refuses the next ticket; every change is audited and refused in Chinese with
the field at fault. In-process with a clock the test moves (as tests/test_rules.py): 延时服务
keeps a queue's waiting tickets callable after closing time and the close-day button, until
the midnight roll-over. And a property test of the pure `effective()`.
"""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hall import errors
from hall.config import load_config
from hall.service import Actor, HallService
from hall.staffing import Overrides, QueueChange, WindowChange, effective, max_cap
from tests import backends
from tests.conftest import DEMO_CONFIG, HallServer
from tests.services import close_services, to_close  # noqa: F401 - the fixture applies here
from tests.test_server import assert_error

TZ = ZoneInfo("Asia/Shanghai")
CONFIG = load_config(DEMO_CONFIG)
ENGLISH = re.compile(r"[A-Za-z]{2,}")  # as tests/test_chinese_api.py


def audit_rows(db: str | Path, action: str) -> list[tuple[str, str, int, str]]:
    return backends.tuples(db, "SELECT user, target, success, detail FROM audit "
                           "WHERE action = ? ORDER BY id", (action,))


def boss_of(server: HallServer) -> httpx.Client:
    server.ensure_user("boss", "manager")
    return server.login("boss", None)


# ---------------------------------------------------------------- real server


def test_a_temporary_window_takes_tickets_at_once_and_survives_a_restart(
        hall_server: HallServer) -> None:
    boss = boss_of(hall_server)
    first = hall_server.issue("yibao-card")
    r = boss.post("/api/manage/windows", json={"number": 20, "name": "潮汐窗口",
                                               "queues": ["yibao"]})
    assert r.status_code == 201, r.text
    assert r.json()["temporary"] is True and r.json()["queues"] == ["yibao"]
    # the counter pad's window list has it; a clerk logs in there and calls at once
    assert 'value="20"' in httpx.get(hall_server.url + "/counter").text
    clerk = hall_server.clerk(20)
    called = clerk.post("/api/windows/20/call", json={})
    assert called.status_code == 200, called.text
    assert called.json()["current"]["number"] == first["number"]
    ticket = httpx.get(f"{hall_server.url}/api/tickets/{first['token']}").json()
    assert ticket["window"] == {"number": 20, "name": "潮汐窗口"}
    snapshot = httpx.get(hall_server.url + "/api/hall").json()
    mine = next(w for w in snapshot["windows"] if w["number"] == 20)
    assert mine["temporary"] and mine["state"] == "called" and mine["current"] == first["number"]
    assert "clerk" not in mine  # nobody's name on the public snapshot

    hall_server.stop()
    hall_server.start()
    snapshot = httpx.get(hall_server.url + "/api/hall").json()
    assert [w["name"] for w in snapshot["windows"] if w["number"] == 20] == ["潮汐窗口"]
    boss = hall_server.login("boss", None)
    listed = boss.get("/api/manage/windows").json()["windows"]
    assert any(w["number"] == 20 and w["temporary"] for w in listed)
    clerk = hall_server.login("clerk20", 20)
    clerk.post("/api/windows/20/finish", json={"outcome": "done"}).raise_for_status()
    second = hall_server.issue("yibao-card")
    assert clerk.post("/api/windows/20/call", json={}).json()["current"]["number"] == \
        second["number"]
    # closing it while serving is refused; once free it is closed and the clerk logged out
    assert_error(boss.patch("/api/manage/windows/20", json={"closed": True}), 409,
                 "window_busy")
    clerk.post("/api/windows/20/finish", json={"outcome": "done"}).raise_for_status()
    closed = boss.patch("/api/manage/windows/20", json={"closed": True})
    assert closed.status_code == 200, closed.text
    assert closed.json() == {"number": 20, "removed": True}
    assert all(w["number"] != 20 for w in httpx.get(hall_server.url + "/api/hall").json()[
        "windows"])
    ended = clerk.post("/api/windows/20/call", json={})
    assert ended.status_code in (401, 404), ended.text
    assert [(u, t, s) for u, t, s, _ in audit_rows(hall_server.db, "window.add")] == [
        ("boss", "window:20", 1)]
    assert [(u, t, s) for u, t, s, _ in audit_rows(hall_server.db, "window.remove")] == [
        ("boss", "window:20", 1)]
    assert ("boss", "window:20", 0, "window_busy") in audit_rows(hall_server.db,
                                                                 "window.change")


def test_a_queue_moved_between_windows_changes_who_is_called_next(
        hall_server: HallServer) -> None:
    boss = boss_of(hall_server)
    tax = hall_server.issue("tax-invoice")  # 税务 D: served by windows 4, 5 and 6
    w3 = hall_server.clerk(3)  # window 3 serves 不动产 only
    assert_error(w3.post("/api/windows/3/call", json={}), 409, "no_ticket_waiting")
    r = boss.patch("/api/manage/windows/3", json={"queues": ["shuiwu", "budongchan"]})
    assert r.status_code == 200, r.text
    assert r.json()["queues"] == ["shuiwu", "budongchan"]
    assert w3.post("/api/windows/3/call", json={}).json()["current"]["number"] == tax["number"]
    w3.post("/api/windows/3/finish", json={"outcome": "done"}).raise_for_status()
    # the calling order is the list's: 不动产 first now
    boss.patch("/api/manage/windows/3", json={"queues": ["budongchan", "shuiwu"]}
               ).raise_for_status()
    later_tax = hall_server.issue("tax-invoice")
    house = hall_server.issue("bdc-query")
    assert w3.post("/api/windows/3/call", json={}).json()["current"]["number"] == \
        house["number"]
    w3.post("/api/windows/3/finish", json={"outcome": "done"}).raise_for_status()
    # window 6 gives 税务 away: it no longer calls it, window 3 does
    boss.patch("/api/manage/windows/6", json={"queues": ["huzheng"]}).raise_for_status()
    w6 = hall_server.clerk(6)
    assert_error(w6.post("/api/windows/6/call", json={}), 409, "no_ticket_waiting")
    assert w3.post("/api/windows/3/call", json={}).json()["current"]["number"] == \
        later_tax["number"]
    # back to config.toml with null
    boss.patch("/api/manage/windows/3", json={"queues": None}).raise_for_status()
    assert [w["queues"] for w in boss.get("/api/manage/windows").json()["windows"]
            if w["number"] == 3] == [["budongchan"]]
    details = [d for _, t, ok, d in audit_rows(hall_server.db, "window.change") if ok]
    assert "队列 税务、不动产登记" in details[0]


def test_a_lowered_daily_cap_refuses_the_next_ticket(hall_server: HallServer) -> None:
    boss = boss_of(hall_server)
    for _ in range(3):
        hall_server.issue("company-setup")
    queues = {q["id"]: q for q in boss.get("/api/manage/queues").json()["queues"]}
    assert queues["qiye"]["issued"] == 3 and queues["qiye"]["max_daily_cap"] == 999
    low = boss.patch("/api/manage/queues/qiye", json={"daily_cap": 2})
    error = assert_error(low, 409, "daily_cap_too_low")
    assert error["field"] == "daily_cap" and "3" in error["message"]
    high = boss.patch("/api/manage/queues/qiye", json={"daily_cap": 1000})
    assert assert_error(high, 422, "daily_cap_too_high")["field"] == "daily_cap"
    r = boss.patch("/api/manage/queues/qiye", json={"daily_cap": 4})
    assert r.status_code == 200 and r.json()["daily_cap"] == 4, r.text
    hall_server.issue("company-setup")
    refused = httpx.post(hall_server.url + "/api/tickets", json={"service": "company-setup"})
    assert_error(refused, 409, "daily_cap")
    boss.patch("/api/manage/queues/qiye", json={"daily_cap": None}).raise_for_status()
    hall_server.stop()
    hall_server.start()  # config.toml's cap again, after a restart too
    assert hall_server.issue("company-setup")["number"].startswith("F")
    assert [d for _, _, ok, d in audit_rows(hall_server.db, "queue.change") if ok] == [
        "每日上限 4；延时服务 关", "每日上限 按配置；延时服务 关"]


def test_staffing_refusals_are_chinese_with_the_field(hall_server: HallServer) -> None:
    boss = boss_of(hall_server)
    clerk = hall_server.clerk(1)
    cases: list[tuple[Any, int, str, str | None]] = [
        (boss.post("/api/manage/windows", json={"name": "x", "queues": ["nope"]}), 404,
         "unknown_queue", "queues"),
        (boss.post("/api/manage/windows", json={"number": 3, "name": "临时",
                                                "queues": ["yibao"]}), 409,
         "duplicate_window", "number"),
        (boss.post("/api/manage/windows", json={"name": "  ", "queues": ["yibao"]}), 422,
         "invalid_name", "name"),
        (boss.post("/api/manage/windows", json={"name": "临时", "queues": []}), 422,
         "invalid_queues", "queues"),
        (boss.post("/api/manage/windows", json={"name": "临时", "queues": ["yibao", "yibao"]}),
         422, "duplicate_queue", "queues"),
        (boss.post("/api/manage/windows", json={"number": True, "name": "临", "queues": ["yibao"]}),
         422, "invalid_window", "number"),
        (boss.post("/api/manage/windows", json={"number": 10 ** 12, "name": "临",
                                                "queues": ["yibao"]}),
         422, "invalid_window", "number"),
        (boss.post("/api/manage/windows", json={"name": "临", "queues": ["yibao"], "x": 1}),
         422, "unknown_field", None),
        (boss.patch("/api/manage/windows/3", json={"order": "random"}), 422, "invalid_order",
         "order"),
        (boss.patch("/api/manage/windows/3", json={"closed": "yes"}), 422, "invalid_closed",
         "closed"),
        (boss.patch("/api/manage/windows/99", json={"closed": True}), 404, "unknown_window",
         None),
        # window 10 is the only one serving 跨区域通办: it would be left with none
        (boss.patch("/api/manage/windows/10", json={"queues": ["yibao"]}), 409,
         "queue_unserved", "queues"),
        (boss.patch("/api/manage/queues/nope", json={"daily_cap": 5}), 404, "unknown_queue",
         "queue"),
        (boss.patch("/api/manage/queues/yibao", json={"daily_cap": "many"}), 422,
         "invalid_daily_cap", "daily_cap"),
        (boss.patch("/api/manage/queues/yibao", json={"open_until_empty": 1}), 422,
         "invalid_open_until_empty", "open_until_empty"),
        (boss.patch("/api/manage/queues/yibao", json={}), 422, "empty_change", None),
        (clerk.post("/api/manage/windows", json={"name": "临", "queues": ["yibao"]}), 403,
         "forbidden", None),
        (httpx.patch(hall_server.url + "/api/manage/queues/yibao", json={"daily_cap": 5}), 401,
         "unauthenticated", None),
    ]
    for response, status, code, field in cases:
        error = assert_error(response, status, code)
        assert error.get("field") == field, (code, error)
    # none of the refusals changed anything
    assert [w["number"] for w in boss.get("/api/manage/windows").json()["windows"]] == \
        list(range(1, 13))


def test_closing_a_window_for_the_day(hall_server: HallServer) -> None:
    boss = boss_of(hall_server)
    w7 = hall_server.clerk(7)
    ticket = hall_server.issue("id-card")
    w7.post("/api/windows/7/call", json={}).raise_for_status()
    assert_error(boss.patch("/api/manage/windows/7", json={"closed": True}), 409,
                 "window_busy")
    w7.post("/api/windows/7/transfer", json={"window": 11}).raise_for_status()
    r = boss.patch("/api/manage/windows/7", json={"closed": True})
    assert r.status_code == 200, r.text
    assert r.json()["closed_today"] is True and r.json()["state"] == "closed"
    ended = w7.post("/api/windows/7/call", json={})
    assert ended.status_code == 401 and "停止服务" in ended.json()["error"]["message"]
    again = httpx.post(hall_server.url + "/api/login", json={
        "username": "clerk7", "password": "Tulip-7741-q", "window": 7})
    assert_error(again, 409, "window_closed")
    # the ticket sent to window 11 is still waiting there
    w11 = hall_server.clerk(11)
    assert w11.post("/api/windows/11/call", json={}).json()["current"]["number"] == \
        ticket["number"]
    boss.patch("/api/manage/windows/7", json={"closed": False}).raise_for_status()
    hall_server.login("clerk7", 7)


def test_unknown_input_never_answers_500(hall_server: HallServer) -> None:
    boss = boss_of(hall_server)
    bodies: list[Any] = [None, 0, "x", [], {}, {"queues": None}, {"queues": [None]},
                         {"queues": [["a"]]}, {"queues": {"a": 1}},
                         {"name": 5, "queues": ["yibao"]},
                         {"name": "长" * 50, "queues": ["yibao"]}, {"order": None},
                         {"daily_cap": -1}, {"daily_cap": 0}, {"daily_cap": 1.5},
                         {"closed": None}, {"number": -3, "name": "a", "queues": ["yibao"]}]
    for body in bodies:
        for method, path in (("POST", "/api/manage/windows"), ("PATCH", "/api/manage/windows/1"),
                             ("PATCH", "/api/manage/queues/yibao")):
            r = boss.request(method, path, json=body)
            assert r.status_code < 500, (method, path, body, r.text)


# ---------------------------------------------------------------- 延时服务, in-process


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


BOSS = Actor("wang", "10.0.0.2")


async def test_open_until_empty_serves_waiting_tickets_after_closing_time(
        tmp_path: Path, desk_for: Any) -> None:
    clock = Clock(datetime(2026, 12, 1, 17, 0, tzinfo=TZ))  # a Tuesday; the hall closes 17:30
    db = backends.new_db(tmp_path)
    service = await HallService.open(CONFIG, db, clock)
    to_close.append(service)
    staffing = desk_for(service)
    await staffing.change_queue("yibao", {"open_until_empty": True}, BOSS)
    late = [await service.issue_ticket("yibao-card") for _ in range(2)]
    other = await service.issue_ticket("shebao-retire")
    clock.now = datetime(2026, 12, 1, 17, 45, tzinfo=TZ)
    with pytest.raises(errors.HallError) as refused:  # issuing stops at closing time
        await service.issue_ticket("yibao-card")
    assert refused.value.code == "hall_closed"
    assert await service.close_day(BOSS) == 1  # only 社保's ticket is void
    clerk = Actor("clerk1")
    await service.open_window(1, clerk)
    assert (await service.call(1, clerk))["current"]["number"] == late[0]["number"]
    await service.finish(1, clerk, "done")
    assert (await service.get_ticket(other["token"]))["state"] == "missed"
    # the midnight roll-over voids what is left: a number is valid on its day only
    clock.now = datetime(2026, 12, 2, 0, 0, 5, tzinfo=TZ)
    await service.close_stale_days()
    assert (await service.get_ticket(late[1]["token"]))["state"] == "missed"
    rows = audit_rows(db, "close_day")
    assert rows[-1][3] == "missed:1；延时服务：医保"


async def test_temporary_windows_and_closures_end_with_the_hall_day(
        tmp_path: Path, desk_for: Any) -> None:
    clock = Clock(datetime(2026, 12, 1, 9, 0, tzinfo=TZ))
    service = await HallService.open(CONFIG, backends.new_db(tmp_path), clock)
    to_close.append(service)
    staffing = desk_for(service)
    await staffing.open_window({"name": "潮汐窗口", "queues": ["shebao", "yibao"]}, BOSS)
    await staffing.change_window(9, {"closed": True}, BOSS)
    await staffing.change_window(2, {"queues": ["yibao"]}, BOSS)
    assert service.config.has_window(13) and service.config.window(9).closed
    await service.close_day(BOSS)  # the button leaves them: 延时服务 may run at them
    assert service.config.has_window(13)
    clock.now = datetime(2026, 12, 2, 0, 0, 5, tzinfo=TZ)
    await service.close_stale_days()
    assert not service.config.has_window(13) and not service.config.window(9).closed
    assert service.config.window(2).queues == ("yibao",)  # a queue list stays until changed


async def test_every_staffing_change_is_one_event_with_the_public_window_list(
        tmp_path: Path, desk_for: Any) -> None:
    clock = Clock(datetime(2026, 12, 1, 9, 0, tzinfo=TZ))
    service = await HallService.open(CONFIG, backends.new_db(tmp_path), clock)
    to_close.append(service)
    staffing = desk_for(service)
    seen: list[tuple[str, bool]] = []
    # an in-process listener (as the LED and voice adapters are) sees the new hall already
    service.bus.listen(lambda e: seen.append((e.type, service.config.has_window(21))))
    await staffing.open_window({"number": 21, "name": "潮汐", "queues": ["yibao"]}, BOSS)
    await staffing.change_window(21, {"order": "oldest"}, BOSS)
    await staffing.change_queue("yibao", {"daily_cap": 50}, BOSS)
    await staffing.change_window(21, {"closed": True}, BOSS)
    assert seen == [("window.added", True), ("window.changed", True), ("queue.changed", True),
                    ("window.removed", False)]
    events = await service.events_since(0, 100)
    added = next(e for e in events if e.type == "window.added")
    assert [w["number"] for w in added.data["windows"]][-1] == 21
    assert set(added.data["window_state"]) >= {"number", "name", "queues", "state"}
    assert "clerk" not in str(added.data)


@pytest.fixture
def desk_for() -> Any:
    """A StaffingDesk over an in-process service (its Auth too, for logging clerks out)."""
    from hall.auth import Auth
    from hall.staffing_desk import StaffingDesk

    return lambda service: StaffingDesk(service, Auth(service))


# ---------------------------------------------------------------- effective(), property-tested

QUEUE_IDS = [q.id for q in CONFIG.queues]
NUMBERS = [w.number for w in CONFIG.windows]

window_changes = st.builds(
    WindowChange,
    number=st.integers(min_value=-2, max_value=1002),
    queues=st.one_of(st.none(), st.lists(st.sampled_from([*QUEUE_IDS, "gone"]), max_size=4)
                     .map(tuple)),
    order=st.one_of(st.none(), st.sampled_from(["strict", "oldest", "odd"])),
    closed=st.booleans(), temporary=st.booleans(),
    name=st.one_of(st.none(), st.text(min_size=1, max_size=5)))
queue_changes = st.builds(
    QueueChange, id=st.sampled_from([*QUEUE_IDS, "gone"]),
    daily_cap=st.one_of(st.none(), st.integers(min_value=-5, max_value=1200)),
    open_until_empty=st.booleans())
overrides = st.builds(
    Overrides,
    windows=st.lists(window_changes, max_size=8, unique_by=lambda w: w.number).map(tuple),
    queues=st.lists(queue_changes, max_size=5, unique_by=lambda q: q.id).map(tuple))


def test_no_overrides_is_the_configuration_itself() -> None:
    assert effective(CONFIG, Overrides()) is CONFIG


@settings(max_examples=300, deadline=None)
@given(overrides)
def test_effective_is_always_a_hall_that_can_run(o: Overrides) -> None:
    hall = effective(CONFIG, o)
    numbers = [w.number for w in hall.windows]
    assert numbers == sorted(set(numbers))  # unique, in order
    assert set(NUMBERS) <= set(numbers)  # config.toml's windows are never lost
    for w in hall.windows:
        assert w.queues and all(hall.has_queue(q) for q in w.queues)
        assert len(set(w.queues)) == len(w.queues) and w.order in ("strict", "oldest")
        change = o.window(w.number)
        if w.number in NUMBERS:
            base = CONFIG.window(w.number)
            assert not w.temporary and (w.name, w.kind, w.chief) == (base.name, base.kind,
                                                                      base.chief)
            assert w.closed == bool(change and not change.temporary and change.closed)
        else:  # a temporary window, from a change that asked for one
            assert change is not None and change.temporary and not w.closed
            assert 0 < w.number <= 999
    assert [q.id for q in hall.queues] == QUEUE_IDS
    for q in hall.queues:
        assert 1 <= q.daily_cap <= max_cap(q)
        change = o.queue(q.id)
        assert q.open_until_empty == bool(change and change.open_until_empty)
    assert (hall.services, hall.hall, hall.devices) == (CONFIG.services, CONFIG.hall,
                                                         CONFIG.devices)
    # applying nothing more changes nothing: the result is a fixed point for its overrides
    assert effective(CONFIG, o) == hall


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-2000, 2000) | st.text(max_size=25)
    | st.sampled_from([*QUEUE_IDS, "strict", "oldest"]),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner,
                                                                max_size=3),
    max_leaves=8)
bodies = st.dictionaries(
    st.sampled_from(["number", "name", "queues", "order", "closed", "daily_cap",
                     "open_until_empty", "other"]), json_values, max_size=4)


@settings(max_examples=300, deadline=None)
@given(bodies, st.sampled_from(NUMBERS), st.integers(0, 400))
def test_any_input_is_taken_or_refused_in_chinese(body: dict[str, Any], number: int,
                                                  issued: int) -> None:
    """Whatever a client sends, the rules answer with a change or a HallError (never another
    exception, which the API would answer 500); a change they take makes a runnable hall."""
    from hall.staffing import check_new_window, check_queue_change, check_window_change

    for check in (lambda: check_new_window(CONFIG, body),
                  lambda: check_window_change(CONFIG, CONFIG, None, number,
                                              {k: v for k, v in body.items()
                                               if k in ("queues", "order", "closed")}),
                  lambda: check_queue_change(CONFIG, "yibao", None, issued,
                                             {k: v for k, v in body.items()
                                              if k in ("daily_cap", "open_until_empty")}
                                             or body)):
        try:
            change = check()
        except errors.HallError as exc:
            assert exc.message and not ENGLISH.search(exc.message), exc.message
            continue
        if isinstance(change, WindowChange):
            hall = effective(CONFIG, Overrides(windows=(change,)))
            assert hall.has_window(change.number)
        else:
            cap = effective(CONFIG, Overrides(queues=(change,))).queue("yibao").daily_cap
            if change.daily_cap is not None:  # never below today's issued count, nor past 999
                assert max(1, issued) <= change.daily_cap == cap <= 999
