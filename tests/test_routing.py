"""Property tests of the calling order (hall/routing.py), hammered with hypothesis."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from hall.model import Candidate
from hall.routing import WindowRule, choose_next

QUEUES = ("q1", "q2", "q3")
AGING = 20 * 60.0


def tickets_strategy(max_size: int = 30) -> st.SearchStrategy[list[Candidate]]:
    ticket = st.builds(
        lambda queue, at, prio, help_, directed: (queue, at, prio, help_, directed),
        st.sampled_from(QUEUES),
        st.floats(min_value=0, max_value=7200, allow_nan=False),
        st.booleans(),
        st.booleans(),
        st.one_of(st.none(), st.sampled_from([1, 2, 3])),
    )

    def build(raw: list[tuple]) -> list[Candidate]:
        return [Candidate(i + 1, q, at, prio, help_, None, directed)
                for i, (q, at, prio, help_, directed) in enumerate(raw)]

    return st.lists(ticket, max_size=max_size).map(build)


windows = st.builds(
    WindowRule,
    number=st.sampled_from([1, 2, 3]),
    queues=st.lists(st.sampled_from(QUEUES), min_size=1, max_size=3, unique=True).map(tuple),
    kind=st.sampled_from(["comprehensive", "helpdesk"]),
    order=st.sampled_from(["strict", "oldest"]),
)


@given(windows, tickets_strategy())
def test_never_routes_outside_the_window_unless_transferred(window: WindowRule,
                                                            tickets: list[Candidate]) -> None:
    chosen = choose_next(window, tickets, now=8000, aging_seconds=AGING)
    if chosen is None:
        assert not any((t.directed_window == window.number) or
                       (t.directed_window is None and t.queue in window.queues) for t in tickets)
    elif chosen.directed_window is not None:
        assert chosen.directed_window == window.number
    else:
        assert chosen.queue in window.queues


@given(windows, tickets_strategy())
def test_directed_tickets_come_first(window: WindowRule, tickets: list[Candidate]) -> None:
    chosen = choose_next(window, tickets, now=8000, aging_seconds=AGING)
    directed = [t for t in tickets if t.directed_window == window.number]
    if directed:
        assert chosen is not None and chosen.directed_window == window.number
        assert chosen.order_at == min(t.order_at for t in directed)


@given(st.lists(st.floats(min_value=0, max_value=5000, allow_nan=False), min_size=1,
                max_size=40))
def test_fifo_within_a_queue(times: list[float]) -> None:
    """Plain tickets of one queue are called in issue order, whatever order they arrive in."""
    window = WindowRule(1, ("q1",))
    waiting = [Candidate(i, "q1", at) for i, at in enumerate(times)]
    called: list[float] = []
    while waiting:
        chosen = choose_next(window, waiting, now=5000, aging_seconds=AGING)
        assert chosen is not None
        called.append(chosen.order_at)
        waiting.remove(chosen)
    assert called == sorted(times)


@given(windows, tickets_strategy(), st.floats(min_value=0, max_value=9000, allow_nan=False))
def test_priority_never_jumps_an_overdue_normal_ticket(window: WindowRule,
                                                       tickets: list[Candidate],
                                                       now: float) -> None:
    chosen = choose_next(window, tickets, now=now, aging_seconds=AGING)
    if chosen is None or chosen.directed_window is not None:
        return
    overdue = [t for t in tickets if t.directed_window is None and t.queue in window.queues
               and not t.priority and not (window.kind == "helpdesk" and t.needs_help)
               and now - t.order_at >= AGING and t.order_at <= now]
    if overdue:
        assert not chosen.priority
        assert chosen.order_at == min(t.order_at for t in overdue)


@settings(max_examples=60)
@given(windows, tickets_strategy(max_size=25), st.lists(
    st.tuples(st.sampled_from(QUEUES), st.booleans()), max_size=60))
def test_every_waiting_ticket_is_eventually_called(window: WindowRule,
                                                   tickets: list[Candidate],
                                                   arrivals: list[tuple[str, bool]]) -> None:
    """A window that keeps calling (one call a minute, a new ticket arriving each minute,
    half of them priority) calls every ticket it serves: aging stops priority starving anyone,
    and in `strict` order a secondary queue's ticket is reached once it is overdue."""
    mine = [t for t in tickets if t.directed_window in (None, window.number)]
    waiting = list(mine)
    targets = {t.id for t in waiting if t.directed_window == window.number or
               (t.directed_window is None and t.queue in window.queues)}
    now = 7200.0
    next_id = 10_000
    for queue, prio in arrivals:
        waiting.append(Candidate(next_id, queue, now, prio))
        next_id += 1
        chosen = choose_next(window, waiting, now, AGING)
        if chosen is not None:
            waiting.remove(chosen)
            targets.discard(chosen.id)
        now += 60
    for _ in range(len(targets) * 2 + 10):  # arrivals stop; the window calls on
        chosen = choose_next(window, waiting, now, AGING)
        if chosen is None:
            break
        waiting.remove(chosen)
        targets.discard(chosen.id)
        now += 60
    assert not targets


def test_helpdesk_takes_needs_help_first() -> None:
    helpdesk = WindowRule(5, ("q1", "q2"), kind="helpdesk")
    plain = Candidate(1, "q1", 0)
    helped = Candidate(2, "q2", 100, needs_help=True)
    assert choose_next(helpdesk, [plain, helped], 200, AGING) == helped
    comprehensive = WindowRule(1, ("q1", "q2"))
    assert choose_next(comprehensive, [plain, helped], 200, AGING) == plain


def test_appointment_waits_for_its_slot() -> None:
    window = WindowRule(1, ("q1",))
    booked = Candidate(1, "q1", 0, appointment_at=1000)
    walk_in = Candidate(2, "q1", 10)
    assert choose_next(window, [booked, walk_in], 500, AGING) == walk_in
    assert choose_next(window, [booked, walk_in], 1000, AGING) == booked
    assert choose_next(window, [booked], 999, AGING) is None


def test_strict_and_oldest_orders_differ_as_documented() -> None:
    old_secondary = Candidate(1, "q2", 0)
    new_primary = Candidate(2, "q1", 100)
    strict = WindowRule(1, ("q1", "q2"), order="strict")
    oldest = WindowRule(1, ("q1", "q2"), order="oldest")
    assert choose_next(strict, [old_secondary, new_primary], 200, AGING) == new_primary
    assert choose_next(oldest, [old_secondary, new_primary], 200, AGING) == old_secondary
    # once the secondary ticket is past the aging limit, strict order reaches it too
    assert choose_next(strict, [old_secondary, new_primary], AGING + 1, AGING) == old_secondary
