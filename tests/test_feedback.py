"""好差评 and 办不成事 in-process, against a real SQLite file with a clock the test moves.

The clock starts on Friday 2026-09-18, just before the 2026 中秋/国庆 holidays of config.toml:
Sunday 09-20 is a 调休 working day, 09-25..27 and 10-01..07 are off, Saturday 10-10 is worked.
"""

from __future__ import annotations

import json
import tomllib
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from hall import errors
from hall.config import ConfigError, load_config, parse_config
from hall.desk import mask_contact
from hall.feedback import Feedback
from hall.service import Actor, HallService
from hall.store import Event
from tests import backends
from tests.services import close_services, to_close  # noqa: F401 - the fixture applies here

ROOT = Path(__file__).resolve().parent.parent
TZ = ZoneInfo("Asia/Shanghai")
CLERK = Actor("clerk1", "10.0.0.21")
BOSS = Actor("wang", "10.0.0.2")
PHONE = "13812345678"


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 9, 18, 9, 0, tzinfo=TZ)  # a Friday morning

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kw: float) -> None:
        self.now += timedelta(**kw)


class Hall:
    """The service, its Feedback, and every event published, as the bus delivers them."""

    def __init__(self, service: HallService) -> None:
        self.service = service
        self.feedback = Feedback(service)
        self.events: list[Event] = []
        service.bus.listen(self.events.append)

    async def served(self, window: int = 1, service_id: str = "yibao-card",
                     outcome: str = "done", note: str | None = None) -> dict[str, Any]:
        """A ticket issued, called, served and finished at `window`."""
        ticket = await self.service.issue_ticket(service_id)
        actor = Actor(f"clerk{window}", "10.0.0.21")
        await self.service.call(window, actor, ticket["number"])
        await self.service.start(window, actor)
        await self.service.finish(window, actor, outcome, note)
        return ticket

    async def rate(self, token: str, level: Any, **kw: Any) -> dict[str, Any]:
        fb = self.feedback
        invited = kw.pop("invited", False)
        return await fb.rate_ticket(token, fb.check_rating(level, **kw), invited)

    def audit(self) -> list[tuple[str, str, str, int]]:
        return backends.tuples(self.service.store.db, "SELECT user, action, target, success "
                               "FROM audit ORDER BY id")



@pytest.fixture
def clock() -> Clock:
    return Clock()


async def open_hall(tmp_path: Path, clock: Clock) -> Hall:
    config = load_config(ROOT / "config.toml")
    service = await HallService.open(config, backends.new_db(tmp_path), clock)
    to_close.append(service)
    for window in (1, 2, 3, 12):
        await service.open_window(window, Actor(f"clerk{window}"))
    return Hall(service)


async def refused(awaitable: Any, status: int, code: str) -> errors.HallError:
    with pytest.raises(errors.HallError) as caught:
        await awaitable
    assert (caught.value.status, caught.value.code) == (status, code), caught.value.message
    return caught.value


# ---------------------------------------------------------------- ratings


async def test_one_rating_per_served_ticket_within_days_open(tmp_path: Path,
                                                             clock: Clock) -> None:
    hall = await open_hall(tmp_path, clock)
    waiting = await hall.service.issue_ticket("yibao-card")
    await refused(hall.rate(waiting["token"], 5), 409, "not_served")
    view = await hall.service.get_ticket(waiting["token"])
    assert view["rated"] is False and view["rating_open"] is False

    served = await hall.served()
    assert (await hall.service.get_ticket(served["token"]))["rating_open"] is True
    rated = await hall.rate(served["token"], 4, reasons=["办事快"], comment="很快",
                            indicators={"efficiency": 5, "attitude": 4})
    assert rated["level"] == 4 and rated["channel"] == "qr_page"
    assert rated["mode"] == "self_initiated" and rated["follow_up"] is None
    view = await hall.service.get_ticket(served["token"])
    assert view["rated"] is True and view["rating_open"] is False
    await refused(hall.rate(served["token"], 1), 409, "already_rated")
    await refused(hall.rate("no-such-token", 5), 404, "unknown_ticket")

    late = await hall.served()
    clock.advance(days=7, minutes=1)
    assert (await hall.service.get_ticket(late["token"]))["rating_open"] is False
    await refused(hall.rate(late["token"], 5), 409, "rating_closed")


