"""`GET /api/manage/plan?target_p90=15&weeks=4` (managers and admins): 明日排班建议 — per queue
and hour, the fewest windows that keep the P90 wait within the target on the next working
day, planned with the simulator on the arrivals and handling of the hall's last `weeks` weeks
(hall.sim_history, hall.planner). `?format=csv` gives one row per queue and hour, in Chinese.

Why a worker process: a plan is a few seconds of pure computation (hundreds of simulated
days); in the server's own process it would hold the event loop and every screen with it. So
it runs in one spawned worker, and the answer is kept for the day per (target, weeks): the
history it reads ends yesterday, so it does not change until tomorrow. Two managers asking at
once share one computation.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import multiprocessing
from datetime import date, timedelta
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from hall import errors
from hall.api import as_list, manager_of, ok, query_int
from hall.config import HallConfig
from hall.planner import as_json, csv_rows, plan_hall
from hall.service import HallService
from hall.sim_history import NoHistory, learn
from hall.sim_model import Profile

REPLICATIONS = 20
SEED = 1
_pool: concurrent.futures.ProcessPoolExecutor | None = None


def _worker() -> concurrent.futures.ProcessPoolExecutor:
    global _pool
    if _pool is None:
        _pool = concurrent.futures.ProcessPoolExecutor(
            max_workers=1, mp_context=multiprocessing.get_context("spawn"))
    return _pool


def compute(config: HallConfig, profile: Profile, target: float, day: date,
            replications: int = REPLICATIONS) -> list[Any]:
    """In the worker: the plans (picklable dataclasses)."""
    return plan_hall(config, profile, target, replications, SEED, day)


def _target(request: Request) -> float:
    raw = request.query_params.get("target_p90")
    if raw in (None, ""):
        return 15.0
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not 1 <= value <= 240:
        raise errors.bad_request("等候目标应为 1 到 240 分钟", "invalid_query", "target_p90")
    return value


def next_working_day(config: HallConfig, today: date) -> date:
    day = today + timedelta(days=1)
    for _ in range(60):
        if config.workdays.is_working_day(day):
            return day
        day += timedelta(days=1)
    return today + timedelta(days=1)


async def manage_plan(request: Request) -> Response:
    await manager_of(request)
    target = _target(request)
    weeks = query_int(request, "weeks")
    weeks = 4 if weeks is None else weeks
    if not 1 <= weeks <= 52:
        raise errors.bad_request("历史周数应为 1 到 52", "invalid_query", "weeks")
    service: HallService = request.app.state.service
    now = service.clock().astimezone(service.tz)
    today = now.date()
    offset = int(now.utcoffset().total_seconds()) if now.utcoffset() else 0
    config = service.config
    cache: dict[tuple[Any, ...], asyncio.Future[dict[str, Any]]] | None = getattr(
        request.app.state, "plans", None)
    if cache is None:
        cache = request.app.state.plans = {}
    key = (today, target, weeks)
    if key not in cache or (cache[key].done() and cache[key].exception() is not None):
        try:
            learned = await service.store.read(
                lambda conn: learn(conn, config, today, weeks, offset))
        except NoHistory:
            raise errors.conflict(f"最近 {weeks} 周没有号票记录，暂无法给出排班建议",
                                  "no_history") from None
        day = next_working_day(config, today)
        future = asyncio.get_running_loop().run_in_executor(
            _worker(), compute, config, learned.profile, target, day)

        async def answer() -> dict[str, Any]:
            global _pool
            try:
                plans = await future
            except concurrent.futures.process.BrokenProcessPool:
                _pool = None  # the worker died (killed, out of memory): a new one next time
                raise
            return as_json(plans, target, day=day.isoformat(), weeks=weeks,
                           history_days=learned.days, history_from=learned.first.isoformat(),
                           history_to=learned.last.isoformat(), replications=REPLICATIONS,
                           profile="history")

        for stale in [k for k in cache if k[0] != today][:] + list(cache)[:-15]:
            cache.pop(stale, None)  # yesterday's plans, and more than a page offers
        cache[key] = asyncio.ensure_future(answer())
    data = await asyncio.shield(cache[key])
    if request.query_params.get("format") == "csv":
        return as_list(request, "plan", csv_rows(data))
    return ok(data)


def routes() -> list[BaseRoute]:
    return [Route("/api/manage/plan", manage_plan, methods=["GET"])]
