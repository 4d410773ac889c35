"""The phone page tells the truth after each outcome, and the rating forms ask the four
indicators (issue 8, items 6 and 14), in real Chromium against a real `hall serve`.

Every check is what the citizen reads on /t/{token} (or taps on the tablet), live where the
page says it updates without a reload.
"""

from __future__ import annotations

from typing import Any

import httpx
from playwright.sync_api import Page, expect

from tests.browser import PASSWORD, login_counter
from tests.conftest import HallServer
from tests.test_feedback_pages import _boss, _manager, _serve_ticket, _tablet


def _phone(new_page: Any, server: HallServer, ticket: dict[str, Any]) -> Page:
    phone = new_page(390, 844)
    phone.goto(f"{server.url}/t/{ticket['token']}")
    expect(phone.locator("#t-number")).to_have_text(ticket["number"])
    return phone


def _called(server: HallServer, window: int) -> tuple[dict[str, Any], httpx.Client]:
    ticket = server.issue()
    clerk = server.clerk(window)
    clerk.post(f"/api/windows/{window}/call", json={"number": ticket["number"]}
               ).raise_for_status()
    return ticket, clerk


def test_phone_page_shows_the_reason_for_not_accepting(hall_server: HallServer,
                                                       new_page: Any) -> None:
    ticket, clerk = _called(hall_server, 1)
    phone = _phone(new_page, hall_server, ticket)
    clerk.post("/api/windows/1/finish", json={"outcome": "rejected",
                                              "note": "缺少户口本原件"}).raise_for_status()
    expect(phone.locator("#t-reason")).to_have_text("不予受理。理由：缺少户口本原件")  # live


def test_phone_page_shows_the_clerks_case_and_offers_no_second(hall_server: HallServer,
                                                               new_page: Any) -> None:
    ticket, clerk = _called(hall_server, 1)
    phone = _phone(new_page, hall_server, ticket)
    expect(phone.get_by_role("button", name="我要反映办不成事")).to_be_visible()
    clerk.post("/api/windows/1/finish", json={"outcome": "failed",
                                              "note": "系统查询不到"}).raise_for_status()
    case = _boss(hall_server).get("/api/manage/complaints").json()["complaints"][0]
    expect(phone.locator("#t-bc-ref")).to_have_text(case["reference"])
    expect(phone.locator("#t-bc-status")).to_have_text("当前状态：受理")
    expect(phone.get_by_role("button", name="我要反映办不成事")).to_be_hidden()
    phone.reload()
    expect(phone.locator("#t-bc-ref")).to_have_text(case["reference"])
    expect(phone.get_by_role("button", name="我要反映办不成事")).to_be_hidden()


def test_phone_page_says_missed_then_requeued_or_voided(hall_server: HallServer,
                                                        new_page: Any) -> None:
    ticket, clerk = _called(hall_server, 1)
    phone = _phone(new_page, hall_server, ticket)
    clerk.post("/api/windows/1/skip").raise_for_status()
    expect(phone.locator("#t-state")).to_have_text(
        "您错过了叫号（过号），已为您重新排队，请留意叫号")
    clerk.post("/api/windows/1/call", json={"number": ticket["number"]}).raise_for_status()
    expect(phone.locator("#t-state")).to_have_text("轮到您了！")
    clerk.post("/api/windows/1/skip").raise_for_status()
    expect(phone.locator("#t-state")).to_contain_text("您错过了叫号（过号），本号已作废。")


def test_tablet_rating_turns_the_open_phone_page_to_rated(hall_server: HallServer,
                                                          new_page: Any) -> None:
    tablet = _tablet(new_page, hall_server, 1)
    ticket = _serve_ticket(hall_server, 1)
    phone = _phone(new_page, hall_server, ticket)
    expect(phone.locator("#t-rate")).to_be_visible()
    expect(tablet.locator("#e-number")).to_have_text(ticket["number"])
    # the four indicators are asked, optional: none is chosen until the citizen picks one
    selects = tablet.locator(".rf-ind select")
    expect(tablet.locator(".rf-ind label")).to_have_text(
        ["整体满意度", "服务效率", "服务水平", "服务态度"])
    for i in range(4):
        expect(selects.nth(i)).to_have_value("")
    tablet.get_by_text("非常满意", exact=True).click()
    tablet.get_by_label("服务效率").select_option("4")
    tablet.get_by_role("button", name="提交评价").click()
    expect(tablet.locator("#thanks-text")).to_have_text("感谢您的评价！")
    expect(phone.locator("#t-rated")).to_be_visible()  # without a reload
    expect(phone.locator("#t-rate")).to_be_hidden()
    figures = _boss(hall_server).get("/api/manage/figures").json()["ratings"]["indicators"]
    assert figures == {"overall": None, "efficiency": 4.0, "quality": None, "attitude": None}
    manager = _manager(new_page, hall_server, "/manage/ratings")
    expect(manager.locator("[data-fig=ind_efficiency] dd")).to_have_text("4")
    expect(manager.locator("[data-fig=ind_overall] dd")).to_have_text("—")


