"""`python -m hall simulate`: play hall days on the real core and report what citizens lived.

One run: the working days from `start` (by default the last working days before today, so
that the reports show them as closed days; in a `--db` that holds simulated days already, the
working days after its last one), each day drawn from the profile (hall.sim_model), played by the
event loop (hall.sim_engine) on the hall's core (hall.sim_halls), written to a SQLite file with
the hall's own schema, and closed and rolled up at midnight as the server does (so `hall serve
--db FILE` shows the simulated days in its reports). Without `--db` the file is a temporary one.

A hall's real database is never written: a file a server holds is refused, and so is one with
tickets the simulator did not make.
"""

from __future__ import annotations

import json
import os
import sqlite3
import sys
import tempfile
import time
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, TextIO

from hall.config import HallConfig
from hall.datefmt import day_text
from hall.events import Bus
from hall.service import HallService
from hall.sim_engine import Engine, Staffing
from hall.sim_figures import DayRecord, Tally
from hall.sim_halls import DayClock, FastHall, ServiceHall, write_day
from hall.sim_model import MINUTE_MS, Profile, draw_day, ms_of
from hall.sim_store import SIM_MARK, SimStore, run_sync
from hall.store import DatabaseInUse, lock_database


class NotASimulation(Exception):
    """The database holds a hall's real tickets (or a server holds it): never written."""


@dataclass
class Options:
    days: int = 1
    seed: int = 1
    exact: bool = False  # every step through HallService (slower, writes events and audit)
    start: date | None = None
    db: Path | None = None
    progress: Callable[[float, int], None] | None = None  # (share done, tickets so far)
    keep_days: bool = False  # keep every citizen of every day in Result.records
    staffing: Callable[[date], Staffing] | None = None  # default: every window all day


@dataclass
class Result:
    days: list[date]
    records: list[DayRecord]  # with Options.keep_days
    figures: dict[str, Any]  # hall.sim_figures, over every day
    wall_seconds: float
    db: Path | None
    mode: str
    tickets: int = 0
    events: int = 0


def default_staffing(config: HallConfig) -> Staffing:
    """Every window open from the earliest queue opening until the latest closing plus the
    overtime in which they serve whoever still waits."""
    opens = min(ms_of(config.hours(q.id)[0]) for q in config.queues)
    closes = max(ms_of(config.hours(q.id)[1]) for q in config.queues)
    end = closes + round(config.simulate.overtime_minutes * MINUTE_MS)
    return Staffing([(opens, frozenset(w.number for w in config.windows if not w.closed))], end)


def working_days(config: HallConfig, first: date, count: int) -> list[date]:
    out, day = [], first
    while len(out) < count:
        if config.workdays.is_working_day(day):
            out.append(day)
        day += timedelta(days=1)
    return out


def days_before(config: HallConfig, today: date, count: int) -> list[date]:
    out, day = [], today - timedelta(days=1)
    while len(out) < count:
        if config.workdays.is_working_day(day):
            out.append(day)
        day -= timedelta(days=1)
    return out[::-1]


def check_database(path: Path) -> date | None:
    """Refuse a hall's database; for a simulation's own, the last day it holds."""
    if not path.exists() or path.stat().st_size == 0:
        return None
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        raise NotASimulation(f"无法打开数据库文件 {path}：{exc}") from None
    try:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
        if "tickets" not in tables:
            return None
        marked = "meta" in tables and conn.execute(
            "SELECT 1 FROM meta WHERE key = ?", (SIM_MARK,)).fetchone() is not None
        last = conn.execute("SELECT MAX(day) FROM tickets").fetchone()[0]
        used = last is not None or ("users" in tables and conn.execute(
            "SELECT 1 FROM users LIMIT 1").fetchone() is not None)
    except sqlite3.Error as exc:
        raise NotASimulation(f"无法读取数据库文件 {path}：{exc}") from None
    finally:
        conn.close()
    if used and not marked:  # a hall's: it has tickets, or accounts made for it
        raise NotASimulation(f"{path} 是大厅的业务数据库（有号票或账户），模拟不会写入它；"
                             "请用 --db 指定一个新的文件，或不指定（使用临时文件）")
    return date.fromisoformat(last) if last else None


