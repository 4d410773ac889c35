"""What people read on every page is Chinese (issue 8 items 9 and 11), in real Chromium.

* No English word in the visible text of any page state the test can reach (usernames, which
  people chose, and a complaint's reference code, which the citizen was given, are taken out
  first; single letters such as the keys N or C and ticket numbers
  such as A001 are fine: the rule is "no run of two ASCII letters").
* Every form checks itself in Chinese: forms are `novalidate`, an empty required field shows
  the page's own Chinese message and never Chromium's bubble ("Please fill out this field.")
  — the test listens for the browser's `invalid` event, which fires only when the browser
  validates by itself.
* No `<input type=date>` (its face is mm/dd/yyyy in most builds); dates are typed and shown
  as 年月日.
"""

from __future__ import annotations

import re
from typing import Any

import httpx
from playwright.sync_api import Page, expect

from tests.browser import PASSWORD, login_counter
from tests.conftest import HallServer

ENGLISH = re.compile(r"[A-Za-z]{2,}")
ALLOWED = ["clerk1", "boss"]  # data people chose or were given; a test adds references
DAY = re.compile(r"\d{4}年\d{1,2}月\d{1,2}日")

LISTEN = """() => { window.__invalid = 0;
  document.addEventListener('invalid', () => window.__invalid++, true); }"""


ISO_OR_US_DATE = re.compile(r"\d{4}-\d{1,2}-\d{1,2}|\d{1,2}/\d{1,2}/\d{2,4}")


def english_on(page: Page) -> list[str]:
    text = page.inner_text("body")
    for token in ALLOWED:
        text = text.replace(token, "")
    return sorted(set(ENGLISH.findall(text)))


def forms_are_checked_by_the_page(page: Page) -> None:
    assert page.evaluate("[...document.forms].every((f) => f.noValidate)"), page.url
    assert page.locator("input[type=date]").count() == 0, page.url


def check(page: Page, where: str, seen: list[str]) -> None:
    page.wait_for_timeout(300)  # the page's own drawing after its last request
    bad = english_on(page)
    assert not bad, f"{where}: {bad}"
    dates = ISO_OR_US_DATE.findall(page.inner_text("body"))
    assert not dates, f"{where}: dates not in 年月日: {dates}"
    forms_are_checked_by_the_page(page)
    seen.append(where)


def check_allowing(allowed: list[str], page: Page, where: str, seen: list[str]) -> None:
    """`check`, with `allowed` (names people gave, a hash to note down) taken as data too."""
    ALLOWED.extend(allowed)
    try:
        check(page, where, seen)
    finally:
        del ALLOWED[-len(allowed):]


def _ready(pad: Page) -> None:
    """The pad's step has its answer (no key is taken while a step is on its way)."""
    expect(pad.locator("body.busy")).to_have_count(0)
    expect(pad.locator("dialog[open]")).to_have_count(0)


def _login_pad(page: Page, server: HallServer, window: int) -> None:
    login_counter(page, server.url, f"clerk{window}", window)
    expect(page.locator("#pad")).to_be_visible()


def _login_manager(page: Page, server: HallServer, path: str) -> None:
    page.goto(server.url + path)
    page.fill("#l-user", "boss")
    page.fill("#l-pass", PASSWORD)
    page.click("#l-submit")
    expect(page.locator("#l-user")).to_be_hidden()


