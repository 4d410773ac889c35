"""Several halls in one deployment (issue 13.1), on a real `hall serve` of the shipped
`config.city.toml`: the city centre, a district centre and a township centre, each at /h/{id}
with its own store; the city managers' overview at /city."""

from __future__ import annotations

import asyncio
import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets
from playwright.sync_api import expect

from hall.locate import hall_db
from tests import backends
from tests.browser import PASSWORD
from tests.conftest import ROOT, CityServer, HallServer
from tests.test_chinese_pages import check, check_allowing

HALLS = ("centre", "dongcheng", "qiaotou")


@pytest.fixture
def city(tmp_path: Path) -> Iterator[CityServer]:
    server = CityServer(tmp_path, ROOT / "config.city.toml", HALLS)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def serve(client: httpx.Client, window: int) -> dict[str, Any]:
    """Call the next ticket at `window`, start and finish it (办结)."""
    called = client.post(f"/api/windows/{window}/call", json={})
    assert called.status_code == 200, called.text
    client.post(f"/api/windows/{window}/start").raise_for_status()
    client.post(f"/api/windows/{window}/finish", json={"outcome": "done"}).raise_for_status()
    return called.json()


def test_each_hall_numbers_its_own_tickets_and_hears_only_its_own_calls(
        city: CityServer) -> None:
    assert city.hall_issue("centre", "yibao-card")["number"] == "A001"
    assert city.hall_issue("dongcheng", "yibao-card")["number"] == "A001"
    assert city.hall_issue("dongcheng", "yibao-card")["number"] == "A002"
    assert city.hall_issue("centre", "yibao-card")["number"] == "A002"
    city.add_hall_user("centre", "clerk1", "clerk")

    async def run() -> None:
        ws = city.url.replace("http://", "ws://")
        async with websockets.connect(f"{ws}/h/centre/ws") as centre, \
                websockets.connect(f"{ws}/h/dongcheng/ws") as dongcheng:
            snapshots = [json.loads(await asyncio.wait_for(s.recv(), 5))
                         for s in (centre, dongcheng)]
            assert [sum(q["waiting"] for q in s["data"]["queues"]) for s in snapshots] == [2, 2]
            clerk = await asyncio.to_thread(city.hall_login, "centre", "clerk1", 1)
            r = await asyncio.to_thread(clerk.post, "/api/windows/1/call", json={})
            assert r.json()["current"]["number"] == "A001", r.text
            while True:  # the centre's screens hear the call …
                event = json.loads(await asyncio.wait_for(centre.recv(), 5))
                if event["type"] == "ticket.called":
                    break
            assert (event["data"]["number"], event["data"]["window"]) == ("A001", 1)
            # … the district's hear nothing of it (its heartbeat is 25 s away)
            with pytest.raises(TimeoutError):
                await asyncio.wait_for(dongcheng.recv(), 1.5)

    asyncio.run(run())
    # each hall's data in its own store beside the given one
    for hall, numbers in (("centre", ["A001", "A002"]), ("dongcheng", ["A001", "A002"]),
                          ("qiaotou", [])):
        assert [r[0] for r in backends.tuples(
            hall_db(str(city.db), hall), "SELECT number FROM tickets ORDER BY id")] == numbers
    dongcheng = city.hall_client("dongcheng").get("/api/hall").json()
    assert all(w["state"] == "closed" for w in dongcheng["windows"])
    assert dongcheng["recent_calls"] == []


def test_each_hall_answers_its_own_windows_and_services(city: CityServer) -> None:
    snapshots = {h: city.hall_client(h).get("/api/hall").json() for h in HALLS}
    assert snapshots["centre"]["hall"]["name"] == "示范市政务服务中心"
    assert [w["name"] for w in snapshots["centre"]["windows"]][-1] == "办不成事反映窗口"
    assert [(w["number"], w["name"]) for w in snapshots["qiaotou"]["windows"]] == [
        (1, "综合受理窗口"), (2, "帮办代办窗口")]
    assert len(snapshots["dongcheng"]["windows"]) == 4
    services = city.hall_client("qiaotou").get("/api/services").json()["services"]
    assert "bdc-transfer" not in [s["id"] for s in services]  # the centre's, not the town's
    assert city.hall_client("qiaotou").post(
        "/api/tickets", json={"service": "bdc-transfer"}).status_code == 404
    # a hall's pages are under its prefix; the city has no hall pages of its own
    assert city.hall_client("qiaotou").get("/kiosk").status_code == 200
    assert httpx.get(city.url + "/kiosk", timeout=10).status_code == 404
    assert httpx.get(city.url + "/h/nowhere/api/hall", timeout=10).status_code == 404


