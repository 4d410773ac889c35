"""The booking pages in real Chromium on a phone's viewport (390×844), against a real server
whose clock the test sets: booking end to end, the QR read by a real decoder and "scanned" at
the kiosk (a scanner types like a keyboard), the code typed on the kiosk's keypad, the holder's
page (cancel, the ticket once checked in), and 现在取号 with 我会晚到. Every state is read for
English words and forms checked in Chinese, as tests/test_chinese_pages.py does."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import zxingcpp
from PIL import Image
from playwright.sync_api import Page, expect

from tests.clocked import TZ, ClockedServer
from tests.test_booking import id_number
from tests.test_chinese_pages import LISTEN, forms_are_checked_by_the_page

ENGLISH = re.compile(r"[A-Za-z]{2,}")
PHONE = (390, 844)


def at(hhmm: str) -> datetime:
    hours, minutes = map(int, hhmm.split(":"))
    return datetime(2026, 12, 1, hours, minutes, tzinfo=TZ)


@pytest.fixture
def hall(tmp_path: Path) -> Iterator[ClockedServer]:
    server = ClockedServer(tmp_path, at("08:00")).start()
    try:
        yield server
    finally:
        server.stop()


def chinese(page: Page, *allowed: str) -> None:
    page.wait_for_timeout(200)
    text = page.inner_text("body")
    for word in allowed:
        text = text.replace(word, "")
    assert not ENGLISH.findall(text), (page.url, ENGLISH.findall(text))
    assert not re.search(r"\d{4}-\d{1,2}-\d{1,2}", text), page.url
    forms_are_checked_by_the_page(page)


def qr_text(page: Page, selector: str, tmp_path: Path) -> str:
    page.wait_for_function(
        "() => { const img = document.querySelector('" + selector + "');"
        " return img && img.complete && img.naturalWidth > 0; }")
    shot = tmp_path / "qr.png"
    page.locator(selector).screenshot(path=str(shot))
    codes = zxingcpp.read_barcodes(Image.open(shot))
    assert len(codes) == 1
    return codes[0].text


def test_book_on_a_phone_then_check_in_at_the_kiosk_with_the_qr(
        hall: ClockedServer, new_page: Any, tmp_path: Path) -> None:
    phone = new_page(*PHONE)
    phone.goto(hall.url + "/book")
    phone.evaluate(LISTEN)
    chinese(phone)
    phone.locator('#b-services button[data-service="bdc-transfer"]').click()
    expect(phone.locator("#s-day")).to_be_visible()
    expect(phone.locator('#b-days button[data-date="2026-12-05"]')).to_be_disabled()  # 周六
    expect(phone.locator('#b-days button[data-date="2026-12-01"]')).to_contain_text(
        "2026年12月1日 周二")
    chinese(phone)
    phone.locator('#b-days button[data-date="2026-12-01"]').click()
    slot = phone.locator('#b-slots button[data-start="2026-12-01T09:00:00+08:00"]')
    expect(slot).to_contain_text("09:00-09:30")
    expect(slot).to_contain_text("余 1 个")
    chinese(phone)
    slot.click()
    expect(phone.locator("#s-person")).to_be_visible()
    phone.locator("#f-next").click()  # nothing filled: the page says what, in Chinese
    expect(phone.locator("#f-name-problem")).to_have_text("请填写姓名")
    assert phone.evaluate("() => window.__invalid") == 0  # never the browser's own bubble
    phone.fill("#f-name", "张小三")
    phone.fill("#f-id", id_number(5)[:-1] + ("1" if id_number(5)[-1] != "1" else "2"))
    phone.fill("#f-phone", "138 0013 8000")
    phone.locator("#f-next").click()
    phone.locator("#b-confirm").click()  # the server's checksum refusal, shown as it is
    expect(phone.locator("#b-msg")).to_have_text("身份证号码有误，请核对后重新输入")
    phone.locator('#s-confirm button.b-back').click()
    phone.fill("#f-id", id_number(5))
    phone.locator("#f-next").click()
    expect(phone.locator("#b-summary")).to_contain_text("张*三")
    expect(phone.locator("#b-summary")).to_contain_text("138****8000")
    assert id_number(5) not in phone.inner_text("body")
    chinese(phone)
    phone.locator("#b-confirm").click()
    expect(phone.locator("#s-done")).to_be_visible()
    code = phone.locator("#d-code").inner_text()
    assert re.fullmatch(r"[A-HJ-NP-Z2-9]{8}", code)
    expect(phone.locator("#d-what")).to_contain_text("2026年12月1日 周二 09:00-09:30")
    expect(phone.locator("#d-how")).to_contain_text("08:30 至 09:30")
    chinese(phone, code)
    scanned = qr_text(phone, "#d-qr", tmp_path)
    token = phone.locator("#d-link").get_attribute("href").removeprefix("/a/")
    assert scanned == f"{hall.url}/a/{token}"

    hall.clock.now = at("08:40")  # check-in opened at 08:30
    kiosk = new_page(1280, 800)
    kiosk.goto(hall.url + "/kiosk")
    expect(kiosk.locator("#ci-open")).to_be_visible()
    kiosk.keyboard.type(scanned)  # the scanner types the QR's text and Enter
    kiosk.keyboard.press("Enter")
    expect(kiosk.locator("#ticket")).to_be_visible()
    expect(kiosk.locator("#t-number")).to_have_text("C001")
    expect(kiosk.locator("#t-flags")).to_contain_text("预约时段 09:00-09:30，09:00 起优先叫号")
    chinese(kiosk)

    phone.goto(f"{hall.url}/a/{token}")  # the holder's page now leads to the ticket
    expect(phone.locator("#a-status")).to_have_text("已签到")
    expect(phone.locator("#a-number")).to_have_text("C001")
    expect(phone.locator("#a-ticket-link")).to_have_attribute(
        "href", re.compile(r"^/t/[A-Za-z0-9_-]+$"))
    expect(phone.locator("#a-actions")).to_be_hidden()
    chinese(phone)


def test_the_kiosk_keypad_takes_a_code_and_says_why_not(hall: ClockedServer,
                                                       new_page: Any) -> None:
    c = hall.client()
    body = {"service": "bdc-transfer", "start": "2026-12-01T10:00:00+08:00", "name": "李四",
            "id_number": id_number(6), "phone": "13900006666"}
    code = c.post("/api/appointments", json=body).json()["code"]
    hall.clock.now = at("09:00")
    kiosk = new_page(1280, 800)
    kiosk.goto(hall.url + "/kiosk")
    kiosk.locator("#ci-open").click()
    expect(kiosk.locator("#checkin")).to_be_visible()
    expect(kiosk.locator("#start")).to_be_hidden()
    for ch in code:
        kiosk.locator(f'.ci-key[data-key="{ch}"]').click()
    expect(kiosk.locator("#ci-code")).to_have_value(code)
    kiosk.locator("#ci-submit").click()
    expect(kiosk.locator("#ci-msg")).to_have_text(
        "还未到签到时间：请于 09:30 后签到（预约时段 10:00-10:30）")
    chinese(kiosk, code)
    hall.clock.now = at("09:35")
    kiosk.locator("#ci-submit").click()
    expect(kiosk.locator("#t-number")).to_have_text("C001")
    kiosk.wait_for_timeout(900)  # the kiosk ignores the tail of the tap that issued it
    kiosk.locator("#t-done").click()
    expect(kiosk.locator("#start")).to_be_visible()
    kiosk.locator("#ci-open").click()
    kiosk.fill("#ci-code", "ABCD2345")
    kiosk.locator("#ci-submit").click()
    expect(kiosk.locator("#ci-msg")).to_have_text("没有找到这个预约，请核对预约码后重新输入")
    kiosk.locator("#ci-close").click()
    expect(kiosk.locator("#start")).to_be_visible()


def test_the_holder_cancels_on_the_phone(hall: ClockedServer, new_page: Any) -> None:
    c = hall.client()
    booked = c.post("/api/appointments", json={
        "service": "hukou-move", "start": "2026-12-01T14:00:00+08:00", "name": "王五",
        "id_number": id_number(7), "phone": "13900007777"}).json()
    phone = new_page(*PHONE)
    phone.goto(f"{hall.url}/a/{booked['token']}")
    expect(phone.locator("#a-status")).to_have_text("已预约")
    expect(phone.locator("#a-facts")).to_contain_text("2026年12月1日 周二 14:00-14:30")
    expect(phone.locator("#a-facts")).to_contain_text("王*")
    expect(phone.locator("#a-code")).to_have_text(booked["code"])
    chinese(phone, booked["code"])
    phone.locator("#a-change-open").click()  # 改约: another slot of the same day
    phone.locator('#a-days button[data-date="2026-12-01"]').click()
    phone.locator('#a-slots button[data-start="2026-12-01T15:00:00+08:00"]').click()
    expect(phone.locator("#a-msg")).to_contain_text("已改约到 2026年12月1日 15:00-15:30")
    expect(phone.locator("#a-facts")).to_contain_text("15:00-15:30")
    phone.locator("#a-cancel").click()
    expect(phone.locator("#a-dialog")).to_be_visible()
    chinese(phone, booked["code"])
    phone.locator("#a-dialog-yes").click()
    expect(phone.locator("#a-status")).to_have_text("已取消")
    expect(phone.locator("#a-checkin")).to_be_hidden()
    assert c.get(f"/api/appointments/{booked['token']}").json()["status"] == "cancelled"


def test_a_ticket_from_the_phone_moves_back_once_when_running_late(
        hall: ClockedServer, new_page: Any) -> None:
    hall.clock.now = at("09:00")
    phone = new_page(*PHONE)
    phone.goto(hall.url + "/book")
    phone.locator("#mode-phone").click()
    expect(phone.locator("#s-phone")).to_be_visible()
    phone.locator('#p-services button[data-service="yibao-card"]').click()
    expect(phone.locator("#f-name-row")).to_be_hidden()
    phone.fill("#f-id", id_number(8))
    phone.fill("#f-phone", "13900008888")
    phone.locator("#f-next").click()
    expect(phone.locator("#p-number")).to_have_text("A001")
    code = phone.locator("#p-code").inner_text()
    chinese(phone, code)
    c = hall.client()
    for minute in range(4):  # four taken at the kiosk after it, a minute apart
        hall.clock.now = at(f"09:0{minute + 1}")
        c.post("/api/tickets", json={"service": "yibao-card"}).raise_for_status()
    phone.locator("#p-link").click()
    expect(phone.locator("#a-status")).to_have_text("待到厅签到")
    expect(phone.locator("#a-position")).to_have_text("0")
    phone.locator("#a-late-btn").click()
    expect(phone.locator("#a-msg")).to_have_text("已向后移，请尽快到大厅签到。")
    expect(phone.locator("#a-position")).to_have_text("3")
    expect(phone.locator("#a-late-btn")).to_be_disabled()
    expect(phone.locator("#a-late-note")).to_contain_text("只能使用一次")
    chinese(phone, code)