def test_every_page_state_speaks_chinese(hall_server: HallServer, new_page: Any) -> None:
    server = hall_server
    server.add_user("clerk1", "clerk", PASSWORD)
    server.add_user("boss", "manager", PASSWORD)
    seen: list[str] = []

    kiosk = new_page(1280, 800)
    kiosk.goto(server.url + "/kiosk")
    check(kiosk, "kiosk", seen)
    kiosk.locator('button.svc[data-service="yibao-card"]').click()
    expect(kiosk.locator("#ticket")).to_be_visible()
    check(kiosk, "kiosk ticket", seen)
    token = (kiosk.locator("#t-qr").get_attribute("src") or "").split("/")[2]

    screen = new_page(1920, 1080)
    screen.goto(server.url + "/screen")
    check(screen, "screen", seen)
    window_screen = new_page(1280, 720)
    window_screen.goto(server.url + "/screen/window/1")
    check(window_screen, "window screen idle", seen)
    phone = new_page(390, 844)
    phone.goto(f"{server.url}/t/{token}")
    check(phone, "phone waiting", seen)
    tablet = new_page(1280, 800)
    tablet.goto(server.url + "/evaluate/1")
    check(tablet, "evaluate idle", seen)

    pad = new_page(1280, 800)
    pad.goto(server.url + "/counter")
    check(pad, "counter login", seen)
    _login_pad(pad, server, 1)
    check(pad, "counter idle", seen)
    pad.keyboard.press("n")
    expect(pad.locator("#cur")).to_be_visible()
    _ready(pad)
    check(pad, "counter called", seen)
    check(screen, "screen called", seen)
    check(window_screen, "window screen called", seen)
    check(phone, "phone called", seen)
    pad.keyboard.press("s")
    expect(pad.locator("#help")).to_have_attribute("data-state", "serving")
    _ready(pad)
    check(pad, "counter serving", seen)
    pad.keyboard.press("1")
    expect(pad.locator("#help")).to_have_attribute("data-state", "idle")
    _ready(pad)
    check(tablet, "evaluate pending", seen)
    phone.reload()
    check(phone, "phone done (rating form)", seen)
    phone.get_by_role("button", name="我要反映办不成事").click()
    check(phone, "phone complaint form", seen)
    phone.fill("#t-bc-desc", "材料要求不明确")
    phone.get_by_role("button", name="提交反映").click()
    expect(phone.locator("#t-bc-due")).to_contain_text(DAY)
    ALLOWED.append(phone.locator("#t-bc-ref").inner_text())
    check(phone, "phone complaint sent", seen)
    pad.keyboard.press("p")
    pad.keyboard.type("午休")
    pad.keyboard.press("Enter")
    expect(pad.locator("#help")).to_have_attribute("data-state", "paused")
    _ready(pad)
    check(pad, "counter paused", seen)
    check(window_screen, "window screen paused", seen)

    complaint = new_page(390, 844)
    complaint.goto(server.url + "/complaint")
    check(complaint, "complaint", seen)
    complaint.get_by_role("button", name="提交反映").click()
    check(complaint, "complaint refused", seen)

    manager = new_page(1920, 1080)
    manager.goto(server.url + "/manage")
    check(manager, "manage login", seen)
    _login_manager(manager, server, "/manage")
    check(manager, "manage", seen)
    rated = httpx.post(f"{server.url}/api/complaints", json={"description": "材料要求不明确"},
                       timeout=10)
    assert rated.status_code == 201
    ALLOWED.append(rated.json()["reference"])
    for path in ("/manage/ratings", "/manage/rectifications", "/manage/complaints",
                 "/manage/staffing",
                 f"/manage/complaints/{rated.json()['id']}", "/manage/alarms",
                 "/manage/reports"):
        manager.goto(server.url + path)
        expect(manager.locator("#l-user")).to_be_hidden()
        check(manager, path, seen)
    assert len(seen) >= 25


def test_forms_refuse_in_chinese_never_with_the_browsers_bubble(hall_server: HallServer,
                                                                 new_page: Any) -> None:
    server = hall_server
    server.add_user("clerk1", "clerk", PASSWORD)
    server.add_user("boss", "manager", PASSWORD)

    pad = new_page(1280, 800)
    pad.goto(server.url + "/counter")
    pad.evaluate(LISTEN)
    pad.click("#l-submit")  # everything empty
    problem = pad.locator("#l-user-problem")
    expect(problem).to_have_text("请填写用户名")
    expect(pad.locator("#l-user")).to_be_focused()
    pad.fill("#l-user", "clerk1")
    pad.fill("#l-pass", PASSWORD)
    pad.click("#l-submit")
    expect(pad.locator("#l-window-problem")).to_have_text("请选择窗口")
    expect(problem).to_be_hidden()
    pad.select_option("#l-window", "1")
    pad.click("#l-submit")
    expect(pad.locator("#pad")).to_be_visible()

    pad.keyboard.press("c")  # call a number: empty, then not a number
    pad.locator("#dlg-number button[type=submit]").click()
    expect(pad.locator("#dn-input-problem")).to_have_text("请填写号码")
    pad.fill("#dn-input", "??")
    pad.locator("#dlg-number button[type=submit]").click()
    expect(pad.locator("#dn-input-problem")).to_have_text("号码格式不对，应如 A005")
    pad.keyboard.press("Escape")
    pad.keyboard.press("p")  # pause without a reason
    pad.locator("#dr-ok").click()
    expect(pad.locator("#dr-input-problem")).to_have_text("请填写暂停原因")
    assert pad.evaluate("window.__invalid") == 0  # the browser never validated by itself

    device = new_page(1280, 800)  # enrolling a kiosk or tablet
    device.goto(server.url + "/device")
    device.evaluate(LISTEN)
    device.click("#d-submit")
    expect(device.locator("#d-code-problem")).to_have_text("请填写登记码")
    assert device.evaluate("window.__invalid") == 0
    check(device, "device enrolment", [])

    manager = new_page(1920, 1080)
    manager.goto(server.url + "/manage/ratings")
    manager.evaluate(LISTEN)
    manager.click("#l-submit")
    expect(manager.locator("#l-user-problem")).to_have_text("请填写用户名")
    _login_manager(manager, server, "/manage/ratings")
    manager.evaluate(LISTEN)
    start = manager.locator("#f-from")
    expect(start).to_have_attribute("placeholder", re.compile("年.*月.*日"))
    expect(start).to_have_value(DAY)  # the period shown as 年月日
    start.fill("12/31/2026")
    manager.click("#f-submit")
    expect(manager.locator("#f-from-problem")).to_have_text("日期应为 年月日，如 2026年1月31日")
    start.fill("2026年1月5日")
    manager.click("#f-submit")
    expect(manager.locator("#f-from-problem")).to_be_hidden()
    expect(manager.locator("#fig-period")).to_contain_text("2026年1月5日")
    assert "from=2026-01-05" in manager.url
    assert manager.evaluate("window.__invalid") == 0


