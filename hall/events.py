"""Fan-out of committed events to live subscribers (screens, pads, devices).

Each subscriber has its own bounded queue of ready-made messages, so one slow hall screen on a
bad Wi-Fi link never stalls the others: when its queue is full it is marked as overflowed, and
its connection tells it to resync (take a fresh snapshot) and closes. Publishing never awaits.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

from hall.store import Event


class Subscriber:
    def __init__(self, limit: int) -> None:
        self.queue: asyncio.Queue[Event] = asyncio.Queue(maxsize=limit)
        self.overflowed = asyncio.Event()

    def offer(self, event: Event) -> None:
        if self.overflowed.is_set():
            return
        try:
            self.queue.put_nowait(event)
        except asyncio.QueueFull:
            self.overflowed.set()


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

    def publish(self, events: list[Event]) -> None:
        for event in events:
            for fn in self._listeners:
                # an adapter's bug must not stop the screens
                with contextlib.suppress(Exception):
                    fn(event)
            for sub in self._subscribers:
                sub.offer(event)
