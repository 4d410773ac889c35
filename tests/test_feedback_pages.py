"""End-to-end tests of the 好差评 and 办不成事 pages in a real Chromium against a real server.

What a hall and its citizens would check first: the window tablet offers the ticket just
finished there, live, with no level chosen for them and a 跳过 that really skips; a rating
given on the tablet is counted on the manager's page as it happens; a 差评 on the phone page
opens a rectification case with the right deadlines, which the manager works from its case
page; a 办不成事 report gets a reference code and reaches the manager with the contact masked;
a kiosk named in its address sends its name, so its printer prints (and a printer that
cannot print is said plainly). Device health shows on /manage and refreshes by itself.

One Chromium per module (the flags of tests/test_pages.py); each test gets fresh contexts.
"""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
from playwright.sync_api import Page, expect

from hall.config import load_config
from hall.workdays import add_working_days
from tests.browser import PASSWORD
from tests.conftest import DEMO_CONFIG, HallServer
from tests.devsim import LedBusSim, PrinterSim, parse_escpos, wait_for

LEVEL_NAMES = ["非常满意", "满意", "基本满意", "不满意", "非常不满意"]


def _serve_ticket(server: HallServer, window: int, service: str = "yibao-card") -> dict:
    """A ticket issued, called, started and finished (办结) at `window` by its clerk."""
    ticket = server.issue(service)
    clerk = server.clerk(window)
    clerk.post(f"/api/windows/{window}/call", json={}).raise_for_status()
    clerk.post(f"/api/windows/{window}/start").raise_for_status()
    clerk.post(f"/api/windows/{window}/finish", json={"outcome": "done"}).raise_for_status()
    return ticket


def _add_boss(server: HallServer) -> None:
    try:
        server.add_user("boss", "manager", PASSWORD)
    except RuntimeError as exc:
        if "已存在" not in str(exc):
            raise


def _boss(server: HallServer) -> httpx.Client:
    """The manager's API client (created on first use)."""
    _add_boss(server)
    return server.login("boss", None)


def _manager(new_page: Any, server: HallServer, path: str, width: int = 1920,
             height: int = 1080, clock: bool = False) -> Page:
    """A manager page, logged in as `boss` (created on first use)."""
    _add_boss(server)
    page = new_page(width, height)
    if clock:
        page.clock.install()
    page.goto(server.url + path)
    page.fill("#l-user", "boss")
    page.fill("#l-pass", PASSWORD)
    page.click("#l-submit")
    expect(page.locator("#view")).to_be_visible()
    return page


def _tablet(new_page: Any, server: HallServer, window: int) -> Page:
    """Window `window`'s tablet, enrolled as a hall would: `hall device add` prints the code,
    the installer types it into the tablet's enrolment form once (issue 9.1)."""
    code = server.add_device(f"tablet-{window}", "tablet", window)
    tablet = new_page(1280, 800)
    tablet.clock.install()  # the thanks and the idle timeout run on a clock the test moves
    tablet.goto(f"{server.url}/evaluate/{window}")
    expect(tablet.locator("#enrol-title")).to_have_text("本评价器尚未登记")
    expect(tablet.locator("#idle")).to_be_hidden()
    tablet.get_by_label("登记码").fill(code)
    tablet.get_by_role("button", name="登记").click()
    expect(tablet.locator("#idle")).to_be_visible()
    expect(tablet.locator("#idle-title")).to_have_text("欢迎评价")
    return tablet


def test_tablet_rating_is_counted_live_on_the_manager_page(hall_server: HallServer,
                                                           new_page: Any) -> None:
    manager = _manager(new_page, hall_server, "/manage/ratings")
    expect(manager.locator("[data-fig=count] dd")).to_have_text("0")
    expect(manager.locator("#ratings")).to_contain_text("没有符合条件的评价")

    tablet = _tablet(new_page, hall_server, 1)
    expect(tablet.locator(".eval-window")).to_have_text("1号窗口")
    ticket = _serve_ticket(hall_server, 1)
    expect(tablet.locator("#e-number")).to_have_text(ticket["number"])  # live, no reload
    expect(tablet.locator("#e-service")).to_have_text("社会保障卡(医保)申领")

    tablet.get_by_text("满意", exact=True).click()
    expect(tablet.locator(".rf-chip")).to_have_text(["办事快", "态度好", "告知清楚"])
    tablet.get_by_text("办事快", exact=True).click()
    tablet.get_by_role("button", name="提交评价").click()
    expect(tablet.locator("#thanks-text")).to_have_text("感谢您的评价！")
    expect(tablet.locator("#thanks")).not_to_contain_text("满意")  # never says what was chosen

    # the manager's page counts it as it happens
    expect(manager.locator("[data-fig=count] dd")).to_have_text("1")
    expect(manager.locator("#dist tr[data-level='4'] td").first).to_have_text("1")
    expect(manager.locator("[data-fig=bad_rate] dd")).to_have_text("0.0%")
    row = manager.locator("#ratings tr")
    expect(row).to_have_count(1)
    for text in (ticket["number"], "4 满意", "办事快", "窗口评价器(平板)", "提示评价"):
        expect(row).to_contain_text(text)
    expect(manager.locator("#ranking tbody tr")).to_have_text([re.compile(r"^1\s*1号窗口\s*1")])
    csv = manager.locator("#csv-ratings")
    expect(csv).to_have_attribute("href", re.compile(r"/api/manage/ratings\?format=csv"))

    tablet.clock.run_for(5_500)  # thanks for 5 s, then back to idle
    expect(tablet.locator("#idle")).to_be_visible()
    expect(tablet.locator("#rate")).to_be_hidden()


