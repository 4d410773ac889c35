"""好差评 and 办不成事 over HTTP against a real `hall serve` process (real clock, real file)."""

from __future__ import annotations

import asyncio
import json
import re
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import websockets

from tests.conftest import DEMO_CONFIG, HallServer

TZ = ZoneInfo("Asia/Shanghai")
PHONE = "13987654321"
NAME = "赵女士"


def today() -> date:
    return datetime.now(TZ).date()


def walk(start: date, n: int, holidays: set[date], makeup: set[date]) -> date:
    """The due date by hand: step a day at a time, counting the days the hall works."""
    def works(day: date) -> bool:
        return day in makeup or (day.weekday() < 5 and day not in holidays)

    day, counted = start, 0
    while counted < n:
        day += timedelta(days=1)
        counted += works(day)
    return day


def serve(server: HallServer, clerk: httpx.Client, window: int = 1,
          service: str = "yibao-card") -> dict[str, Any]:
    ticket = server.issue(service)
    for step, body in (("call", {"number": ticket["number"]}), ("start", None),
                       ("finish", {"outcome": "done"})):
        r = clerk.post(f"/api/windows/{window}/{step}", json=body)
        assert r.status_code == 200, r.text
    return ticket


def rate(server: HallServer, token: str, **body: Any) -> httpx.Response:
    return httpx.post(f"{server.url}/api/tickets/{token}/rating", json=body, timeout=10)


def manager(server: HallServer, name: str = "boss", role: str = "manager") -> httpx.Client:
    server.add_user(name, role)
    return server.login(name, None)


async def all_ws_messages(server: HallServer, boss: httpx.Client | None = None) -> list[str]:
    """The snapshot a new screen gets, and every event ever published (replayed from 0); with
    a manager's client, on the managers' channel `/ws/manage`."""
    out = []
    url = server.ws_url + ("/manage" if boss is not None else "")
    headers = {"Cookie": f"hall_session={boss.cookies.get('hall_session')}"} if boss else None
    async with websockets.connect(url, additional_headers=headers) as ws:
        out.append(await asyncio.wait_for(ws.recv(), 5))
    async with websockets.connect(url + "?since=0", additional_headers=headers) as ws:
        with_last = await asyncio.wait_for(ws.recv(), 5)
        out.append(with_last)
        while True:
            try:
                out.append(await asyncio.wait_for(ws.recv(), 0.5))
            except TimeoutError:
                return out


