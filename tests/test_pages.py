"""End-to-end tests of the pages in a real Chromium against a real `hall serve` process.

They check what a hall would notice first: a citizen gets a number at the kiosk, the clerk calls
it, the hall screen shows it within a second and the citizen's phone shows the window; a screen
that lost its link shows the calls made meanwhile; the counter pad works with the keyboard
alone; a double tap (or a retried request) never issues two tickets; a refusal is said plainly.

One Chromium per module (starting one costs ~2 s); each test gets fresh contexts.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import zxingcpp
from PIL import Image
from playwright.sync_api import Page, Route, expect

from displays.pages import SCREEN_RECENT_CALLS
from tests.browser import PASSWORD, login_counter

HALL_TZ = ZoneInfo("Asia/Shanghai")  # the demo hall's [hall] timezone


def _snapshot(server: Any) -> dict[str, Any]:
    return httpx.get(server.url + "/api/hall", timeout=10).json()


def _waiting(server: Any, queue: str) -> int:
    return next(q["waiting"] for q in _snapshot(server)["queues"] if q["id"] == queue)


def _issued_events(server: Any) -> int:
    server.add_user("boss", "manager", PASSWORD)
    boss = server.login("boss", None)
    events = boss.get("/api/manage/events", params={"limit": 1000}).json()["events"]
    return sum(1 for e in events if e["type"] == "ticket.issued")


def _take_ticket(page: Page, url: str, service: str = "yibao-card") -> tuple[str, str]:
    """Tap a service on /kiosk; the number shown and the token behind its QR code."""
    page.goto(url + "/kiosk")
    page.locator(f'button.svc[data-service="{service}"]').click()
    expect(page.locator("#ticket")).to_be_visible()
    src = page.locator("#t-qr").get_attribute("src") or ""
    token = src.split("/")[2]
    return page.locator("#t-number").inner_text(), token


def test_kiosk_ticket_called_shows_on_screen_and_phone(hall_server: Any, new_page: Any) -> None:
    screen = new_page(1920, 1080)
    screen.goto(hall_server.url + "/screen")
    expect(screen.locator("#waiting tr[data-queue=yibao] .n")).to_have_text("0")

    kiosk = new_page(1280, 800)
    number, token = _take_ticket(kiosk, hall_server.url)
    assert number == "A001"
    expect(kiosk.locator("#t-service")).to_have_text("社会保障卡(医保)申领")
    expect(kiosk.locator("#t-materials li")).to_have_count(2)
    expect(kiosk.locator("#t-position")).to_have_text("0")
    qr = httpx.get(hall_server.url + f"/t/{token}/qr.svg", timeout=10)
    assert qr.status_code == 200 and qr.headers["content-type"].startswith("image/svg+xml")
    assert b"<svg" in qr.content
    expect(screen.locator("#waiting tr[data-queue=yibao] .n")).to_have_text("1")

    phone = new_page(390, 844)
    phone.goto(hall_server.url + f"/t/{token}")
    expect(phone.locator("#t-number")).to_have_text("A001")
    expect(phone.locator("#t-state")).to_have_text("等待叫号中")
    expect(phone.locator("#t-call")).to_be_hidden()

    hall_server.add_user("clerk1", "clerk", PASSWORD)
    pad = new_page(1280, 800)
    login_counter(pad, hall_server.url, "clerk1", 1)
    expect(pad.locator("#win-state")).to_have_text("空闲，可叫号")
    pad.locator('button[data-op="call"]').click()
    expect(pad.locator("#cur-number")).to_have_text("A001")
    called = time.monotonic()
    expect(screen.locator("#latest-text")).to_contain_text("A001", timeout=1000)
    assert time.monotonic() - called < 1.0
    expect(screen.locator("#latest-text")).to_contain_text("1号窗口")
    expect(screen.locator("#calls tr.newest")).to_contain_text("A001")
    expect(screen.locator("#latest")).to_have_class("latest flash")
    expect(screen.locator("#waiting tr[data-queue=yibao] .n")).to_have_text("0")

    expect(phone.locator("#t-call")).to_have_text("请到 1号窗口 办理")
    expect(phone.locator("#t-state")).to_have_text("轮到您了！")

    window_screen = new_page(1920, 1080)
    window_screen.goto(hall_server.url + "/screen/window/1")
    expect(window_screen.locator("#wnum")).to_have_text("A001")
    pad.locator('button[data-op="start"]').click()
    expect(pad.locator("#cur-state")).to_have_text("办理中")
    expect(window_screen.locator("#wline")).to_have_text("正在办理")
    pad.locator('button[data-outcome="done"]').click()
    expect(window_screen.locator("#wstate")).to_be_visible()
    expect(window_screen.locator("#wstate")).to_have_text("热情为您服务")
    expect(window_screen.locator("#wnum")).to_be_hidden()
    expect(phone.locator("#t-state")).to_have_text("已办结，感谢您的耐心")


def test_screen_reconnects_with_since_and_shows_missed_calls(hall_server: Any,
                                                              new_page: Any) -> None:
    tickets = [hall_server.issue("yibao-card") for _ in range(3)]
    screen = new_page(1920, 1080)
    sockets: list[str] = []
    screen.on("websocket", lambda ws: sockets.append(ws.url))
    screen.goto(hall_server.url + "/screen")
    expect(screen.locator("#waiting tr[data-queue=yibao] .n")).to_have_text("3")
    clerk = hall_server.clerk(1)
    clerk.post("/api/windows/1/call", json={}).raise_for_status()
    expect(screen.locator("#calls tr")).to_have_count(1)

    # the link drops: the network goes away and the socket closes
    screen.context.set_offline(True)
    screen.evaluate("window.hallScreen.ws.close()")
    expect(screen.locator("#conn")).to_be_visible()
    for _ in range(2):
        clerk.post("/api/windows/1/skip").raise_for_status()
        clerk.post("/api/windows/1/call", json={}).raise_for_status()
    screen.wait_for_timeout(1500)
    expect(screen.locator("#calls tr")).to_have_count(1)  # the gap is real

    screen.context.set_offline(False)
    expect(screen.locator("#conn")).to_be_hidden(timeout=10_000)
    numbers = [t["number"] for t in tickets]
    expect(screen.locator("#calls tr")).to_have_count(3)
    expect(screen.locator("#calls tr.newest")).to_contain_text(numbers[2])
    assert "since=" not in sockets[0]
    assert any("since=" in url for url in sockets[1:]), sockets


def test_counter_pad_full_cycle_by_keyboard_alone(hall_server: Any, new_page: Any) -> None:
    ticket = hall_server.issue("bdc-query")
    hall_server.add_user("clerk3", "clerk", PASSWORD)
    pad = new_page(1280, 800)
    pad.goto(hall_server.url + "/counter")
    expect(pad.locator("#l-user")).to_be_focused()
    pad.keyboard.type("clerk3")
    pad.keyboard.press("Tab")
    pad.keyboard.type(PASSWORD)
    pad.keyboard.press("Tab")
    expect(pad.locator("#l-window")).to_be_focused()
    pad.keyboard.press("ArrowDown")
    pad.keyboard.press("ArrowDown")
    pad.keyboard.press("ArrowDown")
    expect(pad.locator("#l-window")).to_have_value("3")
    pad.keyboard.press("Tab")
    expect(pad.locator("#l-submit")).to_be_focused()
    outline = pad.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline not in ("none", "")  # a clerk sees where the focus is
    pad.keyboard.press("Enter")
    expect(pad.locator("#win-state")).to_have_text("空闲，可叫号")

    pad.keyboard.press("s")  # nothing to start yet: the pad says so and what to do instead
    expect(pad.locator("#pad-msg")).to_have_text("现在不能开始办理：当前没有号票，按 N 叫下一位")

    pad.keyboard.press("n")
    expect(pad.locator("#cur-number")).to_have_text(ticket["number"])
    expect(pad.locator("#cur-service")).to_contain_text("不动产登记资料查询")
    expect(pad.locator("#cur-materials li")).to_have_text(["居民身份证原件"])

    pad.reload()  # the pad picks up where the server is
    expect(pad.locator("#cur-number")).to_have_text(ticket["number"])
    expect(pad.locator("#cur-state")).to_have_text("已叫号")

    pad.keyboard.press("s")
    expect(pad.locator("#cur-state")).to_have_text("办理中")
    pad.keyboard.press("4")  # 不予受理 wants a reason
    expect(pad.locator("#dlg-reason")).to_be_visible()
    pad.keyboard.press("Escape")
    expect(pad.locator("#dlg-reason")).to_be_hidden()
    pad.keyboard.press("1")
    expect(pad.locator("#cur-none")).to_be_visible()
    state = httpx.get(hall_server.url + f"/api/tickets/{ticket['token']}", timeout=10).json()
    assert state["state"] == "done" and state["outcome"] == "done"

    pad.keyboard.press("p")
    expect(pad.locator("#dr-input")).to_be_focused()
    pad.keyboard.type("午休")
    pad.keyboard.press("Enter")
    expect(pad.locator("#win-state")).to_have_text("暂停服务（午休）")
    expect(pad.locator("#dlg-reason")).to_be_hidden()
    # the pause's own answer is in (the screen may redraw from the live event before it,
    # while the pad still waits for the answer and ignores keys)
    expect(pad.locator("#pad-msg")).to_contain_text("已暂停服务")
    pad.keyboard.press("n")
    expect(pad.locator("#pad-msg")).to_contain_text("暂停服务中，按 U 恢复服务")
    pad.keyboard.press("u")
    expect(pad.locator("#win-state")).to_have_text("空闲，可叫号")


def test_kiosk_double_tap_and_retry_issue_one_ticket(hall_server: Any, new_page: Any) -> None:
    kiosk = new_page(1280, 800)
    keys: list[str | None] = []
    dropped = {"n": 0}

    def lose_first_answer(route: Route) -> None:
        """The server commits the ticket but its answer never reaches the kiosk."""
        keys.append(route.request.headers.get("idempotency-key"))
        if dropped["n"] == 0:
            dropped["n"] += 1
            route.fetch()
            route.abort("connectionreset")
        else:
            route.continue_()

    kiosk.route("**/api/tickets", lose_first_answer)
    kiosk.goto(hall_server.url + "/kiosk")
    kiosk.locator('button.svc[data-service="shebao-retire"]').dblclick()
    expect(kiosk.locator("#t-number")).to_have_text("B001")
    kiosk.wait_for_timeout(500)
    assert len(keys) == 2 and keys[0] and keys[0] == keys[1], keys
    assert _waiting(hall_server, "shebao") == 1
    assert _issued_events(hall_server) == 1

    kiosk.unroute("**/api/tickets")
    kiosk.wait_for_timeout(900)
    kiosk.locator("#t-done").click()  # back at the start, a new tap is a new intent
    kiosk.locator('button.svc[data-service="shebao-retire"]').click()
    expect(kiosk.locator("#t-number")).to_have_text("B002")


def test_kiosk_resets_after_configured_seconds(hall_server: Any, new_page: Any) -> None:
    kiosk = new_page(390, 844)
    kiosk.clock.install()  # the page's timers run on a clock the test moves
    kiosk.goto(hall_server.url + "/kiosk")
    kiosk.get_by_text("孕妇", exact=True).click()
    kiosk.locator('button.svc[data-service="consult"]').click()
    expect(kiosk.locator("#t-flags")).to_have_text("绿色通道：孕妇")
    expect(kiosk.locator("#t-count")).to_have_text("20")
    kiosk.clock.run_for(19_000)
    expect(kiosk.locator("#ticket")).to_be_visible()
    # 20 s is the demo hall's kiosk_reset_seconds; the page must go back on its own
    kiosk.clock.run_for(1_500)
    expect(kiosk.locator("#start")).to_be_visible()
    expect(kiosk.locator('input[name="priority"][value=""]')).to_be_checked()


def test_kiosk_says_the_servers_refusal(hall_server: Any, new_page: Any) -> None:
    with httpx.Client(base_url=hall_server.url, timeout=10) as client:
        for _ in range(80):  # 跨区域通办: daily_cap = 80 in the demo hall
            assert client.post("/api/tickets", json={"service": "cross-region"}).status_code == 201
        refusal = client.post("/api/tickets", json={"service": "cross-region"})
    assert refusal.status_code == 409
    message = refusal.json()["error"]["message"]
    kiosk = new_page(1280, 800)
    kiosk.goto(hall_server.url + "/kiosk")
    kiosk.locator('button.svc[data-service="cross-region"]').click()
    expect(kiosk.locator("#kiosk-msg")).to_have_text(message)
    expect(kiosk.locator("#kiosk-msg")).to_have_attribute("role", "alert")
    expect(kiosk.locator("#start")).to_be_visible()


def test_manager_sees_windows_and_events_live(hall_server: Any, new_page: Any) -> None:
    hall_server.add_user("boss", "manager", PASSWORD)
    page = new_page(1920, 1080)
    page.goto(hall_server.url + "/manage")
    page.fill("#l-user", "boss")
    page.fill("#l-pass", PASSWORD)
    page.click("#l-submit")
    expect(page.locator("#mw tr")).to_have_count(12)
    ticket = hall_server.issue("tax-invoice")
    expect(page.locator("#mq tr[data-queue=shuiwu] td").nth(1)).to_have_text("1 / 10")
    clerk = hall_server.clerk(6)
    clerk.post("/api/windows/6/call", json={}).raise_for_status()
    row = page.locator("#mw tr[data-window='6']")
    expect(row).to_contain_text(ticket["number"])
    expect(row).to_contain_text("clerk6")
    expect(page.locator("#me li").first).to_contain_text("叫号")


def _pad(new_page: Any, server: Any, user: str, window: int) -> Page:
    server.add_user(user, "clerk", PASSWORD)
    pad = new_page(1280, 800)
    login_counter(pad, server.url, user, window)
    expect(pad.locator("#win-state")).to_have_text("空闲，可叫号")
    return pad


def test_counter_hold_callback_transfer_and_call_a_number(hall_server: Any,
                                                          new_page: Any) -> None:
    a1, a2, a3 = (hall_server.issue("yibao-card") for _ in range(3))
    pad = _pad(new_page, hall_server, "clerk1", 1)
    expect(pad.locator("#queues li[data-queue=yibao] b")).to_have_text("3")

    pad.keyboard.press("c")  # call a specific number
    expect(pad.locator("#dn-input")).to_be_focused()
    pad.keyboard.type("a003")
    pad.keyboard.press("Enter")
    expect(pad.locator("#cur-number")).to_have_text(a3["number"])
    expect(pad.locator("#queues li[data-queue=yibao] b")).to_have_text("2")
    expect(pad.locator("#dlg-number")).to_be_hidden()  # the call's own answer is in
    pad.keyboard.press("r")
    expect(pad.locator("#pad-msg")).to_have_text("已重呼")

    pad.keyboard.press("h")  # hold, then call back from the dialog
    expect(pad.locator("#held li")).to_have_text([a3["number"]])
    expect(pad.locator("#cur-none")).to_be_visible()
    pad.keyboard.press("b")
    expect(pad.locator("#db-select")).to_be_focused()
    pad.keyboard.press("Enter")
    expect(pad.locator("#cur")).to_be_visible()
    expect(pad.locator("#cur-number")).to_have_text(a3["number"])
    expect(pad.locator("#held li")).to_have_text(["无"])

    pad.keyboard.press("t")  # transfer to window 5 (帮办代办窗口)
    pad.locator('#f-transfer input[value="window"]').check()
    pad.select_option("#dt-window", "5")
    pad.locator("#dt-window").press("Enter")
    expect(pad.locator("#cur-none")).to_be_visible()
    moved = httpx.get(hall_server.url + f"/api/tickets/{a3['token']}", timeout=10).json()
    assert moved["state"] == "waiting"

    pad.keyboard.press("n")
    expect(pad.locator("#cur")).to_be_visible()
    expect(pad.locator("#cur-number")).to_have_text(a1["number"])
    pad.keyboard.press("k")  # 过号 (the demo hall re-queues once)
    expect(pad.locator("#pad-msg")).to_have_text("已过号")
    pad.keyboard.press("n")
    expect(pad.locator("#pad-msg")).to_have_text("已叫号 " + a2["number"])
    pad.keyboard.press("n")  # busy: the pad says what to do first
    expect(pad.locator("#pad-msg")).to_contain_text("现在不能叫下一位：已叫号")

    # waiting: the re-queued A001 and A003 (directed to window 5, still in 医保)
    expect(pad.locator("#queues li[data-queue=yibao] b")).to_have_text("2")
    other = hall_server.clerk(2)  # another window's call changes this pad's count live
    other.post("/api/windows/2/call", json={}).raise_for_status()
    expect(pad.locator("#queues li[data-queue=yibao] b")).to_have_text("1")


def test_screen_announces_live_calls_only(hall_server: Any, new_page: Any) -> None:
    first = hall_server.issue("yibao-card")
    second = hall_server.issue("yibao-card")
    clerk = hall_server.clerk(1)
    clerk.post("/api/windows/1/call", json={}).raise_for_status()
    screen = new_page(1920, 1080)
    # count the WAVs the page plays and the tones it would make itself (WebAudio oscillators)
    screen.add_init_script("""
        window.__tones = 0; window.__played = [];
        const orig = AudioContext.prototype.createOscillator;
        AudioContext.prototype.createOscillator = function () {
            window.__tones += 1; return orig.call(this);
        };
        const play = HTMLMediaElement.prototype.play;
        HTMLMediaElement.prototype.play = function () {
            window.__played.push(this.src); return play.apply(this, arguments);
        };""")
    screen.goto(hall_server.url + "/screen")
    expect(screen.locator("#calls tr")).to_have_count(1)
    sound = screen.locator("#sound")  # no autoplay flag in tests: one click enables sound
    expect(sound).to_be_visible()
    sound.click()
    expect(sound).to_be_hidden()
    assert screen.evaluate("window.__played") == []  # the snapshot's old call is not announced
    assert first["number"] in screen.locator("#calls").inner_text()
    clerk.post("/api/windows/1/skip").raise_for_status()
    clerk.post("/api/windows/1/call", json={}).raise_for_status()
    expect(screen.locator("#latest-text")).to_contain_text(second["number"])
    screen.wait_for_function("() => window.__played.length === 1")  # the new call's WAV
    assert screen.evaluate("window.__tones") == 0  # its chime is in the WAV (tests/test_voice.py)


# ---------------------------------------------------------------- issue 8: QR, hall time, fit

def test_kiosk_qr_decodes_to_the_phone_page(hall_server: Any, new_page: Any,
                                             tmp_path: Path) -> None:
    """The QR the kiosk shows, read by a real decoder from a screenshot, opens /t/<token>
    (as the printed ticket does), never the raw JSON of /api/tickets/<token>."""
    kiosk = new_page(1280, 800)
    _, token = _take_ticket(kiosk, hall_server.url)
    kiosk.wait_for_function(  # a function, not a string eval'd in the page (CSP)
        "() => { const img = document.getElementById('t-qr');"
        " return img.complete && img.naturalWidth > 0; }")  # drawn, not just asked for
    shot = tmp_path / "qr.png"
    kiosk.locator("#t-qr").screenshot(path=str(shot))
    codes = zxingcpp.read_barcodes(Image.open(shot))
    assert [c.text for c in codes] == [f"{hall_server.url}/t/{token}"]


def _hhmm_of(iso: str) -> str:
    return datetime.fromisoformat(iso).astimezone(HALL_TZ).strftime("%H:%M")


def _shows_hall_clock(page: Page) -> None:
    """The page's clock reads the hall's time (Asia/Shanghai), whatever the device's zone."""
    text = page.locator("#clock").inner_text()
    now = datetime.now(HALL_TZ)  # read after the page: its minute is this one or the last
    assert any(f"{t:%H:%M}" in text and
               ("年" not in text or f"{t.year}年{t.month}月{t.day}日" in text)
               for t in (now, now - timedelta(minutes=1))), text


