"""The accounts page, the forced password change and the audit page in a real Chromium against
a real server (issue 10.3, 10.6).

What an admin and an auditor would check first: the admin resets a clerk's password on the
accounts page (after a confirm step) and reads the temporary password once; the clerk logs in
on the counter pad with it and can do nothing before choosing a new one (the page checks the
rules in Chinese); with the new password the pad works. A manager the admin adds on the page
meets the same form on /manage. The auditor's login lands on the audit log with only its own
link; the log lists the reset, the chain reads 完整, and once a row is edited with the sqlite3
shell the page names that row.
"""

from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import Page, expect

from tests.browser import PASSWORD, login_counter
from tests.conftest import HallServer
from tests.test_audit import _sqlite3_shell


def _manager_login(page: Page, server: HallServer, path: str, user: str,
                   password: str = PASSWORD) -> None:
    page.goto(server.url + path)
    page.fill("#l-user", user)
    page.fill("#l-pass", password)
    page.click("#l-submit")


def _accounts(new_page: Any, server: HallServer) -> Page:
    server.ensure_user("root", "admin")
    page = new_page(1920, 1080)
    _manager_login(page, server, "/manage/accounts", "root")
    expect(page.locator("#users tr").first).to_be_visible()
    return page


def _change_password(page: Page, old: str, new: str) -> None:
    page.fill("#pw-old", old)
    page.fill("#pw-new", new)
    page.fill("#pw-again", new)
    page.click("#pw-submit")


def test_admin_resets_a_password_and_the_clerk_must_change_it(
        hall_server: HallServer, new_page: Any) -> None:
    hall_server.add_user("xiao", "clerk")
    admin = _accounts(new_page, hall_server)
    row = admin.locator('#users tr[data-user="xiao"]')
    expect(row).to_contain_text("窗口人员")
    # the confirm step: 取消 changes nothing
    row.get_by_role("button", name="重置密码 xiao").click()
    expect(admin.locator("#confirm")).to_be_visible()
    expect(admin.locator("#cf-text")).to_contain_text("立即退出")
    admin.click("#cf-no")
    expect(admin.locator("#confirm")).to_be_hidden()
    expect(admin.locator("#temp")).to_be_hidden()
    row.get_by_role("button", name="重置密码 xiao").click()
    admin.click("#cf-yes")
    expect(admin.locator("#temp")).to_be_visible()
    temporary = admin.locator("#temp-word").inner_text().strip()
    assert re.fullmatch(r"[A-Za-z2-9]{12}", temporary)
    expect(row.locator(".acc-state")).to_contain_text("须修改密码")
    admin.click("#temp-done")  # shown once: gone from the page
    expect(admin.locator("#temp")).to_be_hidden()
    assert temporary not in admin.content()

    hall_server.issue()
    pad = new_page(1280, 800)
    login_counter(pad, hall_server.url, "xiao", 1, PASSWORD)  # the old password is gone
    expect(pad.locator("#login-msg")).to_have_text("用户名或密码错误")
    login_counter(pad, hall_server.url, "xiao", 1, temporary)
    expect(pad.locator("#pw")).to_be_visible()
    expect(pad.locator("#pw-why")).to_contain_text("管理员设置")
    expect(pad.locator("#pad")).to_be_hidden()
    expect(pad.locator("#pw-cancel")).to_be_hidden()
    # nothing else works meanwhile: the API refuses the pad's own steps
    refused = pad.request.post(hall_server.url + "/api/windows/1/call")
    assert refused.status == 403
    assert refused.json()["error"]["message"] == "请先修改密码后再继续操作"
    # the page's own Chinese checks, beside the field
    _change_password(pad, temporary, "abcdefghijk")
    expect(pad.locator("#pw-new-problem")).to_have_text(
        "密码至少要包含大写字母、小写字母、数字、符号中的两类")
    pad.fill("#pw-new", "Lotus-pond-42")
    pad.fill("#pw-again", "Lotus-pond-43")
    pad.click("#pw-submit")
    expect(pad.locator("#pw-again-problem")).to_have_text("两次输入的新密码不一致")
    # the server's own rule (a common password), said beside the form
    _change_password(pad, temporary, "Password123")
    expect(pad.locator("#pw-msg")).to_contain_text("常见的弱密码")
    _change_password(pad, temporary, "Lotus-pond-42")
    expect(pad.locator("#pad")).to_be_visible()
    expect(pad.locator("#pw")).to_be_hidden()
    pad.keyboard.press("n")
    expect(pad.locator("#cur-number")).to_have_text("A001")

    # the new password is the one that works from now on, straight to the pad
    again = new_page(1280, 800)
    pad.click("#logout")
    login_counter(again, hall_server.url, "xiao", 1, "Lotus-pond-42")
    expect(again.locator("#pad")).to_be_visible()
    expect(again.locator("#pw")).to_be_hidden()