def test_the_city_overview_shows_each_halls_live_figures(city: CityServer) -> None:
    for _ in range(3):
        city.hall_issue("qiaotou", "shebao-pension")
    city.hall_issue("dongcheng", "consult")
    city.add_hall_user("qiaotou", "clerk1", "clerk")
    serve(city.hall_login("qiaotou", "clerk1", 1), 1)  # one served, the clerk stays in
    city.add_city_user("shi")
    boss = city.city_login("shi")
    assert boss.get("/api/city/me").json() == {"user": {"username": "shi", "role": "manager"}}
    halls = {h["id"]: h for h in boss.get("/api/city/overview").json()["halls"]}
    assert list(halls) == list(HALLS)
    town = halls["qiaotou"]
    assert (town["level_name"], town["waiting"], town["issued"], town["served"]) == (
        "乡镇（街道）便民服务中心", 2, 3, 1)
    assert (town["windows_open"], town["windows_total"]) == (1, 2)
    assert town["wait_avg_minutes"] is not None
    assert (halls["dongcheng"]["waiting"], halls["dongcheng"]["issued"]) == (1, 1)
    assert (halls["centre"]["waiting"], halls["centre"]["windows_open"]) == (0, 0)
    for h in halls.values():  # the alarms are each hall's own (its calendar warning at least)
        assert h["alarms"] >= h["alarms_unacked"] >= 0
    # live: the next read follows the hall
    city.hall_issue("centre", "consult")
    assert {h["id"]: h["waiting"] for h in boss.get("/api/city/overview").json()["halls"]} == {
        "centre": 1, "dongcheng": 1, "qiaotou": 2}


def test_a_township_manager_sees_only_their_own_hall(city: CityServer) -> None:
    city.add_hall_user("qiaotou", "zhen", "manager")
    town = city.hall_login("qiaotou", "zhen", None)
    assert town.get("/api/manage/windows").status_code == 200
    cookie = town.cookies.get("hall_session")
    assert cookie
    # the same session at another hall, and at the city level: refused
    other = city.hall_client("centre")
    other.cookies.set("hall_session", cookie)
    r = other.get("/api/manage/windows")
    assert r.status_code == 401 and r.json()["error"]["code"] == "unauthenticated"
    assert other.get("/api/manage/stats").status_code == 401
    outside = httpx.Client(base_url=city.url, timeout=10)
    outside.cookies.set("hall_session", cookie)
    assert outside.get("/api/city/overview").status_code == 401
    outside.cookies.set("city_session", cookie)  # even under the city's cookie name
    assert outside.get("/api/city/overview").status_code == 401
    assert outside.get("/api/city/report").status_code == 401
    # their password opens neither another hall nor the city
    r = city.hall_client("centre").post("/api/login", json={
        "username": "zhen", "password": PASSWORD, "window": None})
    assert r.status_code == 401
    r = outside.post("/api/city/login", json={"username": "zhen", "password": PASSWORD})
    assert r.status_code == 401 and r.json()["error"]["message"] == "用户名或密码错误"
    # and a city manager is nobody inside a hall
    city.add_city_user("shi")
    boss = city.city_login("shi")
    assert boss.get("/h/qiaotou/api/manage/windows").status_code == 401


