"""Who may sit at a window (issue 8.10 server half, 9.7): a real `hall serve` process.

* A second clerk's login to a window in use is refused (409); a manager ends the session
  (`PATCH /api/manage/windows/{n}` `{"force_logout": true}`), and the clerk pushed out is told
  why on their next request and on the counter page.
* The same clerk logging in again (a second browser) shares the window.
* The 办不成事 window takes only a clerk a manager assigned to it.
* 首席事务代表 windows are flagged on the public snapshot and the screens.
"""

from __future__ import annotations

import re
from typing import Any

import httpx
from playwright.sync_api import expect

from tests.browser import PASSWORD, login_counter
from tests.conftest import HallServer
from tests.test_server import assert_error

FORCED = "已由管理员强制下线"


def manager(server: HallServer) -> httpx.Client:
    try:
        server.add_user("boss", "manager")
    except RuntimeError as exc:
        if "已存在" not in str(exc):
            raise
    return server.login("boss", None)


def audit_rows(server: HallServer) -> list[dict[str, Any]]:
    try:
        server.add_user("audit", "auditor")
    except RuntimeError as exc:
        if "已存在" not in str(exc):
            raise
    return server.login("audit", None).get("/api/manage/audit").json()["audit"]


def login(server: HallServer, username: str, window: int | None) -> httpx.Response:
    return httpx.post(server.url + "/api/login", json={
        "username": username, "password": "Tulip-7741-q", "window": window})


def chinese_only(message: str) -> bool:
    return not re.search(r"[A-Za-z]", message)


def test_second_clerk_is_refused_until_a_manager_forces_it(hall_server: HallServer) -> None:
    server = hall_server
    first = server.clerk(1)
    server.add_user("zhao", "clerk")
    error = assert_error(login(server, "zhao", 1), 409, "window_in_use")
    assert chinese_only(error["message"]) and "管理员" in error["message"], error
    # the clerk at the window keeps working, the window still names them
    assert first.get("/api/windows/1").json()["window"]["clerk"] == "clerk1"
    # the same clerk from a second browser shares the window; both sessions work
    again = server.login("clerk1", 1)
    assert again.get("/api/windows/1").status_code == 200
    assert first.get("/api/windows/1").status_code == 200
    # a clerk cannot push anybody out
    assert_error(first.patch("/api/manage/windows/1", json={"force_logout": True}), 403)

    boss = manager(server)
    r = boss.patch("/api/manage/windows/1", json={"force_logout": True})
    assert r.status_code == 200, r.text
    assert r.json()["window"]["state"] == "closed"
    for pushed_out in (first, again):
        error = assert_error(pushed_out.get("/api/windows/1"), 401, "session_ended")
        assert FORCED in error["message"] and chinese_only(error["message"])
        assert_error(pushed_out.post("/api/windows/1/call"), 401, "session_ended")
    second = server.login("zhao", 1)
    assert second.get("/api/windows/1").json()["window"]["clerk"] == "zhao"

    rows = audit_rows(server)
    forced = [r for r in rows if r["action"] == "force_logout"]
    assert [(r["user"], r["target"], r["success"]) for r in forced] == [
        ("boss", "window:1", 1)], forced
    refused = [r for r in rows if r["user"] == "zhao" and r["action"] == "login"
               and not r["success"]]
    assert refused and refused[0]["detail"] == "window_in_use", refused


def test_logout_on_one_device_leaves_the_window(hall_server: HallServer) -> None:
    """One clerk at one window on two devices: logging out leaves the window, so the other
    device is told it was logged out rather than acting on a closed window."""
    first = hall_server.clerk(2)
    again = hall_server.login("clerk2", 2)
    assert again.post("/api/logout").status_code == 200
    error = assert_error(first.get("/api/windows/2"), 401, "session_ended")
    assert "退出" in error["message"] and chinese_only(error["message"])
    assert httpx.get(hall_server.url + "/api/hall").json()["windows"][1]["state"] == "closed"


def test_complaint_window_takes_only_a_clerk_a_manager_assigned(
        hall_server: HallServer) -> None:
    server = hall_server
    server.add_user("li", "clerk")
    server.add_user("wu", "clerk")
    error = assert_error(login(server, "li", 12), 403, "needs_manager")
    assert "管理员" in error["message"] and chinese_only(error["message"])
    boss = manager(server)
    assert_error(boss.patch("/api/manage/windows/12", json={"assign": "nobody"}), 404)
    r = boss.patch("/api/manage/windows/12", json={"assign": "li"})
    assert r.status_code == 200, r.text
    assert login(server, "li", 12).status_code == 200
    assert_error(login(server, "wu", 12), 403, "needs_manager")
    rows = audit_rows(server)
    assert any(r["action"] == "window.assign" and r["target"] == "window:12"
               and r["detail"] == "li" and r["user"] == "boss" for r in rows), rows