def run(config: HallConfig, profile: Profile, options: Options) -> Result:
    """Play the days; the database stays behind only when `options.db` names it."""
    with tempfile.TemporaryDirectory(prefix="hall-sim-") as tmp:
        path = options.db or Path(tmp) / "sim.db"
        try:
            lock = lock_database(path)
        except DatabaseInUse as exc:
            raise NotASimulation(f"数据库文件 {path} 正被大厅服务进程 (pid {exc.pid}) 使用，"
                                 "模拟不会写入它") from None
        try:
            return _run(config, profile, options, path, check_database(path))
        finally:
            os.close(lock)


def _run(config: HallConfig, profile: Profile, options: Options, path: Path,
         last: date | None) -> Result:
    if options.start or last:
        days = working_days(config, options.start or last + timedelta(days=1), options.days)
    else:  # the last working days before today: closed days, which the reports show
        days = days_before(config, datetime.now(config.hall.tz).date(), options.days)
    store = SimStore.open(path)
    clock = DayClock(days[0], config.hall.tz)
    clock.at(1000)
    service = HallService(config, store, Bus(config.hall.ws_client_queue), clock)
    records: list[DayRecord] = []
    tally = Tally(config)
    tickets = events = 0
    began = time.perf_counter()
    try:
        run_sync(service._start())
        staffing_of = options.staffing or (lambda day: default_staffing(config))
        windows = [(w.number, w.queues) for w in config.windows if not w.closed]
        for index, day in enumerate(days):
            clock.set_day(day)
            clock.at(1000)
            run_sync(service.close_stale_days())  # the server's midnight roll-over
            citizens = draw_day(profile, options.seed, index)
            if options.exact:
                hall: ServiceHall | FastHall = ServiceHall(service, clock)
            else:
                first_id = run_sync(store.read(lambda conn: conn.execute(
                    "SELECT COALESCE(MAX(id), 0) + 1 FROM tickets").fetchone()[0]))
                hall = FastHall(config, clock, first_id, service._due_date)
            staffing = staffing_of(day)
            engine = Engine(hall, citizens, Engine.windows_for(windows, options.seed, index),
                            staffing, config.simulate)
            if options.progress is not None:
                engine.progress = _progress(options.progress, engine, index, len(days),
                                            tickets)
            engine.run()
            if isinstance(hall, FastHall):
                write_day(service, hall)
            store.commit()
            tickets += sum(1 for c in citizens if c.issued_ms is not None)
            if options.progress is not None:  # a small day has fewer events than a tick
                options.progress((index + 1) / len(days), tickets)
            events += engine.events
            midnight_us = clock._midnight_us
            record = DayRecord(day, citizens, engine.windows, dict(engine.longest),
                               engine.longest_hall, engine.closed_ms,
                               lambda ms, m=midnight_us: (m + ms * 1000) / 1_000_000)
            tally.add(record)
            if options.keep_days:
                records.append(record)
        clock.set_day(days[-1] + timedelta(days=1))
        clock.at(1000)
        run_sync(service.close_stale_days())  # the last day closed and rolled up too
        store.commit()
    finally:
        run_sync(store.close())
    wall = time.perf_counter() - began
    return Result(days, records, tally.result(), wall, options.db,
                  "exact" if options.exact else "fast", tickets, events)


def _progress(report: Callable[[float, int], None], engine: Engine, index: int, days: int,
              before: int) -> Callable[[int], None]:
    end = engine.staffing.end_ms

    def tick(now: int) -> None:
        report((index + min(1.0, now / end)) / days, before + engine.arrived)

    return tick


# ---------------------------------------------------------------------------- output


def report(config: HallConfig, result: Result, seed: int, profile: Profile) -> dict[str, Any]:
    figures = result.figures
    speed = result.tickets / result.wall_seconds if result.wall_seconds > 0 else None
    return {
        "hall": config.hall.name, "mode": result.mode, "seed": seed,
        "profile": profile.source, "days": [d.isoformat() for d in result.days],
        "db": str(result.db) if result.db else None,
        **figures,
        "wall_seconds": round(result.wall_seconds, 3),
        "tickets_per_second": round(speed) if speed else None,
    }


