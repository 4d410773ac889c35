"""Issue 8's hall rules: the calendar (no tickets on a holiday unless a manager opens the day,
per-queue hours, the 60-day coverage warning), priority with a reason and a witness, 限时办结
due dates, calling by number only from an appointment's slot, and a complaint received after
hours. In-process against a real SQLite file with a clock the test moves, and on a real
`hall serve` for what a kiosk, a clerk and a manager see over HTTP."""

from __future__ import annotations

import re
import subprocess
import sys
from dataclasses import replace
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from hall import errors
from hall.config import ConfigError, HallConfig, coverage_warning, load_config
from hall.feedback import Feedback
from hall.service import Actor, HallService
from hall.workdays import intake_day
from tests import backends
from tests.conftest import DEMO_CONFIG, HallServer
from tests.services import close_services, to_close  # noqa: F401 - the fixture applies here

ROOT = Path(__file__).resolve().parent.parent
TZ = ZoneInfo("Asia/Shanghai")
CLERK = Actor("clerk1", "10.0.0.21")
BOSS = Actor("wang", "10.0.0.2")


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now



async def open_service(tmp_path: Path, clock: Clock,
                       config: HallConfig | None = None) -> HallService:
    service = await HallService.open(config or load_config(DEMO_CONFIG),
                                     backends.new_db(tmp_path), clock)
    to_close.append(service)
    await service.open_window(1, CLERK)
    return service


async def refused(awaitable: Any, status: int, code: str) -> errors.HallError:
    with pytest.raises(errors.HallError) as caught:
        await awaitable
    assert (caught.value.status, caught.value.code) == (status, code), caught.value.message
    return caught.value


def audit_rows(service: HallService) -> list[tuple[str, str, str, int]]:
    return backends.tuples(service.store.db,
                           "SELECT user, action, target, success FROM audit ORDER BY id")


# ---------------------------------------------------------------- calendar


async def test_no_tickets_on_a_public_holiday_until_a_manager_opens_the_day(
        tmp_path: Path) -> None:
    clock = Clock(datetime(2026, 10, 1, 10, 0, tzinfo=TZ))  # 国庆节, a Thursday
    service = await open_service(tmp_path, clock)
    refusal = await refused(service.issue_ticket("yibao-card"), 409, "hall_holiday")
    assert "国庆节" in refusal.message and "取号" in refusal.message
    await refused(service.open_day("2026-09-30", BOSS), 422, "invalid_date")  # already past
    opened = await service.open_day("2026-10-01", BOSS, "国庆值班")
    assert opened["holiday"] == "国庆节" and opened["opened_by"] == "wang"
    assert (await service.issue_ticket("yibao-card"))["number"] == "A001"
    assert ("wang", "open_day", "2026-10-01", 1) in audit_rows(service)
    clock.now = datetime(2026, 10, 2, 10, 0, tzinfo=TZ)  # only the day opened
    await refused(service.issue_ticket("yibao-card"), 409, "hall_holiday")
    clock.now = datetime(2026, 10, 10, 10, 0, tzinfo=TZ)  # the 调休 Saturday is worked
    assert (await service.issue_ticket("yibao-card"))["number"] == "A001"
    clock.now = datetime(2026, 10, 11, 10, 0, tzinfo=TZ)  # an ordinary Sunday is not
    refusal = await refused(service.issue_ticket("yibao-card"), 409, "hall_holiday")
    assert "休息日" in refusal.message


async def test_a_queue_issues_numbers_in_its_own_hours(tmp_path: Path) -> None:
    config = load_config(DEMO_CONFIG)
    queues = tuple(replace(q, close=time(12, 0)) if q.id == "budongchan" else q
                   for q in config.queues)
    config = replace(config, queues=queues)
    clock = Clock(datetime(2026, 12, 1, 13, 0, tzinfo=TZ))
    service = await open_service(tmp_path, clock, config)
    refusal = await refused(service.issue_ticket("bdc-transfer"), 409, "hall_closed")
    assert "不动产登记" in refusal.message and "08:30-12:00" in refusal.message
    assert (await service.issue_ticket("yibao-card"))["number"] == "A001"  # the hall's hours
    clock.now = datetime(2026, 12, 1, 11, 0, tzinfo=TZ)
    assert (await service.issue_ticket("bdc-transfer"))["number"] == "C001"


