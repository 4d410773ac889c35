"""The window planner (明日排班建议): per queue and clock hour, the fewest windows that keep
the P90 wait within a target, found with the simulator.

The question, made precise (docs/simulator.md says how to read the answer):

* Each queue is planned on its own, served by windows of its own: the plan says "医保 needs 3
  windows 09:00-10:00"; a hall whose windows serve two queues at once may cover two such
  needs with fewer people, and does that sum itself.
* Hour h is within target when the P90 of the waits it holds is at most the target: the
  citizens first called in hour h (their whole wait), and those still waiting at its end
  (their wait so far, for they waited at least that long). This depends on the windows of
  hours up to h only, never on later ones — which is what makes hour-by-hour search sound.
* The answer is the lexicographically smallest plan, over whole days, whose every hour is
  within target: the fewest windows at the first hour that still let every later hour be
  within target, then the fewest at the second given the first, and so on (a morning kept
  short of windows may need more later; the plan staffs each hour as lightly as the target
  allows, as a manager drawing a rota does).
* Waits come from `replications` simulated days (seed, seed+1, …), pooled: the same
  citizens for every plan compared (common random numbers; hall.sim_model), so adding a
  window never makes the figures worse by chance.

`search` is the pure part: hour by hour, it starts at the window count Erlang C suggests and
steps down while the hour stays within target, or up until it is, and goes back an hour when
the line left over cannot be cleared within target (a test checks it against `brute_force`
over every plan of a small case). `Evaluator` answers it with the simulator,
carrying each replication's simulated day forward one hour at a time (a copy of the state at
the end of the hour before, so no hour is played twice for the same prefix).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import date
from typing import Any

from hall import erlang
from hall.config import HallConfig, Window
from hall.sim_config import clock_hours
from hall.sim_engine import Engine, Staffing
from hall.sim_halls import DayClock, FastHall
from hall.sim_model import HOUR_MS, MINUTE_MS, Profile, draw_day, ms_of

Feasible = Callable[[Sequence[int], int], bool]


@dataclass(frozen=True)
class Search:
    windows: list[int]
    met: list[bool]


def search(hours: int, feasible: Feasible, start: Callable[[int], int], most: int,
           least: Sequence[int] | None = None, budget: int = 5000) -> Search:
    """Pure: the lexicographically smallest plan (windows per hour, each in least[i]..most)
    whose every hour is feasible — hour by hour, depth first: at hour i the fewest windows
    that make it feasible given the hours before (found from `start(i)`, stepping down while
    still feasible, up until it is: more windows never make an hour worse), then on to the
    next hour; when no count brings a later hour within target (the hours before left too
    long a line), back to the hour before with one window more. `feasible(prefix, i)` is
    asked about hour i = len(prefix) - 1 only. When no plan is feasible (or `budget`
    questions did not find one), the hour-by-hour plan with the unmet hours marked."""
    floor = list(least) if least is not None else [0] * hours
    asked = 0

    def ok(prefix: list[int]) -> bool:
        nonlocal asked
        asked += 1
        return feasible(prefix, len(prefix) - 1)

    def fewest(plan: list[int]) -> int | None:
        i = len(plan)
        c = min(max(start(i), floor[i]), most)
        if ok([*plan, c]):
            while c > floor[i] and ok([*plan, c - 1]):
                c -= 1
            return c
        while c < most:
            c += 1
            if ok([*plan, c]):
                return c
        return None

    def deeper(plan: list[int]) -> list[int] | None:
        if len(plan) == hours:
            return plan
        c = fewest(plan)
        while c is not None and c <= most and asked < budget:
            if ok([*plan, c]):
                found = deeper([*plan, c])
                if found is not None:
                    return found
            c += 1
        return None

    found = deeper([])
    if found is not None:
        return Search(found, [True] * hours)
    plan: list[int] = []
    met: list[bool] = []
    for _ in range(hours):  # nothing meets every hour: as few as each hour allows
        c = fewest(plan)
        met.append(c is not None)
        plan.append(most if c is None else c)
    return Search(plan, met)


def brute_force(hours: int, most: int, within: Callable[[Sequence[int]], list[bool]],
                least: Sequence[int] | None = None) -> list[int] | None:
    """Every plan in lexicographic order; the first whose every hour is within target."""
    floor = list(least) if least is not None else [0] * hours
    for plan in itertools.product(*(range(floor[i], most + 1) for i in range(hours))):
        if all(within(plan)):
            return list(plan)
    return None


def p90_seconds(waits: Sequence[float]) -> float | None:
    """Nearest-rank P90 of waits in seconds (None for no waits)."""
    if not waits:
        return None
    ordered = sorted(waits)
    return ordered[max(1, math.ceil(0.9 * len(ordered))) - 1]


# ---------------------------------------------------------------------------- the model


@dataclass(frozen=True)
class QueueModel:
    """One queue served by windows of its own, hour by hour."""

    config: HallConfig  # the hall reduced to this queue and `most` windows serving it
    profile: Profile
    queue: str
    hours: tuple[int, ...]  # clock hours
    bounds: tuple[tuple[int, int], ...]  # (start, end) ms of each hour
    end_ms: int
    most: int


def queue_model(config: HallConfig, profile: Profile, queue_id: str,
                most: int | None = None) -> QueueModel:
    queue = config.queue(queue_id)
    services = tuple(s for s in config.services if s.queue == queue_id)
    mine = tuple(sp for sp in profile.services if sp.queue == queue_id)
    opening, closing = config.hours(queue_id)
    hours = tuple(clock_hours(opening, closing))
    if most is None:
        peak = max((_load(mine, i) for i in range(len(hours))), default=0.0)
        most = max(4, min(60, math.ceil(peak * 2) + 3))
    windows = tuple(Window(n, f"{n}号窗口", "comprehensive", (queue_id,))
                    for n in range(1, most + 1))
    alone = replace(config, queues=(queue,), services=services, windows=windows)
    opens = ms_of(opening)
    bounds = tuple((max(h * HOUR_MS, opens), (h + 1) * HOUR_MS) for h in hours)
    end = bounds[-1][1] + round(config.simulate.overtime_minutes * MINUTE_MS)
    return QueueModel(alone, replace(profile, services=mine, transfer_queues=()),
                      queue_id, hours, bounds, end, most)


def _load(services: Sequence[Any], i: int) -> float:
    """Offered load of hour i in windows (Erlangs): arrivals x mean handling / 60."""
    return sum(sp.hourly[i] * sp.handling_minutes / 60 for sp in services
               if i < len(sp.hourly))


def least(model: QueueModel) -> list[int]:
    """A queue that takes numbers in an hour keeps a window open in it: nobody is handed a
    ticket that no window will call, however long the target would let them wait."""
    return [1 if any(i < len(sp.hourly) and sp.hourly[i] > 0 for sp in model.profile.services)
            else 0 for i in range(len(model.hours))]


def _start(model: QueueModel, target_minutes: float) -> Callable[[int], int]:
    def start(i: int) -> int:
        arrivals = sum(sp.hourly[i] for sp in model.profile.services if i < len(sp.hourly))
        if arrivals <= 0:
            return 0
        mean = _load(model.profile.services, i) * 60 / arrivals
        return erlang.servers_for(arrivals / 60, 1 / mean, 0.9, target_minutes, model.most)

    return start


class Evaluator:
    """`feasible(prefix, i)` with the simulator, for `search`."""

    def __init__(self, model: QueueModel, target_minutes: float, replications: int,
                 seed: int, day: date) -> None:
        self.model = model
        self.target = target_minutes * 60
        self.day = day
        self.metrics: dict[tuple[int, ...], float | None] = {}
        self._states: dict[tuple[int, ...], list[Engine]] = {
            (): [self._engine(seed + r) for r in range(replications)]}

    def _engine(self, seed: int) -> Engine:
        m = self.model
        clock = DayClock(self.day, m.config.hall.tz)
        hall = FastHall(m.config, clock, 1, lambda service, outcome, day: None)
        citizens = draw_day(m.profile, seed, 0)
        windows = Engine.windows_for([(w.number, w.queues) for w in m.config.windows],
                                     seed, 0)
        return Engine(hall, citizens, windows, Staffing([], m.end_ms, m.bounds[0][0]),
                      m.config.simulate)

    def metric(self, prefix: Sequence[int]) -> float | None:
        """P90 (seconds) of the waits hour len(prefix)-1 holds, under `prefix`."""
        key = tuple(prefix)
        if key not in self.metrics:
            self._state(key)
        return self.metrics[key]

    def _state(self, key: tuple[int, ...]) -> list[Engine]:
        """Each replication's day at the end of hour len(key)-1 under `key`: the day before
        it played on by one hour. Only the days along the last plan asked about are kept
        (the search asks next about that plan's prefixes or their one-hour extensions); any
        other is played again from the nearest one kept."""
        if key in self._states:
            return self._states[key]
        before = self._state(key[:-1])
        i = len(key) - 1
        start, end = self.model.bounds[i]
        numbers = frozenset(range(1, key[-1] + 1))
        engines, waits = [], []
        for original in before:
            engine = original.fork()
            engine.staff(start, numbers)
            engine.run(until=end)
            waits += hour_waits(engine, start, end)
            engines.append(engine)
        self.metrics[key] = p90_seconds(waits)
        self._states = {k: v for k, v in self._states.items() if key[:len(k)] == k}
        self._states[key] = engines
        return engines

    def days(self) -> list[Engine]:
        """Each replication's day before its first hour (the planner's own, to play on)."""
        return self._states[()]

    def feasible(self, prefix: Sequence[int], i: int) -> bool:
        value = self.metric(prefix)
        return value is None or value <= self.target


def hour_waits(engine: Engine, start: int, end: int) -> list[float]:
    """The waits hour [start, end) holds (seconds): of citizens first called in it, and so
    far of those still waiting at its end."""
    out = []
    for c in engine.citizens[:engine.arrived]:
        if c.issued_ms is None:
            continue
        if c.first_called_ms is not None:
            if start <= c.first_called_ms < end:
                out.append((c.first_called_ms - c.issued_ms) / 1000)
        elif c.phase == "waiting":
            out.append((end - c.issued_ms) / 1000)
    return out


def full_day_metrics(model: QueueModel, plan: Sequence[int], replications: int, seed: int,
                     day: date) -> list[float | None]:
    """Every hour's metric for a whole plan, each replication played through the day once
    (no copies): what `brute_force` checks plans with."""
    engines = Evaluator(model, 0, replications, seed, day).days()
    out = []
    for i, c in enumerate(plan):
        start, end = model.bounds[i]
        waits: list[float] = []
        for engine in engines:
            engine.staff(start, frozenset(range(1, c + 1)))
            engine.run(until=end)
            waits += hour_waits(engine, start, end)
        out.append(p90_seconds(waits))
    return out


# ---------------------------------------------------------------------------- the plan


@dataclass(frozen=True)
class HourPlan:
    hour: int
    windows: int
    p90_minutes: float | None
    expected: float
    met: bool


@dataclass(frozen=True)
class QueuePlan:
    queue: str
    name: str
    hours: tuple[HourPlan, ...]


def plan_queue(config: HallConfig, profile: Profile, queue_id: str, target_minutes: float,
               replications: int, seed: int, day: date, most: int | None = None
               ) -> QueuePlan:
    model = queue_model(config, profile, queue_id, most)
    evaluator = Evaluator(model, target_minutes, replications, seed, day)
    found = search(len(model.hours), evaluator.feasible, _start(model, target_minutes),
                   model.most, least(model))
    hours = []
    for i, hour in enumerate(model.hours):
        p90 = evaluator.metric(found.windows[:i + 1])
        expected = sum(sp.hourly[i] for sp in model.profile.services if i < len(sp.hourly))
        hours.append(HourPlan(hour, found.windows[i],
                              None if p90 is None else round(p90 / 60, 1),
                              round(expected, 1), found.met[i]))
    return QueuePlan(queue_id, config.queue(queue_id).name, tuple(hours))


def plan_hall(config: HallConfig, profile: Profile, target_minutes: float,
              replications: int, seed: int, day: date,
              progress: Callable[[float], None] | None = None) -> list[QueuePlan]:
    """Every queue that has arrivals in the profile."""
    queues = [q.id for q in config.queues
              if any(sp.queue == q.id and sp.expected() > 0 for sp in profile.services)]
    out = []
    for n, q in enumerate(queues):
        out.append(plan_queue(config, profile, q, target_minutes, replications, seed, day))
        if progress is not None:
            progress((n + 1) / len(queues))
    return out


def hour_label(hour: int) -> str:
    return f"{hour:02d}:00-{hour + 1:02d}:00"


def as_json(plans: Sequence[QueuePlan], target_minutes: float, **about: Any) -> dict[str, Any]:
    hours = sorted({h.hour for p in plans for h in p.hours})
    totals = [{"hour": hour_label(h), "windows": sum(
        x.windows for p in plans for x in p.hours if x.hour == h)} for h in hours]
    return {
        "target_p90_minutes": target_minutes, **about,
        "queues": [{"queue": p.queue, "name": p.name, "hours": [
            {"hour": hour_label(h.hour), "windows": h.windows, "p90_minutes": h.p90_minutes,
             "expected_tickets": h.expected, "target_met": h.met} for h in p.hours]}
            for p in plans],
        "totals": totals,
    }


def csv_rows(data: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per queue and hour, for hall.csv_export (Chinese headers)."""
    return [{"hour": h["hour"], "queue": q["queue"], "windows_needed": h["windows"],
             "expected_tickets": h["expected_tickets"], "p90_wait_minutes": h["p90_minutes"],
             "target_met": h["target_met"]}
            for q in data["queues"] for h in q["hours"]]
