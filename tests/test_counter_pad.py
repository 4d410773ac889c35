"""The counter pad offers what the window's state allows, says the next step, and keeps the
keyboard focus visibly apart from that suggestion (issue 8 item 10, the page half).

Window states walked on a real server: idle, called, serving, held (idle with a number held for
call-back), paused; "closed" cannot be reached by a pad that is logged in today (a forced logout
is the `pads` helper's), so the real answer of GET /api/windows/1 is taken and only its state
set to closed before the page sees it.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any

import httpx
from playwright.sync_api import Page, Route, expect

from tests.browser import PASSWORD, login_counter
from tests.conftest import HallServer

ROOT = Path(__file__).resolve().parent.parent
OUTCOMES = ["done", "accepted", "accepted_missing", "rejected", "failed"]
FINISH = [f"finish:{o}" for o in OUTCOMES]
EXPECTED = {
    "closed": ([], "窗口未开"),
    "idle": (["call", "callnumber", "pause"], "按 N 叫下一位"),
    "held": (["call", "callnumber", "callback", "pause"], "按 B 回呼挂起的号"),
    "called": (["recall", "start", "skip", "hold", "transfer", *FINISH], "按 S 开始办理"),
    "serving": (["hold", "transfer", *FINISH], "按 1–5 选择办理结果"),
    "paused": (["resume"], "暂停服务中，按 U 恢复服务"),
}
SUGGESTED = {"idle": "call", "held": "call", "called": "start", "serving": "finish:done",
             "paused": "resume"}


def _buttons(pad: Page) -> dict[str, Any]:
    out = {}
    for b in pad.locator("#pad .actions button[data-op]").all():
        op = b.get_attribute("data-op") or ""
        outcome = b.get_attribute("data-outcome")
        out[f"{op}:{outcome}" if outcome else op] = b
    return out


def _assert_state(pad: Page, state: str) -> None:
    enabled, help_text = EXPECTED[state]
    expect(pad.locator("#help")).to_have_attribute("data-state", state)
    # the step's own answer is in (a refresh may draw the state first): the pad is ready
    expect(pad.locator("body.busy")).to_have_count(0)
    expect(pad.locator("dialog[open]")).to_have_count(0)
    expect(pad.locator("#help")).to_contain_text(help_text)
    buttons = _buttons(pad)
    assert len(buttons) == 15
    now = sorted(k for k, b in buttons.items() if b.is_enabled())
    assert now == sorted(enabled), (state, now)
    primary = sorted(k for k, b in buttons.items()
                     if "primary" in (b.get_attribute("class") or "").split())
    assert primary == ([SUGGESTED[state]] if state in SUGGESTED else []), (state, primary)


def _login(pad: Page, server: HallServer) -> None:
    server.add_user("clerk1", "clerk", PASSWORD)
    login_counter(pad, server.url, "clerk1", 1)
    expect(pad.locator("#pad")).to_be_visible()


def test_pad_enables_only_what_the_state_allows(hall_server: HallServer, new_page: Any) -> None:
    first = hall_server.issue("yibao-card")
    pad = new_page(1280, 900)
    _login(pad, hall_server)
    _assert_state(pad, "idle")
    pad.keyboard.press("s")  # a shortcut for a step the state does not allow is explained
    expect(pad.locator("#pad-msg")).to_have_text("现在不能开始办理：当前没有号票，按 N 叫下一位")

    pad.keyboard.press("n")
    expect(pad.locator("#cur-number")).to_have_text(first["number"])
    _assert_state(pad, "called")
    pad.keyboard.press("s")
    _assert_state(pad, "serving")
    pad.keyboard.press("h")
    _assert_state(pad, "held")
    pad.keyboard.press("b")
    pad.locator("#db-select").press("Enter")
    _assert_state(pad, "called")
    pad.keyboard.press("1")
    _assert_state(pad, "idle")
    pad.keyboard.press("p")
    pad.keyboard.type("午休")
    pad.keyboard.press("Enter")
    _assert_state(pad, "paused")
    pad.keyboard.press("n")
    expect(pad.locator("#pad-msg")).to_contain_text("现在不能叫下一位：暂停服务中")
    pad.keyboard.press("u")
    _assert_state(pad, "idle")

    def closed(route: Route) -> None:
        answer = route.fetch()
        body = answer.json()
        body["window"]["state"] = "closed"
        route.fulfill(response=answer, body=json.dumps(body))

    pad.route("**/api/windows/1", closed)
    pad.reload()
    _assert_state(pad, "closed")


def test_focus_looks_unlike_the_suggested_step(hall_server: HallServer, new_page: Any) -> None:
    pad = new_page(1280, 900)
    _login(pad, hall_server)
    _assert_state(pad, "idle")
    style = """(el) => { const s = getComputedStyle(el);
      return [s.outlineStyle, s.outlineColor, s.borderTopStyle, s.borderTopColor].join('|'); }"""
    call = pad.locator('#pad button[data-op="call"]')
    other = pad.locator('#pad button[data-op="callnumber"]')
    call.focus()
    pad.keyboard.press("Tab")  # a keyboard move: the focus ring shows
    expect(other).to_be_focused()
    focused = other.evaluate(style)
    suggested = call.evaluate(style)
    assert focused.split("|")[0] == "solid" and suggested.split("|")[0] == "none"
    assert suggested.split("|")[2] == "dashed" and focused.split("|")[2] != "dashed"
    assert focused != suggested
    pad.keyboard.press("Shift+Tab")  # focus on the suggestion itself: both marks at once
    expect(call).to_be_focused()
    both = call.evaluate(style).split("|")
    assert both[0] == "solid" and both[2] == "dashed"


def test_readme_key_list_is_the_pads(hall_server: HallServer, new_page: Any) -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("### Counter pad keys", 1)[1].split("\n#", 1)[0]
    listed = dict(re.findall(r"^\| `([^`]+)` \| ([^|]+?) \|$", section, flags=re.M))
    assert len(listed) == 15
    assert not re.search(r"\bF\d{1,2}\b", readme), "the pad has no function keys"
    tour_keys = set(re.findall(r"press `(\w)`|\(`(\w)`\)", readme.split("## How", 1)[0]))
    assert {k for pair in tour_keys for k in pair if k} <= set(listed)

    pad = new_page(1280, 900)
    _login(pad, hall_server)
    on_pad = {}
    for b in pad.locator("#pad .actions button[aria-keyshortcuts]").all():
        key = b.get_attribute("aria-keyshortcuts") or ""
        assert b.locator("kbd").inner_text() == key  # the label shows the key it answers to
        on_pad[key] = b.inner_text().replace(key, "").strip()
    assert on_pad == listed
    help_table = pad.locator(".keys table").inner_text()
    for key, name in listed.items():
        assert name in help_table and key in help_table


def test_a_key_pressed_while_a_step_is_on_its_way_is_not_lost(hall_server: HallServer,
                                                               new_page: Any) -> None:
    """A quick clerk presses S (start) and 1 (办结) in one go: the start's answer is slow (a
    busy hall server), yet the ticket ends 办结 — the second key waits for the first step
    rather than vanishing."""
    ticket = hall_server.issue("bdc-query")
    hall_server.add_user("clerk3", "clerk", PASSWORD)
    pad = new_page(1280, 800)
    login_counter(pad, hall_server.url, "clerk3", 3)
    expect(pad.locator("#win-state")).to_have_text("空闲，可叫号")
    pad.keyboard.press("n")
    expect(pad.locator("#cur-state")).to_have_text("已叫号")

    def slow(route: Route) -> None:
        time.sleep(0.5)
        route.continue_()

    pad.route("**/api/windows/3/start", slow)
    pad.keyboard.press("s")
    pad.keyboard.press("1")
    expect(pad.locator("#cur-none")).to_be_visible()
    expect(pad.locator("#pad-msg")).to_contain_text("办结")
    state = httpx.get(f"{hall_server.url}/api/tickets/{ticket['token']}", timeout=10).json()
    assert state["state"] == "done" and state["outcome"] == "done"
