"""The hall a simulated day runs on: two backends with one behaviour (docs/simulator.md).

`ServiceHall` (`--exact`) is the hall itself: every step is a `HallService` function — one
transaction with its rows, its event and its audit row — on a `SimStore`, on a virtual clock.
About 1,300 tickets a second of wall time on a 2-core machine: each ticket is four or more
transactions of 15-25 statements each.

`FastHall` (the default) keeps the day's tickets in memory and decides every step with the
same pure functions the service uses: `numbering.format_number` for the number, the daily
cap as `issue_ticket` checks it, `routing.choose_next` for who is called, `routing.
requeue_order` for where a 过号 ticket goes back, the legal steps of `model.LEGAL_FROM`. It
writes the day's tickets to the store in one statement when the day ends, with the very
columns the service writes, and the real day close then rolls them up (`stats.roll_up`),
so the reports read a fast day exactly as a served one. What it does not write: the event log,
the audit rows and the windows' rows (nobody watches a simulated day live).

Why `choose_next` sees only a few tickets in FastHall: every branch of the routing rule picks
the oldest (or earliest-booked) ticket of some union of kinds — priority or not, needs help or
not, booked — and whether a plain ticket is overdue only grows with its age. So the oldest
ticket of each kind in each queue the window serves, plus the booked tickets whose slot has
begun, always contain the ticket it would pick from the whole line (tests/test_simulator.py
checks this against the whole line, and a fast day against an exact one, ticket for ticket).
"""

from __future__ import annotations

import copy
import secrets
from bisect import bisect_left, insort
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

from hall import errors
from hall.config import HallConfig
from hall.model import LEGAL_FROM, Candidate, State
from hall.numbering import format_number
from hall.routing import WindowRule, choose_next, requeue_order
from hall.service import Actor, HallService
from hall.sim_model import Citizen
from hall.sim_store import run_sync

SIM_USER = "sim"  # clerks are sim1, sim2 … (the window's number)
CLOSER = Actor("simulator", "simulator")
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

TICKET_COLUMNS = (
    "id", "day", "number", "queue", "service", "channel", "priority", "priority_by",
    "needs_help", "appointment_at", "state", "outcome", "note", "token", "issued_at",
    "order_at", "window", "clerk", "first_called_at", "called_at", "started_at",
    "finished_at", "calls", "skips", "transfers", "due_date")


def clerk_of(window: int) -> str:
    return f"{SIM_USER}{window}"


class DayClock:
    """The core's clock during a simulated day: midnight plus the engine's milliseconds.
    `ts` is computed as `datetime.timestamp()` computes it (integer microseconds divided
    once), so both backends stamp a step with the very same float."""

    def __init__(self, day: date, tz: Any) -> None:
        self.tz = tz
        self.set_day(day)

    def set_day(self, day: date) -> None:
        self.day = day
        self.midnight = datetime(day.year, day.month, day.day, tzinfo=self.tz)
        delta = self.midnight - EPOCH
        self._midnight_us = (delta.days * 86400 + delta.seconds) * 1_000_000 + \
            delta.microseconds
        self.now = self.midnight

    def at(self, ms: int) -> datetime:
        self.now = self.midnight + timedelta(milliseconds=ms)
        return self.now

    def ts(self, ms: int) -> float:
        return (self._midnight_us + ms * 1000) / 1_000_000

    def __call__(self) -> datetime:
        return self.now


# ---------------------------------------------------------------------------- exact