def test_phone_rating_asks_indicators_and_the_fix_is_rated_there(hall_server: HallServer,
                                                                 new_page: Any) -> None:
    ticket = _serve_ticket(hall_server, 1)
    phone = _phone(new_page, hall_server, ticket)
    phone.get_by_text("不满意", exact=True).click()
    phone.get_by_label("服务态度").select_option("2")
    phone.get_by_role("button", name="提交评价").click()
    expect(phone.locator("#t-rated")).to_be_visible()
    expect(phone.locator("#t-fix-status")).to_have_text("您的评价已转入整改，当前状态：待回访")

    boss = _boss(hall_server)
    case = boss.get("/api/manage/rectifications").json()["rectifications"][0]
    assert boss.get("/api/manage/ratings").json()["ratings"][0]["indicators"] == {"attitude": 2}
    for action, body in (("callback", {"note": "已联系"}),
                         ("classify", {"classification": "fix_now"}),
                         ("fix", {"measures": "窗口增派人手"}),
                         ("feedback", {"note": "已增派人手，欢迎再来"})):
        r = boss.post(f"/api/manage/rectifications/{case['id']}/{action}", json=body)
        assert r.status_code == 200, r.text
    phone.reload()
    expect(phone.locator("#t-fix-feedback")).to_have_text("整改情况：已增派人手，欢迎再来")
    phone.locator("#t-fix-review").get_by_role("button", name="对整改满意").click()
    expect(phone.locator("#t-fix-status")).to_have_text(
        "您的评价已转入整改，当前状态：群众已评价。您对整改的评价：满意")
    expect(phone.locator("#t-fix-review")).to_be_hidden()
    view = boss.get(f"/api/manage/rectifications/{case['id']}").json()
    assert (view["status"], view["view"]) == ("reviewed", "satisfied")


def test_counter_page_shows_no_single_rating(hall_server: HallServer, new_page: Any) -> None:
    """The clerk's pad stays as it was when the citizen who just left rates them."""
    hall_server.add_user("pad1", "clerk", PASSWORD)
    pad = new_page(1280, 800)
    pad.goto(hall_server.url + "/counter")
    expect(pad.locator("#login")).to_be_visible()
    login_counter(pad, hall_server.url, "pad1", 1)
    expect(pad.locator("#pad")).to_be_visible()
    ticket = hall_server.issue()
    for step, body in (("call", {"number": ticket["number"]}), ("start", {}),
                       ("finish", {"outcome": "done"})):  # with the pad's own session
        r = pad.request.post(f"{hall_server.url}/api/windows/1/{step}", data=body)
        assert r.ok, r.text()
    expect(pad.locator("#cur-none")).to_be_visible()  # finished: the pad is free again
    pad.wait_for_timeout(1000)  # the pad has settled after the finish
    before = pad.locator("main").inner_text()
    r = httpx.post(f"{hall_server.url}/api/tickets/{ticket['token']}/rating", json={"level": 1})
    assert r.status_code == 201
    pad.wait_for_timeout(1000)
    text = pad.locator("body").inner_text()
    for word in ("非常不满意", "差评"):
        assert word not in text, word
    assert pad.locator("main").inner_text() == before


def test_manager_sees_a_new_bad_rating_live(hall_server: HallServer, new_page: Any) -> None:
    """The 差评 alarm left the public stream; the manager's page still shows it as it happens
    (from the event on /ws/manage, with its level, before any list is read again)."""
    manager = _manager(new_page, hall_server, "/manage/ratings")
    expect(manager.locator("[data-fig=count] dd")).to_have_text("0")
    ticket = _serve_ticket(hall_server, 2)
    r = httpx.post(f"{hall_server.url}/api/tickets/{ticket['token']}/rating", json={"level": 1})
    assert r.status_code == 201
    expect(manager.locator("#al-list")).to_contain_text("2号窗口 非常不满意")
    expect(manager.locator("[data-fig=count] dd")).to_have_text("1")
    expect(manager.locator("[data-fig=bad_rate] dd")).to_have_text("100.0%")
