"""`python -m hall simulate …`: the simulator's command line (hall.cli registers it).

    simulate [--config FILE] [--db FILE] [--days D] [--seed S] [--start DAY] [--exact] [--json]
             [--from-history [DB] [--weeks W]]
             [--plan --target-p90 MIN [--replications R]]
             [--live --url URL [--every SECONDS] [--accounts FILE] [--duration SECONDS]]

Exit status: 0, 1 for a bad configuration or a profile with no arrivals, 2 for a database the
simulator refuses to write (a hall's own, or one a server holds).
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
from datetime import date, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from hall.config import HallConfig
from hall.sim_model import Profile, profile_from_config
from hall.simulate import (
    NotASimulation,
    Options,
    ProgressBar,
    dumps,
    report,
    run,
    table,
    working_days,
)
from hall.store_pg import is_postgres


def add_arguments(sim: argparse.ArgumentParser) -> None:
    sim.add_argument("--config", default="config.toml")
    sim.add_argument("--db", default=None, help="keep the simulated days in this SQLite file "
                     "(default: a temporary one; never a hall's PostgreSQL database)")
    sim.add_argument("--days", type=int, default=None, help="working days to play")
    sim.add_argument("--seed", type=int, default=None)
    sim.add_argument("--start", type=date.fromisoformat, default=None,
                     help="first day YYYY-MM-DD (default: the last working days before "
                     "today; the plan: the next working day)")
    sim.add_argument("--exact", action="store_true",
                     help="every step as a server transaction (events, audit; slower)")
    sim.add_argument("--json", action="store_true", help="one JSON object on stdout")
    sim.add_argument("--from-history", nargs="?", const="var/hall.db", default=None,
                     metavar="DB", help="learn arrivals and handling from a hall's "
                     "database, a file or a postgresql:// URL (read only; default "
                     "var/hall.db)")
    sim.add_argument("--weeks", type=int, default=4, help="weeks of history to learn from")
    sim.add_argument("--plan", action="store_true", help="the fewest windows per queue and "
                     "hour that keep the P90 wait within --target-p90")
    sim.add_argument("--target-p90", type=float, default=15.0, metavar="MIN")
    sim.add_argument("--replications", type=int, default=20,
                     help="simulated days per plan compared")
    sim.add_argument("--live", action="store_true",
                     help="drive a running hall server over HTTP in real time (a demo)")
    sim.add_argument("--url", default="http://127.0.0.1:8000")
    sim.add_argument("--every", type=float, default=10.0,
                     help="live: seconds between tickets on average")
    sim.add_argument("--accounts", default="var/demo-accounts.txt",
                     help="live: the demo accounts sheet (scripts/demo_accounts.py)")
    sim.add_argument("--duration", type=float, default=None,
                     help="live: stop after this many seconds (default: until the server stops)")
    sim.add_argument("--server-pid", type=int, default=None,
                     help="live: stop when this process (the server) ends")
    sim.add_argument("--pace", type=float, default=30.0, help="live: handling this many "
                     "times quicker than the configured minutes")
    sim.add_argument("--windows", default=None, help="live: the windows to staff, e.g. "
                     "2,3,5 (default: every demo clerk's window but 1)")
    sim.set_defaults(fn=cmd_simulate)


def cmd_simulate(args: argparse.Namespace) -> int:
    from hall.cli import _load

    config = _load(args.config)
    if config is None:
        return 1
    if args.live:
        from hall.sim_live import run_live

        try:
            windows = tuple(int(n) for n in args.windows.split(",")) if args.windows else None
        except ValueError:
            print("--windows 应为窗口号，用逗号分隔，如 2,3,5", file=sys.stderr)
            return 1
        return run_live(config, args.url, Path(args.accounts), args.every, args.duration,
                        args.seed, args.server_pid, windows, max(1.0, args.pace))
    profile, about = _profile(config, args)
    if profile is None:
        return 1
    if not profile.services or profile.expected() <= 0:
        print("没有可模拟的到达：请在配置的 [simulate.arrivals] 中填写各事项每小时的取号数，"
              "或使用 --from-history 从大厅数据库学习", file=sys.stderr)
        return 1
    seed = args.seed if args.seed is not None else config.simulate.seed
    if args.plan:
        return _plan(config, profile, args, seed, about)
    if args.db and is_postgres(args.db):
        print(f"{_shown(args.db)} 是大厅的业务数据库，模拟不会写入它；"
              "请用 --db 指定一个新的 SQLite 文件，或不指定（使用临时文件）", file=sys.stderr)
        return 2
    bar = ProgressBar()
    options = Options(days=args.days or config.simulate.days, seed=seed, exact=args.exact,
                      start=args.start, db=Path(args.db) if args.db else None, progress=bar)
    try:
        result = run(config, profile, options)
    except NotASimulation as exc:
        print(str(exc), file=sys.stderr)
        return 2
    finally:
        bar.done()
    data = {**report(config, result, seed, profile), **about}
    if args.json:
        print(dumps(data))
    else:
        from hall.simulate import text_report
        print(text_report(data))
    return 0


def _profile(config: HallConfig, args: argparse.Namespace
             ) -> tuple[Profile | None, dict[str, object]]:
    if not args.from_history:
        return profile_from_config(config), {}
    from hall.sim_history import NoHistory, learn

    source = args.from_history
    today = datetime.now(config.hall.tz).date()
    offset = int((datetime.now(config.hall.tz).utcoffset() or timedelta(0)).total_seconds())
    if is_postgres(source):  # one read-only snapshot, on a connection of its own
        import asyncpg

        from hall.store_pg import read_once
        failures: tuple[type[BaseException], ...] = (
            OSError, ValueError, asyncpg.PostgresError, asyncpg.InterfaceError)
    else:
        if not Path(source).exists():
            print(f"数据库文件不存在：{source}", file=sys.stderr)
            return None, {}
        failures = (sqlite3.Error,)
    try:
        if is_postgres(source):
            learned = read_once(source, lambda conn: learn(conn, config, today, args.weeks,
                                                           offset))
        else:
            conn = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
            try:
                learned = learn(conn, config, today, args.weeks, offset)
            finally:
                conn.close()
    except NoHistory as exc:
        print(f"无法从历史学习：最近 {args.weeks} 周（{exc}）", file=sys.stderr)
        return None, {}
    except failures as exc:
        print(f"无法读取数据库 {_shown(source)}：{exc}", file=sys.stderr)
        return None, {}
    return learned.profile, {"history_days": learned.days,
                             "history_from": learned.first.isoformat(),
                             "history_to": learned.last.isoformat()}


def _shown(db: str) -> str:
    """A database as a message may name it: a URL without its password."""
    parts = urlsplit(db)
    if parts.password is None:
        return db
    netloc = f"{parts.username}@{parts.hostname}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


def _plan(config: HallConfig, profile: Profile, args: argparse.Namespace, seed: int,
          about: dict[str, object]) -> int:
    from hall.planner import as_json, plan_hall

    day = args.start or working_days(
        config, datetime.now(config.hall.tz).date() + timedelta(days=1), 1)[0]
    bar = ProgressBar(label="排班计算")
    try:
        plans = plan_hall(config, profile, args.target_p90, max(1, args.replications), seed,
                          day, progress=bar)
    finally:
        bar.done()
    data = as_json(plans, args.target_p90, day=day.isoformat(), seed=seed,
                   replications=args.replications, profile=profile.source, **about)
    print(dumps(data) if args.json else plan_text(data))
    return 0


def plan_text(data: dict[str, object]) -> str:
    """The plan as a rota a manager can pin up: hours down, queues across."""
    from hall.datefmt import day_text

    queues: list[dict] = data["queues"]  # type: ignore[assignment]
    totals: list[dict] = data["totals"]  # type: ignore[assignment]
    target = data["target_p90_minutes"]
    out = [f"排班建议（{day_text(str(data['day']))}）：各队列每小时至少开几个窗口，"
           f"使 90% 的群众等候不超过 {target:g} 分钟",
           f"依据：{'大厅历史数据' if data.get('profile') == 'history' else '配置 [simulate]'}"
           f"，每种方案模拟 {data['replications']} 天", ""]
    headers = ["时段", *(q["name"] for q in queues), "合计"]
    rows = []
    for total in totals:
        row: list[object] = [total["hour"]]
        for q in queues:
            h = next((x for x in q["hours"] if x["hour"] == total["hour"]), None)
            row.append("" if h is None else f"{h['windows']}{'' if h['target_met'] else '*'}")
        row.append(total["windows"])
        rows.append(row)
    out += table(headers, rows)
    out.append("")
    out.append("每格为该队列在该时段建议开放的窗口数（按专窗计算：一个窗口同时办理两个队列时，"
               "可由一人兼顾两格）。")
    if any(not h["target_met"] for q in queues for h in q["hours"]):
        out.append("* 即使开到上限也达不到目标，请考虑延时服务或分流。")
    out.append("各时段预计 90% 等候（分钟）：")
    out += table(headers[:-1], [[t["hour"], *(
        next((x["p90_minutes"] for x in q["hours"] if x["hour"] == t["hour"]), None)
        for q in queues)] for t in totals])
    return "\n".join(out)