def test_windows_and_services_without_activity_are_flagged(city: CityServer) -> None:
    city.hall_issue("qiaotou", "yibao-card")
    city.add_hall_user("qiaotou", "clerk1", "clerk")
    serve(city.hall_login("qiaotou", "clerk1", 1), 1)
    city.add_city_user("shi")
    boss = city.city_login("shi")
    answer = boss.get("/api/city/idle").json()
    halls = {h["id"]: h for h in answer["halls"]}
    town = halls["qiaotou"]
    assert [w["name"] for w in town["windows"]] == ["帮办代办窗口"]  # window 1 served one
    assert [s["id"] for s in town["services"]] == ["shebao-pension", "hukou-move", "consult"]
    assert len(halls["centre"]["windows"]) == 6 and len(halls["dongcheng"]["services"]) == 4
    rows = list(csv.reader(io.StringIO(boss.get("/api/city/idle?format=csv").text.lstrip(
        "\ufeff"))))
    assert rows[0] == ["服务中心", "层级", "类别", "名称", "情况"]
    assert ["桥头镇便民服务中心", "乡镇（街道）便民服务中心", "窗口", "帮办代办窗口",
            "期间未办理任何业务"] in rows
    assert not any(r[0] == "桥头镇便民服务中心" and r[3] == "综合受理窗口" for r in rows)
    # a period before any ticket: every window and service of every hall
    before = boss.get("/api/city/idle?from=2020-01-01&to=2020-01-31").json()
    assert len(before["findings"]) == sum(6 + 5 if h == "centre" else
                                          {"dongcheng": 4, "qiaotou": 2}[h] + 4 for h in HALLS)
    r = boss.get("/api/city/idle?from=2020-02-01&to=2020-01-31")
    assert r.status_code == 400 and r.json()["error"] == {
        "code": "invalid_query", "field": "to", "message": "结束日期不能早于开始日期"}


def test_reports_across_halls_with_csv_and_the_city_audit(city: CityServer) -> None:
    for hall in ("dongcheng", "qiaotou", "qiaotou"):
        city.hall_issue(hall, "yibao-card")
    city.add_city_user("shi")
    boss = city.city_login("shi")
    report = boss.get("/api/city/report").json()
    assert [r["id"] for r in report["report"]] == list(HALLS)
    assert [r["issued"] for r in report["report"]] == [0, 1, 2]
    assert report["columns"][:4] == [{"key": "hall_name", "name": "服务中心"},
                                     {"key": "level_name", "name": "层级"},
                                     {"key": "issued", "name": "取号数"},
                                     {"key": "served", "name": "办理数"}]
    assert report["table"][2][:3] == ["桥头镇便民服务中心", "乡镇（街道）便民服务中心", "2"]
    exported = boss.get("/api/city/report?format=csv")
    assert exported.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(exported.text.lstrip("\ufeff"))))
    assert rows[0][:4] == ["服务中心", "层级", "取号数", "办理数"] and rows[1:] == report["table"]
    audit = backends.tuples(hall_db(str(city.db), "city"),
                            "SELECT user, action, target, detail FROM audit ORDER BY id")
    day = report["from"]
    assert audit[-3:] == [("shi", "login", None, "manager"),
                          ("shi", "city.report", f"period:{day}~{day}", None),
                          ("shi", "city.report", f"period:{day}~{day}", "csv")]


def test_the_city_admin_reads_the_citys_own_audit_log_and_a_manager_may_not(
        city: CityServer) -> None:
    city.add_city_user("shi")
    city.add_city_user("zhang", "admin")
    boss = city.city_login("shi")
    assert boss.get("/api/city/report?format=csv").status_code == 200
    # a city manager reads the halls' figures, not the log of what city accounts did
    for path in ("/api/city/audit", "/api/city/audit/chain", "/api/city/audit?format=csv"):
        refused = boss.get(path)
        assert refused.status_code == 403 and "城市系统管理员" in refused.json()["error"]["message"]
    assert httpx.get(city.url + "/api/city/audit", timeout=10).status_code == 401
    admin = city.city_login("zhang")
    log = admin.get("/api/city/audit").json()
    lines = [(r["user"], r["action_name"], r["target_text"], r["detail_text"])
             for r in log["audit"]]
    shown = [line for line in lines if line[0] == "shi"]
    assert shown[0][1:] == ("查看跨中心统计", shown[0][2], "导出表格")
    assert shown[0][2].endswith("日") and "至" in shown[0][2] and "period" not in shown[0][2]
    assert shown[1][1] == "登录" and shown[1][3] == "管理员"
    assert [line[1] for line in lines if line[0] == "zhang"] == ["登录"]
    assert log["next"] is None
    # filters, as on a hall's page: one user, one action
    only = admin.get("/api/city/audit", params={"user": "shi", "action": "login"}).json()
    assert [(r["user"], r["action"]) for r in only["audit"]] == [("shi", "login")]
    chain = admin.get("/api/city/audit/chain").json()
    assert chain["ok"] is True and chain["rows"] == len(lines)
    exported = admin.get("/api/city/audit?format=csv")
    assert exported.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(exported.text.lstrip("\ufeff"))))
    assert rows[0][:4] == ["编号", "时间", "操作人", "操作"]
    assert not any(c.isascii() and c.isalpha() for c in "".join(rows[0]))
    # the export is audited before it is written, so it lists itself first
    assert len(rows) == 2 + len(lines) and rows[1][2:4] == ["zhang", "导出审计日志"]


