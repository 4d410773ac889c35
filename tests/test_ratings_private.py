"""好差评 stays private, and appeals, call-backs, fix ratings and indicators count right
(issue 8, items 13 and 14), against a real `hall serve`, real WebSocket clients and the real
SQLite file.

What a clerk could learn is checked from the clerk's side: everything public (`/ws`, its
replay) and their own figures (`/api/windows/{n}/ratings`); what a manager must still get is
checked on the authenticated channel `/ws/manage`.
"""

from __future__ import annotations

import asyncio
import json
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
import websockets
from hypothesis import given
from hypothesis import strategies as st

from hall.auth import COOKIE
from hall.ratings import released
from tests.conftest import HallServer, roomy_config
from tests.test_feedback_api import manager, rate, serve

TZ = ZoneInfo("Asia/Shanghai")
PRIVATE_WORDS = ("level", "非常不满意", "不满意", "rating.recorded", "alarm.bad_rating",
                 "rectification")


async def _collect(ws: Any, quiet: float = 0.6) -> list[dict[str, Any]]:
    out = []
    while True:
        try:
            out.append(json.loads(await asyncio.wait_for(ws.recv(), quiet)))
        except TimeoutError:
            return out


def _manage_ws_url(server: HallServer) -> str:
    return server.ws_url + "/manage"


def _cookie(client: httpx.Client) -> dict[str, str]:
    return {"Cookie": f"{COOKIE}={client.cookies.get(COOKIE)}"}


def test_no_rating_on_the_public_stream_but_managers_get_them(hall_server: HallServer) -> None:
    server = hall_server
    clerk = server.clerk(1)
    boss = manager(server)
    tablet = server.tablet(1)  # window 1's enrolled rating tablet (issue 9.1)

    async def scenario() -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[str]]:
        public = await websockets.connect(server.ws_url)
        private = await websockets.connect(_manage_ws_url(server),
                                           additional_headers=_cookie(boss))
        await _collect(public, 0.3)
        await _collect(private, 0.3)
        a = await asyncio.to_thread(serve, server, clerk)
        r = await asyncio.to_thread(tablet.post, "/api/evaluate/1",
                                    json={"number": a["number"], "level": 1})
        assert r.status_code == 201, r.text
        b = await asyncio.to_thread(serve, server, clerk)
        r = await asyncio.to_thread(rate, server, b["token"], level=5)
        assert r.status_code == 201, r.text
        got_public = await _collect(public)
        got_private = await _collect(private)
        await public.close()
        await private.close()
        replay = []  # a screen reconnecting from 0 replays the durable log, filtered the same
        async with websockets.connect(server.ws_url + "?since=0") as ws:
            replay = [json.dumps(m, ensure_ascii=False) for m in await _collect(ws)]
        return got_public, got_private, replay

    got_public, got_private, replay = asyncio.run(scenario())
    public_text = json.dumps(got_public, ensure_ascii=False) + "".join(replay)
    for word in PRIVATE_WORDS:
        assert word not in public_text, word
    # the public stream still says a ticket was rated (the tablet and the phone page need it)
    rated = [m for m in got_public if m["type"] == "ticket.rated"]
    assert [m["data"]["window"] for m in rated] == [1, 1]
    # the manager's channel gets each rating, the 差评 as an alarm with its level
    types = [m["type"] for m in got_private]
    assert types.count("alarm.bad_rating") == 1 and types.count("rating.recorded") == 1
    alarm = next(m for m in got_private if m["type"] == "alarm.bad_rating")
    assert (alarm["data"]["window"], alarm["data"]["level"]) == (1, 1)
    # a 差评 is one event, as a good rating is: no gap in the public seq tells them apart
    assert [m["seq"] for m in got_public] == [m["seq"] for m in got_private]


def test_manage_stream_refuses_anonymous_and_clerks(hall_server: HallServer) -> None:
    server = hall_server
    clerk = server.clerk(1)

    async def refused(headers: dict[str, str] | None) -> int:
        with pytest.raises(websockets.exceptions.InvalidStatus) as err:
            async with websockets.connect(_manage_ws_url(server),
                                          additional_headers=headers) as ws:
                await ws.recv()
        return err.value.response.status_code

    assert asyncio.run(refused(None)) == 403
    assert asyncio.run(refused(_cookie(clerk))) == 403
    assert asyncio.run(refused({"Cookie": f"{COOKIE}=forged"})) == 403
    boss = manager(server)
    assert asyncio.run(refused({**_cookie(boss), "Origin": "http://evil.example"})) == 403


def _backdate(server: HallServer, when: datetime) -> None:
    """Move every rating to `when`, as if given then (the figures are by rating time)."""
    server.rows("UPDATE ratings SET rated_at = ?", (when.timestamp(),))


