"""The simulated hall day: an event-heap discrete-event loop over citizens and windows.

The loop decides only what people do and when: a citizen takes a ticket on arrival; a free
clerk presses "call next" at once; the citizen walks up (or never comes, and the clerk skips
after a while); handling takes the citizen's drawn time; a clerk takes the breaks drawn for the
window when free; windows open and close as the staffing says; at the end of the day the
windows stop and the day is closed. What the hall does about each step — which number a ticket
gets, who is called next, where a 过号 ticket goes back in line, what is refused — is the
backend's, which is the hall's real core (hall.sim_halls): the engine never picks a ticket.

Ties are broken by the order events were scheduled, arrivals after other events of the same
millisecond: the same seed replays the same day step for step, on either backend.
"""

from __future__ import annotations

import copy
import heapq
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from hall.sim_config import Simulate
from hall.sim_model import Citizen, draw_minutes

CALL, START, FINISH, SKIP, TRANSFER, BREAK, RESUME, STAFF, WAKE, CLOSE = range(10)
REJECT_NOTE = "材料不齐全，已一次性告知所需材料"
BREAK_REASON = "休息"
INFINITY = 1 << 62


class Backend(Protocol):
    """The hall as the simulation sees it: each step is one of the core's steps."""

    def has_queue(self, queue: str) -> bool: ...
    def issue(self, c: Citizen, ms: int) -> bool: ...  # False: refused (daily cap)
    def call(self, window: int, ms: int) -> Citizen | None: ...
    def start(self, window: int, ms: int) -> None: ...
    def finish(self, window: int, ms: int, outcome: str, note: str | None) -> None: ...
    def skip(self, window: int, ms: int) -> bool: ...  # True: back in line (requeued)
    def transfer(self, window: int, ms: int, queue: str) -> None: ...
    def login(self, window: int, ms: int) -> None: ...
    def logout(self, window: int, ms: int) -> None: ...
    def pause(self, window: int, ms: int, reason: str) -> None: ...
    def resume(self, window: int, ms: int) -> None: ...
    def close_day(self, ms: int) -> None: ...


@dataclass(slots=True)
class WindowSim:
    number: int
    queues: tuple[str, ...]
    rng: random.Random
    open: bool = False
    closing: bool = False
    paused: bool = False
    pending: bool = False  # a call is scheduled
    current: Citizen | None = None
    break_due: bool = False
    gen: int = 0  # bumped when a scheduled resume must be ignored
    opened_ms: int = 0
    paused_at: int = 0
    busy_since: int = 0
    open_total: int = 0
    paused_total: int = 0
    busy_total: int = 0
    calls: int = 0
    served: int = 0

    def utilisation(self) -> float | None:
        available = self.open_total - self.paused_total
        return self.busy_total / available if available > 0 else None


@dataclass
class Staffing:
    """Which windows are open from when: `changes` = [(ms, open window numbers)], in time order;
    `end_ms`: the windows stop calling and the day is closed."""

    changes: list[tuple[int, frozenset[int]]]
    end_ms: int
    opens_ms: int | None = None  # breaks fall between this and end_ms (default: first change)


