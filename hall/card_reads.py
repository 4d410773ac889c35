"""ID card reads waiting at their kiosk, and the kiosk pages that are told of them.

Why a read is held here and not sent to the page: the kiosk page never needs the ID number
in clear, only a sign that the card was read and what to show (张*三, 110***********1234).
So a read stays in the server's memory, keyed by a random token; the page gets the token
and the masked values, and takes the ticket with `{"id_read": token}`. The number never
crosses the hall's network to a browser, never sits in a page's DOM for the next person.

The rules of a token:
* it belongs to the kiosk whose reader read the card: only a request from that enrolled
  kiosk (its device credential, hall/credentials.py) may use it;
* it lives `[real_name] read_seconds` (120 s): long enough to choose a service, short enough
  that the next person cannot take a ticket on the last one's card;
* it serves one ticket: the first request that uses it binds it to its `Idempotency-Key`;
  a retry of that request (same key) may use it again, any other request is refused. A
  request that fails (a limit, a printer out of paper) releases it, so the citizen can
  correct and try again without reading the card anew;
* a kiosk keeps at most `PER_KIOSK` reads (the holder's card and, for 亲友代取号, the
  taker's); an older one is dropped.

Nothing here is persisted: a server restart forgets every read, which is what a read is for.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from hall import errors
from hall.identity import IdNumber, check_name, mask_id_number, mask_name, parse_id_number

PER_KIOSK = 4
QUEUE_SIZE = 16
UNREADABLE = "未能读取身份证信息，请重新放置身份证，或手动输入"
UNSUPPORTED = "暂不支持读取这种证件，请手动输入证件号码"


@dataclass(frozen=True)
class CardRead:
    """What the hall takes of a card: the name and the checked number (with its birth date).
    Address, nation, validity and the photo are never taken (domain.md, Devices)."""

    name: str
    id_number: IdNumber


@dataclass
class _Pending:
    kiosk: str
    read: CardRead
    expires: float
    used_by: str | None = None


class CardReads:
    def __init__(self, read_seconds: float, elderly_age: int, today: Callable[[], date],
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.read_seconds = read_seconds
        self.elderly_age = elderly_age
        self.today = today
        self.clock = clock
        self._pending: dict[str, _Pending] = {}
        self._pages: dict[str, set[asyncio.Queue[dict[str, Any]]]] = {}
        self._readers: dict[str, Callable[[], str]] = {}

    # ---------------------------------------------------------------- readers (adapters)

    def attach_reader(self, kiosk: str, health: Callable[[], str]) -> None:
        self._readers[kiosk] = health

    def detach_reader(self, kiosk: str) -> None:
        self._readers.pop(kiosk, None)

    def reader_health(self, kiosk: str) -> str | None:
        """The kiosk's reader's health, None when the kiosk has no reader."""
        health = self._readers.get(kiosk)
        return None if health is None else health()

    def post(self, kiosk: str, name: str, id_number: str) -> dict[str, Any]:
        """A card was read at `kiosk`: keep it, tell the kiosk's pages; return the message."""
        try:
            read = CardRead(check_name(name), parse_id_number(id_number))
        except errors.HallError:
            return self.fail(kiosk, UNREADABLE)
        else:
            self._prune()
            mine = [t for t, p in self._pending.items() if p.kiosk == kiosk]
            for token in mine[:max(0, len(mine) - PER_KIOSK + 1)]:
                del self._pending[token]
            token = secrets.token_urlsafe(16)
            self._pending[token] = _Pending(kiosk, read, self.clock() + self.read_seconds)
            age = read.id_number.age_on(self.today())
            message = {"type": "idcard", "read": token, "name": mask_name(read.name),
                       "id_number": mask_id_number(read.id_number.number),
                       "elderly": bool(self.elderly_age) and age >= self.elderly_age,
                       "seconds": int(self.read_seconds)}
        self._push(kiosk, message)
        return message

    def fail(self, kiosk: str, message: str = "") -> dict[str, Any]:
        """A card was on the reader but gave nothing we can use: the page says so."""
        out = {"type": "idcard_error", "message": message or UNREADABLE}
        self._push(kiosk, out)
        return out

    def _push(self, kiosk: str, message: dict[str, Any]) -> None:
        for queue in self._pages.get(kiosk, ()):
            with contextlib.suppress(asyncio.QueueFull):  # a page that stopped reading
                queue.put_nowait(message)

    # ---------------------------------------------------------------- tickets (the API)

    def take(self, kiosk: str | None, token: object, key: str | None,
             field: str = "id_number") -> CardRead:
        """The read `token` names, for a ticket requested by `kiosk` with `key`; bound to
        that key until `release`. A Chinese refusal for anything else."""
        if not isinstance(token, str) or not token:
            raise errors.invalid("读卡结果无效，请重新刷身份证", "invalid_id_read", field)
        if kiosk is None:
            raise errors.invalid("只有本大厅登记的取号机可以使用读卡结果，请输入身份证号码",
                                 "id_read_not_here", field)
        self._prune()
        pending = self._pending.get(token)
        if pending is None or pending.kiosk != kiosk:
            raise errors.invalid("读卡已超时，请重新刷身份证", "id_read_expired", field)
        if pending.used_by is not None and (key is None or pending.used_by != key):
            raise errors.invalid("这次读卡已经取过号，请重新刷身份证", "id_read_used", field)
        pending.used_by = key if key is not None else ""
        return pending.read

    def release(self, token: object, key: str | None) -> None:
        """The ticket `key` asked for was refused: the read may be used again."""
        pending = self._pending.get(token) if isinstance(token, str) else None
        if pending is not None and pending.used_by == (key if key is not None else ""):
            pending.used_by = None

    # ---------------------------------------------------------------- kiosk pages

    def subscribe(self, kiosk: str) -> asyncio.Queue[dict[str, Any]]:
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(QUEUE_SIZE)
        self._pages.setdefault(kiosk, set()).add(queue)
        return queue

    def unsubscribe(self, kiosk: str, queue: asyncio.Queue[dict[str, Any]]) -> None:
        pages = self._pages.get(kiosk)
        if pages is not None:
            pages.discard(queue)
            if not pages:
                del self._pages[kiosk]

    def _prune(self) -> None:
        now = self.clock()
        for token in [t for t, p in self._pending.items() if p.expires <= now]:
            del self._pending[token]
