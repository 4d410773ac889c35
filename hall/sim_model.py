"""The citizens of a simulated hall day: who comes when, for what, and how long they take.

Pure: everything is drawn from `random.Random` streams seeded by text (seed, day, service), so
a seed gives the same day on every machine and every run, and one service's stream does not
move when another service's profile changes. All of a citizen's draws (arrival, flags,
handling, walk, outcome) are made when the day is drawn, before any window exists: a planner
comparing two staffings sees the very same citizens in both (common random numbers), so a
difference in waiting is the staffing's and not luck's.

Times are whole milliseconds since the hall day's midnight: integers add up exactly, and the
simulator turns them into the core's clock in one place (hall.sim_engine).
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import time

from hall.config import HallConfig
from hall.sim_config import Simulate, clock_hours

HOUR_MS = 3_600_000
MINUTE_MS = 60_000
DAY_MS = 24 * HOUR_MS


def ms_of(clock: time) -> int:
    return (clock.hour * 3600 + clock.minute * 60 + clock.second) * 1000


@dataclass(frozen=True)
class ServiceProfile:
    service: str
    queue: str
    hourly: tuple[float, ...]  # expected arrivals per clock hour, from `first_hour`
    first_hour: int
    opens_ms: int  # the queue's issuing hours, ms since midnight
    closes_ms: int
    handling_minutes: float  # mean
    handling_cv: float  # with the lognormal; the exponential's is 1
    helpdesk: bool  # may be issued as needs_help
    slot_minutes: int | None = None  # takes bookings, with slots this long …
    slot_periods: tuple[tuple[int, int], ...] = ()  # … within these periods (ms)
    exponential: bool = False  # handling times exponential (M/M/c), else lognormal

    def expected(self) -> float:
        return sum(self.hourly)


@dataclass(frozen=True)
class Shares:
    priority: float = 0.05
    help: float = 0.08
    booked: float = 0.15
    no_show: float = 0.03
    transfer: float = 0.02
    walk_seconds: float = 40.0
    outcomes: tuple[tuple[str, float], ...] = (("done", 1.0),)
    # (reason id, self-declared): a reason staff must grant is issued with a granter
    priority_reasons: tuple[tuple[str, bool], ...] = (("elderly", True),)


@dataclass(frozen=True)
class Profile:
    """What the simulator plays: per service its hourly arrivals and handling, and the shares."""

    services: tuple[ServiceProfile, ...]
    shares: Shares
    # where a transferred ticket may be sent: every queue some window serves
    transfer_queues: tuple[str, ...] = ()
    source: str = "config"  # "config" or "history"

    def service(self, service_id: str) -> ServiceProfile | None:
        return next((s for s in self.services if s.service == service_id), None)

    def expected(self) -> float:
        return sum(s.expected() for s in self.services)


@dataclass(slots=True)
class Citizen:
    """One person coming to the hall, with every draw made in advance; the simulator's
    record of what then happened to their ticket (`phase` and the times)."""

    sid: int
    service: str
    queue: str
    arrive_ms: int
    priority: str | None = None
    priority_by: str | None = None
    needs_help: bool = False
    appointment_ms: int | None = None
    no_show: bool = False
    transfer_to: str | None = None
    handling_ms: int = 0
    second_handling_ms: int = 0  # at the queue it was transferred to
    walk_ms: int = 0
    outcome: str = "done"
    # what happened (hall.sim_engine)
    ticket_id: int = 0
    number: str = ""
    phase: str = "coming"  # coming, refused, waiting, called, serving, done, no_show, missed
    at_queue: str = ""
    issued_ms: int | None = None
    first_called_ms: int | None = None
    transfers: int = 0
    window: int | None = None


def lognormal_params(mean: float, cv: float) -> tuple[float, float]:
    """(mu, sigma) of the lognormal with this mean and coefficient of variation."""
    sigma2 = math.log(1.0 + cv * cv)
    return math.log(mean) - sigma2 / 2.0, math.sqrt(sigma2)


def draw_minutes(rng: random.Random, mean: float, cv: float,
                 exponential: bool = False) -> float:
    if exponential:
        return rng.expovariate(1.0 / mean)
    if cv <= 0:
        return mean
    mu, sigma = lognormal_params(mean, cv)
    return rng.lognormvariate(mu, sigma)


def profile_from_config(config: HallConfig, sim: Simulate | None = None) -> Profile:
    """The profile `[simulate]` describes (a service without arrivals gets none)."""
    sim = sim or config.simulate
    services = []
    for s in config.services:
        counts = sim.arrivals.get(s.id)
        if not counts:
            continue
        queue = config.queue(s.queue)
        services.append(_service_profile(
            config, s.id, counts, sim.handling_minutes.get(s.id, queue.default_minutes),
            sim.handling_cv, sim.handling_distribution == "exponential"))
    return Profile(tuple(services), shares_from(config, sim), transfer_queues(config))


def _service_profile(config: HallConfig, service_id: str, counts: tuple[float, ...],
                     handling: float, cv: float, exponential: bool = False) -> ServiceProfile:
    s = config.service(service_id)
    opening, closing = config.hours(s.queue)
    booking = config.booking.service(s.id) if config.booking.enabled else None
    return ServiceProfile(
        service=s.id, queue=s.queue, hourly=tuple(counts),
        first_hour=clock_hours(opening, closing)[0], opens_ms=ms_of(opening),
        closes_ms=ms_of(closing), handling_minutes=handling, handling_cv=cv,
        helpdesk=s.helpdesk, slot_minutes=booking.rule.slot_minutes if booking else None,
        slot_periods=tuple((ms_of(p.start), ms_of(p.end)) for p in booking.rule.periods)
        if booking else (), exponential=exponential)


def shares_from(config: HallConfig, sim: Simulate) -> Shares:
    outcomes = tuple((k, v) for k, v in sim.outcomes.items() if v > 0) or (("done", 1.0),)
    return Shares(
        priority=sim.priority_share, help=sim.help_share, booked=sim.booked_share,
        no_show=sim.no_show_share, transfer=sim.transfer_share, walk_seconds=sim.walk_seconds,
        outcomes=outcomes,
        priority_reasons=tuple((r.id, r.self_declared) for r in config.priority_reasons))


def transfer_queues(config: HallConfig) -> tuple[str, ...]:
    """Queues a clerk sends a citizen on to: those served by an ordinary window (not the
    办不成事 desk: a complaint is filed, not queued for)."""
    served = {q for w in config.windows if w.kind != "complaint" for q in w.queues}
    return tuple(q.id for q in config.queues if q.id in served)


GUIDE = "导办"  # who grants a priority reason that is not self-declared, in the simulation


def draw_day(profile: Profile, seed: int, day_index: int) -> list[Citizen]:
    """Every citizen of one simulated day, in order of arrival (`sid` = that order)."""
    people: list[tuple[int, int, Citizen]] = []
    for order, sp in enumerate(profile.services):
        rng = random.Random(f"{seed}/{day_index}/{sp.service}")
        for arrive in _arrivals(rng, sp):
            people.append((arrive, order, _citizen(rng, sp, profile, arrive)))
    people.sort(key=lambda item: (item[0], item[1]))
    out = []
    for sid, (_, _, citizen) in enumerate(people):
        citizen.sid = sid
        out.append(citizen)
    return out


def _arrivals(rng: random.Random, sp: ServiceProfile) -> list[int]:
    """A Poisson process whose rate is constant within each clock hour (the part of it within
    the queue's issuing hours), with `hourly[i]` expected arrivals in hour i."""
    out = []
    for i, expected in enumerate(sp.hourly):
        start = max((sp.first_hour + i) * HOUR_MS, sp.opens_ms)
        end = min((sp.first_hour + i + 1) * HOUR_MS, sp.closes_ms)
        if expected <= 0 or end <= start:
            continue
        rate = expected / (end - start)  # per ms
        t = start + rng.expovariate(rate)
        while t < end:
            out.append(int(t))
            t += rng.expovariate(rate)
    return out


def _citizen(rng: random.Random, sp: ServiceProfile, profile: Profile,
             arrive: int) -> Citizen:
    """The draws are made in one fixed order whatever the shares, so that a share of 0
    changes nothing else of the day."""
    sh = profile.shares
    u_priority, u_reason, u_help, u_booked, u_no_show, u_transfer, u_dest, u_outcome = (
        rng.random() for _ in range(8))
    handling = draw_minutes(rng, sp.handling_minutes, sp.handling_cv, sp.exponential)
    second = draw_minutes(rng, sp.handling_minutes, sp.handling_cv, sp.exponential)
    walk = rng.expovariate(1.0 / sh.walk_seconds) if sh.walk_seconds > 0 else 0.0
    c = Citizen(sid=0, service=sp.service, queue=sp.queue, arrive_ms=arrive,
                handling_ms=max(1000, round(handling * MINUTE_MS)),
                second_handling_ms=max(1000, round(second * MINUTE_MS)),
                walk_ms=round(walk * 1000))
    # a booked citizen checks in up to 10 minutes before their slot, or late within it
    slot = (sp.slot_minutes or 0) * MINUTE_MS
    appointment = (arrive + 10 * MINUTE_MS) // slot * slot if slot else None
    if appointment is not None and u_booked < sh.booked and any(
            start <= appointment < end for start, end in sp.slot_periods):
        c.appointment_ms = appointment
    elif u_priority < sh.priority and sh.priority_reasons:
        reason, self_declared = sh.priority_reasons[
            int(u_reason * len(sh.priority_reasons)) % len(sh.priority_reasons)]
        c.priority, c.priority_by = reason, None if self_declared else GUIDE
    elif sp.helpdesk and u_help < sh.help:
        c.needs_help = True
    c.no_show = u_no_show < sh.no_show
    others = [q for q in profile.transfer_queues if q != sp.queue]
    if not c.no_show and others and u_transfer < sh.transfer:
        c.transfer_to = others[int(u_dest * len(others)) % len(others)]
    c.outcome = _weighted(sh.outcomes, u_outcome)
    return c


def _weighted(options: tuple[tuple[str, float], ...], u: float) -> str:
    total = sum(w for _, w in options)
    acc = 0.0
    for key, weight in options:
        acc += weight / total
        if u < acc:
            return key
    return options[-1][0]