@dataclass
class Engine:
    backend: Backend
    citizens: Sequence[Citizen]
    windows: list[WindowSim]
    staffing: Staffing
    sim: Simulate
    progress: Callable[[int], None] | None = None
    now: int = 0
    waiting: dict[str, int] = field(default_factory=dict)
    longest: dict[str, int] = field(default_factory=dict)
    longest_hall: int = 0  # the most people waiting in the whole hall at once
    closed_ms: int | None = None
    events: int = 0

    def __post_init__(self) -> None:
        self._heap: list[tuple[int, int, int, object]] = []
        self._seq = 0
        self._next = 0  # the next citizen to arrive
        self._in_line = 0  # waiting in the whole hall
        self._closing_day = False
        self._serving: dict[str, list[WindowSim]] = {}
        for w in self.windows:
            for q in w.queues:
                self._serving.setdefault(q, []).append(w)
        self._no_show_wait = round(self.sim.no_show_wait_seconds * 1000)
        for ms, numbers in self.staffing.changes:
            self._push(ms, STAFF, numbers)
        if self.sim.breaks_per_day and self.sim.break_minutes > 0:
            first = self.staffing.opens_ms if self.staffing.opens_ms is not None else min(
                (ms for ms, s in self.staffing.changes if s), default=0)
            for w in self.windows:
                for _ in range(self.sim.breaks_per_day):
                    self._push(round(w.rng.uniform(first, self.staffing.end_ms)), BREAK, w)
        self._push(self.staffing.end_ms, CLOSE, None)

    @classmethod
    def windows_for(cls, numbers: Sequence[tuple[int, tuple[str, ...]]], seed: int,
                    day_index: int) -> list[WindowSim]:
        return [WindowSim(n, queues, random.Random(f"{seed}/{day_index}/window/{n}"))
                for n, queues in numbers]

    def fork(self) -> Engine:
        """A copy of the day so far that plays on without touching this one (the planner
        tries several window counts for the next hour from the same moment). Written out
        rather than `copy.deepcopy`: thirty times faster, and the configuration, the
        settings and the citizens' drawn values are shared, not copied."""
        new = copy.copy(self)
        new.progress = None
        new.citizens = citizens = [copy.copy(c) for c in self.citizens]
        new.windows = []
        numbered: dict[int, WindowSim] = {}
        for w in self.windows:
            twin = copy.copy(w)
            twin.rng = random.Random()
            twin.rng.setstate(w.rng.getstate())
            if w.current is not None:
                twin.current = citizens[w.current.sid]
            new.windows.append(twin)
            numbered[w.number] = twin
        new.backend = self.backend.fork(citizens)  # type: ignore[attr-defined]
        new.waiting, new.longest = dict(self.waiting), dict(self.longest)
        new._heap = [(ms, seq, kind, _remap(obj, numbered)) for ms, seq, kind, obj in self._heap]
        new._serving = {q: [numbered[w.number] for w in ws] for q, ws in self._serving.items()}
        return new

    @property
    def arrived(self) -> int:
        return self._next

    def staff(self, ms: int, numbers: frozenset[int]) -> None:
        """From `ms`, exactly these windows are open (the planner sets one hour at a time)."""
        self._push(ms, STAFF, numbers)

    def _push(self, ms: int, kind: int, obj: object) -> None:
        self._seq += 1
        heapq.heappush(self._heap, (ms, self._seq, kind, obj))

    # ------------------------------------------------------------------ the loop

    def run(self, until: int | None = None) -> None:
        """Play events before `until` (all of them when None)."""
        heap, citizens = self._heap, self.citizens
        limit = INFINITY if until is None else until
        count = len(citizens)
        handlers = (self._call, self._start, self._finish, self._skip, self._transfer,
                    self._break, self._resume, self._staff, self._wake_event, self._close)
        progress, tick = self.progress, 0
        while True:
            arrive = citizens[self._next].arrive_ms if self._next < count else INFINITY
            top = heap[0][0] if heap else INFINITY
            if top <= arrive:
                if top >= limit or top == INFINITY:
                    break
                ms, _, kind, obj = heapq.heappop(heap)
                self.now = ms
                handlers[kind](obj)
            else:
                if arrive >= limit:
                    break
                self.now = arrive
                self._next += 1
                self._arrive(citizens[self._next - 1])
            tick += 1
            if progress is not None and not tick & 4095:
                progress(self.now)
        self.events += tick

    # ------------------------------------------------------------------ citizens

    def _arrive(self, c: Citizen) -> None:
        ms = self.now
        if not self.backend.issue(c, ms):
            c.phase = "refused"
            return
        c.phase, c.issued_ms, c.at_queue = "waiting", ms, c.queue
        self._more_waiting(c.queue)
        if c.appointment_ms is not None and c.appointment_ms > ms:
            self._push(c.appointment_ms, WAKE, c.queue)  # callable from its slot
        self._wake(c.queue)

    def _more_waiting(self, queue: str) -> None:
        n = self.waiting.get(queue, 0) + 1
        self.waiting[queue] = n
        if n > self.longest.get(queue, 0):
            self.longest[queue] = n
        self._in_line += 1
        if self._in_line > self.longest_hall:
            self.longest_hall = self._in_line

    def _wake(self, queue: str) -> None:
        """A ticket is waiting in `queue`: the first free clerk who serves it (in window
        order) presses call. One is enough: another ticket wakes another clerk, and a clerk
        woken for nothing would only be told that nobody waits."""
        for w in self._serving.get(queue, ()):
            if w.open and not (w.pending or w.paused or w.closing or w.current is not None):
                w.pending = True
                self._push(self.now, CALL, w)
                return

    def _wake_event(self, queue: object) -> None:
        assert isinstance(queue, str)
        self._wake(queue)

    # ------------------------------------------------------------------ windows

    def _call(self, obj: object) -> None:
        w: WindowSim = obj  # type: ignore[assignment]
        w.pending = False
        if not w.open or w.paused or w.closing or w.current is not None:
            return
        if w.break_due:
            self._pause(w)
            return
        ms = self.now
        c = self.backend.call(w.number, ms)
        if c is None:
            return  # idle until a ticket comes for it
        w.current, w.busy_since = c, ms
        w.calls += 1
        self.waiting[c.at_queue] -= 1
        self._in_line -= 1
        c.phase, c.window = "called", w.number
        if c.first_called_ms is None:
            c.first_called_ms = ms
        if c.no_show:
            self._push(ms + self._no_show_wait, SKIP, w)
        else:
            self._push(ms + c.walk_ms, START, w)

    def _start(self, obj: object) -> None:
        w: WindowSim = obj  # type: ignore[assignment]
        c = w.current
        assert c is not None
        self.backend.start(w.number, self.now)
        c.phase = "serving"
        if c.transfer_to is not None and c.transfers == 0 and \
                self.backend.has_queue(c.transfer_to):
            self._push(self.now + c.handling_ms, TRANSFER, w)
        else:
            self._push(self.now + (c.second_handling_ms if c.transfers else c.handling_ms),
                       FINISH, w)

    def _finish(self, obj: object) -> None:
        w: WindowSim = obj  # type: ignore[assignment]
        c = w.current
        assert c is not None
        self.backend.finish(w.number, self.now, c.outcome,
                            REJECT_NOTE if c.outcome == "rejected" else None)
        c.phase = "done"
        w.served += 1
        self._free(w)

    def _skip(self, obj: object) -> None:
        w: WindowSim = obj  # type: ignore[assignment]
        c = w.current
        assert c is not None
        if self.backend.skip(w.number, self.now):
            c.phase = "waiting"
            self._more_waiting(c.at_queue)
            self._free(w)
            self._wake(c.at_queue)
        else:
            c.phase = "no_show"
            self._free(w)

    def _transfer(self, obj: object) -> None:
        w: WindowSim = obj  # type: ignore[assignment]
        c = w.current
        assert c is not None and c.transfer_to is not None
        self.backend.transfer(w.number, self.now, c.transfer_to)
        c.transfers += 1
        c.at_queue, c.phase = c.transfer_to, "waiting"
        self._more_waiting(c.at_queue)
        self._free(w)
        self._wake(c.at_queue)

    def _free(self, w: WindowSim) -> None:
        w.busy_total += self.now - w.busy_since
        w.current = None
        if w.closing:
            self._logout(w)
        elif w.break_due:
            self._pause(w)
        elif not w.pending:
            w.pending = True
            self._push(self.now, CALL, w)

    def _pause(self, w: WindowSim) -> None:
        self.backend.pause(w.number, self.now, BREAK_REASON)
        w.paused, w.break_due, w.paused_at = True, False, self.now
        w.gen += 1
        minutes = draw_minutes(w.rng, self.sim.break_minutes, 0.3)
        self._push(self.now + round(minutes * 60_000), RESUME, (w, w.gen))

    def _resume(self, obj: object) -> None:
        w, gen = obj  # type: ignore[misc]
        if gen != w.gen or not w.paused:
            return
        self.backend.resume(w.number, self.now)
        w.paused = False
        w.paused_total += self.now - w.paused_at
        if not w.pending:
            w.pending = True
            self._push(self.now, CALL, w)

    def _break(self, obj: object) -> None:
        w: WindowSim = obj  # type: ignore[assignment]
        if not w.open or w.closing or w.paused:
            return
        w.break_due = True
        if w.current is None:
            self._pause(w)

    def _staff(self, obj: object) -> None:
        numbers: frozenset[int] = obj  # type: ignore[assignment]
        for w in self.windows:
            if w.number in numbers:
                if not w.open:
                    self._login(w)
                elif w.closing:
                    w.closing = False
                    if w.current is None and not w.paused and not w.pending:
                        w.pending = True
                        self._push(self.now, CALL, w)
            elif w.open:
                if w.current is None:
                    self._logout(w)
                else:
                    w.closing = True

    def _login(self, w: WindowSim) -> None:
        self.backend.login(w.number, self.now)
        w.open, w.closing, w.opened_ms = True, False, self.now
        w.gen += 1
        if not w.pending:
            w.pending = True
            self._push(self.now, CALL, w)

    def _logout(self, w: WindowSim) -> None:
        if w.paused:
            w.paused_total += self.now - w.paused_at
            w.paused = False
        self.backend.logout(w.number, self.now)
        w.open = w.closing = w.pending = w.break_due = False
        w.open_total += self.now - w.opened_ms
        w.gen += 1
        if self._closing_day and not any(x.open for x in self.windows):
            self._close_day()

    def _close(self, obj: object) -> None:
        """The end of the working day: windows finish what they hold and stop; the hall closes
        the day (whoever still waits is missed) once the last one is free."""
        self._closing_day = True
        self._staff(frozenset())
        if not any(w.open for w in self.windows):
            self._close_day()

    def _close_day(self) -> None:
        if self.closed_ms is not None:
            return
        self.backend.close_day(self.now)
        self.closed_ms = self.now
        for c in self.citizens[:self._next]:
            if c.phase == "waiting":
                c.phase = "missed"
        for q in self.waiting:
            self.waiting[q] = 0
        self._in_line = 0
        self._heap.clear()  # breaks and wake-ups of a closed day
        self._next = len(self.citizens)


def _remap(obj: object, windows: dict[int, WindowSim]) -> object:
    if isinstance(obj, WindowSim):
        return windows[obj.number]
    if isinstance(obj, tuple) and obj and isinstance(obj[0], WindowSim):
        return (windows[obj[0].number], *obj[1:])
    return obj