async def test_rating_is_voluntary_and_checked(tmp_path: Path, clock: Clock) -> None:
    hall = await open_hall(tmp_path, clock)
    fb = hall.feedback
    ticket = await hall.served()
    for bad, code in ((None, "level_required"), (0, "invalid_level"), (6, "invalid_level"),
                      (True, "invalid_level"), ("5", "invalid_level")):
        with pytest.raises(errors.HallError) as caught:
            fb.check_rating(bad)
        assert (caught.value.status, caught.value.code) == (422, code)
    with pytest.raises(errors.HallError) as caught:
        fb.check_rating(5, reasons=["等待时间长"])  # a low-level reason on a 5
    assert caught.value.code == "invalid_reasons"
    with pytest.raises(errors.HallError) as caught:
        fb.check_rating(3, indicators={"speed": 3})
    assert caught.value.code == "invalid_indicators"
    with pytest.raises(errors.HallError) as caught:
        fb.check_rating(3, comment="长" * 501)
    assert caught.value.code == "comment_too_long"
    assert backends.tuples(hall.service.store.db, "SELECT COUNT(*) FROM ratings") == [(0,)]
    await hall.rate(ticket["token"], 3, invited=True)
    assert backends.tuples(hall.service.store.db, "SELECT mode, overall FROM ratings") == [
        ("invited", None)]


async def test_tablet_and_serial_evaluator_rate_only_the_ticket_just_finished(
        tmp_path: Path, clock: Clock) -> None:
    hall = await open_hall(tmp_path, clock)
    fb = hall.feedback
    assert (await fb.evaluate_info(1))["pending"] is None
    await refused(fb.rate_at_window(1, 5), 409, "nothing_to_rate")
    first = await hall.served(1)
    info = await fb.evaluate_info(1)
    assert info["pending"]["number"] == first["number"] and "token" not in info["pending"]
    assert info["reasons"]["1"][0] == "等待时间长"
    assert (await fb.evaluate_info(2))["pending"] is None  # another window's tablet

    second = await hall.served(1)  # the first citizen left without rating: voluntary
    await refused(fb.rate_pending(1, first["number"], fb.check_rating(5)), 409, "not_pending")
    rated = await fb.rate_pending(1, second["number"], fb.check_rating(5))
    assert (rated["channel"], rated["mode"]) == ("window_tablet", "prompted")
    assert (await fb.evaluate_info(1))["pending"] is None  # not the earlier one either

    third = await hall.served(1)
    by_pad = await fb.rate_at_window(1, 4)
    assert by_pad["number"] == third["number"]
    assert (by_pad["channel"], by_pad["mode"]) == ("serial_evaluator", "prompted")

    await hall.served(1)
    clock.advance(minutes=11)
    assert (await fb.evaluate_info(1))["pending"] is None
    await refused(fb.rate_at_window(1, 5), 409, "nothing_to_rate")
    await refused(fb.evaluate_info(99), 404, "unknown_window")


async def test_rating_event_is_public_and_clerks_see_aggregates_only(tmp_path: Path,
                                                                     clock: Clock) -> None:
    hall = await open_hall(tmp_path, clock)
    for level in (5, 4, 2):
        ticket = await hall.served(1)
        await hall.rate(ticket["token"], level, comment="窗口人员不错", contact=PHONE)
    # one event per rating (the 差评 is its alarm); hall.events keeps both off the public /ws
    recorded = [e for e in hall.events if e.type in ("rating.recorded", "alarm.bad_rating")]
    assert [e.data["level"] for e in recorded] == [5, 4, 2]
    assert set(recorded[0].data) == {"number", "window", "window_name", "level", "level_name"}
    mine = await hall.feedback.window_ratings(1)
    assert mine["month"]["count"] == 0  # not today's, and never fewer than clerk_min_ratings
    clock.advance(days=1)
    assert (await hall.feedback.window_ratings(1))["month"]["count"] == 0  # 3 < 5
    text = json.dumps(mine, ensure_ascii=False)
    assert "A00" not in text and "不错" not in text and PHONE not in text


# ---------------------------------------------------------------- 差评整改


