"""A counter without a networked PC (issue 8.17): the clerk logs in and out on the caller pad.

A real `hall serve` child process drives caller pads simulated on a real pty pair
(tests/devsim.py decodes and builds the frames with its own code). Window 2 has pad address 2,
window 3 pad address 3; each test uses its own clerks.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import DEMO_CONFIG, HallServer
from tests.devsim import PadBusSim, wait_for
from tests.test_server import assert_error


@pytest.fixture(scope="module")
def rig(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[HallServer, PadBusSim]]:
    tmp = tmp_path_factory.mktemp("padlogin")
    pads = PadBusSim(addresses=(2, 3))
    config = tmp / "config.toml"
    config.write_text(DEMO_CONFIG.read_text(encoding="utf-8") + "".join(f"""
[[devices]]
kind = "caller"
name = "pad-{n}"
url = "{pads.path}"
address = {n}
window = {n}
""" for n in (2, 3)), encoding="utf-8")
    server = HallServer(tmp, config)
    try:
        server.start()
        yield server, pads
    finally:
        server.stop()
        pads.close()


def manager(server: HallServer) -> httpx.Client:
    server.ensure_user("boss", "manager")
    return server.login("boss", None)


def clerk_at(server: HallServer, window: int) -> str | None:
    rows = manager(server).get("/api/manage/windows").json()["windows"]
    return next(w["clerk"] for w in rows if w["number"] == window)


def audit(server: HallServer) -> list[dict]:
    server.ensure_user("audit", "auditor")
    return server.login("audit", None).get("/api/manage/audit").json()["audit"]


def test_clerk_logs_in_on_the_pad_shares_the_window_with_the_web_and_logs_out(
        rig: tuple[HallServer, PadBusSim]) -> None:
    server, pads = rig
    pad = pads.pads[2]
    server.add_user("wang", "clerk", staff_no="1023", pin="4711")
    server.add_user("li", "clerk", staff_no="2001", pin="2222")
    ticket = server.issue("yibao-card")
    pads.press(2, "call")  # nobody logged in yet
    assert wait_for(lambda: pad.errors == ["E01"]), pad

    pads.login(2, "1023", "4711")
    assert wait_for(lambda: pad.status == ["OK"]), pad
    assert clerk_at(server, 2) == "wang"
    time.sleep(1.6)  # past the debounce of the first CALL: this is a second, real press
    pads.press(2, "call")
    assert wait_for(lambda: pad.display == ("001", 0)), pad
    assert httpx.get(f"{server.url}/api/tickets/{ticket['token']}").json()["state"] == "called"

    # the same clerk on the web page at the same window: both work, on the same ticket
    web = server.login("wang", 2)
    assert web.post("/api/windows/2/start").status_code == 200
    pads.press(2, "finish")
    assert wait_for(lambda: httpx.get(
        f"{server.url}/api/tickets/{ticket['token']}").json()["state"] == "done")
    # a different clerk is refused, on the web and on the pad
    assert_error(httpx.post(server.url + "/api/login", json={
        "username": "li", "password": "Tulip-7741-q", "window": 2}), 409, "window_in_use")
    pads.login(2, "2001", "2222")
    assert wait_for(lambda: pad.errors[-1:] == ["E10"]), pad
    assert clerk_at(server, 2) == "wang"

    # LOGOUT on the pad: the clerk leaves the window, the web page is told why
    pads.press(2, "logout")
    assert wait_for(lambda: pad.status[-1:] == ["BYE"]), pad
    assert clerk_at(server, 2) is None
    error = assert_error(web.get("/api/windows/2"), 401, "session_ended")
    assert "退出" in error["message"]
    server.issue("yibao-card")
    errors_before = len(pad.errors)
    time.sleep(1.6)  # past the debounce of the last CALL, however fast the steps above ran
    pads.press(2, "call")
    assert wait_for(lambda: pad.errors[errors_before:] == ["E01"]), pad

    rows = sorted((r for r in audit(server) if r["source"] == "caller:pad-2"),
                  key=lambda r: r["id"])
    assert [(r["user"], r["action"], r["success"]) for r in rows if r["action"] in (
        "login", "logout", "call")] == [
        ("wang", "login", 1), ("wang", "call", 1), ("li", "login", 0), ("wang", "logout", 1)]


def test_wrong_pins_lock_the_account_on_that_pad_only(
        rig: tuple[HallServer, PadBusSim]) -> None:
    """Lockout counts per (name, place), as for passwords (hall/lockout.py): five wrong PINs
    lock the account on that pad, with back-off; the clerk's own PC still logs in, so nobody
    at a pad can lock a colleague out of the hall."""
    server, pads = rig
    pad = pads.pads[3]
    server.add_user("zhou", "clerk", staff_no="3003", pin="123456")
    pads.login(3, "9999", "1111")  # nobody has this staff number
    assert wait_for(lambda: pad.errors == ["E07"]), pad
    for wrong in ("0001", "0002", "0003", "0004"):
        pads.login(3, "3003", wrong)
    assert wait_for(lambda: pad.errors == ["E07"] * 5), pad
    pads.login(3, "3003", "0005")  # the fifth wrong PIN locks the account
    assert wait_for(lambda: pad.errors[-1:] == ["E08"]), pad
    pads.login(3, "3003", "123456")  # even the right PIN is refused now
    assert wait_for(lambda: pad.errors[-2:] == ["E08", "E08"]), pad
    time.sleep(0.2)
    assert pad.status == [] and clerk_at(server, 3) is None
    web = httpx.post(server.url + "/api/login", json={
        "username": "zhou", "password": "Tulip-7741-q", "window": 3})
    assert web.status_code == 200, web.text


def test_user_add_refuses_a_bad_pin(tmp_path: Path) -> None:
    server = HallServer(tmp_path)
    with pytest.raises(RuntimeError, match="4至8位数字"):
        server.add_user("ma", "clerk", staff_no="5005", pin="12a")
    server.add_user("ma", "clerk", staff_no="5005", pin="1234")
    with pytest.raises(RuntimeError, match="工号 5005 已被使用"):
        server.add_user("niu", "clerk", staff_no="5005", pin="1234")


def test_a_reset_password_must_be_changed_on_a_pc_before_the_pad_logs_in(
        rig: tuple[HallServer, PadBusSim]) -> None:
    """The pad's PIN does not get round a password an admin reset (issue 10.3): E11, until the
    clerk has logged in on a PC and chosen a new password."""
    server, pads = rig
    pad = pads.pads[3]
    freed = manager(server).patch("/api/manage/windows/3", json={"force_logout": True})
    assert freed.status_code == 200, freed.text  # (an earlier test's clerk may be there)
    server.add_user("qin", "clerk", staff_no="4004", pin="8642")
    server.ensure_user("root", "admin")
    reset = server.login("root", None).patch("/api/manage/users/qin",
                                             json={"reset_password": True})
    assert reset.status_code == 200, reset.text
    errors_before = len(pad.errors)
    pads.login(3, "4004", "8642")
    assert wait_for(lambda: pad.errors[errors_before:] == ["E11"]), pad
    assert clerk_at(server, 3) is None
    web = server.login("qin", 3, reset.json()["temporary_password"])  # the PC at window 3
    assert web.post("/api/password", json={"old": reset.json()["temporary_password"],
                                           "new": "Chestnut-55a"}).status_code == 200
    time.sleep(1.6)  # past the pad's debounce of the same key
    pads.login(3, "4004", "8642")
    assert wait_for(lambda: pad.status[-1:] == ["OK"]), pad
    assert clerk_at(server, 3) == "qin"
    refused = [r for r in audit(server) if r["user"] == "qin" and r["action"] == "login"
               and not r["success"]]
    assert refused[0]["detail"] == "password_change_required"
