"""Window LED screens (窗口屏) following the hall: one `LedScreen` per `[[devices]]` kind `led`.

What a screen shows is a function of its window's public state, which every window event
carries (`window_state`): closed (nobody there) or paused → 暂停服务; called or serving →
"A001 请到3号窗口"; otherwise → 热情为您服务. A `ticket.called` (a call or a recall) also
flashes. Deriving the text from the state, instead of from the event type, means a login
that takes over a window with a ticket still called shows that ticket, not "idle".

Why one task per screen with a single "latest wanted" slot: the bus listener must not block,
and a screen only needs to end up showing the newest state. When events come faster than a
screen acknowledges (a clerk calling and starting within 100 ms), intermediate texts are
skipped, but a pending flash is kept when the same text follows, so a call always flashes.
On start each screen is set from `hall_snapshot()` (screens lose RAM on reboot; the driver
itself re-sends its state when a screen comes back).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from devices.led import IDLE_TEXT, PAUSED_TEXT, LedScreen
from devices.tasks import cancel_and_wait
from displays.phrase import led_call_text
from hall.config import Device, HallConfig
from hall.service import HallService
from hall.store import Event

log = logging.getLogger(__name__)

ScreenFactory = Callable[[Device], LedScreen]


@dataclass(frozen=True)
class Show:
    """What a screen should show: `kind` is call, paused or idle."""

    kind: str
    text: str
    flash: bool = False


def show_for(config: HallConfig, window_state: dict[str, Any], flash: bool = False) -> Show:
    """The screen text for a window's public state (`HallService.window_public`)."""
    state = window_state.get("state")
    current = window_state.get("current")
    if state in ("closed", "paused"):
        return Show("paused", PAUSED_TEXT)
    if state in ("called", "serving") and current:
        w = config.window(int(window_state["number"]))
        return Show("call", led_call_text(current, w.number, w.name, w.kind), flash)
    return Show("idle", IDLE_TEXT)


class ScreenFeed:
    """One screen: the newest wanted text, delivered by one task in order."""

    def __init__(self, device: Device, screen: LedScreen) -> None:
        self.device = device
        self.screen = screen
        self.seq = 0  # the last event (or snapshot) applied
        self._pending: Show | None = None
        self._shown: str | None = None
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def want(self, show: Show, seq: int) -> None:
        if seq and seq <= self.seq:
            return
        self.seq = max(self.seq, seq)
        if self._pending is None and not show.flash and show.text == self._shown:
            return
        if self._pending is not None and self._pending.flash and self._pending.text == show.text:
            show = Show(show.kind, show.text, True)
        self._pending = show
        self._wake.set()

    def start(self) -> None:
        self.screen.start()
        self._task = asyncio.get_running_loop().create_task(
            self._run(), name=f"led-feed:{self.device.name}")

    async def stop(self) -> None:
        task, self._task = self._task, None
        await cancel_and_wait([task])
        await self.screen.close()

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            show, self._pending = self._pending, None
            if show is None:
                continue
            self._shown = show.text
            try:
                if show.kind == "paused":
                    await self.screen.show_paused()
                elif show.kind == "idle":
                    await self.screen.show_idle()
                elif show.flash:
                    await self.screen.show_call(show.text)
                else:
                    await self.screen.show_text(show.text)
            except Exception as exc:  # noqa: BLE001 - a screen must not stop the others
                log.warning("led %s: %s", self.device.name, exc)


class LedWindowScreens:
    """All LED window screens of the hall, fed from the service's bus."""

    def __init__(self, service: HallService, devices: Sequence[Device],
                 screen_factory: ScreenFactory | None = None) -> None:
        self.service = service
        make = screen_factory or (lambda d: LedScreen(d.name, d.url, d.address, d.baudrate))
        self.feeds: list[ScreenFeed] = []
        self.broken: list[tuple[Device, str]] = []  # a bad address must not stop the hall
        for d in devices:
            if d.kind != "led":
                continue
            try:
                self.feeds.append(ScreenFeed(d, make(d)))
            except ValueError as exc:
                self.broken.append((d, f"not started: {exc}"))
        self._running = False

    def on_event(self, event: Event) -> None:
        """Bus listener: never blocks, only records what each screen should show next."""
        if not self._running:
            return
        state = event.data.get("window_state")
        window = event.data.get("window")
        if not isinstance(state, dict) or not isinstance(window, int):
            return
        flash = event.type == "ticket.called"
        for feed in self.feeds:
            if feed.device.window == window:
                feed.want(show_for(self.service.config, state, flash), event.seq)

    async def start(self) -> None:
        if not self.feeds:
            return
        self._running = True
        self.service.bus.listen(self.on_event)
        for feed in self.feeds:
            feed.start()
        snapshot = await self.service.hall_snapshot()
        windows = {w["number"]: w for w in snapshot["windows"]}
        for feed in self.feeds:
            state = windows.get(feed.device.window)
            if state is not None:
                feed.want(show_for(self.service.config, state), snapshot["seq"] or 0)

    async def stop(self) -> None:
        self._running = False
        for feed in self.feeds:
            await feed.stop()

    def health(self) -> list[dict[str, Any]]:
        return ([device_row(f.device, f.screen.health()) for f in self.feeds]
                + [device_row(d, problem) for d, problem in self.broken])


def device_row(device: Device, health: str) -> dict[str, Any]:
    """One line of `/api/manage/devices`."""
    return {"name": device.name, "kind": device.kind, "url": device.url,
            "window": device.window, "kiosk": device.kiosk, "health": health}