def test_bad_rating_case_is_due_across_weekend_and_holiday(tmp_path: Path) -> None:
    day = today()
    weekdays = [day + timedelta(days=i) for i in range(1, 10) if (day + timedelta(days=i))
                .weekday() < 5]
    holidays = set(weekdays[:2])  # the next two weekdays are off
    saturday = next(d for d in (day + timedelta(days=i) for i in range(8, 15))
                    if d.weekday() == 5)
    makeup = {saturday}  # and a later Saturday is worked
    calendar = (f'[workdays]\nholidays = {json.dumps(sorted(map(str, holidays)))}\n'
                f'makeup_days = {json.dumps(sorted(map(str, makeup)))}\n')
    text = re.sub(r"\n\[workdays\]\n.*?(?=\n\[)", "\n" + calendar, DEMO_CONFIG.read_text(
        encoding="utf-8"), flags=re.S)
    config = tmp_path / "config.toml"
    config.write_text(text, encoding="utf-8")
    server = HallServer(tmp_path, config)
    server.start()
    try:
        clerk = server.clerk(1)
        waiting = server.issue()
        r = rate(server, waiting["token"], level=5)
        assert r.status_code == 409 and r.json()["error"]["code"] == "not_served"

        a = serve(server, clerk)
        b = serve(server, clerk)
        # a's token may not name b: the body has no such field, and b stays unrated
        r = rate(server, a["token"], level=1, number=b["number"])
        assert r.status_code == 422 and r.json()["error"]["code"] == "unknown_field"
        r = rate(server, a["token"], level=2, reasons=["等待时间长"], comment="等了很久")
        assert r.status_code == 201, r.text
        assert r.json()["number"] == a["number"]
        assert (r.json()["channel"], r.json()["mode"]) == ("qr_page", "self_initiated")
        follow_up = r.json()["follow_up"]
        t_b = httpx.get(f"{server.url}/api/tickets/{b['token']}").json()
        assert t_b["rated"] is False and t_b["rating_open"] is True
        t_a = httpx.get(f"{server.url}/api/tickets/{a['token']}").json()
        assert t_a["rated"] is True and t_a["rating_open"] is False
        again = rate(server, a["token"], level=5)
        assert again.status_code == 409 and again.json()["error"]["code"] == "already_rated"

        callback_due = walk(day, 1, holidays, makeup)
        fix_due = walk(day, 15, holidays, makeup)
        assert callback_due > max(holidays)  # the holidays were really in the way
        boss = manager(server)
        cases = boss.get("/api/manage/rectifications").json()["rectifications"]
        assert len(cases) == 1
        case = cases[0]
        assert (case["callback_due"], case["fix_due"]) == (str(callback_due), str(fix_due))
        assert follow_up == {"callback_due": str(callback_due), "fix_due": str(fix_due)}
        assert case["number"] == a["number"] and case["status"] == "open"

        # the window tablet: b is pending at window 1 (number only), rated once
        info = httpx.get(f"{server.url}/api/evaluate/1").json()
        assert info["pending"]["number"] == b["number"] and "token" not in json.dumps(info)
        tablet = server.tablet(1)  # only the window's enrolled tablet may rate (issue 9.1)
        r = tablet.post("/api/evaluate/1", json={"number": b["number"], "level": 5,
                                                 "reasons": ["态度好"]})
        assert r.status_code == 201 and r.json()["channel"] == "window_tablet"
        assert httpx.get(f"{server.url}/api/evaluate/1").json()["pending"] is None
        r = tablet.post("/api/evaluate/1", json={"number": b["number"], "level": 5})
        assert r.status_code == 409

        ratings = boss.get("/api/manage/ratings", params={"level": 2}).json()["ratings"]
        assert [x["number"] for x in ratings] == [a["number"]]
        csv = boss.get("/api/manage/ratings", params={"format": "csv"})
        assert csv.headers["content-type"].startswith("text/csv") and "等了很久" in csv.text
        figures = boss.get("/api/manage/figures").json()
        assert figures["ratings"]["count"] == 2 and figures["ratings"]["bad_rate"] == 0.5
        assert clerk.get("/api/manage/ratings").status_code == 403
        mine = clerk.get("/api/windows/1/ratings").json()
        # today's two ratings are not in the clerk's figures yet (tests/test_ratings_private.py)
        assert mine["month"]["count"] == 0 and a["number"] not in json.dumps(mine)
        types = [json.loads(m)["type"] for m in asyncio.run(all_ws_messages(server))]
        assert "alarm.bad_rating" not in types and types.count("ticket.rated") == 2
    finally:
        server.stop()


