"""Manager CSV exports are for people with Excel (issue 8 item 9).

Each list route with `?format=csv` must start with the UTF-8 BOM, have Chinese headers, write
codes as their Chinese names (levels, channels, modes, states, outcomes, roles…) and never put
a JSON object or list literal in a cell. Allowed English-looking text: usernames (people chose
them), a complaint's reference code, addresses (127.0.0.1), the audit log's hex check values
— data, not codes.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import date, timedelta

import httpx

from tests.conftest import HallServer

ENGLISH = re.compile(r"[A-Za-z]{2,}")
USERS = ("clerk1", "boss", "adm", "audit")


def _fill(server: HallServer) -> tuple[httpx.Client, httpx.Client]:
    clerk = server.clerk(1)
    server.add_user("boss", "manager")
    server.add_user("adm", "admin")
    server.add_user("audit", "auditor")
    boss = server.login("boss", None)
    adm = server.login("adm", None)
    httpx.post(server.url + "/api/login", json={"username": "boss", "password": "wrong-one"})
    ticket = server.issue(priority="elderly")
    assert clerk.post("/api/windows/1/call").status_code == 200
    assert clerk.post("/api/windows/1/start").status_code == 200
    assert clerk.post("/api/windows/1/finish", json={"outcome": "done"}).status_code == 200
    rated = httpx.post(f"{server.url}/api/tickets/{ticket['token']}/rating",
                       json={"level": 1, "comment": "太慢", "indicators": {"efficiency": 2}})
    assert rated.status_code == 201, rated.text
    server.issue("yibao-card")
    assert clerk.post("/api/windows/1/call").status_code == 200
    assert clerk.post("/api/windows/1/skip").status_code == 200
    assert clerk.post("/api/windows/1/pause", json={"reason": "午休"}).status_code == 200
    day = (date.today() + timedelta(days=30)).isoformat()
    assert boss.post("/api/manage/open-days", json={"date": day, "note": "加班"}).status_code == 201
    opened = httpx.post(server.url + "/api/complaints",
                        json={"description": "材料要求不明确", "contact": "13812341234"})
    assert opened.status_code == 201, opened.text
    return boss, adm


def test_every_manager_csv_is_chinese(hall_server: HallServer) -> None:
    boss, adm = _fill(hall_server)
    routes = ["windows", "events", "devices", "alarms", "users", "ratings", "rectifications",
              "complaints", "priority", "open-days",
              *(f"stats?by={by}" for by in ("queue", "service", "window", "clerk", "day", "hour",
                                            "priority")),
              *(f"stats?by=window&per={per}" for per in ("hour", "day", "week", "month")),
              *(f"productivity?by={by}&per={per}" for by, per in (
                  ("window", "all"), ("clerk", "hour"), ("hall", "day")))]
    checked = 0
    for route in [*routes, "audit"]:
        who = adm if route == "audit" else boss
        sep = "&" if "?" in route else "?"
        r = who.get(f"/api/manage/{route}{sep}format=csv")
        assert r.status_code == 200, (route, r.text)
        assert r.headers["content-type"].startswith("text/csv")
        assert r.content.startswith(b"\xef\xbb\xbf"), route
        rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
        header, body = rows[0], rows[1:]
        assert body, f"{route}: the test filled it, it must not be empty"
        for name in header:
            assert not ENGLISH.search(name) and name != "其他", (route, name)
        for row in body:
            for name, cell in zip(header, row, strict=True):
                text = cell
                for user in USERS:
                    text = text.replace(user, "")
                if name in ("查询码", "来源", "校验值", "上一条校验值"):
                    continue
                assert not ENGLISH.search(text), (route, name, cell)
                assert not cell.startswith(("[", "{")), (route, name, cell)
                checked += 1
    assert checked > 200


def test_csv_says_the_names_people_use(hall_server: HallServer) -> None:
    boss, _ = _fill(hall_server)
    text = boss.get("/api/manage/ratings?format=csv").content.decode("utf-8-sig")
    rating = next(csv.DictReader(io.StringIO(text)))
    assert rating["评价等级"] == "非常不满意"
    assert rating["评价方式"] == "主动评价"
    assert rating["渠道"] == "扫码评价" or "扫码" in rating["渠道"]
    assert rating["分项评价"] == "服务效率：2"
    assert re.fullmatch(r"\d{4}年\d{1,2}月\d{1,2}日 \d{2}:\d{2}", rating["评价时间"])
    windows = boss.get("/api/manage/windows?format=csv").content.decode("utf-8-sig")
    first = next(csv.DictReader(io.StringIO(windows)))
    assert first["状态"] == "暂停服务" and first["类型"] == "综合窗口"
    assert first["服务队列"] == "医保、社保"
