"""`[simulate]` in config.toml: the hall day the simulator plays (docs/simulator.md).

Why a table of its own and not keys on `[[services]]`: the figures here describe the citizens
a hall expects (how many come each hour, how long they take, how many forget a paper), not the
services themselves; a hall that never simulates leaves it out, and `--from-history` replaces
it with what the hall's own database says. Services are named by id, as in `[booking]`.

    [simulate]
    priority_share = 0.05           # 绿色通道 tickets, among all
    ...
    [simulate.arrivals]             # expected tickets per clock hour, from the hour the
    yibao-card = [6, 14, 16, 12]    # service's queue opens (08:30 opening: 08:00-09:00 first)
    [simulate.handling_minutes]     # mean handling time; default: the queue's default_minutes
    bdc-transfer = 25

Checked like the rest of the file (hall.config): every mistake with the key that holds it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hall.config import _Checker

OUTCOME_KEYS = ("done", "accepted", "accepted_missing", "rejected", "failed")
DEFAULT_OUTCOMES = {"done": 0.82, "accepted": 0.1, "accepted_missing": 0.03, "rejected": 0.03,
                    "failed": 0.02}
# shares: each is a probability drawn per citizen
SHARES = ("priority_share", "help_share", "booked_share", "no_show_share", "transfer_share",
          "rating_share", "complaint_share")
NUMBERS = {  # key: (default, low, high)
    "handling_cv": (0.6, 0.0, 3.0),
    "walk_seconds": (40.0, 0.0, 600.0),
    "no_show_wait_seconds": (60.0, 1.0, 900.0),
    "break_minutes": (10.0, 0.0, 120.0),
    "overtime_minutes": (30.0, 0.0, 240.0),
}
DISTRIBUTIONS = ("lognormal", "exponential")
INTEGERS = {"seed": (1, 0, 2**31 - 1), "days": (1, 1, 366), "breaks_per_day": (2, 0, 12)}


@dataclass(frozen=True)
class Simulate:
    enabled: bool = False  # a [simulate] table is present
    seed: int = 1
    days: int = 1
    # service id -> expected arrivals per clock hour, index 0 = the hour its queue opens
    arrivals: dict[str, tuple[float, ...]] = field(default_factory=dict)
    # service id -> mean handling minutes (else the queue's default_minutes)
    handling_minutes: dict[str, float] = field(default_factory=dict)
    handling_cv: float = 0.6  # spread of handling times: coefficient of variation
    # "lognormal" (a hall's handling: most short, a few long) or "exponential" (the textbook
    # M/M/c assumption, for checking the simulator against Erlang C)
    handling_distribution: str = "lognormal"
    walk_seconds: float = 40.0  # mean time from the call to the citizen at the window
    priority_share: float = 0.05
    help_share: float = 0.08  # needs_help (帮办代办), for services that take help
    booked_share: float = 0.15  # of arrivals for services listed in [booking]
    no_show_share: float = 0.03  # called and never came (过号)
    no_show_wait_seconds: float = 60.0  # how long a clerk waits before 过号
    transfer_share: float = 0.02  # sent on to another queue after handling began
    breaks_per_day: int = 2  # pauses per window and day (暂停服务)
    break_minutes: float = 10.0
    overtime_minutes: float = 30.0  # windows go on serving this long after issuing stops
    outcomes: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_OUTCOMES))
    rating_share: float = 0.6  # the live demo: served citizens who rate
    complaint_share: float = 0.03  # the live demo: served citizens who file 办不成事


def parse_simulate(c: _Checker, raw: dict[str, Any], service_ids: set[str],
                   hours_of: Callable[[str], tuple[time, time] | None]) -> Simulate:
    """`hours_of(service)`: the issuing hours of the service's queue (an arrival profile may
    not be longer than the clock hours they touch), None for an unknown service."""
    if "simulate" not in raw:
        return Simulate()
    t = c.get(raw, "simulate", "", dict, {})
    defaults = Simulate()
    values: dict[str, Any] = {}
    for key in SHARES:
        value = c.get(t, key, "simulate", (int, float), getattr(defaults, key))
        if isinstance(value, (int, float)) and not 0 <= value <= 1:
            c.problem(f"simulate.{key}", f"must be a share from 0 to 1, got {value}")
            value = getattr(defaults, key)
        values[key] = float(value)
    for key, (default, low, high) in NUMBERS.items():
        value = c.get(t, key, "simulate", (int, float), default)
        c.at_least(value, f"simulate.{key}", low, high)
        values[key] = float(value) if isinstance(value, (int, float)) and \
            low <= value <= high else default
    for key, (default, low, high) in INTEGERS.items():
        value = c.get(t, key, "simulate", int, default)
        c.at_least(value, f"simulate.{key}", low, high)
        values[key] = value if isinstance(value, int) and low <= value <= high else default
    distribution = c.get(t, "handling_distribution", "simulate", str, "lognormal")
    if distribution not in DISTRIBUTIONS:
        c.problem("simulate.handling_distribution",
                  f"must be one of {', '.join(DISTRIBUTIONS)}, got {distribution!r}")
        distribution = "lognormal"
    arrivals = _arrivals(c, t, service_ids, hours_of)
    handling = _handling(c, t, service_ids)
    outcomes = _outcomes(c, t)
    c.unknown_keys(t, {*SHARES, *NUMBERS, *INTEGERS, "arrivals", "handling_minutes",
                       "handling_distribution", "outcomes"}, "simulate")
    return Simulate(enabled=True, arrivals=arrivals, handling_minutes=handling,
                    handling_distribution=distribution, outcomes=outcomes, **values)


def clock_hours(opening: time, closing: time) -> list[int]:
    """Pure: the clock hours [opening, closing) touches: 08:30-17:30 is 8 … 17."""
    last = closing.hour if (closing.minute or closing.second) else closing.hour - 1
    return list(range(opening.hour, last + 1))


def _arrivals(c: _Checker, t: dict[str, Any], service_ids: set[str],
              hours_of: Callable[[str], tuple[time, time] | None]
              ) -> dict[str, tuple[float, ...]]:
    table = c.get(t, "arrivals", "simulate", dict, {})
    out: dict[str, tuple[float, ...]] = {}
    for sid, counts in table.items():
        key = f"simulate.arrivals.{sid}"
        if sid not in service_ids:
            c.problem(key, f"unknown service {sid!r}")
            continue
        if not isinstance(counts, list) or any(
                isinstance(n, bool) or not isinstance(n, (int, float)) or not 0 <= n <= 10000
                or n != n for n in counts):
            c.problem(key, "expected a list of tickets per hour (numbers from 0 to 10000), "
                           f"got {counts!r}")
            continue
        hours = hours_of(sid)
        if hours is not None and len(counts) > len(clock_hours(*hours)):
            c.problem(key, f"{len(counts)} hours, but the queue issues numbers in "
                           f"{len(clock_hours(*hours))} clock hours "
                           f"({hours[0]:%H:%M}-{hours[1]:%H:%M})")
            continue
        out[sid] = tuple(float(n) for n in counts)
    return out


def _handling(c: _Checker, t: dict[str, Any], service_ids: set[str]) -> dict[str, float]:
    table = c.get(t, "handling_minutes", "simulate", dict, {})
    out: dict[str, float] = {}
    for sid, minutes in table.items():
        key = f"simulate.handling_minutes.{sid}"
        if sid not in service_ids:
            c.problem(key, f"unknown service {sid!r}")
        elif isinstance(minutes, bool) or not isinstance(minutes, (int, float)) or \
                not 0.1 <= minutes <= 600:
            c.problem(key, f"expected minutes from 0.1 to 600, got {minutes!r}")
        else:
            out[sid] = float(minutes)
    return out


def _outcomes(c: _Checker, t: dict[str, Any]) -> dict[str, float]:
    table = c.get(t, "outcomes", "simulate", dict, None)
    if table is None:
        return dict(DEFAULT_OUTCOMES)
    out: dict[str, float] = {}
    for key, share in table.items():
        where = f"simulate.outcomes.{key}"
        if key not in OUTCOME_KEYS:
            c.problem(where, f"unknown outcome: use {', '.join(OUTCOME_KEYS)}")
        elif isinstance(share, bool) or not isinstance(share, (int, float)) or share < 0:
            c.problem(where, f"expected a share of 0 or more, got {share!r}")
        else:
            out[key] = float(share)
    if table and not sum(out.values()) > 0:
        c.problem("simulate.outcomes", "the shares must add up to more than 0")
    return out or dict(DEFAULT_OUTCOMES)