def test_user_add_puts_each_account_in_its_own_store(city: CityServer) -> None:
    with pytest.raises(RuntimeError,
                       match="有多个大厅，请用 --hall 指定（centre、dongcheng、qiaotou）"):
        city.add_user("li", "manager")
    with pytest.raises(RuntimeError, match="中没有大厅 nowhere"):
        city.add_hall_user("nowhere", "li", "manager")
    with pytest.raises(RuntimeError, match="城市账号只能是管理员或系统管理员"):
        city.add_city_user("li", "clerk")
    city.add_hall_user("dongcheng", "li", "admin")
    for hall, count in (("dongcheng", 1), ("centre", 0), ("city", 0)):
        assert backends.tuples(hall_db(str(city.db), hall),
                               "SELECT COUNT(*) FROM users WHERE username = 'li'") == [(count,)]
    log = city.log.read_text(encoding="utf-8")  # serve printed every hall's pages
    assert "城市总览 city overview" in log and f"{city.url}/city" in log
    for hall in HALLS:
        assert f"{city.url}/h/{hall}/kiosk" in log and f"{city.url}/h/{hall}/manage" in log


def test_a_single_hall_config_keeps_todays_urls(hall_server: HallServer) -> None:
    assert httpx.get(hall_server.url + "/kiosk", timeout=10).status_code == 200
    snapshot = httpx.get(hall_server.url + "/api/hall", timeout=10).json()
    assert snapshot["hall"]["name"] == "示范县政务服务中心" and len(snapshot["windows"]) == 12
    assert httpx.get(hall_server.url + "/city", timeout=10).status_code == 404
    assert httpx.get(hall_server.url + "/h/centre/api/hall", timeout=10).status_code == 404
    with pytest.raises(RuntimeError, match="只有一个大厅"):
        hall_server.add_user("li", "manager", scope=("--hall", "centre"))


def test_the_city_page_shows_the_three_halls_in_chromium(city: CityServer,
                                                          new_page: Any) -> None:
    city.hall_issue("qiaotou", "yibao-card")
    city.hall_issue("dongcheng", "consult")
    city.hall_issue("dongcheng", "consult")
    city.add_city_user("boss")  # a name test_chinese_pages allows
    page = new_page(1920, 1080)
    page.goto(city.url + "/city")
    expect(page.locator("#login")).to_be_visible()
    seen: list[str] = []
    check(page, "city login", seen)
    page.fill("#l-user", "boss")
    page.fill("#l-pass", PASSWORD)
    page.click("#l-submit")
    expect(page.locator("#view")).to_be_visible()
    rows = page.locator("#ov-body tr")
    expect(rows).to_have_count(3)
    expect(page.locator('#ov-body tr[data-hall="dongcheng"] [data-k="waiting"]')).to_have_text("2")
    expect(page.locator('#ov-body tr[data-hall="qiaotou"] [data-k="issued"]')).to_have_text("1")
    expect(page.locator('#ov-body tr[data-hall="centre"] th')).to_have_text("示范市政务服务中心")
    expect(page.locator('#ov-body tr[data-hall="qiaotou"] td').first).to_have_text(
        "乡镇（街道）便民服务中心")
    expect(page.locator("#report-body tr")).to_have_count(3)
    expect(page.locator('#idle-body tr[data-hall="qiaotou"]').first).to_be_visible()
    expect(page.locator("#period")).to_contain_text("年")
    # live: a ticket taken in the centre shows within the next poll
    city.hall_issue("centre", "consult")
    expect(page.locator('#ov-body tr[data-hall="centre"] [data-k="waiting"]')).to_have_text(
        "1", timeout=12_000)
    check(page, "city overview", seen)
    # the period form takes 年月日 and refuses what is not a date, in Chinese
    page.fill("#f-from", "2020年1月1日")
    page.fill("#f-to", "2020年1月31日")
    page.click("#f-submit")
    expect(page.locator("#period")).to_have_text("当前期间：2020年1月1日至2020年1月31日。")
    expect(page.locator('#report-body tr[data-hall="qiaotou"] td').nth(1)).to_have_text("0")
    page.fill("#f-to", "明天")
    page.click("#f-submit")
    expect(page.locator("#f-to-problem")).to_have_text("日期应为 年月日，如 2026年1月31日")
    page.click("#logout")
    expect(page.locator("#login")).to_be_visible()
    assert httpx.get(city.url + "/api/city/overview", timeout=10).status_code == 401


