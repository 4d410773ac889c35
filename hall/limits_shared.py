"""The per-client ticket limits (hall/limits.py) for a hall served by several processes.

Why in the database: behind a round-robin balancer a client's requests reach every process,
and counts kept in each process's memory let it take its limit once per process (three
processes, three times the limit: the scalping issue 9.2 closed, opened again). The counts
live in the hall's own schema (`ticket_takes`, hall/pg_schema.py), one row per address or
kiosk, and `ticket_take` checks and counts under that row's lock in one statement: two
processes counting the same client at the same moment see each other, and refusals count
nothing, as in memory.

Why outside the hall's lock and group commit: the count is not part of the ticket (it is
taken before, as in memory, and a ticket refused later for a full queue still counted), and
the hall's lock is what caps its tickets/s (bench/cluster.py); a statement of its own on the
process's reading connection costs a round trip but no time under that lock. A read whose
connection was lost is tried once more (hall/store_pg.py), which can count one take twice:
it errs towards the limit.

The same rules as hall/limits.py: a sliding minute (the last `per_minute` takes, kept per
client) and the hall's day; 0 means no limit; a kiosk counted as itself, never against its
address.
"""

from __future__ import annotations

from typing import Any

from hall.limits import Refusal

TAKE = "SELECT ticket_take($1, $2, $3, $4, $5, $6)"
# yesterday's clients, once their last minute is over too (the minute spans midnight)
FORGET = ("DELETE FROM ticket_takes WHERE day < $1 "
          "AND NOT EXISTS (SELECT 1 FROM unnest(recent) AS h WHERE h > $2 - 60)")


class SharedLimits:
    """TicketLimits' `claim`, counted in the hall's PostgreSQL database."""

    def __init__(self, store: Any, client_per_minute: int, client_per_day: int,
                 kiosk_per_minute: int, kiosk_per_day: int) -> None:
        self.store = store
        self.client = (client_per_minute, client_per_day)
        self.kiosk = (kiosk_per_minute, kiosk_per_day)
        self._day = ""

    async def claim(self, kiosk: str | None, address: str, now: float,
                    day: str) -> Refusal | None:
        kind, key, (per_minute, per_day) = (
            ("kiosk", kiosk, self.kiosk) if kiosk is not None
            else ("client", address, self.client))
        if per_minute <= 0 and per_day <= 0:
            return None
        if day != self._day:  # yesterday's clients are not kept (any process may do it)
            await self.store.read(lambda conn: conn.raw(FORGET, day, now), snapshot=False)
            self._day = day
        answer = await self.store.read(
            lambda conn: conn.raw(TAKE, kind, key, day, now, per_minute, per_day)[0][0],
            snapshot=False)
        if answer is None:
            return None
        return Refusal("day", 0.0) if answer < 0 else Refusal("minute", float(answer))