def test_tablet_steers_nobody_and_skip_or_timeout_rates_nothing(hall_server: HallServer,
                                                                 new_page: Any) -> None:
    tablet = _tablet(new_page, hall_server, 2)
    first = _serve_ticket(hall_server, 2)
    expect(tablet.locator("#e-number")).to_have_text(first["number"])

    levels = tablet.locator(".rf-level")
    expect(levels).to_have_text([re.compile(name + "$") for name in LEVEL_NAMES])
    expect(tablet.locator(".rf-level input")).to_have_count(5)
    expect(tablet.locator(".rf-level input:checked")).to_have_count(0)
    expect(tablet.get_by_role("button", name="提交评价")).to_be_disabled()
    expect(tablet.locator(".rf-reasons")).to_be_hidden()
    # the five levels look alike: none is coloured, sized or marked as the one to pick
    looks = tablet.locator(".rf-face").evaluate_all(
        "els => els.map(e => { const s = getComputedStyle(e);"
        " return [s.backgroundColor, s.color, s.borderColor, e.offsetWidth, e.offsetHeight]"
        ".join('|'); })")
    assert len(set(looks)) == 1, looks

    skip = tablet.get_by_role("button", name="跳过")
    expect(skip).to_be_visible()
    skip.click()
    expect(tablet.locator("#thanks-text")).to_have_text("感谢您的光临！")
    tablet.clock.run_for(5_500)
    expect(tablet.locator("#idle")).to_be_visible()

    info = httpx.get(f"{hall_server.url}/api/evaluate/2", timeout=10).json()
    assert info["pending"]["number"] == first["number"]  # a skip stores nothing
    with tablet.expect_response(lambda r: r.url.endswith("/api/evaluate/2")):
        tablet.reload()  # it asks the server again, but a skipped ticket is not offered again
    tablet.clock.run_for(1_000)
    expect(tablet.locator("#idle")).to_be_visible()
    expect(tablet.locator("#rate")).to_be_hidden()

    # the next citizen walks away: after idle_seconds the tablet thanks and goes back
    second = _serve_ticket(hall_server, 2)
    expect(tablet.locator("#e-number")).to_have_text(second["number"])
    tablet.clock.run_for(30_000)
    expect(tablet.locator("#rate")).to_be_visible()
    tablet.get_by_text("基本满意", exact=True).click()  # a touch restarts the idle time
    tablet.clock.run_for(45_000)
    expect(tablet.locator("#rate")).to_be_visible()
    tablet.clock.run_for(16_000)
    expect(tablet.locator("#thanks-text")).to_have_text("感谢您的光临！")
    tablet.clock.run_for(5_500)
    expect(tablet.locator("#idle")).to_be_visible()

    assert _boss(hall_server).get("/api/manage/ratings").json()["ratings"] == []