def test_complaint_walks_to_archive_audited_and_overdue_first(hall_server: HallServer) -> None:
    server = hall_server
    old = httpx.post(f"{server.url}/api/complaints", json={"description": "上周的事没人管",
                                                           "window": 3}).json()
    server.stop()
    past = today() - timedelta(days=10)
    opened = datetime.combine(past, datetime.min.time(), TZ).timestamp() + 9 * 3600
    server.rows("UPDATE complaints SET opened_at = ?, day = ?, contact_due = ?, due = ? "
                "WHERE id = ?", (opened, str(past), str(past), str(past), old["id"]))
    server.start()

    r = httpx.post(f"{server.url}/api/complaints", json={
        "description": "退休审批说要单位盖章，单位已注销", "service": "shebao-retire",
        "contact": PHONE})
    assert r.status_code == 201, r.text
    new = r.json()
    assert set(new) == {"id", "reference", "status", "status_name", "due"}
    assert new["status"] == "received" and re.fullmatch(r"BC[A-Z2-9]{6}", new["reference"])

    boss = manager(server)
    listed = boss.get("/api/manage/complaints").json()["complaints"]
    assert [c["id"] for c in listed] == [old["id"], new["id"]]
    assert listed[0]["overdue"] is True and listed[1]["overdue"] is False

    cid = new["id"]
    wrong = boss.post(f"/api/manage/complaints/{cid}/resolve", json={"note": "x"})
    assert wrong.status_code == 409 and "受理" in wrong.json()["error"]["message"]
    steps = [("contact", {"note": "当天电话联系"}), ("assess", {"class": "complex",
                                                            "category": "政策不允许"}),
             ("assign", {"department": "人力资源和社会保障局", "chief": True}),
             ("resolve", {"note": "由首席事务代表容缺办理"}), ("answer", {"note": "已告知结果"}),
             ("follow_up", {"view": "satisfied"}), ("archive", {})]
    for action, body in steps:
        r = boss.post(f"/api/manage/complaints/{cid}/{action}", json=body)
        assert r.status_code == 200, (action, r.text)
    case = boss.get(f"/api/manage/complaints/{cid}").json()
    assert case["status"] == "archived" and case["on_time"] is True
    assert [t["step"] for t in case["timeline"]] == ["receive"] + [s for s, _ in steps]
    assert all(t["user"] == "boss" for t in case["timeline"][1:])

    auditor = manager(server, "audit1", "auditor")
    rows = auditor.get("/api/manage/audit").json()["audit"]
    done = [r["action"] for r in reversed(rows) if r["target"] == f"complaint:{cid}"]
    # the citizen's report is in the log too (issue 10.6), without its contact
    assert done == ["complaint.open", "complaint.resolve"] + [f"complaint.{s}" for s, _ in steps]
    assert next(r for r in reversed(rows) if r["action"] == "complaint.resolve")["success"] == 0
    csv = boss.get("/api/manage/complaints", params={"format": "csv"})
    assert csv.status_code == 200 and new["reference"] in csv.text


def test_contact_never_reaches_a_public_answer_or_event(hall_server: HallServer) -> None:
    server = hall_server
    clerk = server.clerk(1)
    ticket = serve(server, clerk)
    public: list[str] = []
    r = rate(server, ticket["token"], level=1, contact=f"{NAME} {PHONE}")
    assert r.status_code == 201
    public.append(r.text)
    for body in ({"description": "网上预约后现场说不能办", "contact": f"{NAME} {PHONE}"},
                 {"description": "窗口让我下次再来", "ticket": ticket["token"],
                  "contact": PHONE}):
        r = httpx.post(f"{server.url}/api/complaints", json=body)
        assert r.status_code == 201, r.text
        public.append(r.text)
    desk = server.clerk(12)
    r = desk.post("/api/windows/12/complaint", json={"description": "多次跑腿",
                                                     "contact": PHONE})
    assert r.status_code == 201, r.text
    assert clerk.post("/api/windows/1/complaint", json={"description": "x"}).status_code == 403
    for path in (f"/api/tickets/{ticket['token']}", "/api/hall", "/api/evaluate/1",
                 "/api/ratings/form", "/api/services"):
        r = httpx.get(server.url + path)
        assert r.status_code == 200, path
        public.append(r.text)
    messages = asyncio.run(all_ws_messages(server))
    assert not any('"alarm.complaint"' in m for m in messages)  # managers only
    boss = manager(server)
    messages += asyncio.run(all_ws_messages(server, boss))
    assert any('"alarm.complaint"' in m for m in messages)
    for text in public + messages:
        assert PHONE not in text and NAME not in text and "7654321" not in text

    lists = [boss.get("/api/manage/complaints"), boss.get("/api/manage/rectifications"),
             boss.get("/api/manage/complaints", params={"format": "csv"}),
             boss.get("/api/manage/rectifications", params={"format": "csv"})]
    for r in lists:
        assert r.status_code == 200 and PHONE not in r.text and NAME not in r.text
        assert "139****4321" in r.text
    revealed = boss.post("/api/manage/rectifications/1/reveal")
    assert revealed.json()["contact"] == f"{NAME} {PHONE}"
    rows = manager(server, "root", "admin").get("/api/manage/audit").json()["audit"]
    assert any(r["action"] == "rectification.reveal_contact" and r["user"] == "boss"
               for r in rows)
    assert all(PHONE not in json.dumps(r, ensure_ascii=False) for r in rows)