async def test_bad_rating_opens_a_case_due_in_working_days(tmp_path: Path, clock: Clock) -> None:
    hall = await open_hall(tmp_path, clock)
    ticket = await hall.served(1)
    rated = await hall.rate(ticket["token"], 2, reasons=["多次跑腿"], contact=PHONE)
    # Friday 09-18 + 1 working day: Sunday 09-20 is a 调休 working day.
    # + 15: 09-20, 21..24 (5), 28..30 (8), 10-08, 10-09, 10-10 (调休), 10-12..15 (15).
    assert rated["follow_up"] == {"callback_due": "2026-09-20", "fix_due": "2026-10-15"}
    alarm = next(e for e in hall.events if e.type == "alarm.bad_rating")
    assert alarm.data == {"rectification": 1, "number": "A001", "window": 1,
                          "window_name": "1号窗口",
                          "level": 2, "level_name": "不满意", "callback_due": "2026-09-20",
                          "fix_due": "2026-10-15"}
    case = (await hall.feedback.cases("rectification"))[0]
    assert case["status"] == "open" and case["number"] == ticket["number"]
    assert case["contact"] == "138****5678" and case["rating"]["reasons"] == ["多次跑腿"]
    assert case["timeline"][0]["step"] == "opened" and case["actions"] == ["assign", "callback"]
    good = await hall.served(1)
    await hall.rate(good["token"], 3)
    assert len(await hall.feedback.cases("rectification")) == 1  # 3 is not a 差评


async def test_rectification_walks_its_loop_in_order(tmp_path: Path, clock: Clock) -> None:
    hall = await open_hall(tmp_path, clock)
    fb = hall.feedback
    await hall.rate((await hall.served(1))["token"], 1, contact=PHONE)
    step = fb.rectification_step
    err = await refused(step(1, "fix", BOSS, {"measures": "x"}), 409, "illegal_state")
    assert "待回访" in err.message and "open" not in err.message  # the name, not the code
    await refused(step(1, "callback", BOSS, {}), 422, "note_required")
    await refused(step(1, "fly", BOSS, {}), 404, "unknown_action")
    await refused(step(9, "callback", BOSS, {"note": "x"}), 404, "unknown_case")
    await step(1, "assign", BOSS, {"assignee": "李科长"})
    clock.advance(hours=2)
    done = await step(1, "callback", BOSS, {"note": "群众反映等了一小时", "reached": True})
    assert done["status"] == "called_back" and done["callback_on_time"] is True
    await refused(step(1, "classify", BOSS, {"classification": "ledger"}), 422,
                  "deadline_required")
    classified = await step(1, "classify", BOSS, {"classification": "ledger",
                                                  "deadline": "2026-11-30"})
    assert classified["fix_due"] == "2026-11-30"
    await step(1, "fix", BOSS, {"measures": "高峰时段增开窗口"})
    await step(1, "feedback", BOSS, {"note": "电话告知整改措施"})
    await step(1, "review", BOSS, {"view": "unsatisfied"})
    again = await step(1, "reopen", BOSS, {"note": "群众仍不满意"})
    assert again["status"] == "classified" and again["fixed_at"] is None
    await step(1, "fix", BOSS, {"measures": "增设叫号提醒"})
    await step(1, "feedback", BOSS, {"note": "再次告知"})
    await step(1, "review", BOSS, {"view": "satisfied"})
    closed = await step(1, "close", BOSS, {})
    assert closed["status"] == "closed" and closed["actions"] == [] and not closed["overdue"]
    assert [t["step"] for t in closed["timeline"]] == [
        "opened", "assign", "callback", "classify", "fix", "feedback", "review", "reopen",
        "fix", "feedback", "review", "close"]
    assert closed["timeline"][2]["user"] == "wang"
    audit = [a for a in hall.audit() if a[2] == "rectification:1"]
    assert [a[1] for a in audit if a[3]] == [
        "rectification.assign", "rectification.callback", "rectification.classify",
        "rectification.fix", "rectification.feedback", "rectification.review",
        "rectification.reopen", "rectification.fix", "rectification.feedback",
        "rectification.review", "rectification.close"]
    assert ("wang", "rectification.fix", "rectification:1", 0) in audit  # refusals too
    updates = [e for e in hall.events if e.type == "rectification.updated"]
    assert updates[-1].data == {"id": 1, "step": "close", "status": "closed",
                                "status_name": "已办结", "window": 1, "overdue": False}


