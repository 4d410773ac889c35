"""A hand-made hall day with known answers for the report tests (issue 10.1, 10.5).

Played through the real core (hall.service, hall.feedback) on a real SQLite file with a clock
the script moves, so the event log, the audit log, ratings and cases are exactly what a hall
would write. The day is Monday 2 March 2026; every figure the tests expect is worked out in
the comments below.

  08:30 clerk3 logs in at window 3 (queue 不动产登记)
  09:00 C001 issued; clerk4 logs in at window 4 (不动产登记, 税务)
  09:05 window 3 calls C001 (waited 5 min), 09:06 starts (walk 60 s), 09:20 finishes 办结
  09:30 window 3 pauses 开会; clerk5 takes window 4 over
  09:40 C002 issued                          (window 3 paused: not idle)
  09:50 window 3 resumes                     (idle while C002 waits: 09:50–10:10)
  10:00 clerk5 logs out of window 4          (window 4 idle while people waited:
                                              09:00–09:05 clerk4, 09:40–10:00 clerk5)
  10:10 window 3 calls C002 (waited 30 min), 10:12 starts (walk 120 s), 10:30 finishes 受理;
        pauses 午休
  10:50 window 3 resumes; 11:00 clerk3 logs out
  11:00 clerk6 logs in at window 6 (税务); D001 issued
  11:02 window 6 calls D001 (waited 2 min), 11:03 holds it (挂起)
  11:10 calls it back, 11:11 starts (walk 60 s), 11:21 finishes 办结; 11:30 logs out
  11:40 ratings: C001 5, C002 1 (差评), D001 2 (差评, then its 申诉 upheld: not counted)
  11:45 a 办不成事 report on C002's ticket (window 3)

Window 3: logged in 150 min = idle 75 (of which 25 while people waited) + paused 40 (开会 20,
午休 20) + called 3 + serving 32; 2 served (0.8 an hour), walk 90 s on average.
Window 4: 60 min, all idle, 25 of them while people waited; clerk4 30 (5), clerk5 30 (20).
Window 6: 30 min = idle 18 (2 while D001 waited) + called 2 + serving 10; 1 served, walk 60 s.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from hall.config import load_config
from hall.feedback import Feedback
from hall.service import Actor, HallService

ROOT = Path(__file__).resolve().parent.parent
TZ = ZoneInfo("Asia/Shanghai")
DAY = "2026-03-02"
BOSS = Actor("boss", "127.0.0.1")


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 3, 2, 8, 30, tzinfo=TZ)

    def __call__(self) -> datetime:
        return self.now

    def at(self, hh: int, mm: int) -> None:
        self.now = datetime(2026, 3, 2, hh, mm, tzinfo=TZ)


async def play_day(db: Path) -> tuple[HallService, Clock]:
    """Play the day into `db`; returns the open service (the caller closes it) at 11:50."""
    clock = Clock()
    service = await HallService.open(load_config(ROOT / "config.toml"), db, clock)
    feedback = Feedback(service)
    c3, c4, c5, c6 = (Actor(f"clerk{n}", "127.0.0.1") for n in (3, 4, 5, 6))
    await service.open_window(3, c3)
    clock.at(9, 0)
    c001 = await service.issue_ticket("bdc-query")
    await service.open_window(4, c4)
    clock.at(9, 5)
    await service.call(3, c3)
    clock.at(9, 6)
    await service.start(3, c3)
    clock.at(9, 20)
    await service.finish(3, c3, "done")
    clock.at(9, 30)
    await service.pause(3, c3, "开会")
    await service.open_window(4, c5)
    clock.at(9, 40)
    c002 = await service.issue_ticket("bdc-query")
    clock.at(9, 50)
    await service.resume(3, c3)
    clock.at(10, 0)
    await service.close_window(4, c5)
    clock.at(10, 10)
    await service.call(3, c3)
    clock.at(10, 12)
    await service.start(3, c3)
    clock.at(10, 30)
    await service.finish(3, c3, "accepted")
    await service.pause(3, c3, "午休")
    clock.at(10, 50)
    await service.resume(3, c3)
    clock.at(11, 0)
    await service.close_window(3, c3)
    await service.open_window(6, c6)
    d001 = await service.issue_ticket("tax-invoice")
    clock.at(11, 2)
    await service.call(6, c6)
    clock.at(11, 3)
    await service.hold(6, c6)
    clock.at(11, 10)
    await service.callback(6, c6, d001["number"])
    clock.at(11, 11)
    await service.start(6, c6)
    clock.at(11, 21)
    await service.finish(6, c6, "done")
    clock.at(11, 30)
    await service.close_window(6, c6)
    clock.at(11, 40)
    for ticket, level in ((c001, 5), (c002, 1), (d001, 2)):
        await feedback.rate_ticket(ticket["token"], feedback.check_rating(level))
    cases = await feedback.cases("rectification")
    appeal = next(c for c in cases if c["number"] == d001["number"])["id"]
    for action, body in (("callback", {"note": "已联系"}),
                         ("classify", {"classification": "appeal", "note": "误评"}),
                         ("fix", {"measures": "核实为误评", "upheld": True})):
        await feedback.rectification_step(appeal, action, BOSS, body)
    clock.at(11, 45)
    await feedback.open_complaint({"description": "材料要求前后不一", "ticket": c002["token"]})
    clock.at(11, 50)
    return service, clock
