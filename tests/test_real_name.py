"""实名取号 on a real server: a real-name queue (公安户政, E) needs an ID, limits count per
person, an ID of 70 gets the green channel, 亲友代取号 records both people and limits the
holder, an ID card read on a pty reaches only its own kiosk, and nothing personal leaks to a
public payload, the public stream, the database file or the server's log.

One server for the module (its reader is a simulator on a pty); each test uses its own people
(ID numbers with their own sequence digits), so the per-person limits of one test never meet
another's.
"""

from __future__ import annotations

import asyncio
import json
import re
import tomllib
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
import websockets
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from playwright.sync_api import expect

from hall.config import ConfigError, parse_config
from hall.datefmt import day_text
from hall.identity import check_character
from tests import backends
from tests.conftest import DEMO_CONFIG, HallServer
from tests.devsim import IdCardSim, sam_text
from tests.test_chinese_pages import LISTEN, check

TODAY = datetime.now(ZoneInfo("Asia/Shanghai")).date()
NAMES: list[str] = []  # every full name used, for the leak checks
NUMBERS: list[str] = []  # every ID number used


def person(name: str, age: int, seq: int) -> tuple[str, str]:
    """A name and a valid ID number of someone `age` years old today (born a day earlier
    than `age` years ago)."""
    try:
        birth = TODAY.replace(year=TODAY.year - age) - timedelta(days=1)
    except ValueError:  # 29 February
        birth = TODAY.replace(year=TODAY.year - age, day=28)
    first = f"110101{birth:%Y%m%d}{seq:03d}"
    number = first + check_character(first)
    NAMES.append(name)
    NUMBERS.append(number)
    return name, number


def real_name_config(tmp: Path, reader: str) -> Path:
    text = DEMO_CONFIG.read_text(encoding="utf-8")
    text = text.replace('id = "huzheng"\n', 'id = "huzheng"\nreal_name = true\n', 1)
    text = text.replace('policy = "requeue"', 'policy = "void"', 1)  # one skip is 过号
    text += f"""
[real_name]
proxy_per_day = 2

[[devices]]
kind = "idcard"
name = "idcard-kiosk-1"
url = "{reader}"
kiosk = "kiosk-1"
"""
    path = tmp / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


class Rig:
    def __init__(self, server: HallServer, sim: IdCardSim) -> None:
        self.server = server
        self.sim = sim
        self.url = server.url
        self.kiosk_code = server.add_device("kiosk-1", "kiosk")
        server.add_user("boss", "manager")
        self.boss = server.login("boss", None)
        self.anon = httpx.Client(base_url=server.url, timeout=10)
        self.kiosk = httpx.Client(base_url=server.url, timeout=10,
                                  headers={"X-Hall-Device": self.kiosk_code})

    def take(self, service: str = "hukou-move", client: httpx.Client | None = None,
             **body: Any) -> httpx.Response:
        return (client or self.anon).post("/api/tickets", json={"service": service, **body})


@pytest.fixture(scope="module")
def rig(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rig]:
    tmp = tmp_path_factory.mktemp("realname")
    sim = IdCardSim()
    server = HallServer(tmp, real_name_config(tmp, sim.path))
    try:
        server.start()
        yield Rig(server, sim)
    finally:
        server.stop()
        sim.close()


@pytest.fixture(autouse=True)
def no_card_left(rig: Rig) -> Iterator[None]:
    yield
    rig.sim.lift()