async def test_appeal_needs_a_reason_and_a_verdict(tmp_path: Path, clock: Clock) -> None:
    hall = await open_hall(tmp_path, clock)
    step = hall.feedback.rectification_step
    await hall.rate((await hall.served(2))["token"], 1)
    await step(1, "callback", BOSS, {"note": "群众未接电话", "reached": False})
    # nobody reached: the 回访 is not done (the case may still go on to 定性)
    assert (await hall.feedback.case("rectification", 1))["called_back_at"] is None
    await refused(step(1, "classify", BOSS, {"classification": "appeal"}), 422, "note_required")
    await step(1, "classify", BOSS, {"classification": "appeal", "note": "误评：点错按键"})
    await refused(step(1, "fix", BOSS, {"measures": "核实录像"}), 422, "upheld_required")
    fixed = await step(1, "fix", BOSS, {"measures": "核实录像", "upheld": True})
    assert fixed["appeal_upheld"] is True
    assert (fixed["timeline"][1]["step_name"], fixed["timeline"][1]["note"]) == (
        "回访未联系上", "群众未接电话")


async def test_overdue_cases_come_first(tmp_path: Path, clock: Clock) -> None:
    hall = await open_hall(tmp_path, clock)
    await hall.rate((await hall.served(1))["token"], 2)  # callback due 09-20
    clock.advance(days=3)  # Monday 09-21
    await hall.rate((await hall.served(2))["token"], 1)
    cases = await hall.feedback.cases("rectification")
    assert [c["id"] for c in cases] == [1, 2]
    assert cases[0]["overdue"] and cases[0]["overdue_steps"] == ["callback"]
    assert not cases[1]["overdue"]
    await hall.feedback.rectification_step(1, "callback", BOSS, {"note": "已回访"})
    late = await hall.feedback.case("rectification", 1)
    assert late["callback_on_time"] is False and not late["overdue"]


# ---------------------------------------------------------------- 办不成事


async def test_every_way_in_opens_a_case_with_reference_and_due(tmp_path: Path,
                                                                clock: Clock) -> None:
    hall = await open_hall(tmp_path, clock)
    fb = hall.feedback
    failed = await hall.served(3, "bdc-transfer", "failed", "系统查询不到产权信息")
    ticket = await hall.served(1)
    at_window = await fb.open_window_complaint(12, Actor("clerk12", "10.0.0.32"), {
        "description": "社保转移多次跑腿", "ticket": ticket["number"], "contact": PHONE,
        "category": "多次跑腿"})
    # (the failed ticket has its case open already: a second one for it is refused)
    await refused(fb.open_complaint({"description": "再反映", "ticket": failed["token"]}), 409,
                  "complaint_open")
    other = await hall.served(3, "bdc-transfer")
    phone = await fb.open_complaint({"description": "材料清单和窗口说法不一致",
                                     "ticket": other["token"], "contact": "王女士 13900001111"})
    public = await fb.open_complaint({"description": "网上说能办，现场说办不了",
                                      "service": "company-setup"})
    for opened in (at_window, phone, public):
        assert set(opened) == {"id", "reference", "status", "status_name", "due"}
        assert opened["status"] == "received" and opened["due"] == "2026-09-18"
        assert len(opened["reference"]) == 8 and opened["reference"].startswith("BC")
    cases = {c["source"]: c for c in await fb.cases("complaint")}
    assert set(cases) == {"clerk", "window", "qr_page", "public"}
    assert cases["clerk"]["window"] == 3 and cases["clerk"]["number"] == failed["number"]
    assert cases["clerk"]["description"] == "系统查询不到产权信息"
    assert cases["window"]["window"] == 1 and cases["window"]["contacted_same_day"] is True
    assert cases["window"]["contact"] == "138****5678"
    assert cases["qr_page"]["window"] == 3 and cases["qr_page"]["contact"] == "139****1111"
    assert cases["public"]["window"] is None and cases["public"]["contacted_same_day"] is False
    alarms = [e for e in hall.events if e.type == "alarm.complaint"]
    assert len(alarms) == 4
    events = json.dumps([e.data for e in hall.events], ensure_ascii=False)
    for secret in (PHONE, "13900001111", "王女士", at_window["reference"], "跑腿"):
        assert secret not in events
    await refused(fb.open_window_complaint(1, CLERK, {"description": "x"}), 403,
                  "not_complaint_window")
    await refused(fb.open_complaint({"description": " "}), 422, "description_required")
    await refused(fb.open_complaint({"description": "x", "ticket": "nope"}), 404,
                  "unknown_ticket")
    await refused(fb.open_complaint({"description": "x", "name": "张三"}), 422, "unknown_field")
    assert ("clerk12", "complaint.receive", f"complaint:{cases['window']['id']}", 1) in hall.audit()
    # sealed at rest: the database file alone does not give the phone numbers away
    stored = [r[0] for r in backends.tuples(hall.service.store.db, "SELECT contact FROM "
                                            "complaints WHERE contact IS NOT NULL")]
    assert len(stored) == 2 and not any("1390000" in c or "5678" in c for c in stored)
    revealed = await fb.reveal_contact("complaint", cases["qr_page"]["id"], Actor("boss"))
    assert revealed["contact"] == "王女士 13900001111"