def test_check_config_checks_queue_hours_and_warns_about_the_calendar(tmp_path: Path) -> None:
    text = DEMO_CONFIG.read_text(encoding="utf-8")
    bad = tmp_path / "bad.toml"
    bad.write_text(text.replace('default_minutes = 15\n', 'default_minutes = 15\n'
                                'open = "13:00"\nclose = "12:00"\n', 1), encoding="utf-8")
    run = subprocess.run([sys.executable, "-m", "hall", "check-config", "--config", str(bad)],
                         cwd=ROOT, capture_output=True, text=True, timeout=30)
    assert run.returncode == 1 and "queues[2].close: must be later" in run.stderr
    with pytest.raises(ConfigError):
        load_config(bad)
    # the shipped config is valid: the uncovered calendar is a warning, exit status 0
    run = subprocess.run([sys.executable, "-m", "hall", "check-config", "--config",
                          str(DEMO_CONFIG)], cwd=ROOT, capture_output=True, text=True, timeout=30)
    assert run.returncode == 0, run.stderr
    today = datetime.now(TZ).date()
    expected = coverage_warning(load_config(DEMO_CONFIG).workdays, today)
    assert ("警告 workdays: 工作日历只覆盖到" in run.stdout) == (expected is not None)
    declared = tmp_path / "declared.toml"
    declared.write_text(text.replace('# covered_until = "2027-12-31"',
                                     f'covered_until = "{today + timedelta(days=90)}"'),
                        encoding="utf-8")
    run = subprocess.run([sys.executable, "-m", "hall", "check-config", "--config",
                          str(declared)], cwd=ROOT, capture_output=True, text=True, timeout=30)
    assert run.returncode == 0 and "警告" not in run.stdout


async def test_managers_alarms_warn_when_the_calendar_runs_out(tmp_path: Path) -> None:
    clock = Clock(datetime(2026, 12, 1, 10, 0, tzinfo=TZ))  # 60 days ahead reach 2027
    service = await open_service(tmp_path, clock)
    alarm = next(a for a in await service.alarm_conditions() if a.kind == "calendar_uncovered")
    assert "2027年1月1日" in alarm.message
    assert not re.search(r"[A-Za-z]", alarm.message)  # a manager reads Chinese only
    clock.now = datetime(2026, 9, 1, 10, 0, tzinfo=TZ)
    assert not [a for a in await service.alarm_conditions() if a.kind == "calendar_uncovered"]


# ---------------------------------------------------------------- priority


async def test_priority_reasons_from_config_with_who_granted_them(tmp_path: Path) -> None:
    clock = Clock(datetime(2026, 12, 1, 9, 0, tzinfo=TZ))
    service = await open_service(tmp_path, clock)
    elder = await service.issue_ticket("yibao-card", priority="elderly")  # self-declared
    assert elder["priority_name"] == "老年人"
    refusal = await refused(service.issue_ticket("yibao-card", priority="military"), 403,
                            "priority_needs_staff")
    assert "军人依法优先" in refusal.message and "工作人员" in refusal.message
    await refused(service.issue_ticket("yibao-card", priority="vip"), 422, "invalid_priority")
    soldier = await service.issue_ticket("yibao-card", priority="military", granted_by="daoban1")
    plain = await service.issue_ticket("yibao-card")
    # a clerk checks a 残疾人证 and grants a waiting ticket its priority
    await refused(service.grant_priority(1, CLERK, plain["number"], "vip"), 422,
                  "invalid_priority")
    await service.grant_priority(1, CLERK, plain["number"], "disabled")
    assert (await service.get_ticket(plain["token"]))["priority_name"] == "残疾人"
    assert ("clerk1", "priority", "window:1", 1) in audit_rows(service)
    listed = {t["number"]: (t["priority_name"], t["granted_by"])
              for t in await service.priority_tickets("2026-12-01", "2026-12-01")}
    assert listed == {elder["number"]: ("老年人", "本人申报"),
                      soldier["number"]: ("军人依法优先", "daoban1"),
                      plain["number"]: ("残疾人", "clerk1")}
    stats = {r["priority_name"]: (r["issued"], r["granted_by_staff"])
             for r in await service.stats("2026-12-01", "2026-12-01", "priority")}
    assert stats == {"老年人": (1, 0), "军人依法优先": (1, 1), "残疾人": (1, 1)}