def error_of(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    return response.json()["error"]


def test_a_real_name_queue_needs_an_id_and_takes_a_valid_one(rig: Rig) -> None:
    name, number = person("赵一鸣", 35, 101)
    refused = error_of(rig.take(), 422)
    assert refused == {"code": "id_number_required", "field": "id_number",
                       "message": "办理该事项需要实名取号：请刷身份证，或填写姓名和身份证号码"}
    wrong = number[:-1] + ("0" if number[-1] != "0" else "1")
    assert error_of(rig.take(name=name, id_number=wrong), 422)["message"] == \
        "身份证号码有误，请核对后重新输入"
    assert error_of(rig.take(id_number=number), 422)["field"] == "name"
    ticket = rig.take(name=name, id_number=number)
    assert ticket.status_code == 201, ticket.text
    body = ticket.json()
    assert body["number"].startswith("E") and body["priority"] is None
    assert body["real_name"] == {"name": "赵*鸣", "proxy_name": None, "source": "typed"}
    # the same fields on a queue that is not real-name are ignored, not kept
    plain = rig.take("yibao-card", name=name, id_number=number)
    assert plain.status_code == 201 and "real_name" not in plain.json()


def test_the_second_ticket_of_a_service_that_day_is_refused_with_the_reason(rig: Rig) -> None:
    name, number = person("钱二妹", 40, 102)
    assert rig.take(name=name, id_number=number).status_code == 201
    again = error_of(rig.take(name=name, id_number=" " + number.lower() + " "), 409)
    assert again["code"] == "person_day_limit" and again["field"] == "id_number"
    assert again["message"] == (f"您在{day_text(TODAY)}已预约或取号办理该事项，"
                                "同一事项每天限 1 次")
    # another service of the queue is still fine (the weekly limit is 2)
    assert rig.take("id-card", name=name, id_number=number).status_code == 201


def test_two_no_shows_bar_the_person_until_a_day_named(rig: Rig) -> None:
    name, number = person("孙三", 30, 103)
    clerk = rig.server.clerk(7)  # window 7 serves 公安户政
    for service in ("hukou-move", "id-card"):
        ticket = rig.take(service, name=name, id_number=number)
        assert ticket.status_code == 201, ticket.text
        called = clerk.post("/api/windows/7/call", json={"number": ticket.json()["number"]})
        assert called.status_code == 200, called.text
        assert clerk.post("/api/windows/7/skip").status_code == 200
        state = rig.anon.get(f"/api/tickets/{ticket.json()['token']}").json()["state"]
        assert state == "no_show"
    until = TODAY + timedelta(days=90)
    barred = error_of(rig.take("hukou-move", name=name, id_number=number), 409)
    assert barred["code"] == "person_barred"
    assert barred["message"] == (f"您近 90 天内有 2 次取号或预约后未到（过号），"
                                 f"{day_text(until)}起才能再次取号")


def test_a_seventy_year_old_gets_the_green_channel_from_the_id(rig: Rig) -> None:
    name, number = person("李老汉", 70, 104)
    ticket = rig.take(name=name, id_number=number)
    assert ticket.status_code == 201, ticket.text
    assert (ticket.json()["priority"], ticket.json()["priority_name"]) == ("elderly", "老年人")
    granted = rig.boss.get("/api/manage/priority").json()["priority"]
    mine = [t for t in granted if t["number"] == ticket.json()["number"]]
    assert mine and mine[0]["granted_by"] == "身份证"
    # one year short: no green channel, and 老年人 cannot be self-declared against the card
    young_name, young = person("周六九", 69, 105)
    refused = error_of(rig.take(name=young_name, id_number=young, priority="elderly"), 422)
    assert refused["code"] == "not_elderly" and refused["field"] == "priority"
    assert "未满 70 周岁" in refused["message"]
    assert rig.take(name=young_name, id_number=young).json()["priority"] is None


def test_a_proxy_ticket_records_both_and_counts_against_the_holder(rig: Rig) -> None:
    holder_name, holder = person("吴奶奶", 50, 106)
    taker_name, taker = person("吴小宝", 25, 107)
    ticket = rig.take(name=holder_name, id_number=holder, proxy_name=taker_name,
                      proxy_id_number=taker)
    assert ticket.status_code == 201, ticket.text
    assert ticket.json()["real_name"] == {"name": "吴*奶", "proxy_name": "吴*宝",
                                          "source": "typed"}
    # the holder has had the service today, whoever took it
    refused = error_of(rig.take(name=holder_name, id_number=holder), 409)
    assert refused["code"] == "person_day_limit" and refused["message"].startswith("您在")
    # ... and the taker has not: their own ticket is fine
    assert rig.take(name=taker_name, id_number=taker).status_code == 201
    by_proxy = error_of(rig.take("hukou-move", name=holder_name, id_number=holder,
                                 proxy_name=taker_name, proxy_id_number=taker), 409)
    assert by_proxy["message"].startswith("办事人在")
    # one person may take for two others a day ([real_name] proxy_per_day = 2), not three
    second_name, second = person("郑爷爷", 55, 108)
    assert rig.take(name=second_name, id_number=second, proxy_name=taker_name,
                    proxy_id_number=taker).status_code == 201
    third_name, third = person("王阿姨", 45, 109)
    over = error_of(rig.take(name=third_name, id_number=third, proxy_name=taker_name,
                             proxy_id_number=taker), 409)
    assert over["code"] == "proxy_day_limit" and over["field"] == "proxy_id_number"
    assert over["message"] == "代取人今天已为 2 人代取号，每人每天最多为 2 人代取"
    same = error_of(rig.take(name=third_name, id_number=third, proxy_name=third_name,
                             proxy_id_number=third), 422)
    assert same["code"] == "proxy_is_holder"
    bad = error_of(rig.take(name=third_name, id_number=third, proxy_name="王某"), 422)
    assert bad == {"code": "id_number_required", "field": "proxy_id_number",
                   "message": "代取人：请填写身份证号码"}

    # managers see both, masked; a reveal shows them in full and is audited with its reason
    listed = rig.boss.get("/api/manage/real-name").json()["tickets"]
    row = next(t for t in listed if t["number"] == ticket.json()["number"])
    assert (row["name"], row["proxy_name"]) == ("吴*奶", "吴*宝")
    assert row["id_number"] == holder[:3] + "*" * 11 + holder[-4:]
    assert holder not in json.dumps(listed) and taker not in json.dumps(listed)
    clerk = rig.server.clerk(7)
    reveal = f"/api/manage/tickets/{ticket.json()['id']}/reveal"
    assert clerk.post(reveal, json={"reason": "看看"}).status_code == 403
    rig.server.ensure_user("auditor1", "auditor")
    auditor = rig.server.login("auditor1", None)
    assert auditor.post(reveal, json={"reason": "看看"}).status_code == 403
    assert error_of(rig.boss.post(reveal, json={}), 422)["field"] == "reason"
    shown = rig.boss.post(reveal, json={"reason": "群众投诉核实身份"})
    assert shown.status_code == 200, shown.text
    assert (shown.json()["name"], shown.json()["id_number"]) == (holder_name, holder)
    assert (shown.json()["proxy_name"], shown.json()["proxy_id_number"]) == (taker_name, taker)
    log = auditor.get("/api/manage/audit").json()["audit"]
    entry = next(e for e in log if e["action"] == "ticket.reveal_person")
    assert entry["user"] == "boss" and entry["detail"] == "群众投诉核实身份"
    assert entry["target"].endswith(ticket.json()["number"])
    assert holder not in json.dumps(log, ensure_ascii=False)


async def _messages(ws: Any, until_type: str | None = None, quiet: float = 3.0
                    ) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    try:
        while True:
            out.append(json.loads(await asyncio.wait_for(ws.recv(), quiet)))
            if until_type is not None and out[-1].get("type") == until_type:
                return out
    except TimeoutError:
        return out


def test_a_card_read_on_the_pty_reaches_its_kiosk_only(rig: Rig) -> None:
    name, number = person("张小三", 33, 110)
    ws_kiosk = rig.server.ws_url + "/kiosk"

    async def run() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        headers = {"X-Hall-Device": rig.kiosk_code}
        async with websockets.connect(ws_kiosk, additional_headers=headers) as kiosk, \
                websockets.connect(rig.server.ws_url) as public:
            hello = json.loads(await kiosk.recv())
            assert hello == {"type": "hello", "kiosk": "kiosk-1", "reader": "ok"}
            rig.sim.place(sam_text(name, number, number[6:14]))
            got = await _messages(kiosk, "idcard")
            seen = await _messages(public, quiet=0.5)
            return got, seen

    got, public = asyncio.run(run())
    read = got[-1]
    assert read["type"] == "idcard" and read["name"] == "张*三"
    assert read["id_number"] == number[:3] + "*" * 11 + number[-4:] and not read["elderly"]
    text = json.dumps(got, ensure_ascii=False) + json.dumps(public, ensure_ascii=False)
    assert number not in text and name not in text
    assert all(m.get("type") not in ("idcard", "idcard_error") for m in public)

    token = read["read"]
    # only the kiosk that read the card may use the read
    assert error_of(rig.take(id_read=token), 422)["code"] == "id_read_not_here"
    first = rig.kiosk.post("/api/tickets", json={"service": "hukou-move", "id_read": token},
                           headers={"Idempotency-Key": "tap-1"})
    assert first.status_code == 201, first.text
    assert first.json()["real_name"] == {"name": "张*三", "proxy_name": None,
                                         "source": "reader"}
    retry = rig.kiosk.post("/api/tickets", json={"service": "hukou-move", "id_read": token},
                           headers={"Idempotency-Key": "tap-1"})
    assert retry.status_code == 201 and retry.json()["id"] == first.json()["id"]
    reuse = rig.kiosk.post("/api/tickets", json={"service": "id-card", "id_read": token},
                           headers={"Idempotency-Key": "tap-2"})
    assert error_of(reuse, 422)["code"] == "id_read_used"
    # a refused ticket (here: the same service again today) leaves the read usable
    rig.sim.lift()


def test_the_kiosk_socket_is_only_for_an_enrolled_kiosk(rig: Rig) -> None:
    tablet_code = rig.server.add_device("tablet-3", "tablet", 3)

    async def refused(headers: dict[str, str]) -> bool:
        try:
            async with websockets.connect(rig.server.ws_url + "/kiosk",
                                          additional_headers=headers) as ws:
                await ws.recv()
        except websockets.exceptions.InvalidStatus as exc:
            return exc.response.status_code == 403
        return False

    assert asyncio.run(refused({}))
    assert asyncio.run(refused({"X-Hall-Device": "guess"}))
    assert asyncio.run(refused({"X-Hall-Device": tablet_code}))
    assert asyncio.run(refused({"X-Hall-Device": rig.kiosk_code,
                                "Origin": "http://evil.example"}))


def test_nothing_personal_on_public_payloads_the_stream_the_file_or_the_log(rig: Rig) -> None:
    name, number = person("欧阳明月", 72, 111)
    ticket = rig.take(name=name, id_number=number, proxy_name="欧阳小明",
                      proxy_id_number=person("欧阳小明", 40, 112)[1])
    assert ticket.status_code == 201, ticket.text
    assert ticket.json()["real_name"]["name"] == "欧**月"
    rig.server.clerk(7).post("/api/windows/7/call", json={"number": ticket.json()["number"]})
    public = [rig.anon.get("/api/hall").text, rig.anon.get("/api/services").text,
              rig.anon.get(f"/api/tickets/{ticket.json()['token']}").text,
              rig.anon.get("/kiosk").text, rig.anon.get("/screen").text]

    async def replay(url: str, headers: dict[str, str] | None = None) -> str:
        async with websockets.connect(url + "?since=0", additional_headers=headers) as ws:
            return json.dumps(await _messages(ws, quiet=0.5), ensure_ascii=False)

    public.append(asyncio.run(replay(rig.server.ws_url)))
    cookie = "; ".join(f"{k}={v}" for k, v in rig.boss.cookies.items())
    public.append(asyncio.run(replay(rig.server.ws_url + "/manage", {"Cookie": cookie})))
    assert '"ticket.called"' in public[-2]  # the stream was read
    for text in public:
        for secret in NAMES + NUMBERS:
            assert secret not in text, secret
    stored = backends.stored_bytes(rig.server.db)
    assert len(stored) > 10_000
    for secret in NUMBERS:
        assert secret.encode() not in stored, secret
        assert secret.encode("utf-16-le") not in stored, secret
    for secret in NAMES:
        assert secret.encode() not in stored, secret
        assert secret.encode("utf-16-le") not in stored, secret
    log = rig.server.log.read_text(encoding="utf-8")
    for secret in NAMES + NUMBERS:
        assert secret not in log, secret


def test_the_kiosk_page_fills_from_the_card_and_takes_the_ticket(rig: Rig, new_page: Any) -> None:
    name, number = person("张大三", 71, 113)
    page = new_page(1280, 800)
    enrolled = page.context.request.post(rig.url + "/api/devices/enrol",
                                         data={"code": rig.kiosk_code})
    assert enrolled.ok
    page.goto(rig.url + "/kiosk")
    page.locator('button.svc[data-service="id-card"]').click()
    expect(page.locator("#id-title")).to_contain_text("居民身份证换领、补领")
    expect(page.locator("#holder-prompt")).to_have_text(
        "请将办事人的身份证放在读卡区，或手动输入姓名和身份证号码")
    rig.sim.place(sam_text(name, number, number[6:14]))
    expect(page.locator("#holder-read-name")).to_have_text("张*三")
    expect(page.locator("#holder-read-id")).to_have_text(number[:3] + "*" * 11 + number[-4:])
    expect(page.locator("#id-elderly")).to_be_visible()
    assert number not in page.content() and name not in page.content()
    page.get_by_role("button", name="确认取号").click()
    expect(page.locator("#t-number")).to_have_text(re.compile(r"^E\d{3}$"))
    expect(page.locator("#t-flags")).to_contain_text("绿色通道：老年人")
    expect(page.locator("#t-flags")).to_contain_text("实名：张*三")
    assert number not in page.content() and name not in page.content()


def test_the_kiosk_form_checks_in_chinese_and_takes_for_another_person(rig: Rig,
                                                                       new_page: Any) -> None:
    holder_name, holder = person("冯小花", 45, 114)
    taker_name, taker = person("冯大明", 20, 115)
    page = new_page(1280, 800)  # a kiosk not enrolled: no reader, numbers are typed
    page.goto(rig.url + "/kiosk")
    page.evaluate(LISTEN)
    expect(page.locator('button.svc[data-service="hukou-move"]')).to_contain_text("需实名")
    page.locator('button.svc[data-service="hukou-move"]').click()
    expect(page.locator("#holder-prompt")).to_have_text("请输入办事人的姓名和身份证号码")
    expect(page.locator("#proxy-part")).to_be_hidden()
    page.get_by_text("代他人取号（亲友代取）").click()
    expect(page.locator("#proxy-part")).to_be_visible()
    check(page, "kiosk ID step", [])
    take = page.get_by_role("button", name="确认取号")
    take.click()
    expect(page.locator("#id-msg")).to_have_text("请填写办事人姓名")
    expect(page.locator("#holder-name")).to_be_focused()
    page.get_by_label("办事人姓名").fill(holder_name)
    page.get_by_label("办事人身份证号码").fill(holder.lower())
    page.get_by_label("代取人姓名").fill(taker_name)
    page.get_by_label("代取人身份证号码").fill(taker[:10])
    take.click()
    expect(page.locator("#id-msg")).to_have_text("代取人身份证号码应为 18 位（最后一位可以是 X）")
    expect(page.locator("#proxy-id")).to_have_attribute("aria-invalid", "true")
    wrong = taker[:-1] + ("0" if taker[-1] != "0" else "1")
    page.get_by_label("代取人身份证号码").fill(wrong)
    take.click()  # the check digit is the server's to check
    expect(page.locator("#id-msg")).to_have_text("代取人：身份证号码有误，请核对后重新输入")
    expect(page.locator("#proxy-id")).to_be_focused()
    page.get_by_label("代取人身份证号码").fill(taker)
    take.click()
    expect(page.locator("#t-number")).to_have_text(re.compile(r"^E\d{3}$"))
    expect(page.locator("#t-flags")).to_contain_text("实名：冯*花（代取人：冯*明）")
    assert page.evaluate("() => window.__invalid") == 0  # never the browser's own bubble
    # the next person finds the form empty
    page.wait_for_timeout(900)
    page.locator("#t-done").click()
    page.locator('button.svc[data-service="id-card"]').click()
    expect(page.locator("#holder-name")).to_have_value("")
    expect(page.locator("#proxy-part")).to_be_hidden()
    page.get_by_label("办事人姓名").fill(holder_name)
    page.get_by_label("办事人身份证号码").fill(holder)
    take.click()
    # the holder's second service today is fine, the first one again is not
    expect(page.locator("#t-number")).to_have_text(re.compile(r"^E\d{3}$"))
    page.wait_for_timeout(900)
    page.locator("#t-done").click()
    page.locator('button.svc[data-service="hukou-move"]').click()
    page.get_by_label("办事人姓名").fill(holder_name)
    page.get_by_label("办事人身份证号码").fill(holder)
    take.click()
    expect(page.locator("#id-msg")).to_contain_text("同一事项每天限 1 次")


def test_check_config_names_each_real_name_mistake_by_key() -> None:
    raw = tomllib.loads(DEMO_CONFIG.read_text(encoding="utf-8"))
    raw["queues"][4]["real_name"] = True
    config = parse_config(raw)
    assert config.queue("huzheng").real_name and not config.queue("yibao").real_name
    assert config.real_name.elderly_age == 70 and config.real_name.rules.per_week == 2
    raw["real_name"] = {"elderly_age": 65, "per_week": 3, "bar_days": 30}
    config = parse_config(raw)
    assert (config.real_name.elderly_age, config.real_name.rules.per_week,
            config.real_name.rules.bar_days, config.real_name.rules.per_month) == (65, 3, 30, 6)
    raw["real_name"] = {"read_seconds": 5, "per_week": -1, "elderly_age": "70", "nope": 1}
    raw["queues"][0]["real_name"] = "yes"
    raw["devices"] = [{"kind": "idcard", "name": "r", "url": "/dev/ttyUSB3"}]
    raw["priority_reasons"] = [{"id": "disabled", "name": "残疾人"}]
    with pytest.raises(ConfigError) as caught:
        parse_config(raw)
    problems = "\n".join(caught.value.problems)
    for expected in ("real_name.read_seconds: must be at least 10 and at most 600, got 5",
                     "real_name.per_week: must be at least 0, got -1",
                     "real_name.elderly_age: expected an integer, got '70'",
                     "real_name.nope: unknown key",
                     "queues[0].real_name: expected true or false, got 'yes'",
                     "devices[0].kiosk: an ID card reader names the kiosk it serves",
                     'real_name.elderly_age: no priority reason "elderly" to grant'):
        assert expected in problems, problems
    raw["devices"][0]["kiosk"] = "kiosk-1"
    raw["real_name"] = {}
    raw["queues"][0]["real_name"] = False
    del raw["priority_reasons"]
    assert parse_config(raw).devices[0].baudrate == 115200


def test_the_reader_shows_on_the_devices_page(rig: Rig) -> None:
    rows = rig.boss.get("/api/manage/devices").json()["devices"]
    reader = next(r for r in rows if r["name"] == "idcard-kiosk-1")
    assert reader == {"name": "idcard-kiosk-1", "kind": "idcard", "url": rig.sim.path,
                      "window": None, "kiosk": "kiosk-1", "health": "ok"}


PERSON_FIELDS = ["service", "name", "id_number", "id_read", "proxy_name", "proxy_id_number",
                 "proxy_id_read", "priority", "kiosk"]
fuzz_text = st.text(max_size=20)
fuzz_values = st.one_of(st.none(), st.booleans(), st.integers(-5, 10 ** 20), fuzz_text,
                        st.sampled_from(["hukou-move", "id-card", "elderly", "张三",
                                         "11010519491231002X", "11010519491231002x"]),
                        st.lists(fuzz_text, max_size=2), st.dictionaries(fuzz_text, fuzz_text,
                                                                          max_size=2))


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(body=st.dictionaries(st.sampled_from(PERSON_FIELDS), fuzz_values, max_size=6),
       kiosk=st.booleans())
def test_any_real_name_body_is_answered_without_a_500(rig: Rig, body: dict[str, Any],
                                                      kiosk: bool) -> None:
    body.setdefault("service", "hukou-move")
    r = (rig.kiosk if kiosk else rig.anon).post("/api/tickets", json=body)
    assert r.status_code < 500, (body, r.text)
    if r.status_code >= 400:
        error = r.json()["error"]
        assert any("\u4e00" <= c <= "\u9fff" for c in error["message"]), error
        assert not re.search(r"[A-Za-z]{2,}", error["message"]), error


def test_a_manager_sees_masked_people_and_reveals_one_with_a_reason(rig: Rig,
                                                                     new_page: Any) -> None:
    name, number = person("何晓东", 38, 116)
    ticket = rig.take("id-card", name=name, id_number=number).json()
    page = new_page(1920, 1080)
    page.goto(rig.url + "/manage/real-name")
    page.fill("#l-user", "boss")
    page.fill("#l-pass", "Tulip-7741-q")
    page.click("#l-submit")
    row = page.locator(f'#people tr[data-ticket="{ticket["id"]}"]')
    expect(row).to_contain_text("何*东")
    expect(row).to_contain_text(number[:3] + "*" * 11 + number[-4:])
    assert name not in page.content() and number not in page.content()
    row.get_by_role("button", name="查看").click()
    expect(page.locator("#rv-number")).to_have_text(ticket["number"])
    page.get_by_role("button", name="确认查看").click()
    expect(page.locator("#rv-reason-problem")).to_have_text("请填写查看原因")
    page.get_by_label("查看原因").fill("群众来电核实")
    page.get_by_role("button", name="确认查看").click()
    expect(row).to_contain_text(name)
    expect(row).to_contain_text(number)
    expect(row).to_contain_text("已查看（已记入审计日志）")
    check(page, "manage real-name", [])