async def test_complaint_loop_deadlines_and_contact(tmp_path: Path, clock: Clock) -> None:
    hall = await open_hall(tmp_path, clock)
    fb = hall.feedback
    step = fb.complaint_step
    await fb.open_complaint({"description": "退休审批表没人告知", "contact": PHONE})
    err = await refused(step(1, "assign", BOSS, {"department": "税务局"}), 409, "illegal_state")
    assert "当前状态为受理" in err.message
    await refused(step(1, "assess", BOSS, {"class": "hard"}), 422, "invalid_class")
    assessed = await step(1, "assess", BOSS, {"class": "complex", "category": "多次跑腿"})
    assert assessed["due"] == "2026-09-24"  # 5 working days: 20 (调休), 21, 22, 23, 24
    await refused(step(1, "answer", BOSS, {"note": "x"}), 409, "illegal_state")
    await refused(step(1, "assign", BOSS, {"department": "财政局"}), 422, "invalid_department")
    await step(1, "assign", BOSS, {"department": "人力资源和社会保障局", "chief": True})
    await step(1, "contact", BOSS, {"note": "电话联系群众"})
    clock.advance(days=3)  # Monday 09-21
    await step(1, "resolve", BOSS, {"note": "当场补办退休手续"})
    answered = await step(1, "answer", BOSS, {"note": "已电话告知办理结果"})
    assert answered["on_time"] is True
    await step(1, "follow_up", BOSS, {"view": "satisfied"})
    archived = await step(1, "archive", BOSS, {})
    assert archived["status"] == "archived" and archived["chief"] is True
    assert archived["contacted_same_day"] is True and archived["actions"] == []
    assert [t["step_name"] for t in archived["timeline"]] == [
        "受理", "研判", "交办", "联系群众", "办结", "反馈", "回访", "归档"]
    revealed = await fb.reveal_contact("complaint", 1, BOSS)
    assert revealed["contact"] == PHONE
    assert ("wang", "complaint.reveal_contact", "complaint:1", 1) in hall.audit()


async def test_out_of_scope_closes_with_a_referral_never_silently(tmp_path: Path,
                                                                  clock: Clock) -> None:
    hall = await open_hall(tmp_path, clock)
    step = hall.feedback.complaint_step
    await hall.feedback.open_complaint({"description": "邻居纠纷要求处理"})
    await refused(step(1, "assess", BOSS, {"class": "out_of_scope"}), 422, "referral_required")
    assessed = await step(1, "assess", BOSS, {"class": "out_of_scope",
                                              "referral": "属民事纠纷，请向人民法院起诉"})
    assert assessed["due"] == "2026-09-22"  # 3 working days: 20 (调休), 21, 22
    assert assessed["actions"] == ["contact", "answer"]
    await refused(step(1, "assign", BOSS, {"department": "公安局"}), 409, "illegal_state")
    answered = await step(1, "answer", BOSS, {})
    assert answered["timeline"][-1]["note"] == "属民事纠纷，请向人民法院起诉"


async def test_overdue_complaint_lists_first_and_counts_in_figures(tmp_path: Path,
                                                                   clock: Clock) -> None:
    hall = await open_hall(tmp_path, clock)
    fb = hall.feedback
    await fb.open_complaint({"description": "一", "window": 1})  # due 09-18
    clock.advance(days=3)  # Monday 09-21: complaint 1 is overdue
    await fb.open_complaint({"description": "二", "window": 2})
    cases = await fb.cases("complaint")
    assert [c["id"] for c in cases] == [1, 2]
    assert cases[0]["overdue_steps"] == ["contact", "answer"]
    await fb.complaint_step(2, "assess", BOSS, {"class": "simple"})
    assert [c["id"] for c in await fb.cases("complaint", open_only=True, window=2)] == [2]
    figures = await fb.figures(clock.now.date().replace(day=1), clock.now.date())
    c = figures["complaints"]
    assert c["count"] == 2 and c["overdue"] == 1
    assert {x["key"]: x["count"] for x in c["by_window"]} == {1: 1, 2: 1}


# ---------------------------------------------------------------- figures and privacy