def test_clerk_learns_nothing_from_one_rating(hall_server: HallServer) -> None:
    server = hall_server
    clerk = server.clerk(1)
    before = clerk.get("/api/windows/1/ratings").json()
    t = serve(server, clerk)
    assert rate(server, t["token"], level=1).status_code == 201
    after = clerk.get("/api/windows/1/ratings").json()
    assert after == before  # nothing the clerk can read changed
    assert after["min_ratings"] >= 2

    # from the next day on, and only once N ratings are in, the clerk sees the aggregate
    n = after["min_ratings"]
    for _ in range(n - 1):
        t = serve(server, clerk)
        assert rate(server, t["token"], level=5).status_code == 201
    today = datetime.now(TZ).date()
    earlier = today - timedelta(days=2)
    _backdate(server, datetime.combine(earlier, time(10), TZ))
    key = "month" if earlier.month == today.month else "last_month"
    seen = clerk.get("/api/windows/1/ratings").json()
    figures = seen[key]
    assert figures["count"] == n and figures["bad"] == 1
    assert figures["through"] == earlier.isoformat()

    # one more rating, the next day, is alone in its batch: nothing moves for it
    t = serve(server, clerk)
    assert rate(server, t["token"], level=2).status_code == 201
    server.rows("UPDATE ratings SET rated_at = ? WHERE level = 2",
                (datetime.combine(today - timedelta(days=1), time(11), TZ).timestamp(),))
    assert clerk.get("/api/windows/1/ratings").json() == seen


def _walk(boss: httpx.Client, case: int, *steps: tuple[str, dict[str, Any]]) -> dict[str, Any]:
    view: dict[str, Any] = {}
    for action, body in steps:
        r = boss.post(f"/api/manage/rectifications/{case}/{action}", json=body)
        assert r.status_code == 200, r.text
        view = r.json()
    return view


def test_upheld_appeal_leaves_the_figures_and_ranking(hall_server: HallServer) -> None:
    server = hall_server
    boss = manager(server)
    one, two = server.clerk(1), server.clerk(2)
    for clerk, window, level in ((one, 1, 5), (one, 1, 1), (two, 2, 4)):
        t = serve(server, clerk, window)
        assert rate(server, t["token"], level=level).status_code == 201
    before = boss.get("/api/manage/figures").json()
    assert before["ratings"]["bad_rate"] == round(1 / 3, 4)
    assert [w["window"] for w in before["ranking"][0]["windows"]] == [2, 1]

    case = boss.get("/api/manage/rectifications").json()["rectifications"][0]["id"]
    _walk(boss, case, ("callback", {"note": "已联系"}),
          ("classify", {"classification": "appeal", "note": "评价器误触"}),
          ("fix", {"measures": "调取录像核实", "upheld": True}))
    after = boss.get("/api/manage/figures").json()
    assert after["ratings"]["bad_rate"] == 0.0 and after["ratings"]["count"] == 2
    assert after["rectifications"]["appeals_upheld"] == 1
    ranking = after["ranking"][0]["windows"]
    assert [(w["window"], w["average"], w["bad"]) for w in ranking] == [(1, 5.0, 0), (2, 4.0, 0)]


def test_callback_that_reached_nobody_is_not_done(hall_server: HallServer) -> None:
    server = hall_server
    boss = manager(server)
    t = serve(server, server.clerk(1))
    assert rate(server, t["token"], level=2).status_code == 201
    case = boss.get("/api/manage/rectifications").json()["rectifications"][0]["id"]
    view = _walk(boss, case, ("callback", {"note": "电话无人接听", "reached": False}))
    assert (view["status"], view["status_name"]) == ("unreached", "回访未联系上")
    assert view["called_back_at"] is None and view["next_due"] == view["callback_due"]
    assert {"callback", "classify"} <= set(view["actions"])  # try again, or go on to fix
    assert view["timeline"][-1]["step_name"] == "回访未联系上"
    figures = boss.get("/api/manage/figures").json()["rectifications"]
    assert (figures["called_back"], figures["callback_rate"]) == (0, 0.0)
    view = _walk(boss, case, ("callback", {"note": "已联系上，群众说明情况"}))
    assert view["status"] == "called_back"
    assert boss.get("/api/manage/figures").json()["rectifications"]["callback_rate"] == 1.0


def test_citizen_rates_the_fix_from_the_phone_route(hall_server: HallServer) -> None:
    server = hall_server
    boss = manager(server)
    t = serve(server, server.clerk(1))
    assert rate(server, t["token"], level=1).status_code == 201
    url = f"{server.url}/api/tickets/{t['token']}/follow-up"
    assert httpx.get(url).json()["rectification"]["review_open"] is False
    r = httpx.post(url.replace("follow-up", "fix-rating"), json={"view": "satisfied"})
    assert r.status_code == 409  # nothing fixed yet to rate
    case = boss.get("/api/manage/rectifications").json()["rectifications"][0]["id"]
    _walk(boss, case, ("callback", {"note": "已联系"}),
          ("classify", {"classification": "fix_now"}),
          ("fix", {"measures": "窗口增派人手"}),
          ("feedback", {"note": "已增派人手，欢迎再来"}))
    mine = httpx.get(url).json()["rectification"]
    assert mine["review_open"] is True and mine["feedback"] == "已增派人手，欢迎再来"
    r = httpx.post(url.replace("follow-up", "fix-rating"), json={"view": "unsatisfied"})
    assert r.status_code == 201, r.text
    view = boss.get(f"/api/manage/rectifications/{case}").json()
    assert (view["status"], view["view"]) == ("reviewed", "unsatisfied")
    assert "reopen" in view["actions"]
    again = httpx.post(url.replace("follow-up", "fix-rating"), json={"view": "satisfied"})
    assert again.status_code == 409
    # another ticket's token reaches nothing of this case
    other = server.issue()
    assert httpx.get(f"{server.url}/api/tickets/{other['token']}/follow-up").json()[
        "rectification"] is None