class ServiceHall:
    """Every step through `HallService` (the hall server's own functions)."""

    def __init__(self, service: HallService, clock: DayClock) -> None:
        self.service = service
        self.clock = clock
        self.by_id: dict[int, Citizen] = {}
        self.actors = {w.number: Actor(clerk_of(w.number), "simulator")
                       for w in service.config.windows}

    def has_queue(self, queue: str) -> bool:
        return self.service.config.has_queue(queue)

    def issue(self, c: Citizen, ms: int) -> bool:
        self.clock.at(ms)
        try:
            view = run_sync(self.service.issue_ticket(
                c.service, priority=c.priority, needs_help=c.needs_help,
                channel="appointment" if c.appointment_ms is not None else "kiosk",
                appointment_at=self.clock.ts(c.appointment_ms)
                if c.appointment_ms is not None else None,
                granted_by=c.priority_by))
        except errors.HallError as exc:
            if exc.code == "daily_cap":
                return False
            raise
        c.ticket_id, c.number = view["id"], view["number"]
        self.by_id[view["id"]] = c
        return True

    def call(self, window: int, ms: int) -> Citizen | None:
        self.clock.at(ms)
        try:
            detail = run_sync(self.service.call(window, self.actors[window]))
        except errors.HallError as exc:
            if exc.code == "no_ticket_waiting":
                return None
            raise
        return self.by_id[detail["current"]["id"]]

    def start(self, window: int, ms: int) -> None:
        self.clock.at(ms)
        run_sync(self.service.start(window, self.actors[window]))

    def finish(self, window: int, ms: int, outcome: str, note: str | None) -> None:
        self.clock.at(ms)
        run_sync(self.service.finish(window, self.actors[window], outcome, note))

    def skip(self, window: int, ms: int) -> bool:
        self.clock.at(ms)
        ticket = run_sync(self.service.window_detail(window))["current"]
        run_sync(self.service.skip(window, self.actors[window]))
        state = run_sync(self.service.store.read(lambda conn: conn.execute(
            "SELECT state FROM tickets WHERE id = ?", (ticket["id"],)).fetchone()[0]))
        return state == State.WAITING

    def transfer(self, window: int, ms: int, queue: str) -> None:
        self.clock.at(ms)
        run_sync(self.service.transfer(window, self.actors[window], queue=queue))

    def login(self, window: int, ms: int) -> None:
        self.clock.at(ms)
        run_sync(self.service.open_window(window, self.actors[window]))

    def logout(self, window: int, ms: int) -> None:
        self.clock.at(ms)
        run_sync(self.service.close_window(window, self.actors[window]))

    def pause(self, window: int, ms: int, reason: str) -> None:
        self.clock.at(ms)
        run_sync(self.service.pause(window, self.actors[window], reason))

    def resume(self, window: int, ms: int) -> None:
        self.clock.at(ms)
        run_sync(self.service.resume(window, self.actors[window]))

    def close_day(self, ms: int) -> None:
        self.clock.at(ms)
        run_sync(self.service.close_day(CLOSER))

    def end_day(self) -> None:
        """Nothing is left to write: every step was its own transaction."""


# ---------------------------------------------------------------------------- fast


class Ticket:
    """A ticket row in memory: the columns `HallService` writes, nothing more."""

    __slots__ = ("id", "citizen", "number", "queue", "service", "channel", "priority",
                 "priority_by", "needs_help", "appointment_at", "state", "outcome", "note",
                 "token", "issued_at", "order_at", "window", "clerk", "first_called_at",
                 "called_at", "started_at", "finished_at", "calls", "skips", "transfers",
                 "due_date", "cand", "kind")

    def row(self, day: str) -> tuple[Any, ...]:
        return (self.id, day, self.number, self.queue, self.service, self.channel,
                self.priority, self.priority_by, int(self.needs_help), self.appointment_at,
                self.state, self.outcome, self.note, self.token, self.issued_at,
                self.order_at, self.window, self.clerk, self.first_called_at, self.called_at,
                self.started_at, self.finished_at, self.calls, self.skips, self.transfers,
                self.due_date)


BOOKED = 4  # kinds 0-3: plain, needs help, priority, priority and needs help


