"""Counting tickets per client, without I/O: sliding-window and per-day counters, and who the
client is behind a proxy.

Why (issue 9.2): one client took 1,010 tickets in 2.8 s and emptied small queues' daily caps
(号贩子 "scalping"). The API asks `TicketLimits.take` before issuing; a refusal is a 429.

Choices where the issue is silent:
* Per minute is a true sliding window (a log of the last `limit` hit times per key), not a
  fixed calendar minute: a burst straddling a minute boundary cannot get twice the limit.
* Per day is the hall's day (the caller passes the day), so the count resets at the hall's
  midnight, like the queues' numbers and daily caps.
* A refused attempt is not counted: a scalper hammering after the refusal does not push a
  citizen who shares the address (a family's phone) further out; what is counted is what was
  let through.
* A phone is counted by its address, not by a session cookie: a scalper simply drops
  cookies, while the address is what the connection proves. (A hall whose phones all come
  through one proxy lists it in `trusted_proxies`; see `client_address`.) Staff signed in
  (导办 issuing for citizens) are not counted.
* A limit of 0 means "no limit" (a hall that trusts its kiosks completely, or tests).
* Memory is bounded: a key's log holds at most `limit` times, and keys idle longer than the
  window are dropped once the table grows past `max_keys`.
"""

from __future__ import annotations

import ipaddress
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass


class SlidingWindow:
    """At most `limit` hits per `seconds` for each key."""

    def __init__(self, limit: int, seconds: float, max_keys: int = 10_000) -> None:
        self.limit = limit
        self.seconds = seconds
        self.max_keys = max_keys
        self._hits: dict[str, deque[float]] = {}

    def _log(self, key: str, now: float) -> deque[float]:
        log = self._hits.get(key)
        if log is None:
            return deque()
        while log and log[0] <= now - self.seconds:
            log.popleft()
        return log

    def allows(self, key: str, now: float) -> bool:
        """Would a hit at `now` be let through? (Counts nothing.)"""
        return self.limit <= 0 or len(self._log(key, now)) < self.limit

    def retry_after(self, key: str, now: float) -> float:
        """Seconds until a hit would be let through again (0 when it would be now)."""
        if self.allows(key, now):
            return 0.0
        return max(0.0, self._hits[key][0] + self.seconds - now)

    def record(self, key: str, now: float) -> None:
        if self.limit <= 0:
            return
        if key not in self._hits:
            if len(self._hits) >= self.max_keys:
                self._forget_idle(now)
            self._hits[key] = deque(maxlen=self.limit)
        self._hits[key].append(now)

    def _forget_idle(self, now: float) -> None:
        for key in [k for k, log in self._hits.items() if not log or
                    log[-1] <= now - self.seconds]:
            del self._hits[key]


class DailyCounter:
    """At most `limit` hits per key per (hall) day; the table is emptied when the day changes."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._day: str | None = None
        self._counts: dict[str, int] = {}

    def _roll(self, day: str) -> None:
        if day != self._day:
            self._day, self._counts = day, {}

    def allows(self, key: str, day: str) -> bool:
        self._roll(day)
        return self.limit <= 0 or self._counts.get(key, 0) < self.limit

    def record(self, key: str, day: str) -> None:
        self._roll(day)
        if self.limit > 0:
            self._counts[key] = self._counts.get(key, 0) + 1


@dataclass(frozen=True)
class Refusal:
    """Why a ticket was refused: `per` is "minute" or "day"; `retry_after` in seconds."""

    per: str
    retry_after: float


class Limit:
    """A per-minute and a per-day limit for one kind of client (an address, a kiosk)."""

    def __init__(self, per_minute: int, per_day: int) -> None:
        self.minute = SlidingWindow(per_minute, 60.0)
        self.day = DailyCounter(per_day)

    def take(self, key: str, now: float, day: str) -> Refusal | None:
        """Count one ticket for `key`, or say why not (counting nothing then)."""
        if not self.minute.allows(key, now):
            return Refusal("minute", self.minute.retry_after(key, now))
        if not self.day.allows(key, day):
            return Refusal("day", 0.0)
        self.minute.record(key, now)
        self.day.record(key, day)
        return None


class TicketLimits:
    """One `Limit` for addresses and one for enrolled kiosks: a kiosk with its credential is
    counted as itself, never against the address it shares (a hall's NAT, a proxy)."""

    def __init__(self, client_per_minute: int, client_per_day: int,
                 kiosk_per_minute: int, kiosk_per_day: int) -> None:
        self.client = Limit(client_per_minute, client_per_day)
        self.kiosk = Limit(kiosk_per_minute, kiosk_per_day)

    def take(self, kiosk: str | None, address: str, now: float, day: str) -> Refusal | None:
        if kiosk is not None:
            return self.kiosk.take(kiosk, now, day)
        return self.client.take(address, now, day)

    async def claim(self, kiosk: str | None, address: str, now: float,
                    day: str) -> Refusal | None:
        """`take`, as the API asks it: a hall on several processes counts in its database
        instead (hall/limits_shared.py), which is a round trip."""
        return self.take(kiosk, address, now, day)


Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(items: Iterable[str]) -> tuple[Network, ...]:
    """Addresses or CIDR ranges (`10.0.0.5`, `10.0.0.0/24`); raises ValueError on a bad one."""
    return tuple(ipaddress.ip_network(item, strict=False) for item in items)


def _trusted(address: str, proxies: tuple[Network, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in net for net in proxies)


def client_address(peer: str | None, forwarded_for: str | None,
                   proxies: tuple[Network, ...]) -> str:
    """Who the client is: the connection's peer address, unless that peer is one of the hall's
    own reverse proxies (`[limits] trusted_proxies`): then the rightmost `X-Forwarded-For`
    hop that is not itself a trusted proxy. Hops further left were written by the client and
    could be anything, so they are never believed; without a trusted proxy the header is
    ignored altogether (anyone can send it)."""
    peer = peer or "unknown"
    if not forwarded_for or not _trusted(peer, proxies):
        return peer
    hops = [hop.strip() for hop in forwarded_for.split(",") if hop.strip()]
    for hop in reversed(hops):
        if not _trusted(hop, proxies):
            return hop
    return hops[0] if hops else peer