def test_every_page_shows_hall_time_on_a_utc_device(hall_server: Any, new_page: Any) -> None:
    """A TV, kiosk, phone or PC left on UTC shows the hall's time (Asia/Shanghai, 8 hours
    ahead), on its clock and on every time it prints."""
    utc = "UTC"
    kiosk = new_page(1280, 800, timezone=utc)
    kiosk.goto(hall_server.url + "/kiosk")
    _shows_hall_clock(kiosk)
    kiosk.locator('button.svc[data-service="yibao-card"]').click()
    expect(kiosk.locator("#ticket")).to_be_visible()
    token = (kiosk.locator("#t-qr").get_attribute("src") or "").split("/")[2]
    ticket = httpx.get(hall_server.url + f"/api/tickets/{token}", timeout=10).json()
    expect(kiosk.locator("#t-issued")).to_have_text(_hhmm_of(ticket["issued_at"]))

    phone = new_page(390, 844, timezone=utc)
    phone.goto(hall_server.url + f"/t/{token}")
    expect(phone.locator("#t-issued")).to_have_text(_hhmm_of(ticket["issued_at"]))

    screen = new_page(1920, 1080, timezone=utc)
    screen.goto(hall_server.url + "/screen")
    _shows_hall_clock(screen)
    hall_server.add_user("clerk1", "clerk", PASSWORD)
    pad = new_page(1280, 800, timezone=utc)
    login_counter(pad, hall_server.url, "clerk1", 1)
    expect(pad.locator("#win-state")).to_have_text("空闲，可叫号")
    pad.keyboard.press("n")
    expect(pad.locator("#cur-number")).to_have_text(ticket["number"])
    called = httpx.get(hall_server.url + f"/api/tickets/{token}", timeout=10).json()
    expect(pad.locator("#cur-called")).to_have_text(_hhmm_of(called["called_at"]))
    expect(screen.locator("#calls tr.newest td").nth(2)).to_have_text(
        _hhmm_of(called["called_at"]))

    hall_server.add_user("boss", "manager", PASSWORD)
    manage = new_page(1920, 1080, timezone=utc)
    manage.goto(hall_server.url + "/manage")
    manage.fill("#l-user", "boss")
    manage.fill("#l-pass", PASSWORD)
    manage.click("#l-submit")
    expect(manage.locator("#me li").first).to_be_visible()
    _shows_hall_clock(manage)
    times = manage.locator("#me li > span.num:first-child").all_inner_texts()
    assert times and all(t.strip() in (_hhmm_of(called["called_at"]),
                                       _hhmm_of(ticket["issued_at"])) for t in times), times
    # the manager's lists and case pages print their times through the same helper
    assert manage.evaluate("HallManage.dt('2026-01-01T00:30:00+00:00')") == "2026年1月1日 08:30"