def test_bad_rating_on_the_phone_opens_a_case_worked_from_its_page(hall_server: HallServer,
                                                                  new_page: Any) -> None:
    ticket = _serve_ticket(hall_server, 3, "bdc-query")
    phone = new_page(390, 844)
    phone.goto(f"{hall_server.url}/t/{ticket['token']}")
    expect(phone.locator("#t-state")).to_have_text("已办结，感谢您的耐心")
    expect(phone.locator("#t-rate")).to_be_visible()
    expect(phone.locator(".rf-level input:checked")).to_have_count(0)
    expect(phone.locator(".rf-contact")).to_be_hidden()
    phone.get_by_text("非常不满意", exact=True).click()
    phone.get_by_text("等待时间长", exact=True).click()
    expect(phone.locator(".rf-contact")).to_be_visible()
    expect(phone.locator(".rf-contact")).to_contain_text("不会在任何公开页面显示")
    phone.locator(".rf-contact input").fill("13812345678")
    phone.get_by_role("button", name="提交评价").click()
    expect(phone.locator("#t-rated")).to_contain_text("已评价，谢谢")
    expect(phone.locator("#t-rate")).to_be_hidden()
    phone.reload()  # what the server holds: rated
    expect(phone.locator("#t-rated")).to_be_visible()
    expect(phone.locator("#t-rate")).to_be_hidden()

    config = load_config(DEMO_CONFIG)
    today = datetime.now(config.hall.tz).date()
    w = config.workdays
    callback_due = add_working_days(today, 1, w.holidays, w.makeup_days).isoformat()
    fix_due = add_working_days(today, 15, w.holidays, w.makeup_days).isoformat()

    manager = _manager(new_page, hall_server, "/manage/rectifications")
    row = manager.locator("#cases tr")
    expect(row).to_have_count(1)
    def shown(iso: str) -> str:  # pages show dates as 年月日
        y, m, d = (int(x) for x in iso.split("-"))
        return f"{y}年{m}月{d}日"

    for text in (ticket["number"], "1 非常不满意", "3号窗口", "待回访", shown(callback_due),
                 shown(fix_due)):
        expect(row).to_contain_text(text)
    expect(manager.locator("#al-list .al-item[data-id]")).to_have_count(1)  # the strip has the case
    manager.locator("#cases tr a").click()
    expect(manager).to_have_url(re.compile(r"/manage/rectifications/\d+$"))
    expect(manager.locator("#c-facts")).to_contain_text("等待时间长")
    expect(manager.locator("#c-contact")).to_have_text("138****5678")
    assert "13812345678" not in manager.content()
    expect(manager.locator("#timeline li")).to_have_count(1)
    expect(manager.locator("#steps form")).to_have_count(2)  # 指派, 回访: what the case allows

    callback = manager.locator("form[data-action=callback]")
    callback.locator("textarea").fill("已电话回访，群众反映排队时间长")
    callback.get_by_role("button", name="回访").click()
    expect(manager.locator("#timeline li")).to_have_count(2)
    expect(manager.locator("#timeline li").nth(1)).to_contain_text("回访")
    expect(manager.locator("#timeline li").nth(1)).to_contain_text("已电话回访，群众反映排队时间长")
    expect(manager.locator("#c-status")).to_contain_text("已回访")
    expect(manager.locator("form[data-action=classify]")).to_be_visible()
    expect(manager.locator("form[data-action=callback]")).to_have_count(0)

    manager.get_by_role("button", name="显示完整联系方式").click()
    expect(manager.locator("#c-contact")).to_have_text("13812345678")
    case = _boss(hall_server).get("/api/manage/rectifications").json()["rectifications"][0]
    assert case["status"] == "called_back"
    assert [t["step"] for t in case["timeline"]] == ["opened", "callback"]
    assert (case["callback_due"], case["fix_due"]) == (callback_due, fix_due)


def test_complaints_get_a_reference_and_reach_the_manager_masked(hall_server: HallServer,
                                                                 new_page: Any) -> None:
    refusal = httpx.post(f"{hall_server.url}/api/complaints", json={}, timeout=10)
    assert refusal.status_code == 422
    page = new_page(390, 844)
    page.goto(hall_server.url + "/complaint")
    page.get_by_role("button", name="提交反映").click()
    expect(page.locator("#c-msg")).to_have_text(refusal.json()["error"]["message"])
    page.get_by_label("没办成的事情").fill("户口迁移跑了三次，每次要的材料都不一样")
    page.select_option("#c-service", "hukou-move")
    page.select_option("#c-window", "8")
    page.get_by_label("联系方式（选填）").fill("王女士 13812341234")
    page.get_by_role("button", name="提交反映").click()
    expect(page.locator("#c-done")).to_be_visible()
    reference = page.locator("#c-ref").inner_text()
    assert re.fullmatch(r"BC[A-HJ-NP-Z2-9]{6}", reference), reference
    expect(page.locator("#c-due")).to_contain_text("前研判处理，并与您联系")

    # the phone page of a ticket reports its own case (service and window from the ticket)
    ticket = _serve_ticket(hall_server, 2, "shebao-pension")
    phone = new_page(390, 844)
    phone.goto(f"{hall_server.url}/t/{ticket['token']}")
    phone.get_by_role("button", name="我要反映办不成事").click()
    expect(phone.locator("#t-bc")).to_contain_text("仅用于工作人员联系您")
    phone.locator("#t-bc-desc").fill("窗口说系统故障，让改天再来")
    phone.get_by_role("button", name="提交反映").click()
    expect(phone.locator("#t-bc-ref")).to_have_text(re.compile(r"^BC[A-HJ-NP-Z2-9]{6}$"))
    phone_ref = phone.locator("#t-bc-ref").inner_text()

    manager = _manager(new_page, hall_server, "/manage/complaints")
    rows = manager.locator("#cases tr")
    expect(rows).to_have_count(2)
    mine = manager.locator("#cases tr", has_text=reference)
    for text in ("受理", "网页反映", "8号窗口", "户口迁移", "138****1234"):
        expect(mine).to_contain_text(text)
    theirs = manager.locator("#cases tr", has_text=phone_ref)
    for text in ("扫码反映", "2号窗口", "城乡居民养老保险参保登记"):
        expect(theirs).to_contain_text(text)
    content = manager.content()
    assert "13812341234" not in content and "王女士" not in content
    expect(manager.locator("#al-list .al-item[data-id]")).to_have_count(2)

    mine.get_by_role("link").click()
    expect(manager.locator("#c-contact")).to_have_text("138****1234")
    expect(manager.locator("#timeline li")).to_have_count(1)
    assess = manager.locator("form[data-action=assess]")
    assess.get_by_role("button", name="研判").click()  # no class chosen: the server says so
    expect(manager.locator("#step-msg")).to_contain_text("分类只能是")
    assess.locator("select[name=class]").select_option("complex")
    assess.get_by_role("button", name="研判").click()
    expect(manager.locator("#timeline li")).to_have_count(2)
    expect(manager.locator("form[data-action=assign]")).to_be_visible()


