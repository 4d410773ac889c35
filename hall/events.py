"""Fan-out of committed events to live subscribers (screens, pads, devices).

Each subscriber has its own bounded queue of ready-made messages, so one slow hall screen on a
bad Wi-Fi link never stalls the others: when its queue is full it is marked as overflowed, and
its connection tells it to resync (take a fresh snapshot) and closes. Publishing never awaits.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Callable

from hall.store import Event

# 好差评 is private (domain.md): these go to managers only (`/ws/manage`). A rating itself is
# shown on the public stream as `ticket.rated` with its number and window and nothing else, so
# the window tablet and the citizen's phone page learn that it was rated, never how. A rating
# is always exactly one event (`rating.recorded`, or `alarm.bad_rating` for a 差评), so the
# public seq has no gap from which a 差评 could be read.
RATING_TYPES = frozenset({"rating.recorded", "alarm.bad_rating"})
# The alarm log's events (hall.alarm_desk) name windows, cases and devices and carry a
# manager's note: the managers' too.
ALARM_TYPES = frozenset({"alarm.raised", "alarm.cleared", "alarm.acked"})
MANAGER_ONLY = frozenset({*RATING_TYPES, *ALARM_TYPES, "rectification.updated",
                          "alarm.complaint", "complaint.updated", "user.changed"})


def public_message(event: Event) -> str | None:
    """The wire form of `event` for the public `/ws`: None to leave it out."""
    if event.type not in MANAGER_ONLY:
        return event.message()
    if event.type not in RATING_TYPES:
        return None
    data = {k: event.data.get(k) for k in ("number", "window", "window_name")}
    return json.dumps({"seq": event.seq, "type": "ticket.rated", "data": data,
                       "time": event.time}, ensure_ascii=False, separators=(",", ":"))


class Subscriber:
    """One live client's bounded queue. On overflow it calls `on_overflow` once (the WebSocket
    cancels its sender) — a callback rather than a watcher task, since a hall screen server
    keeps a thousand of these and each task costs memory."""

    def __init__(self, limit: int) -> None:
        self.queue: asyncio.Queue[Event] = asyncio.Queue(maxsize=limit)
        self.overflowed = False
        self.on_overflow: Callable[[], None] | None = None
        # Set by the sender only while it waits with nothing in hand (hall/ws.py): the event
        # is written at once, or answers False and is queued as before (hall/ws_direct.py).
        self.direct: Callable[[Event], bool] | None = None

    def offer(self, event: Event) -> None:
        if self.overflowed:
            return
        if self.direct is not None and event is not HEARTBEAT and self.queue.empty() \
                and self._written(self.direct, event):
            return
        try:
            self.queue.put_nowait(event)
        except asyncio.QueueFull:
            self.overflowed = True
            if self.on_overflow is not None:
                self.on_overflow()

    @staticmethod
    def _written(direct: Callable[[Event], bool], event: Event) -> bool:
        """A failing write is the queue's to retry: publishing goes on to the next screen."""
        try:
            return direct(event)
        except Exception:
            return False


# Offered to every subscriber on a timer and sent as {"type": "ping"}: a screen that vanished
# without closing is found by the failed send, and a screen can tell a quiet hall from a dead
# connection.
HEARTBEAT = Event(seq=0, time="", type="ping", data={})


class Bus:
    def __init__(self, limit: int = 2000) -> None:
        self.limit = limit
        self._subscribers: set[Subscriber] = set()
        self._listeners: list[Callable[[Event], None]] = []

    def subscribe(self) -> Subscriber:
        sub = Subscriber(self.limit)
        self._subscribers.add(sub)
        return sub

    def unsubscribe(self, sub: Subscriber) -> None:
        self._subscribers.discard(sub)

    def listen(self, fn: Callable[[Event], None]) -> None:
        """In-process adapters (LED, voice, pads) get every event synchronously, in order."""
        self._listeners.append(fn)

    @property
    def subscriber_count(self) -> int:
        return len(self._subscribers)

    async def run_heartbeat(self, every: float = 25.0) -> None:
        while True:
            await asyncio.sleep(every)
            for sub in list(self._subscribers):
                sub.offer(HEARTBEAT)

    def publish(self, events: list[Event]) -> None:
        for event in events:
            for fn in self._listeners:
                # an adapter's bug must not stop the screens
                with contextlib.suppress(Exception):
                    fn(event)
            for sub in self._subscribers:
                sub.offer(event)
