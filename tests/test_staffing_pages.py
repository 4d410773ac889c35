"""Runtime staffing as people see it, in a real Chromium against a real `hall serve`: a
staffing change shows on the hall screen live, without a reload (a temporary window appears, a
window closed for the day says so, a closed temporary window goes), and the 窗口调度 page
works: its own Chinese checks, opening a window through the form, moving a queue, a cap, 延时服务
and the close-day button behind its confirm dialog."""

from __future__ import annotations

from typing import Any

import httpx
from playwright.sync_api import Page, expect

from tests.browser import PASSWORD, login_counter
from tests.conftest import HallServer


def _manager(page: Page, server: HallServer, path: str) -> None:
    page.goto(server.url + path)
    page.fill("#l-user", "boss")
    page.fill("#l-pass", PASSWORD)
    page.click("#l-submit")
    expect(page.locator("#view")).to_be_visible()


def test_staffing_changes_show_on_the_hall_screen_live(hall_server: HallServer,
                                                       new_page: Any) -> None:
    hall_server.add_user("boss", "manager", PASSWORD)
    boss = hall_server.login("boss", None)
    screen = new_page(1920, 1080)
    screen.goto(hall_server.url + "/screen")
    expect(screen.locator("#windows li")).to_have_count(12)
    screen.evaluate("() => { window.notReloaded = true; }")

    r = boss.post("/api/manage/windows", json={"number": 20, "name": "潮汐窗口",
                                               "queues": ["shebao", "yibao"]})
    assert r.status_code == 201, r.text
    tidal = screen.locator('#windows li[data-window="20"]')
    expect(tidal).to_contain_text("潮汐窗口", timeout=3000)
    expect(tidal).to_contain_text("临时")
    expect(tidal.locator(".wq")).to_have_text("B A")
    # a clerk there calls: the screen's window line says so
    ticket = hall_server.issue("shebao-retire")
    hall_server.clerk(20).post("/api/windows/20/call", json={}).raise_for_status()
    expect(tidal).to_contain_text(ticket["number"])
    expect(screen.locator("#latest-text")).to_contain_text("潮汐窗口")

    boss.patch("/api/manage/windows/9", json={"closed": True}).raise_for_status()
    consult = screen.locator('#windows li[data-window="9"]')
    expect(consult).to_have_class("off")
    expect(consult).to_contain_text("今日停止服务")

    boss.patch("/api/manage/windows/3", json={"queues": ["budongchan", "shuiwu"]}
               ).raise_for_status()
    expect(screen.locator('#windows li[data-window="3"] .wq')).to_have_text("C D")

    hall_server.login("clerk20", 20).post("/api/windows/20/finish",
                                           json={"outcome": "done"}).raise_for_status()
    boss.patch("/api/manage/windows/20", json={"closed": True}).raise_for_status()
    expect(tidal).to_have_count(0)
    assert screen.evaluate("() => window.notReloaded === true")


def test_the_staffing_page_opens_a_window_through_its_form(hall_server: HallServer,
                                                           new_page: Any) -> None:
    hall_server.add_user("boss", "manager", PASSWORD)
    hall_server.add_user("clerk13", "clerk", PASSWORD)
    for _ in range(2):
        hall_server.issue("company-setup")
    page = new_page(1920, 1080)
    _manager(page, hall_server, "/manage/staffing")
    expect(page.locator("#sw tr")).to_have_count(12)
    expect(page.locator('.mnav a[aria-current="page"]')).to_have_text("窗口调度")

    # its own checks, in Chinese, beside each field
    page.click("#nw-submit")
    expect(page.locator("#nw-name-problem")).to_have_text("请填写窗口名称")
    expect(page.locator("#nw-queues-problem")).to_have_text("请至少选择一个队列")
    page.fill("#nw-name", "潮汐窗口")
    page.fill("#nw-number", "3")  # taken: the server's refusal lands on the field
    page.check('#nw-queues input[value="qiye"]')
    page.check('#nw-queues input[value="yibao"]')
    page.click("#nw-submit")
    expect(page.locator("#nw-number-problem")).to_contain_text("已有 3 号窗口")
    page.fill("#nw-number", "")
    page.click("#nw-submit")
    expect(page.locator("#nw-msg")).to_contain_text("已开设 13 号窗口")
    row = page.locator('#sw tr[data-window="13"]')
    expect(row).to_contain_text("临时")
    # in the order they were ticked
    expect(row.locator(".qorder li > span")).to_have_text(["F · 企业开办", "A · 医保"])

    # a clerk logs in there from the counter pad and calls the first 企业开办 ticket
    pad = new_page(1280, 800)
    login_counter(pad, hall_server.url, "clerk13", 13)
    expect(pad.locator("#pad")).to_be_visible()
    pad.keyboard.press("n")
    expect(pad.locator("#cur-number")).to_have_text("F001")

    # the queue order: 医保 up, then 企业开办 removed
    row.get_by_role("button", name="潮汐窗口 A · 医保 上移").click()
    expect(row.locator(".qorder li > span")).to_have_text(["A · 医保", "F · 企业开办"])
    row.get_by_role("button", name="潮汐窗口 移除 F · 企业开办").click()
    expect(row.locator(".qorder li")).to_have_count(1)

    # the daily cap: below today's issued count is refused by the page itself
    cap = page.locator("#cap-qiye")
    cap.fill("1")
    page.get_by_role("button", name="保存企业开办每日上限").click()
    expect(page.locator("#cap-qiye-problem")).to_have_text(
        "今天已发出 2 个号，每日上限不能少于此数")
    cap.fill("2")
    page.get_by_role("button", name="保存企业开办每日上限").click()
    expect(page.locator("#m-msg")).to_contain_text("企业开办每日上限已改为 2")
    refused = httpx.post(hall_server.url + "/api/tickets", json={"service": "company-setup"})
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "daily_cap"

    # 延时服务 on
    page.locator("#ext-yibao").check()
    expect(page.locator("#m-msg")).to_contain_text("医保已开启延时服务")
    expect(page.locator('#sq tr[data-queue="yibao"]')).to_contain_text("已开启")

    # close the day: asked first, cancel keeps everything
    hall_server.issue("shebao-retire")
    page.click("#cd-open")
    expect(page.locator("#dlg-close-day")).to_be_visible()
    page.click("#dcd-cancel")
    expect(page.locator("#dlg-close-day")).to_be_hidden()
    page.click("#cd-open")
    page.click("#dcd-ok")
    expect(page.locator("#cd-msg")).to_have_text("已日终清号，作废 2 个号")  # F002 and B001