class FastHall:
    """The core's decisions on in-memory rows; the day's tickets written at its end."""

    def __init__(self, config: HallConfig, clock: DayClock, first_id: int,
                 due_date: Callable[[str, str, str], str | None],
                 counters: dict[str, int] | None = None) -> None:
        self.config = config
        self.clock = clock
        self.day = clock.day.isoformat()
        self.next_id = first_id
        self.due_date = due_date
        self.aging = config.hall.aging_minutes * 60
        self.policy = config.hall.skip
        self.counters = dict(counters or {})
        self.tickets: dict[int, Ticket] = {}
        self.current: dict[int, Ticket] = {}
        self.clerks: dict[int, str | None] = {}
        self.paused: set[int] = set()
        self.rules = {w.number: WindowRule(w.number, w.queues, w.kind, w.order)
                      for w in config.windows if not w.closed}
        # per queue: five lines kept in order — four kinds of walk-ins by (order_at, id),
        # the booked by (appointment_at, order_at, id)
        self.lines: dict[str, list[list[tuple[Any, ...]]]] = {
            q.id: [[], [], [], [], []] for q in config.queues}
        self.caps = {q.id: q.daily_cap for q in config.queues}
        self.queues = {q.id: q for q in config.queues}
        self.services = {s.id: s for s in config.services}
        self._due: dict[tuple[str, str], str | None] = {}

    def has_queue(self, queue: str) -> bool:
        return queue in self.queues

    # ------------------------------------------------------------------ the line

    def _key(self, t: Ticket) -> tuple[Any, ...]:
        if t.kind == BOOKED:
            return (t.appointment_at, t.order_at, t.id)
        return (t.order_at, t.id)

    def _enter(self, t: Ticket) -> None:
        t.state = State.WAITING
        t.kind = BOOKED if t.appointment_at is not None else \
            (2 if t.priority is not None else 0) + (1 if t.needs_help else 0)
        t.cand = Candidate(t.id, t.queue, t.order_at, t.priority is not None,
                           t.needs_help, t.appointment_at, None, True)
        line = self.lines[t.queue][t.kind]
        key = self._key(t)
        if not line or line[-1] < key:
            line.append(key)
        else:
            insort(line, key)

    def _leave(self, t: Ticket) -> None:
        line = self.lines[t.queue][t.kind]
        key = self._key(t)
        i = bisect_left(line, key)
        del line[i]

    def _candidates(self, rule: WindowRule, ts: float) -> list[Candidate]:
        out = []
        tickets = self.tickets
        for q in rule.queues:
            lines = self.lines[q]
            for kind in range(4):
                line = lines[kind]
                if line:
                    out.append(tickets[line[0][1]].cand)
            for key in lines[BOOKED]:
                if key[0] > ts:
                    break
                out.append(tickets[key[2]].cand)
        return out

    def _first_waiting(self, queue: str, n: int) -> list[float]:
        """The order of the first `n` tickets waiting in `queue` (any kind), oldest first."""
        lines = self.lines[queue]
        orders = [key[0] for kind in range(4) for key in lines[kind][:n]]
        orders += [key[1] for key in lines[BOOKED]]
        orders.sort()
        return orders[:n]

    def _step(self, window: int, step: str) -> Ticket:
        t = self.current.get(window)
        if t is None or t.state not in LEGAL_FROM[step]:
            raise errors.conflict("本窗口当前没有号票", "illegal_state")
        return t

    # ------------------------------------------------------------------ the steps

    def issue(self, c: Citizen, ms: int) -> bool:
        service = self.services[c.service]
        queue = self.queues[service.queue]
        last = self.counters.get(queue.id, 0) + 1
        if last > self.caps[queue.id]:
            return False  # as issue_ticket: refused, the number not used
        self.counters[queue.id] = last
        ts = self.clock.ts(ms)
        t = Ticket()
        t.id, t.citizen = self.next_id, c
        self.next_id += 1
        t.number = format_number(queue.prefix, last, queue.width)
        t.queue, t.service = queue.id, service.id
        t.channel = "appointment" if c.appointment_ms is not None else "kiosk"
        t.priority, t.needs_help = c.priority, c.needs_help
        t.priority_by = c.priority_by if c.priority is not None else None
        t.appointment_at = self.clock.ts(c.appointment_ms) \
            if c.appointment_ms is not None else None
        t.outcome = t.note = t.window = t.clerk = t.due_date = None
        t.first_called_at = t.called_at = t.started_at = t.finished_at = None
        t.calls = t.skips = t.transfers = 0
        t.token = secrets.token_urlsafe(16)
        t.issued_at = t.order_at = ts
        self.tickets[t.id] = t
        self._enter(t)
        c.ticket_id, c.number = t.id, t.number
        return True

    def call(self, window: int, ms: int) -> Citizen | None:
        if window in self.current or window in self.paused:
            raise errors.conflict("窗口忙或暂停", "window_busy")
        ts = self.clock.ts(ms)
        chosen = choose_next(self.rules[window], self._candidates(self.rules[window], ts),
                             ts, self.aging)
        if chosen is None:
            return None
        t = self.tickets[chosen.id]
        self._leave(t)
        t.state, t.window, t.clerk, t.called_at = State.CALLED, window, self.clerks[window], ts
        if t.first_called_at is None:
            t.first_called_at = ts
        t.calls += 1
        self.current[window] = t
        return t.citizen

    def start(self, window: int, ms: int) -> None:
        t = self._step(window, "start")
        t.state, t.started_at, t.clerk = State.SERVING, self.clock.ts(ms), self.clerks[window]

    def finish(self, window: int, ms: int, outcome: str, note: str | None) -> None:
        t = self._step(window, "finish")
        ts = self.clock.ts(ms)
        t.state, t.outcome, t.note, t.finished_at = State.DONE, outcome, note, ts
        if t.started_at is None:
            t.started_at = t.called_at
        t.clerk = self.clerks[window]
        key = (t.service, outcome)
        if key not in self._due:  # the calendar is slow to ask, and the answer is the day's
            self._due[key] = self.due_date(t.service, outcome, self.day)
        t.due_date = self._due[key]
        del self.current[window]

    def skip(self, window: int, ms: int) -> bool:
        t = self._step(window, "skip")
        ts = self.clock.ts(ms)
        del self.current[window]
        if self.policy.policy == "requeue" and t.skips == 0:
            t.order_at = requeue_order(self._first_waiting(t.queue, self.policy.requeue_after),
                                       self.policy.requeue_after, ts)
            t.skips += 1
            t.window = None
            self._enter(t)
            return True
        t.state, t.finished_at = State.NO_SHOW, ts
        t.skips += 1
        return False

    def transfer(self, window: int, ms: int, queue: str) -> None:
        t = self._step(window, "transfer")
        del self.current[window]
        t.queue, t.window = queue, None
        t.transfers += 1
        self._enter(t)

    def login(self, window: int, ms: int) -> None:
        self.clerks[window] = clerk_of(window)

    def logout(self, window: int, ms: int) -> None:
        self.clerks[window] = None
        self.paused.discard(window)

    def pause(self, window: int, ms: int, reason: str) -> None:
        self.paused.add(window)

    def resume(self, window: int, ms: int) -> None:
        self.paused.discard(window)

    def close_day(self, ms: int) -> None:
        ts = self.clock.ts(ms)
        for t in self.tickets.values():
            if t.state in (State.WAITING, State.HELD):
                t.state, t.finished_at = State.MISSED, ts
        for lines in self.lines.values():
            for line in lines:
                line.clear()

    def fork(self, citizens: list[Citizen]) -> FastHall:
        """A copy for `Engine.fork`: the tickets and lines copied, tied to `citizens` (the
        fork's, by arrival order), the configuration shared."""
        new = copy.copy(self)
        new.tickets = {}
        for key, t in self.tickets.items():
            twin = Ticket()
            for name in Ticket.__slots__:
                setattr(twin, name, getattr(t, name))
            twin.citizen = citizens[t.citizen.sid]
            new.tickets[key] = twin
        new.current = {w: new.tickets[t.id] for w, t in self.current.items()}
        new.lines = {q: [list(line) for line in lines] for q, lines in self.lines.items()}
        new.counters, new.clerks = dict(self.counters), dict(self.clerks)
        new.paused = set(self.paused)
        new.clock = copy.copy(self.clock)
        return new

    def rows(self) -> list[tuple[Any, ...]]:
        return [t.row(self.day) for t in self.tickets.values()]


def write_day(service: HallService, hall: FastHall) -> None:
    """The fast day's tickets and numbering counters, in one write through the store."""
    rows = hall.rows()
    day = hall.day

    def op(tx: Any) -> None:
        tx.conn.executemany(
            f"INSERT INTO tickets ({', '.join(TICKET_COLUMNS)}) "
            f"VALUES ({', '.join('?' * len(TICKET_COLUMNS))})", rows)
        tx.conn.executemany(
            "INSERT INTO counters (queue, day, last) VALUES (?, ?, ?) "
            "ON CONFLICT (queue, day) DO UPDATE SET last = excluded.last",
            [(q, day, last) for q, last in hall.counters.items()])

    run_sync(service.store.write(op, hall.clock.now))