def _printer_config(tmp: Path, printer: str, led: str) -> Path:
    text = DEMO_CONFIG.read_text(encoding="utf-8") + f"""

[[devices]]
kind = "printer"
name = "printer-kiosk-1"
url = "{printer}"
kiosk = "kiosk-1"

[[devices]]
kind = "led"
name = "led-1"
url = "{led}"
address = 1
window = 1
"""
    path = tmp / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_kiosk_sends_its_name_so_its_printer_prints(tmp_path: Path, new_page: Any) -> None:
    printer, led = PrinterSim("paper_out"), LedBusSim(addresses=(1,))
    led.mute = True  # a screen that never answers: "no answer" on the devices panel
    server = HallServer(tmp_path, _printer_config(tmp_path, printer.path, led.path))
    try:
        server.start()
        refusal = httpx.post(server.url + "/api/tickets", timeout=10,
                             json={"service": "consult", "kiosk": "kiosk-1"})
        assert refusal.status_code == 503, refusal.text
        assert refusal.json()["error"]["code"] == "printer_not_ready"

        kiosk = new_page(1280, 800)
        kiosk.goto(server.url + "/kiosk?kiosk=kiosk-1")

        def is_issue(request: Any) -> bool:
            return request.url.endswith("/api/tickets") and request.method == "POST"

        with kiosk.expect_request(is_issue) as sent:
            kiosk.locator('button.svc[data-service="yibao-card"]').click()
        assert sent.value.post_data_json["kiosk"] == "kiosk-1"
        expect(kiosk.locator("#kiosk-msg")).to_have_text(refusal.json()["error"]["message"])
        expect(kiosk.locator("#start")).to_be_visible()  # no number was used up

        manager = _manager(new_page, server, "/manage", clock=True)
        printer_row = manager.locator("#md tr[data-device='printer-kiosk-1']")
        expect(printer_row).to_contain_text("缺纸")
        expect(printer_row).to_contain_text("取号机 kiosk-1")
        expect(manager.locator("#md tr[data-device='led-1']")).to_contain_text("1号窗口")

        printer.state = "ok"
        with kiosk.expect_request(is_issue) as sent:
            kiosk.locator('button.svc[data-service="yibao-card"]').click()
        assert sent.value.post_data_json["kiosk"] == "kiosk-1"
        expect(kiosk.locator("#t-number")).to_have_text("A001")
        assert wait_for(lambda: b"\x1d\x56" in printer.printed, 5)  # printed and cut
        assert "A001" in parse_escpos(bytes(printer.printed)).text

        plain = new_page(1280, 800)
        plain.goto(server.url + "/kiosk")  # without the parameter nothing changes
        with plain.expect_request(is_issue) as sent:
            plain.locator('button.svc[data-service="yibao-card"]').click()
        assert "kiosk" not in sent.value.post_data_json
        expect(plain.locator("#t-number")).to_have_text("A002")
        assert b"A002" not in bytes(printer.printed)

        # the devices panel reads health again by itself
        manager.clock.run_for(15_500)
        expect(printer_row).to_contain_text("正常")
        expect(manager.locator("#md tr[data-device='led-1']")).to_contain_text("无应答")
    finally:
        server.stop()
        printer.close()
        led.close()