def test_indicators_are_optional_stored_and_in_the_figures(hall_server: HallServer) -> None:
    server = hall_server
    clerk = server.clerk(1)
    a = serve(server, clerk)
    r = server.tablet(1).post("/api/evaluate/1", json={
        "number": a["number"], "level": 4, "indicators": {"overall": 4, "attitude": 5}})
    assert r.status_code == 201, r.text
    b = serve(server, clerk)
    assert rate(server, b["token"], level=5, indicators={"overall": 5}).status_code == 201
    form = httpx.get(f"{server.url}/api/evaluate/1").json()
    assert [i["name"] for i in form["indicators"]] == ["整体满意度", "服务效率", "服务水平",
                                                        "服务态度"]
    figures = manager(server).get("/api/manage/figures").json()["ratings"]["indicators"]
    assert figures == {"overall": 4.5, "efficiency": None, "quality": None, "attitude": 5.0}


def test_phone_route_tells_reason_case_and_missed_number(hall_server: HallServer) -> None:
    server = hall_server
    clerk = server.clerk(1)

    def follow_up(token: str) -> dict[str, Any]:
        return httpx.get(f"{server.url}/api/tickets/{token}/follow-up").json()

    t = server.issue()
    clerk.post("/api/windows/1/call", json={"number": t["number"]}).raise_for_status()
    clerk.post("/api/windows/1/finish", json={"outcome": "rejected",
                                              "note": "缺少户口本原件"}).raise_for_status()
    assert follow_up(t["token"])["reason"] == "缺少户口本原件"

    t = server.issue()
    clerk.post("/api/windows/1/call", json={"number": t["number"]}).raise_for_status()
    clerk.post("/api/windows/1/finish", json={"outcome": "failed",
                                              "note": "系统故障"}).raise_for_status()
    cases = follow_up(t["token"])["complaints"]
    assert len(cases) == 1 and cases[0]["reference"].startswith("BC")
    assert cases[0]["status_name"] == "受理"
    # the case is open: a second complaint for the same ticket is refused
    r = httpx.post(f"{server.url}/api/complaints", json={"description": "再反映一次",
                                                         "ticket": t["token"]})
    assert r.status_code == 409 and r.json()["error"]["code"] == "complaint_open"

    t = server.issue()
    clerk.post("/api/windows/1/call", json={"number": t["number"]}).raise_for_status()
    clerk.post("/api/windows/1/skip").raise_for_status()
    assert follow_up(t["token"])["missed"] == {"times": 1, "requeued": True, "voided": False}
    clerk.post("/api/windows/1/call", json={"number": t["number"]}).raise_for_status()
    clerk.post("/api/windows/1/skip").raise_for_status()
    assert follow_up(t["token"])["missed"] == {"times": 2, "requeued": False, "voided": True}


def test_manage_stream_ends_with_the_session(tmp_path: Any) -> None:
    """A manager who logs out (or is deactivated) stops getting ratings at the next heartbeat."""
    server = HallServer(tmp_path, roomy_config(tmp_path, ws_heartbeat_seconds=1))
    server.start()
    try:
        boss = manager(server)

        async def scenario() -> None:
            async with websockets.connect(_manage_ws_url(server),
                                          additional_headers=_cookie(boss)) as ws:
                assert json.loads(await asyncio.wait_for(ws.recv(), 5))["type"] == "snapshot"
                await asyncio.to_thread(boss.post, "/api/logout")
                with pytest.raises(websockets.exceptions.ConnectionClosed):
                    while True:  # pings until the next heartbeat finds the session gone
                        await asyncio.wait_for(ws.recv(), 5)

        asyncio.run(scenario())
    finally:
        server.stop()


@given(st.lists(st.tuples(st.integers(1, 20), st.integers(1, 5)), max_size=60),
       st.integers(1, 8))
def test_clerk_figures_only_ever_move_by_n_ratings(ratings: list[tuple[int, int]],
                                                   minimum: int) -> None:
    """Looking at the figures after each day: every change adds `minimum` ratings or more."""
    rows = [(f"2026-11-{day:02d}", level) for day, level in ratings]
    seen = 0
    for day in range(1, 21):
        levels, through = released([r for r in rows if r[0] <= f"2026-11-{day:02d}"], minimum)
        assert len(levels) == seen or len(levels) - seen >= minimum
        assert (through is None) == (not levels)
        seen = len(levels)