def _visible_rows(page: Page, selector: str) -> tuple[int, int]:
    """(rows wholly inside the viewport, rows) — what a person in front of the TV can read."""
    return page.evaluate("""(sel) => {
        const rows = [...document.querySelectorAll(sel)];
        const clip = (el) => {  // the nearest ancestor that hides its overflow
            for (let p = el.parentElement; p; p = p.parentElement) {
                const o = getComputedStyle(p).overflowY;
                if (o === 'hidden' || o === 'clip' || o === 'auto' || o === 'scroll') return p;
            }
            return null;
        };
        const inside = rows.filter((r) => {
            const b = r.getBoundingClientRect();
            if (b.height === 0 || b.top < 0 || b.bottom > innerHeight + 0.5 ||
                b.right > innerWidth + 0.5) return false;
            const c = clip(r);
            if (!c) return true;
            const cb = c.getBoundingClientRect();
            return b.top >= cb.top - 0.5 && b.bottom <= cb.bottom + 0.5;
        });
        return [inside.length, rows.length];
    }""", selector)


def test_hall_screen_fits_all_recent_calls_at_1080p_and_4k(hall_server: Any,
                                                          new_page: Any) -> None:
    """Every recent call the screen keeps is on the glass at 1920x1080 and at 3840x2160, and
    the type grows with the screen (a 4K TV without scaling reads like a 1080p one)."""
    clerk = hall_server.clerk(1)
    for _ in range(SCREEN_RECENT_CALLS + 2):
        hall_server.issue("yibao-card")
        clerk.post("/api/windows/1/call", json={}).raise_for_status()
        clerk.post("/api/windows/1/start").raise_for_status()
        clerk.post("/api/windows/1/finish", json={"outcome": "done"}).raise_for_status()
    hall_server.issue("yibao-card")
    clerk.post("/api/windows/1/call", json={}).raise_for_status()  # on window 1's screen
    sizes = {}
    for width, height in ((1920, 1080), (3840, 2160)):
        screen = new_page(width, height)
        screen.goto(hall_server.url + "/screen")
        expect(screen.locator("#calls tr")).to_have_count(SCREEN_RECENT_CALLS)
        assert _visible_rows(screen, "#calls tr") == [SCREEN_RECENT_CALLS, SCREEN_RECENT_CALLS]
        assert _visible_rows(screen, "#waiting tr")[0] == len(_snapshot(hall_server)["queues"])
        sizes[width] = screen.evaluate(
            "parseFloat(getComputedStyle(document.getElementById('latest-text')).fontSize)")
    assert 1.8 <= sizes[3840] / sizes[1920] <= 2.2, sizes
    for width, height in ((1920, 1080), (3840, 2160)):  # and the screen above a window
        window = new_page(width, height)
        window.goto(hall_server.url + "/screen/window/1")
        expect(window.locator("#wnum")).to_be_visible()
        sizes[width] = window.evaluate(
            "parseFloat(getComputedStyle(document.getElementById('wnum')).fontSize)")
        assert window.evaluate("document.documentElement.scrollHeight") <= height
    assert 1.8 <= sizes[3840] / sizes[1920] <= 2.2, sizes


def test_kiosk_shows_every_group_or_a_scroll_cue(hall_server: Any, new_page: Any) -> None:
    """At a TV-sized and a tablet-sized kiosk every service group is on the screen, or a cue
    says there is more below (and goes away once the citizen has scrolled to the end)."""
    for width, height in ((1920, 1080), (1280, 800)):
        kiosk = new_page(width, height)
        kiosk.goto(hall_server.url + "/kiosk")
        inside, total = _visible_rows(kiosk, ".group")
        cue = kiosk.locator("#more")
        if inside < total:
            expect(cue).to_be_visible()
            assert _visible_rows(kiosk, "#more") == [1, 1]
            kiosk.mouse.wheel(0, 10_000)
            expect(cue).to_be_hidden()
        else:
            expect(cue).to_be_hidden()
