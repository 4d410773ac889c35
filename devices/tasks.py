"""Starting and stopping background work, shared by the drivers and the adapters built on them."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable, Iterable
from typing import Protocol


class Closable(Protocol):
    def close(self) -> None: ...


async def cancel_and_wait(tasks: Iterable[asyncio.Task[object] | None]) -> None:
    """Cancel every task, then wait for each to finish unwinding, so a stopped driver never
    writes to a port that is being closed."""
    pending = [task for task in tasks if task is not None]
    for task in pending:
        task.cancel()
    for task in pending:
        with contextlib.suppress(asyncio.CancelledError):
            await task


class LineThread:
    """The one blocking thread a serial driver reads its line in (caller pads, ID card
    readers): started from the event loop, stopped without blocking it, the line closed only
    after the thread let go of it. `stopping` is what the thread's loop waits on."""

    def __init__(self, name: str, target: Callable[[], None], line: Closable,
                 join_seconds: float) -> None:
        self.name = name
        self.target = target
        self.line = line
        self.join_seconds = join_seconds
        self.stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is None:
            self.stopping.clear()
            self._thread = threading.Thread(target=self.target, name=self.name, daemon=True)
            self._thread.start()

    async def stop(self) -> None:
        thread, self._thread = self._thread, None
        self.stopping.set()
        if thread is not None:
            await asyncio.to_thread(thread.join, self.join_seconds)
        await asyncio.to_thread(self.line.close)