def test_priority_reasons_are_checked_by_key() -> None:
    import tomllib

    from hall.config import parse_config

    raw = tomllib.loads(DEMO_CONFIG.read_text(encoding="utf-8"))
    raw["priority_reasons"] = [{"id": "elderly", "name": "老年人"},
                               {"id": "elderly", "name": "x", "colour": 1},
                               {"id": "带 空格", "name": "y"}]
    with pytest.raises(ConfigError) as caught:
        parse_config(raw)
    problems = "\n".join(caught.value.problems)
    for key in ("priority_reasons[1].id: duplicate", "priority_reasons[1].colour: unknown key",
                "priority_reasons[2].id: use letters"):
        assert key in problems


# ---------------------------------------------------------------- 限时办结


async def test_an_accepted_application_gets_its_legal_due_date(tmp_path: Path) -> None:
    clock = Clock(datetime(2026, 9, 30, 9, 0, tzinfo=TZ))  # the eve of 国庆
    service = await open_service(tmp_path, clock)
    ticket = await service.issue_ticket("yibao-transfer")  # time_limit_days = 15
    quick = await service.issue_ticket("yibao-card")  # settled on the spot
    await service.call(1, CLERK, ticket["number"])
    await service.finish(1, CLERK, "accepted")
    await service.call(1, CLERK, quick["number"])
    await service.finish(1, CLERK, "accepted")
    # 10-08, 09, Saturday 10 (调休), 12-16, 19-23, 26, 27: the 15th working day
    assert (await service.get_ticket(ticket["token"]))["due_date"] == "2026-10-27"
    assert (await service.get_ticket(quick["token"]))["due_date"] is None
    assert await service.applications() == []
    clock.now = datetime(2026, 10, 22, 9, 0, tzinfo=TZ)  # three working days before
    (due,) = await service.applications()
    assert (due["number"], due["late"], due["due_date_text"]) == (ticket["number"], False,
                                                                  "2026年10月27日")
    assert not [a for a in await service.alarm_conditions() if a.kind == "application_late"]
    clock.now = datetime(2026, 10, 29, 9, 0, tzinfo=TZ)
    (late,) = await service.applications()
    assert late["late"] and late["late_working_days"] == 2 and late["status_name"] == "已超期"
    alarm = next(a for a in await service.alarm_conditions() if a.kind == "application_late")
    assert ticket["number"] in alarm.message and "法定办结时限" in alarm.message
    done = await service.complete_application(late["id"], BOSS)
    assert done["on_time"] is False
    assert await service.applications() == []
    await refused(service.complete_application(late["id"], BOSS), 409, "illegal_state")


async def test_missing_materials_acceptance_is_due_too(tmp_path: Path) -> None:
    clock = Clock(datetime(2026, 12, 1, 9, 0, tzinfo=TZ))  # Tuesday
    service = await open_service(tmp_path, clock)
    ticket = await service.issue_ticket("shebao-unemployment")  # 5 working days
    await service.call(1, CLERK, ticket["number"])
    await service.finish(1, CLERK, "accepted_missing")
    assert (await service.get_ticket(ticket["token"]))["due_date"] == "2026-12-08"


# ---------------------------------------------------------------- calling by number


async def test_calling_an_appointment_by_number_waits_for_its_slot(tmp_path: Path) -> None:
    clock = Clock(datetime(2026, 12, 1, 9, 0, tzinfo=TZ))
    service = await open_service(tmp_path, clock)
    slot = clock.now + timedelta(hours=1)
    booked = await service.issue_ticket("yibao-card", channel="appointment",
                                        appointment_at=slot.timestamp())
    refusal = await refused(service.call(1, CLERK, booked["number"]), 409,
                            "appointment_not_started")
    assert "10:00" in refusal.message and "预约" in refusal.message
    assert ("clerk1", "call", "window:1", 0) in audit_rows(service)
    await refused(service.call(1, CLERK), 409, "no_ticket_waiting")  # as call-next does
    clock.now = slot
    called = await service.call(1, CLERK, booked["number"])
    assert called["current"]["number"] == booked["number"]