def test_accounts_audit_and_password_pages_speak_chinese(hall_server: HallServer,
                                                         new_page: Any) -> None:
    """Issue 10.3 and 10.6: the admin's, the auditor's and the change-password pages."""
    server = hall_server
    for name, role in (("root", "admin"), ("audit", "auditor"), ("clerk1", "clerk")):
        server.add_user(name, role, PASSWORD)
    allowed = ["root", "audit", "clerk1", "newbie"]
    seen: list[str] = []

    def check_here(page: Page, where: str) -> None:
        check_allowing(allowed, page, where, seen)

    admin = new_page(1920, 1080)
    admin.goto(server.url + "/manage/accounts")
    admin.fill("#l-user", "root")
    admin.fill("#l-pass", PASSWORD)
    admin.click("#l-submit")
    expect(admin.locator('#users tr[data-user="clerk1"]')).to_be_visible()
    check_here(admin, "accounts")
    admin.evaluate(LISTEN)
    admin.click("#a-submit")  # empty: the page's own words, never the browser's bubble
    expect(admin.locator("#a-user-problem")).to_have_text("请填写用户名")
    admin.fill("#a-user", "newbie")
    admin.select_option("#a-role", "clerk")
    admin.fill("#a-staff", "12")
    admin.click("#a-submit")
    expect(admin.locator("#a-pin-problem")).to_have_text("填写工号时请同时填写呼叫器密码")
    assert admin.evaluate("window.__invalid") == 0
    check_here(admin, "accounts refused")
    admin.fill("#a-staff", "")
    admin.click("#a-submit")
    expect(admin.locator("#temp")).to_be_visible()
    temporary = admin.locator("#temp-word").inner_text().strip()
    allowed.append(temporary)
    check_here(admin, "accounts temporary password")
    admin.locator('#users tr[data-user="clerk1"]').get_by_role("button", name="停用 clerk1").click()
    check_here(admin, "accounts confirm")

    pad = new_page(1280, 800)
    login_counter(pad, server.url, "newbie", 2, temporary)
    expect(pad.locator("#pw")).to_be_visible()
    pad.evaluate(LISTEN)
    pad.click("#pw-submit")
    expect(pad.locator("#pw-old-problem")).to_have_text("请填写当前密码")
    pad.fill("#pw-old", temporary)
    pad.fill("#pw-new", "short")
    pad.click("#pw-submit")
    expect(pad.locator("#pw-new-problem")).to_have_text("密码至少 10 位")
    assert pad.evaluate("window.__invalid") == 0
    check_here(pad, "counter change password")

    auditor = new_page(1920, 1080)
    auditor.goto(server.url + "/manage/audit")
    auditor.fill("#l-user", "audit")
    auditor.fill("#l-pass", PASSWORD)
    auditor.click("#l-submit")
    expect(auditor.locator("#chain")).to_contain_text("完整")
    expect(auditor.locator("#rows tr").first).to_be_visible()
    allowed.append(auditor.locator("#chain-head").inner_text())  # a hash, to be noted down
    check_here(auditor, "audit log")
    auditor.fill("#f-from", "2026/13/40")
    auditor.click("#f-submit")
    expect(auditor.locator("#f-from-problem")).to_have_text("日期应为 年月日，如 2026年1月31日")
    check_here(auditor, "audit log refused date")
    auditor.goto(server.url + "/manage")
    expect(auditor.locator("#nf-title")).to_be_visible()
    check_here(auditor, "forbidden")
    assert len(seen) == 8