async def test_figures(tmp_path: Path, clock: Clock) -> None:
    hall = await open_hall(tmp_path, clock)
    fb = hall.feedback
    for window, level in ((1, 5), (1, 5), (1, 2), (2, 4), (2, 1)):
        await hall.rate((await hall.served(window))["token"], level,
                        indicators={"attitude": level})
    await hall.served(2)
    await fb.rate_at_window(2, 3)
    await hall.served(2)  # served, not rated
    await fb.rectification_step(1, "callback", BOSS, {"note": "已回访"})
    await fb.rectification_step(1, "classify", BOSS, {"classification": "fix_now"})
    await fb.rectification_step(1, "fix", BOSS, {"measures": "已改"})
    f = await fb.figures(clock.now.date(), clock.now.date())
    r = f["ratings"]
    assert r["count"] == 6 and r["served"] == 7 and r["rating_rate"] == round(6 / 7, 4)
    assert r["distribution"] == {"1": 1, "2": 1, "3": 1, "4": 1, "5": 2}
    assert r["bad"] == 2 and r["bad_rate"] == round(2 / 6, 4)
    assert r["self_initiated"] == 5 and r["self_initiated_rate"] == round(5 / 6, 4)
    assert r["indicators"]["attitude"] == 3.4 and r["indicators"]["overall"] is None
    x = f["rectifications"]
    assert (x["count"], x["called_back"], x["callback_rate"], x["fixed"], x["fix_rate"]) == (
        2, 1, 0.5, 1, 0.5)
    assert x["callback_on_time_rate"] == 1.0 and f["on_time_rate"] == 1.0
    month = f["ranking"][0]
    assert month["month"] == "2026-09"
    assert [(w["rank"], w["window"]) for w in month["windows"]] == [(1, 1), (2, 2)]
    assert month["windows"][0]["average"] == 4.0 and month["windows"][1]["count"] == 3
    rows = await fb.ratings(clock.now.date(), clock.now.date(), window=1, level=2)
    assert len(rows) == 1 and rows[0]["rectification"] == 1
    assert len(await fb.ratings(clock.now.date(), clock.now.date(),
                                channel="serial_evaluator")) == 1


def test_contact_masking() -> None:
    assert mask_contact("13812341234") == "138****1234"
    assert mask_contact("王先生 138-1234-1234") == "138****1234"
    assert mask_contact("wx: abc") == "w***"
    assert mask_contact(None) is None and mask_contact("") is None


# ---------------------------------------------------------------- config


def test_config_sections_are_checked_by_key() -> None:
    raw = tomllib.loads((ROOT / "config.toml").read_text(encoding="utf-8"))
    config = parse_config(raw)
    assert config.ratings.fix_days == 15 and config.complaints.deadlines["out_of_scope"] == 3
    assert config.workdays.is_working_day(datetime(2026, 10, 10).date())  # 调休, officially
    raw["ratings"] = {**raw["ratings"], "days_open": 0, "callback_days": 20, "color": 1,
                      "reasons": {"6": ["x"], "1": ["好", "好", 3]}}
    raw["workdays"] = {"holidays": ["2026-10-01", "10/02"], "makeup_days": ["2026-10-01",
                                                                            "2026-10-08"]}
    raw["complaints"] = {**raw["complaints"], "deadlines": {"simple": -1, "urgent": 1}}
    with pytest.raises(ConfigError) as caught:
        parse_config(raw)
    problems = "\n".join(caught.value.problems)
    for key in ("ratings.days_open: must be greater than 0",
                "ratings.callback_days: the call-back (20) cannot be due after the fix",
                "ratings.color: unknown key", "ratings.reasons.6: unknown level",
                "ratings.reasons.1[1]: duplicate", "ratings.reasons.1[2]: expected a non-empty",
                "workdays.holidays[1]: expected a date", "workdays.makeup_days[0]: 2026-10-01 "
                "is also listed", "workdays.makeup_days[1]: 2026-10-08 is a weekday",
                "complaints.deadlines.simple: must be 0 or more",
                "complaints.deadlines.urgent: unknown key"):
        assert key in problems, problems
    bare = {k: v for k, v in tomllib.loads((ROOT / "config.toml").read_text(
        encoding="utf-8")).items() if k not in ("ratings", "workdays", "complaints")}
    defaults = parse_config(bare)
    assert defaults.ratings.days_open == 7 and defaults.ratings.reasons[4]
    assert "医保" in defaults.complaints.departments  # the queues' owners
    assert defaults.workdays.holidays == frozenset()