# ---------------------------------------------------------------- 办不成事 after hours


@pytest.mark.parametrize(("moment", "due"), [
    (datetime(2026, 12, 1, 16, 0, tzinfo=TZ), "2026-12-01"),  # open: the same day
    (datetime(2026, 12, 1, 18, 30, tzinfo=TZ), "2026-12-02"),  # after hours: tomorrow
    (datetime(2026, 9, 18, 20, 0, tzinfo=TZ), "2026-09-20"),  # Friday night: the 调休 Sunday
    (datetime(2026, 9, 30, 19, 0, tzinfo=TZ), "2026-10-08"),  # over 国庆
])
async def test_a_complaint_filed_after_hours_is_first_due_the_next_working_day(
        tmp_path: Path, moment: datetime, due: str) -> None:
    service = await open_service(tmp_path, Clock(moment))
    opened = await Feedback(service).open_complaint({"description": "窗口说材料不全"})
    assert opened["due"] == due


# ---------------------------------------------------------------- on a real server


def test_kiosk_staff_and_manager_over_http(hall_server: HallServer) -> None:
    url = hall_server.url
    r = httpx.post(url + "/api/tickets", json={"service": "yibao-card", "priority": "military"})
    assert r.status_code == 403, r.text
    assert r.json()["error"]["code"] == "priority_needs_staff"
    assert "工作人员" in r.json()["error"]["message"]
    assert hall_server.issue(priority="elderly")["priority_name"] == "老年人"
    clerk = hall_server.clerk(1)
    r = clerk.post("/api/tickets", json={"service": "yibao-transfer", "priority": "military"})
    assert r.status_code == 201, r.text
    soldier = r.json()
    plain = hall_server.issue()  # a clerk checks a 残疾人证 and grants it
    r = clerk.post("/api/windows/1/priority", json={"number": plain["number"],
                                                    "reason": "disabled"})
    assert r.status_code == 200, r.text
    hall_server.add_user("boss", "manager")
    boss = hall_server.login("boss", None)
    today = datetime.now(TZ).date().isoformat()
    listed = boss.get("/api/manage/priority", params={"from": today}).json()["priority"]
    assert {(t["priority_name"], t["granted_by"]) for t in listed} == {
        ("老年人", "本人申报"), ("军人依法优先", "clerk1"), ("残疾人", "clerk1")}

    # 限时办结: the clerk accepts the application; the phone page's API carries the due date
    assert clerk.post("/api/windows/1/call", json={"number": soldier["number"]}).status_code == 200
    assert clerk.post("/api/windows/1/finish", json={"outcome": "accepted"}).status_code == 200
    expected = load_config(DEMO_CONFIG).workdays.add(date.fromisoformat(today), 15)
    got = httpx.get(f"{url}/api/tickets/{soldier['token']}").json()
    assert got["due_date"] == expected.isoformat()
    assert boss.get("/api/manage/deadlines").json() == {"applications": []}

    # a manager opens a day off; a clerk may not; the audit log has it
    day = (datetime.now(TZ).date() + timedelta(days=30)).isoformat()
    assert clerk.post("/api/manage/open-days", json={"date": day}).status_code == 403
    r = boss.post("/api/manage/open-days", json={"date": day, "note": "延时服务"})
    assert r.status_code == 201, r.text
    assert [d["date"] for d in boss.get("/api/manage/open-days").json()["open_days"]] == [day]
    r = boss.post("/api/manage/open-days", json={"date": "元旦"})
    assert r.status_code == 422 and "日期" in r.json()["error"]["message"]

    # the calendar warning in the manager's alarms, whenever the next 60 days are unknown
    alarms = boss.get("/api/manage/alarms").json()["alarms"]
    warning = coverage_warning(load_config(DEMO_CONFIG).workdays, datetime.now(TZ).date())
    assert any(a["kind"] == "calendar_uncovered" for a in alarms) == (warning is not None)

    # a complaint is never due on a day already over
    moment = datetime.now(TZ)
    r = httpx.post(url + "/api/complaints", json={"description": "网上说能办，现场说办不了"})
    assert r.status_code == 201, r.text
    assert r.json()["due"] >= intake_day(moment, time(17, 30)).isoformat()