def test_the_city_admin_reads_the_city_log_in_chromium(city: CityServer, new_page: Any) -> None:
    city.add_city_user("boss")
    city.add_city_user("root", "admin")
    city.city_login("boss").get("/api/city/report").raise_for_status()
    seen: list[str] = []

    def check_here(page: Any, where: str) -> None:
        # a user name, and the chain's head: a hash, to be noted down
        check_allowing(["root", page.locator("#chain-head").inner_text()], page, where, seen)

    page = new_page(1280, 800)
    page.goto(city.url + "/city/audit")
    expect(page.locator("#gate-text")).to_have_text("请先以城市系统管理员账号登录。")
    check_here(page, "city audit, no session")
    page.click("#gate a")
    page.fill("#l-user", "root")
    page.fill("#l-pass", PASSWORD)
    page.click("#l-submit")
    expect(page.locator("#nav-audit")).to_be_visible()
    page.click("#nav-audit a")
    expect(page).to_have_url(city.url + "/city/audit")
    expect(page.locator("#chain")).to_have_attribute("data-ok", "1")
    # the command line's two accounts; boss's login and report; root's login and the
    # overview's report and 明进暗不进 check, which the login opened
    expect(page.locator("#chain")).to_contain_text("完整：共 7 条记录")
    rows = page.locator("#rows tr")
    expect(rows).to_have_count(7)
    lines = [[cell.strip() for cell in row.locator("td").all_inner_texts()]
             for row in rows.all()]
    # (the overview asks for its two tables at once: either may be logged first)
    assert sorted(tuple(line[2:4]) for line in lines[:2]) == [
        ("root", "查看明进暗不进检查"), ("root", "查看跨中心统计")]
    assert [line[2:4] for line in lines[2:]] == [
        ["root", "登录"], ["boss", "查看跨中心统计"], ["boss", "登录"], ["命令行", "添加用户"],
        ["命令行", "添加用户"]]
    assert all(line[6] == "成功" for line in lines)
    assert "至" in lines[3][4] and lines[3][4].endswith("日")
    check_here(page, "city audit")
    page.fill("#f-user", "boss")
    page.click("#f-submit")
    expect(rows).to_have_count(2)
    assert "user=boss" in page.url  # the filter survives a reload, as on a hall's page
    assert "user=boss" in (page.get_attribute("#csv", "href") or "")
    # a city manager is told the log is the admin's, and has no link to it
    page.click("#logout")
    expect(page).to_have_url(city.url + "/city")
    page.fill("#l-user", "boss")
    page.fill("#l-pass", PASSWORD)
    page.click("#l-submit")
    expect(page.locator("#view")).to_be_visible()
    expect(page.locator("#nav-audit")).to_be_hidden()
    page.goto(city.url + "/city/audit")
    expect(page.locator("#gate-text")).to_have_text("只有城市系统管理员可以查看城市审计日志。")
    expect(page.locator("#view")).to_be_hidden()
    check_here(page, "city audit, a manager")


def test_behind_a_proxy_every_hall_accepts_the_citys_public_address(tmp_path: Path) -> None:
    config = tmp_path / "city.toml"
    config.write_text((ROOT / "config.city.toml").read_text(encoding="utf-8").replace(
        '# public_url = "https://zwfw.example.gov.cn"', 'public_url = "https://zwfw.example.gov.cn"'),
        encoding="utf-8")
    server = CityServer(tmp_path, config, HALLS)
    server.start()
    try:
        for origin, status in (("https://zwfw.example.gov.cn", 201), ("https://evil.example", 403),
                               (server.url, 201)):
            r = httpx.post(server.hall_url("qiaotou") + "/api/tickets", timeout=10,
                           json={"service": "consult"}, headers={"Origin": origin})
            assert r.status_code == status, (origin, r.text)
    finally:
        server.stop()
