"""Tickets written ahead by PostgreSQL's batches (hall/ticket_rows.py `TicketDraft`): many kiosks
at once get the numbers, places and events one after another would, in one round trip per
batch. On a real PostgreSQL server whatever the run's backend (the path exists only there);
the three-process runs of tests/test_cluster.py go through it too."""

from __future__ import annotations

import asyncio
import json
import os
import random
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from hall import errors
from hall.numbering import format_number
from hall.service import Actor, HallService
from hall.ticket_rows import TicketDraft
from tests import backends
from tests.clocked import Clock, demo_config

NOW = datetime(2026, 12, 2, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))  # a Wednesday morning
SERVICES = {"yibao-card": ("yibao", "A"), "shebao-pension": ("shebao", "B"),
            "bdc-transfer": ("budongchan", "C")}


@pytest.fixture
def db(tmp_path: Path) -> str:
    os.environ["HALL_DATA_DIR"] = str(tmp_path / "var")
    return backends.cluster().database()


@pytest.fixture
def batches(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """How many tickets each write-ahead call held (the real call runs; this only counts)."""
    sizes: list[int] = []
    real = TicketDraft.write_all

    def counted(conn: Any, drafts: list[TicketDraft]) -> None:
        sizes.append(len(drafts))
        real(conn, drafts)

    monkeypatch.setattr(TicketDraft, "write_all", staticmethod(counted))
    yield sizes


def issued_events(db: str) -> list[dict[str, Any]]:
    rows = backends.rows(db, "SELECT seq, type, data FROM events ORDER BY seq")
    return [{"seq": r["seq"], "type": r["type"], **json.loads(str(r["data"]))} for r in rows]


async def test_tickets_taken_at_once_are_numbered_as_one_after_another(
        db: str, batches: list[int]) -> None:
    service = await HallService.open(demo_config(), db, Clock(NOW))
    try:
        wanted = [random.Random(7).choice(list(SERVICES)) for _ in range(150)]
        views = await asyncio.gather(*(service.issue_ticket(s) for s in wanted))
    finally:
        await service.close()
    assert sum(batches) > 0 and max(batches) > 1 and len(batches) < len(views)
    stored = {r["token"]: r for r in backends.rows(db, "SELECT token, number, queue FROM tickets")}
    for queue, prefix in SERVICES.values():
        mine = [v for v in views if v["queue"] == queue]
        # numbers 1..n without a gap or a twin, each answered as it is stored
        assert sorted(v["number"] for v in mine) == [
            format_number(prefix, i, 3) for i in range(1, len(mine) + 1)]
        assert all(stored[v["token"]]["number"] == v["number"] for v in mine)
        # each ticket's place is the count of its queue's tickets numbered before it
        assert all(v["position"] == int(v["number"][1:]) - 1 for v in mine)
        # the screens hear them in number order, the queue one longer each time
        events = [e for e in issued_events(db) if e["type"] == "ticket.issued"
                  and e["queue"] == queue]
        assert [e["number"] for e in events] == sorted(v["number"] for v in mine)
        assert [e["queues"][0]["waiting"] for e in events] == list(range(1, len(mine) + 1))


async def test_a_batch_past_the_daily_cap_gives_out_exactly_the_cap(db: str,
                                                                   batches: list[int]) -> None:
    config = demo_config()
    config = replace(config, queues=tuple(replace(q, daily_cap=5) if q.id == "yibao" else q
                                          for q in config.queues))
    service = await HallService.open(config, db, Clock(NOW))
    try:
        answers = await asyncio.gather(*(service.issue_ticket("yibao-card") for _ in range(12)),
                                       return_exceptions=True)
        after = await service.issue_ticket("shebao-pension")
    finally:
        await service.close()
    given = sorted(a["number"] for a in answers if isinstance(a, dict))
    refused = [a for a in answers if not isinstance(a, dict)]
    assert given == ["A001", "A002", "A003", "A004", "A005"]
    assert all(isinstance(a, errors.HallError) and a.code == "daily_cap" for a in refused)
    assert len(refused) == 7 and after["number"] == "B001"
    # the refusals used no number: the counter stops at the cap
    assert backends.rows(db, "SELECT last FROM counters WHERE queue = 'yibao'") == [{"last": 5}]
    assert max(batches) > 1  # they came in a batch together, refusals and all


async def test_calls_in_the_same_batches_never_come_before_the_tickets_they_call(
        db: str, batches: list[int]) -> None:
    service = await HallService.open(demo_config(), db, Clock(NOW))
    try:
        for window in (1, 2, 3):
            await service.open_window(window, Actor(f"clerk{window}"))

        # the queue is empty and the calls were asked first: only the tickets of their
        # own batch can be called, and the log must say those were issued before
        work = [service.call(w, Actor(f"clerk{w}")) for w in (1, 2, 3)]
        work += [service.issue_ticket("yibao-card") for _ in range(30)]
        await asyncio.gather(*work, return_exceptions=True)
    finally:
        await service.close()
    assert max(batches) > 1
    issued_at: dict[str, int] = {}
    called = 0
    for event in issued_events(db):
        if event["type"] == "ticket.issued":
            issued_at[event["number"]] = event["seq"]
        elif event["type"] == "ticket.called":
            assert event["number"] in issued_at, event  # heard issued before called
            called += 1
    assert called > 0


async def test_a_ticket_the_database_refuses_fails_alone_not_its_batch(
        db: str, batches: list[int]) -> None:
    """A kiosk name with a NUL character, which PostgreSQL cannot store, sent among others:
    the others get their tickets, it gets a clear refusal, and no number is lost."""
    service = await HallService.open(demo_config(), db, Clock(NOW))
    try:
        answers = await asyncio.gather(
            service.issue_ticket("yibao-card", kiosk="kiosk\x00one"),
            *(service.issue_ticket("yibao-card") for _ in range(10)), return_exceptions=True)
    finally:
        await service.close()
    bad, *good = answers
    assert isinstance(bad, errors.HallError) and (bad.status, bad.code) == (400, "invalid_text")
    assert "字符" in bad.message
    assert sorted(a["number"] for a in good) == [format_number("A", i, 3) for i in range(1, 11)]
    assert max(batches) > 1
