"""The alarms as a manager sees them, in real Chromium against a real `hall serve`: the strip on
every manager page shows a new alarm live (from /ws/manage, no reload), acknowledges it through
a small dialog that checks the note in Chinese, and drops it when its condition ends; the
alarms page lists the record with who acknowledged what, filtered by kind and date."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.browser import PASSWORD
from tests.conftest import HallServer
from tests.test_alarms_api import TINY, active, alarm_config, wait_for

LISTEN = """() => { window.__invalid = 0;
  document.addEventListener('invalid', () => window.__invalid++, true); }"""


@pytest.fixture
def server(tmp_path: Path) -> Iterator[HallServer]:
    hall = HallServer(tmp_path, alarm_config(tmp_path, pause_minutes=TINY))
    hall.start()
    hall.add_user("boss", "manager", PASSWORD)
    try:
        yield hall
    finally:
        hall.stop()


def manager(new_page: Any, server: HallServer, path: str) -> Page:
    page = new_page(1920, 1080)
    page.goto(server.url + path)
    page.fill("#l-user", "boss")
    page.fill("#l-pass", PASSWORD)
    page.click("#l-submit")
    expect(page.locator("#view")).to_be_visible()
    expect(page.locator("#al-list li").first).to_be_visible()
    return page


def test_the_strip_shows_a_new_alarm_live_and_acknowledges_it(server: HallServer,
                                                              new_page: Any) -> None:
    page = manager(new_page, server, "/manage/ratings")
    other = manager(new_page, server, "/manage")  # a second manager's page
    page.evaluate(LISTEN)
    clerk = server.clerk(2)
    assert clerk.post("/api/windows/2/pause", json={"reason": "系统故障"}).status_code == 200
    item = page.locator('#al-list li[data-kind="pause_long"]')
    expect(item).to_contain_text("2号窗口暂停服务超过 0.02 分钟（系统故障）")
    expect(item.locator(".al-tag")).to_have_text("暂停超时")
    expect(page.locator("#al-count")).not_to_have_text("0")

    item.get_by_role("button", name="确认").click()
    dialog = page.locator("#ack-dlg")
    expect(dialog).to_be_visible()
    expect(page.locator("#ack-what")).to_contain_text("2号窗口暂停服务超过")
    page.fill("#ack-note", "长" * 201)
    page.click("#ack-ok")
    expect(page.locator("#ack-note-problem")).to_have_text(
        "处理说明不能超过 200 个字（现有 201 个）")
    expect(dialog).to_be_visible()
    assert page.evaluate("window.__invalid") == 0  # our message, never the browser's bubble
    page.fill("#ack-note", "已联系信息科")
    page.click("#ack-ok")
    expect(dialog).to_be_hidden()
    expect(item).to_contain_text("已确认（boss）")
    expect(item.get_by_role("button", name="确认")).to_have_count(0)
    # the other manager's page learns it at once too
    expect(other.locator('#al-list li[data-kind="pause_long"]')).to_contain_text("已确认（boss）")
    # the condition ends: off the strip on both pages
    assert clerk.post("/api/windows/2/resume").status_code == 200
    expect(item).to_have_count(0)
    expect(other.locator('#al-list li[data-kind="pause_long"]')).to_have_count(0)


def test_the_alarms_page_lists_the_record(server: HallServer, new_page: Any) -> None:
    clerk = server.clerk(2)
    boss = server.login("boss", None)

    def pause_until_raised(reason: str) -> None:
        assert clerk.post("/api/windows/2/pause", json={"reason": reason}).status_code == 200
        # the page lists what was raised when it loaded: load it once the alarm is there
        # (raised a moment after the pause; later on a loaded machine)
        wait_for(lambda: reason in ((active(boss, "pause_long") or {}).get("message") or ""))
        page.reload()
        expect(page.locator('#aa-body tr[data-kind="pause_long"]')).to_have_count(1)

    page = manager(new_page, server, "/manage/alarms")
    expect(page.locator("nav a[aria-current=page]")).to_have_text("告警")
    pause_until_raised("午休")
    alarm = boss.get("/api/manage/alarms").json()["alarms"]
    first = next(a for a in alarm if a["kind"] == "pause_long")
    assert boss.post(f"/api/manage/alarms/{first['id']}/ack",
                     json={"note": "已安排替岗"}).status_code == 200
    assert clerk.post("/api/windows/2/resume").status_code == 200
    # a second pause that ends before anyone acknowledged it
    pause_until_raised("接电话")
    assert clerk.post("/api/windows/2/resume").status_code == 200
    rows = page.locator("#ah-body tr")
    expect(rows.filter(has_text="接电话")).to_contain_text("已解除（未确认）")
    done = rows.filter(has_text="午休")
    for text in ("暂停超时", "已解除", "boss", "已安排替岗"):
        expect(done).to_contain_text(text)
    expect(page.locator("#aa-body")).not_to_contain_text("午休")
    # acknowledged afterwards, from the record
    rows.filter(has_text="接电话").get_by_role("button", name="确认").click()
    page.fill("#ack-note", "已提醒窗口人员")
    page.click("#ack-ok")
    expect(rows.filter(has_text="接电话")).to_contain_text("已提醒窗口人员")
    expect(rows.filter(has_text="接电话").get_by_role("button", name="确认")).to_have_count(0)
    # filters: by kind, by date (typed as 年月日, checked in Chinese)
    page.select_option("#f-kind", "paper_out")
    page.click("#f-submit")
    expect(rows).to_have_count(1)
    expect(rows).to_have_text("没有符合条件的告警")
    page.select_option("#f-kind", "pause_long")
    page.click("#f-submit")
    expect(rows).to_have_count(2)
    assert "kind=pause_long" in page.url
    expect(page.locator("#csv")).to_have_attribute(
        "href", "/api/manage/alarms?history=1&format=csv&kind=pause_long")
    page.fill("#f-from", "明天")
    page.click("#f-submit")
    expect(page.locator("#f-from-problem")).to_have_text("日期应为 年月日，如 2026年1月31日")
    page.fill("#f-from", "2020年1月1日")
    page.fill("#f-to", "2020年1月2日")
    page.click("#f-submit")
    expect(rows).to_have_count(1)
    expect(rows).to_have_text("没有符合条件的告警")
