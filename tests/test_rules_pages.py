"""The pages of issue 8's hall rules in real Chromium: the kiosk offers only self-declared
priority reasons; the phone page shows an accepted application's legal due date in 年月日.
(Apart from tests/test_rules.py, whose async fixtures would clash with Playwright's loop.)"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from playwright.sync_api import expect

from hall.config import coverage_warning, load_config
from tests.conftest import DEMO_CONFIG, HallServer

TZ = ZoneInfo("Asia/Shanghai")


def test_kiosk_offers_self_declared_reasons_and_the_phone_shows_the_due_date(
        hall_server: HallServer, new_page: Any) -> None:
    kiosk = new_page(1280, 800)
    kiosk.goto(hall_server.url + "/kiosk")
    offered = kiosk.locator('input[name="priority"]').evaluate_all(
        "els => els.map(e => e.value)")
    assert offered == ["", "elderly", "pregnant"]  # 残疾人 and 军人 are granted by staff

    clerk = hall_server.clerk(1)
    ticket = hall_server.issue("shebao-unemployment")  # 5 working days
    assert clerk.post("/api/windows/1/call", json={"number": ticket["number"]}).status_code == 200
    assert clerk.post("/api/windows/1/finish", json={"outcome": "accepted"}).status_code == 200
    due = load_config(DEMO_CONFIG).workdays.add(datetime.now(TZ).date(), 5)
    phone = new_page(390, 844)
    phone.goto(f"{hall_server.url}/t/{ticket['token']}")
    expect(phone.locator("#t-due")).to_have_text(
        f"已受理，法定办结时限：{due.year}年{due.month}月{due.day}日前")


def test_the_managers_alarm_strip_warns_about_the_calendar(hall_server: HallServer,
                                                           new_page: Any) -> None:
    """Today (2026-12-01) the next 60 days reach 2027, which chinese-calendar 1.11 does not
    know; whatever the day, the strip says so exactly when check-config would."""
    hall_server.add_user("boss", "manager")
    page = new_page(1920, 1080)
    page.goto(hall_server.url + "/manage")
    page.fill("#l-user", "boss")
    page.fill("#l-pass", "Tulip-7741-q")
    page.click("#l-submit")
    expect(page.locator("#view")).to_be_visible()
    warning = coverage_warning(load_config(DEMO_CONFIG).workdays, datetime.now(TZ).date())
    item = page.locator('#al-list li[data-kind="calendar_uncovered"]')
    if warning is None:
        expect(page.locator("#al-list li").first).to_be_visible()
        expect(item).to_have_count(0)
    else:
        expect(item).to_contain_text("工作日历只覆盖到")
        expect(item).not_to_contain_text(re.compile(r"[A-Za-z]"))  # Chinese only
