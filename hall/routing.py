"""Which waiting ticket a window takes next: pure functions, so the rule can be previewed,
explained and hammered by property tests (domain.md calls it the most contested point in every
queue system's tracker).

Default order (domain.md):
1. tickets directed to this window by a transfer (oldest first);
2. priority tickets (绿色通道) of the queues it serves — unless a normal ticket has already
   waited past the aging limit: then the longest-overdue normal ticket goes first, so priority
   never starves anyone;
3. appointments whose slot has started;
4. the longest-waiting ticket, by the window's queue order.

"By the window's queue order" has two readings in real halls, so it is per window:
`strict` (default) — the first queue in the window's list that has anyone waiting (a primary
business with secondary ones helped when it is empty); `oldest` — the longest-waiting ticket
across every queue the window serves, ties broken by queue order. In both, the aging limit
applies across queues: a ticket of a secondary queue that waited past it is taken first.

Help-desk windows (帮办代办) take `needs_help` and priority tickets before the rest.
An appointment is never callable before its slot, whoever asks; a phone ticket (云取号) never
before its holder checked in at the hall (docs/appointments.md): it keeps its place in line
meanwhile, and the ones behind it are called.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from hall.model import Candidate


@dataclass(frozen=True)
class WindowRule:
    number: int
    queues: tuple[str, ...]
    kind: str = "comprehensive"
    order: str = "strict"


def callable_now(ticket: Candidate, now: float) -> bool:
    return ticket.present and (ticket.appointment_at is None or ticket.appointment_at <= now)


def eligible(ticket: Candidate, window: WindowRule) -> bool:
    """A ticket directed elsewhere is not this window's; one directed here is, whatever queue."""
    if ticket.directed_window is not None:
        return ticket.directed_window == window.number
    return ticket.queue in window.queues


def choose_next(
    window: WindowRule,
    waiting: Iterable[Candidate],
    now: float,
    aging_seconds: float,
) -> Candidate | None:
    """The ticket `window` should call now, or None when it has nobody to call."""
    mine = [t for t in waiting if eligible(t, window) and callable_now(t, now)]
    if not mine:
        return None
    rank = {q: i for i, q in enumerate(window.queues)}

    def oldest(tickets: Sequence[Candidate]) -> Candidate | None:
        return min(tickets, key=lambda t: (t.order_at, rank.get(t.queue, 99), t.id), default=None)

    directed = [t for t in mine if t.directed_window == window.number]
    if directed:
        return oldest(directed)

    def is_special(t: Candidate) -> bool:
        return t.priority or t.appointment_at is not None or (
            window.kind == "helpdesk" and t.needs_help)

    overdue = [t for t in mine if not is_special(t) and now - t.order_at >= aging_seconds]
    if overdue:
        return oldest(overdue)

    if window.kind == "helpdesk":
        helped = [t for t in mine if t.needs_help or t.priority]
        if helped:
            return oldest(helped)

    prioritised = [t for t in mine if t.priority]
    if prioritised:
        return oldest(prioritised)

    booked = [t for t in mine if t.appointment_at is not None]
    if booked:
        return min(booked, key=lambda t: (t.appointment_at, t.order_at, t.id))

    if window.order == "oldest":
        return oldest(mine)
    for queue in window.queues:
        in_queue = [t for t in mine if t.queue == queue]
        if in_queue:
            return oldest(in_queue)
    return oldest(mine)


def requeue_order(ahead: Sequence[float], behind: int, now: float) -> float:
    """Where a 过号 ticket goes back in line (`order_at`): just behind the `behind`-th ticket
    waiting in its queue, or at the end of the line when fewer wait. `ahead`: the order of
    the first `behind` tickets waiting, oldest first (hall.service and the simulator's hall
    both place it here)."""
    if len(ahead) == behind and ahead:
        return ahead[-1] + 1e-3
    return max([now, *(order + 1e-3 for order in ahead)])