def width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def cell(text: Any, size: int, left: bool = False) -> str:
    text = "-" if text is None else str(text)
    gap = " " * max(0, size - width(text))
    return text + gap if left else gap + text


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> list[str]:
    """Columns wide enough for Chinese text (two cells a character); first column left."""
    sizes = [max(width(str(h)), *(width("-" if r[i] is None else str(r[i])) for r in rows))
             for i, h in enumerate(headers)] if rows else [width(h) for h in headers]
    lines = ["  ".join(cell(h, sizes[i], i == 0) for i, h in enumerate(headers))]
    lines += ["  ".join(cell(v, sizes[i], i == 0) for i, v in enumerate(r)) for r in rows]
    return lines


def _pct(share: float | None) -> str | None:
    return None if share is None else f"{share * 100:.0f}%"


def text_report(data: dict[str, Any]) -> str:
    days = data["days"]
    span = day_text(days[0]) + (f"至{day_text(days[-1])}" if len(days) > 1 else "")
    mode = "逐笔事务（与服务器相同）" if data["mode"] == "exact" else "快速（核心规则，内存）"
    source = "历史数据" if data["profile"] == "history" else "配置 [simulate]"
    out = [f"{data['hall']} · 模拟 {len(days)} 个工作日（{span}）",
           f"种子 {data['seed']} · 到达规律：{source} · 方式：{mode}", ""]
    headers = ["队列", "取号", "办结", "过号", "过期", "转出", "未取到号", "平均等候(分)",
               "90%等候(分)", "最长排队", "等候超时", "窗口利用率"]
    rows = [[q["name"], q["tickets"], q["served"], q["no_show"], q["missed"],
             q["transferred"], q["refused"], q["wait_avg_minutes"], q["wait_p90_minutes"],
             q["longest_queue"], f"{q['over_threshold']}（>{q['threshold_minutes']:g}分）",
             _pct(q["utilisation"])] for q in data["queues"] if q["tickets"] or q["refused"]]
    rows.append(["合计", data["tickets"], data["served"], data["no_show"], data["missed"],
                 data["transferred"], data["refused"], data["wait_avg_minutes"],
                 data["wait_p90_minutes"], data["longest_queue"], data["over_threshold"],
                 _pct(data["utilisation"])])
    out += table(headers, rows)
    out.append("")
    out += table(["窗口", "叫号", "办结", "开窗(时)", "利用率"],
                 [[w["name"], w["calls"], w["served"], w["open_hours"], _pct(w["utilisation"])]
                  for w in data["windows"]])
    out.append("")
    out.append(f"模拟速度：每秒 {data['tickets_per_second'] or 0:,} 张号"
               f"（共 {data['tickets']:,} 张，用时 {data['wall_seconds']:.2f} 秒）")
    if data["db"]:
        out.append(f"模拟数据已写入 {data['db']}（可用 hall serve --db 查看报表）")
    return "\n".join(out)


class ProgressBar:
    """A bar on stderr when it is a terminal and the run has taken longer than a second."""

    def __init__(self, stream: TextIO = sys.stderr, label: str = "模拟") -> None:
        self.stream = stream
        self.label = label
        self.began = time.perf_counter()
        self.shown = False
        self.last = 0.0

    def __call__(self, share: float, tickets: int | None = None) -> None:
        now = time.perf_counter()
        if not self.stream.isatty() or now - self.began < 1.0 or now - self.last < 0.1:
            return
        self.last = now
        filled = int(share * 30)
        counts = "" if tickets is None else \
            f"  {tickets:,} 张  每秒 {tickets / (now - self.began):,.0f} 张"
        self.stream.write(f"\r{self.label} [{'#' * filled}{'.' * (30 - filled)}] "
                          f"{share * 100:3.0f}%{counts} ")
        self.stream.flush()
        self.shown = True

    def done(self) -> None:
        if self.shown:
            self.stream.write("\r" + " " * 78 + "\r")
            self.stream.flush()


def dumps(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, indent=None, separators=(",", ":"))