def test_a_manager_added_on_the_page_changes_the_password_first(
        hall_server: HallServer, new_page: Any) -> None:
    admin = _accounts(new_page, hall_server)
    admin.fill("#a-user", "qian")
    admin.select_option("#a-role", "manager")
    admin.fill("#a-pass", "qian-2026-ab")  # the page refuses it as the server would
    admin.click("#a-submit")
    expect(admin.locator("#a-pass-problem")).to_have_text("密码不能与用户名相同，也不能包含用户名")
    admin.fill("#a-pass", "")
    admin.click("#a-submit")
    expect(admin.locator("#m-msg")).to_have_text("已添加用户 qian（管理员）")
    temporary = admin.locator("#temp-word").inner_text().strip()
    expect(admin.locator('#users tr[data-user="qian"]')).to_contain_text("须修改密码")

    boss = new_page(1920, 1080)
    _manager_login(boss, hall_server, "/manage", "qian", temporary)
    expect(boss.locator("#pw")).to_be_visible()
    expect(boss.locator("#view")).to_be_hidden()
    expect(boss.locator("#mnav")).to_be_hidden()
    _change_password(boss, temporary, "Willow-Bank-77")
    expect(boss.locator("#view")).to_be_visible()
    expect(boss.locator("#me li").first).to_be_visible()  # the live view works
    # a manager sees the hall's pages, not the admin's nor the auditor's
    links = boss.locator("#mnav li:not([hidden]) a")
    expect(links).to_contain_text(["实时", "好差评", "差评整改", "办不成事"])
    expect(boss.locator("#mnav li:not([hidden]) a", has_text="账号管理")).to_have_count(0)
    expect(boss.locator("#mnav li:not([hidden]) a", has_text="审计日志")).to_have_count(0)
    # the admin deactivates the account (after confirming): the manager's page stops at once
    row = admin.locator('#users tr[data-user="qian"]')
    row.get_by_role("button", name="停用 qian").click()
    admin.click("#cf-yes")
    expect(row.locator(".acc-state")).to_contain_text("已停用")
    boss.reload()
    expect(boss.locator("#login")).to_be_visible()
    expect(boss.locator("#login-msg")).to_contain_text("停用")


def test_the_audit_page_lists_actions_and_names_an_edited_row(
        hall_server: HallServer, new_page: Any) -> None:
    hall_server.add_user("wang", "clerk")
    admin = _accounts(new_page, hall_server)
    admin.locator('#users tr[data-user="wang"]').get_by_role(
        "button", name="重置密码 wang").click()
    admin.click("#cf-yes")
    expect(admin.locator("#temp")).to_be_visible()

    hall_server.add_user("audit", "auditor")
    page = new_page(1920, 1080)
    _manager_login(page, hall_server, "/manage", "audit")  # lands on its one page
    page.wait_for_url("**/manage/audit")
    expect(page.locator("#view")).to_be_visible()
    expect(page.locator("#mnav li:not([hidden]) a")).to_have_text(["审计日志"])
    expect(page.locator("#alarms")).to_be_hidden()
    expect(page.locator("#chain")).to_contain_text("完整")
    expect(page.locator("#rows tr").first).to_be_visible()
    page.select_option("#f-action", "user.reset_password")
    page.click("#f-submit")
    row = page.locator("#rows tr").first
    expect(row).to_contain_text("重置密码")
    expect(row).to_contain_text("root")
    expect(row).to_contain_text("wang")
    expect(page.locator("#rows tr")).to_have_count(1)
    assert "action=user.reset_password" in page.url  # the filters stay in the address
    expect(page.locator("#csv")).to_have_attribute("href", re.compile("format=csv"))

    _sqlite3_shell(hall_server.db, "DROP TRIGGER audit_no_update;\n"
                   "UPDATE audit SET detail = 'nothing happened' WHERE id = 2;\n")
    page.click("#chain-again")
    expect(page.locator("#chain")).to_contain_text("第2条记录被修改或其前一条被删除（第2条）")
    expect(page.locator("#chain")).to_contain_text("触发器已被移除")
    expect(page.locator("#chain")).to_have_attribute("data-ok", "0")
