"""The statements that number a ticket and write its row: the hot path of every kiosk.

Why here and not in hall/service.py: on PostgreSQL every statement is a round trip made while
the batch holds the hall's lock, and every other process waits for that lock (hall/store_pg.py),
so a ticket's statements are what caps a hall's tickets/s across processes (bench/cluster.py).
On SQLite the counter and the row are two statements; on PostgreSQL they are one (a
data-modifying WITH, which SQLite does not have). Both answer the same `Numbered`, and the
caller's refusal (`check`) runs before the number is formatted on both.

Why the queue's figures come back from before the ticket: nothing else changes the queue while
the hall's lock is held, so after the ticket it has one more waiting and the same oldest place
in line (or this ticket's). Reading them before is what both databases answer alike: a
PostgreSQL statement does not see its own rows, and a SQLite statement that wrote no ticket
has nothing to hide.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from hall.numbering import format_number
from hall.store_pg import PgConnection

# A queue's waiting count (kept by a trigger: a count over the tickets would cost every ticket a
# scan) and its oldest place in line, by index order, not MIN(): PostgreSQL's prepared plan of
# MIN() read every waiting ticket of the queue (bench/cluster.py). Parameters: day, queue.
WAITING = "SELECT waiting FROM waiting_counts WHERE day = ? AND queue = ?"
OLDEST = ("SELECT order_at FROM tickets WHERE state = 'waiting' AND day = ? AND queue = ? "
          "ORDER BY order_at LIMIT 1")
# The cap a manager set for a queue (parameter: its id): one primary-key look-up.
DAILY_CAP = "SELECT daily_cap FROM staffing_queues WHERE id = ?"

# What the caller gives for a ticket, in this order, besides its queue, day and number.
COLUMNS = ("service", "channel", "kiosk", "priority", "priority_by", "needs_help",
           "appointment_at", "token", "issued_at")

_NEXT = ("INSERT INTO counters (queue, day, last) VALUES (?, ?, 1) "
         "ON CONFLICT (queue, day) DO UPDATE SET last = counters.last + 1 "
         f"RETURNING last, ({DAILY_CAP}), ({WAITING}), ({OLDEST})")
_ROW = ("INSERT INTO tickets (day, number, queue, service, channel, kiosk, priority, "
        "priority_by, needs_help, appointment_at, token, issued_at, state, order_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'waiting', ?) RETURNING *")


# $1 queue, $2 day, $3 prefix, $4 width, then COLUMNS from $5 (issued_at $13 is also the
# place in line). The number is the prefix and the counter padded to the width; a counter past
# the width comes out longer, and insert_ticket refuses it as format_number does on SQLite.
_ONE = (
    "WITH counted AS (INSERT INTO counters (queue, day, last) VALUES ($1, $2, 1) "
    "ON CONFLICT (queue, day) DO UPDATE SET last = counters.last + 1 RETURNING last) "
    "INSERT INTO tickets (day, number, queue, service, channel, kiosk, priority, priority_by, "
    "needs_help, appointment_at, token, issued_at, state, order_at) VALUES ($2, "
    "$3 || lpad((SELECT last FROM counted)::text, "
    "greatest($4, length((SELECT last FROM counted)::text)), '0'), "
    "$1, $5, $6, $7, $8, $9, $10, $11, $12, $13, 'waiting', $13) "
    "RETURNING *, (SELECT last FROM counted) AS counted_, "
    f"({DAILY_CAP.replace('?', '$1')}) AS cap_, "
    f"({WAITING.replace('?', '$2', 1).replace('?', '$1')}) AS waiting_, "
    f"({OLDEST.replace('?', '$2', 1).replace('?', '$1')}) AS oldest_")


@dataclass(frozen=True)
class Numbered:
    row: Mapping[str, Any]  # the ticket as stored
    waiting: int  # waiting in its queue before it
    oldest: float | None  # the queue's oldest place in line before it


@dataclass(frozen=True)
class TicketDraft:
    """A ticket's row as its change will write it (`insert_ticket`). Said ahead, a PostgreSQL
    batch writes all of its drafts in one call of `issue_tickets` (hall/pg_schema.py) before
    its changes run, and each change then finds its row by its token instead of a round trip
    of its own. Under the hall's lock that round trip was most of a ticket's time: every other
    process waits for it (docs/bench-cluster.md). Only a plain ticket is said ahead: one with an
    idempotency key, a real name or more to do in its change may write nothing (a retry
    answered with the first ticket) or more than its row, so it runs as before."""

    queue: str
    day: str
    prefix: str
    width: int
    values: tuple[Any, ...]  # COLUMNS

    @property
    def token(self) -> str:
        return str(self.values[_TOKEN])

    @staticmethod
    def write_all(conn: PgConnection, drafts: list[TicketDraft]) -> None:
        columns = list(zip(*(d.values for d in drafts), strict=True))
        v = dict(zip(COLUMNS, columns, strict=True))
        rows = conn.raw(
            "SELECT * FROM issue_tickets($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
            [d.queue for d in drafts], [d.day for d in drafts], [d.prefix for d in drafts],
            [int(d.width) for d in drafts], list(v["service"]), list(v["channel"]),
            list(v["kiosk"]), list(v["priority"]), list(v["priority_by"]),
            [int(x) for x in v["needs_help"]],
            [None if x is None else float(x) for x in v["appointment_at"]],
            list(v["token"]), [float(x) for x in v["issued_at"]])
        for draft, row in zip(drafts, rows, strict=True):
            conn.prefetched[draft.token] = {**dict(row["t"]), "counted_": row["counted_"],
                                            "cap_": row["cap_"], "waiting_": row["waiting_"],
                                            "oldest_": row["oldest_"]}


_TOKEN = COLUMNS.index("token")


def insert_ticket(conn: Any, ticket: TicketDraft,
                  check: Callable[[int, int | None], None]) -> Numbered:
    """Number the next ticket of its queue on its day and write it with its values (COLUMNS).
    `check(counter, manager's cap)` refuses by raising, before the number is formatted: the
    refusal rolls the counter and any row back with the change. On PostgreSQL the row may
    have been written already by the batch (`TicketDraft.write_all`)."""
    queue, day, prefix, width, values = (ticket.queue, ticket.day, ticket.prefix, ticket.width,
                                         ticket.values)
    if isinstance(conn, PgConnection):
        row = conn.prefetched.pop(ticket.token, None) or conn.native(
            _ONE, (queue, day, prefix, width, *values))
        if (row["queue"], row["day"]) != (queue, day):
            raise ValueError(f"ticket {row['number']} was written ahead for another queue")
        check(row["counted_"], row["cap_"])
        if row["number"] != format_number(prefix, row["counted_"], width):
            raise ValueError(f"ticket number {row['number']} is not its counter's")
        return Numbered(row, row["waiting_"] or 0, row["oldest_"])
    last, cap, waiting, oldest = conn.execute(
        _NEXT, (queue, day, queue, day, queue, day, queue)).fetchone()
    check(last, cap)
    row = conn.execute(_ROW, (day, format_number(prefix, last, width), queue, *values,
                              values[-1])).fetchone()
    return Numbered(row, waiting or 0, oldest)