def test_counter_page_says_why_the_clerk_was_pushed_out(hall_server: HallServer,
                                                        new_page: Any) -> None:
    hall_server.add_user("clerk3", "clerk", PASSWORD)
    pad = new_page(1280, 800)
    login_counter(pad, hall_server.url, "clerk3", 3)
    expect(pad.locator("#win-state")).to_have_text("空闲，可叫号")
    boss = manager(hall_server)
    assert boss.patch("/api/manage/windows/3", json={"force_logout": True}).status_code == 200
    # the window.closed event makes the page look; it shows the reason, no click needed
    expect(pad.locator("#login")).to_be_visible()
    expect(pad.locator("#login-msg")).to_contain_text(FORCED)
    pad.reload()
    expect(pad.locator("#login-msg")).to_contain_text(FORCED)


def test_chief_windows_are_flagged_on_screens(hall_server: HallServer, new_page: Any) -> None:
    """config.toml: window 4 is the 首席事务代表 window."""
    windows = httpx.get(hall_server.url + "/api/hall").json()["windows"]
    assert [w["number"] for w in windows if w["chief"]] == [4]
    screen = new_page(1920, 1080)
    screen.goto(hall_server.url + "/screen/window/4")
    expect(screen.locator("header")).to_contain_text("首席事务代表")
    screen.goto(hall_server.url + "/screen/window/3")
    expect(screen.locator("header")).not_to_contain_text("首席事务代表")
    screen.goto(hall_server.url + "/screen")
    expect(screen.locator("#chiefs")).to_contain_text("首席事务代表")
    expect(screen.locator("#chiefs")).to_contain_text("4号窗口")


def test_escalated_complaint_goes_to_the_chief_window_of_its_service(
        hall_server: HallServer) -> None:
    """交办 to a 首席事务代表: the case lands at the chief window serving the service's queue
    (window 4 serves 不动产登记 and 税务), whose clerk lists it; other clerks do not."""
    server = hall_server
    r = httpx.post(server.url + "/api/complaints", json={
        "description": "不动产转移登记材料被退回三次", "service": "bdc-transfer",
        "contact": "13812345678"})
    assert r.status_code == 201, r.text
    boss = manager(server)
    case = boss.get("/api/manage/complaints").json()["complaints"][0]["id"]
    base = f"/api/manage/complaints/{case}"
    assert boss.post(base + "/assess", json={"class": "complex"}).status_code == 200
    r = boss.post(base + "/assign", json={"department": "不动产登记中心", "chief": True})
    assert r.status_code == 200, r.text
    assert (r.json()["chief_window"], r.json()["chief_window_name"]) == (4, "4号窗口")
    assert "4号窗口" in r.json()["timeline"][-1]["note"]

    chief = server.clerk(4)
    cases = chief.get("/api/windows/4/cases")
    assert cases.status_code == 200, cases.text
    [listed] = cases.json()["cases"]
    assert listed["description"] == "不动产转移登记材料被退回三次"
    assert listed["service_name"] and "13812345678" not in cases.text and "contact" not in listed
    other = server.clerk(3)
    assert other.get("/api/windows/3/cases").json()["cases"] == []
    assert_error(other.get("/api/windows/4/cases"), 403)
    assert_error(httpx.get(server.url + "/api/windows/4/cases"), 401)


def test_chief_window_rule() -> None:
    """The service's queue decides first, then the queues of the window where the case
    arose; no match leaves the case with the department (no window)."""
    from hall.cases import chief_window_for
    from hall.config import load_config
    from tests.conftest import DEMO_CONFIG
    config = load_config(DEMO_CONFIG)
    assert chief_window_for(config, "tax-invoice", None) == 4  # 税务 is served at window 4
    assert chief_window_for(config, "yibao-card", 3) == 4  # no chief for 医保; window 3: 不动产
    assert chief_window_for(config, "yibao-card", 1) is None
    assert chief_window_for(config, None, None) is None
    assert chief_window_for(config, "no-such-service", 99) is None


def test_manager_page_forces_a_logout_and_assigns_the_complaint_window(
        hall_server: HallServer, new_page: Any) -> None:
    clerk = hall_server.clerk(5)
    hall_server.add_user("li", "clerk")
    manager(hall_server)
    page = new_page(1920, 1080)
    page.goto(hall_server.url + "/manage")
    page.fill("#l-user", "boss")
    page.fill("#l-pass", PASSWORD)
    page.click("#l-submit")
    page.on("dialog", lambda d: d.accept("li") if d.type == "prompt" else d.accept())
    page.get_by_role("button", name="帮办代办窗口 强制下线").click()
    expect(page.locator("#mw tr[data-window='5'] td").nth(2)).to_have_text("—")
    assert_error(clerk.get("/api/windows/5"), 401, "session_ended")
    page.get_by_role("button", name="办不成事反映窗口 指派工作人员").click()
    expect(page.locator("#mw tr[data-window='12']")).to_contain_text("指派：li")
    assert login(hall_server, "li", 12).status_code == 200
