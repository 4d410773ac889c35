"""The per-person limits of 实名取号 over days and weeks, in-process against a real SQLite file
with a clock the test moves (the real-server side is tests/test_real_name.py)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from hall.card_reads import CardReads
from hall.config import load_config
from hall.datefmt import day_text
from hall.errors import HallError
from hall.identity import check_character
from hall.real_name import People
from hall.sealed import Sealer
from hall.service import Actor, HallService
from tests import backends
from tests.services import close_services, to_close  # noqa: F401 - the fixture applies here

ROOT = Path(__file__).resolve().parent.parent
TZ = ZoneInfo("Asia/Shanghai")
CLERK = Actor("clerk7", "127.0.0.1")


class Hall:
    now = datetime(2026, 3, 2, 9, 0, tzinfo=TZ)  # a Monday; each test moves its own

    def __init__(self) -> None:
        self.service: HallService
        self.people: People

    def clock(self) -> datetime:
        return self.now

    @property
    def today(self) -> date:
        return self.now.date()

    async def take(self, service: str, name: str, number: str) -> dict:
        body = {"service": service, "name": name, "id_number": number}

        async def no_kiosk() -> None:
            return None

        async with self.people.claim(body, None, no_kiosk) as person:
            return await self.service.issue_ticket(service, person=person)

    async def refused(self, service: str, name: str, number: str) -> HallError:
        with pytest.raises(HallError) as caught:
            await self.take(service, name, number)
        return caught.value

    async def no_show(self, ticket: dict) -> None:
        await self.service.call(7, CLERK, ticket["number"])
        await self.service.skip(7, CLERK)


@pytest.fixture
async def hall(tmp_path: Path) -> Hall:
    config = load_config(ROOT / "config.toml")
    queues = tuple(replace(q, real_name=q.id == "huzheng") for q in config.queues)
    config = replace(config, queues=queues,
                     hall=replace(config.hall, enforce_hours=False,
                                  skip=replace(config.hall.skip, policy="void")),
                     real_name=replace(config.real_name, keep_days=60))
    h = Hall()
    h.service = await HallService.open(config, backends.new_db(tmp_path), h.clock)
    to_close.append(h.service)
    h.people = People(config, Sealer(h.service.store.key_path), CardReads(120, 70, lambda: h.today))
    await h.service.open_window(7, CLERK)
    return h


def number_of(birth: date, seq: int) -> str:
    first = f"320102{birth:%Y%m%d}{seq:03d}"
    return first + check_character(first)


async def test_the_weekly_limit_counts_a_calendar_week(hall: Hall) -> None:
    number = number_of(date(1980, 5, 6), 11)
    assert (await hall.take("hukou-move", "陈一", number))["number"] == "E001"
    hall.now += timedelta(days=1)
    await hall.take("id-card", "陈一", number)
    hall.now += timedelta(days=1)  # Wednesday: the third this week
    refused = await hall.refused("hukou-move", "陈一", number)
    assert refused.code == "person_week_limit" and refused.status == 409
    assert refused.message == f"您在{day_text(hall.today)}所在的一周内已有 2 次，每周限 2 次"
    hall.now += timedelta(days=5)  # next Monday
    assert (await hall.take("hukou-move", "陈一", number))["state"] == "waiting"


async def test_two_no_shows_bar_and_the_bar_lifts(hall: Hall) -> None:
    number = number_of(date(1975, 1, 2), 12)
    await hall.no_show(await hall.take("hukou-move", "林二", number))
    hall.now += timedelta(days=1)
    await hall.no_show(await hall.take("id-card", "林二", number))
    until = hall.today + timedelta(days=90)
    hall.now += timedelta(days=7)
    refused = await hall.refused("hukou-move", "林二", number)
    assert refused.code == "person_barred"
    assert refused.message.endswith(f"{day_text(until)}起才能再次取号")
    # the bar is the person's: someone else takes the same service
    other = number_of(date(1975, 1, 2), 13)
    assert (await hall.take("hukou-move", "林三", other))["state"] == "waiting"
    hall.now = datetime.combine(until, hall.now.timetz())
    assert (await hall.take("hukou-move", "林二", number))["state"] == "waiting"


async def test_people_are_forgotten_after_keep_days(hall: Hall) -> None:
    number = number_of(date(1990, 7, 8), 14)
    await hall.take("hukou-move", "黄四", number)
    count = "SELECT COUNT(*) FROM ticket_people"
    assert await hall.service.store.read(lambda c: c.execute(count).fetchone()[0]) == 1
    hall.now += timedelta(days=61)
    await hall.take("hukou-move", "黄五", number_of(date(1990, 7, 8), 15))
    rows = await hall.service.store.read(
        lambda c: c.execute("SELECT day FROM ticket_people").fetchall())
    assert [r[0] for r in rows] == [hall.today.isoformat()]
    # the ticket itself stays, for the figures
    tickets = "SELECT COUNT(*) FROM tickets WHERE queue = 'huzheng'"
    assert await hall.service.store.read(lambda c: c.execute(tickets).fetchone()[0]) == 2


async def test_bookings_and_real_name_tickets_share_one_set_of_limits(hall: Hall) -> None:
    """One person, one weekly limit: a booking made on the phone and a 实名 ticket taken at the
    kiosk count together, whichever comes first."""
    from hall.appointments import Appointments

    desk = Appointments(hall.service)
    number = number_of(date(1975, 8, 9), 21)
    await hall.take("hukou-move", "周五", number)  # Monday, at the kiosk
    tuesday = datetime.combine(hall.today + timedelta(days=1), datetime.min.time(), TZ)
    booked = await desk.book({"service": "bdc-transfer", "name": "周五", "id_number": number,
                              "phone": "13700137000",
                              "start": (tuesday + timedelta(hours=9)).isoformat()}, None)
    assert booked["code"]
    hall.now += timedelta(days=2)  # Wednesday: a third visit this week, at the kiosk
    refused = await hall.refused("id-card", "周五", number)
    assert refused.code == "person_week_limit"
    # and the other way round: two kiosk tickets leave no booking that week
    other = number_of(date(1982, 1, 2), 22)
    await hall.take("hukou-move", "吴六", other)
    hall.now += timedelta(days=1)
    await hall.take("id-card", "吴六", other)
    friday = datetime.combine(hall.today + timedelta(days=1), datetime.min.time(), TZ)
    with pytest.raises(HallError) as caught:
        await desk.book({"service": "bdc-transfer", "name": "吴六", "id_number": other,
                         "phone": "13700137001",
                         "start": (friday + timedelta(hours=9)).isoformat()}, None)
    assert caught.value.code == "person_week_limit"
