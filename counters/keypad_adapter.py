"""Serial caller pads (呼叫器) and evaluator pads (评价器) acting through `hall.service`.

One `KeypadBus` per distinct `url` among the `[[devices]]` of kind `caller` and
`evaluator`; pads on a bus are told apart by address, and each device names its window.

Caller keys act as the clerk logged in at the pad's window, so the audit log and the
ticket's clerk field name the person (`Actor(clerk, "caller:<pad name>")`); a pad is a
keyboard for that clerk, not an account of its own. With nobody logged in the pad shows
`E01` and nothing changes: a hardware pad must not let a counter nobody is responsible for
call citizens. A refused step shows a short code (below, and in docs/devices.md), because a
pad has three digits, not a sentence.

After every event that concerns a pad's window (its own steps, or a change in the waiting
count of one of its queues) the pad gets the last 3 digits of the current ticket and the
waiting count of the window's queues. Each pad has one refresh task with a "dirty" flag, so
a burst of 100 tickets issued costs one read and one frame, not 100.

Keys of one window are handled one at a time, in the order pressed (a per-window lock), so
CALL then FINISH can never run the other way round. Two fast presses of the same key are
already one press at the bus (debounce); a second CALL that still got through would be
refused by the service as `window_busy`, never a second call.

A counter without a networked PC logs in on the pad (issue 8.17): LOGIN carries the staff
number and PIN, checked by `hall.auth` exactly as a web login (same lockout, a window in use
by another clerk or the 办不成事 window without a manager's assignment is refused); the pad
shows `OK` and then acts as that clerk, as it does for a clerk logged in on the web page. The
same clerk may use the web page and the pad at once; LOGOUT on the pad (like a web logout)
means the clerk leaves the window: every session there ends and the pad shows `BYE`.
Every other caller key keeps the pad's session from going idle.

Evaluator keys (levels 1-5) rate the ticket just finished at the window through
`feedback.rate_at_window(window, level, channel="serial_evaluator")`; the feedback service is
looked up when a key is pressed (`feedback()`), so it may be wired after the pads.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Protocol

from devices.keypad import Key, KeypadBus, KeyPress
from devices.tasks import cancel_and_wait
from hall.config import Device
from hall.errors import HallError
from hall.service import Actor, HallService
from hall.store import Event

log = logging.getLogger(__name__)

# Error codes shown on a caller pad (docs/devices.md).
E_NOBODY = "E01"  # nobody logged in at this window
E_NONE_WAITING = "E02"  # CALL: no ticket is waiting for this window
E_BUSY = "E03"  # CALL/PAUSE: the current ticket is not finished yet
E_PAUSED = "E04"  # CALL: the window is paused (press PAUSE again to resume)
E_NO_TICKET = "E05"  # RECALL/SKIP/START/FINISH/TRANSFER: no ticket, or not in that state
E_TRANSFER = "E06"  # TRANSFER: no such window, or this window
E_LOGIN = "E07"  # LOGIN: unknown staff number or wrong PIN
E_LOCKED = "E08"  # LOGIN: account locked after repeated wrong PINs or passwords
E_IN_USE = "E10"  # LOGIN: another clerk is at this window, or it needs a manager
E_CHANGE_PASSWORD = "E11"  # LOGIN: an admin set the password; change it on a PC first
E_OTHER = "E09"  # anything else (see the audit log and the server log)

ERROR_CODES: dict[str, str] = {
    "no_ticket_waiting": E_NONE_WAITING,
    "window_busy": E_BUSY,
    "window_paused": E_PAUSED,
    "illegal_state": E_NO_TICKET,
    "unknown_window": E_TRANSFER,
    "invalid_window": E_TRANSFER,
    "invalid_transfer": E_TRANSFER,
    "bad_credentials": E_LOGIN,
    "locked": E_LOCKED,
    "window_in_use": E_IN_USE,
    "needs_manager": E_IN_USE,
    "forbidden": E_IN_USE,
    "password_change_required": E_CHANGE_PASSWORD,
}
PAUSE_REASON = "暂停服务"
CHANNEL = "serial_evaluator"


class Feedback(Protocol):
    async def rate_at_window(self, window: int, level: int,
                             channel: str = CHANNEL) -> Any: ...


class PadAuth(Protocol):
    async def pad_login(self, staff_no: str, pin: str, window: int, pad: str) -> str: ...

    async def pad_logout(self, window: int, pad: str) -> str | None: ...

    async def touch_pad(self, pad: str) -> None: ...


BusFactory = Callable[[str, str, int], KeypadBus]
Step = Callable[[Actor, dict[str, Any]], Awaitable[Any]]


class CounterPads:
    """All caller and evaluator pads of the hall."""

    def __init__(self, service: HallService, devices: Sequence[Device],
                 feedback: Callable[[], Feedback | None] = lambda: None,
                 bus_factory: BusFactory | None = None,
                 auth: Callable[[], PadAuth | None] = lambda: None) -> None:
        self.service = service
        self.feedback = feedback
        self.auth = auth
        make = bus_factory or (lambda name, url, baud: KeypadBus(name, url, baud))
        self.devices = [d for d in devices if d.kind in ("caller", "evaluator")
                        and d.window is not None]
        self.buses: dict[str, KeypadBus] = {}
        self.pads: dict[tuple[str, int], Device] = {}
        for d in self.devices:
            if d.url not in self.buses:
                self.buses[d.url] = make(f"pads:{d.name}", d.url, d.baudrate)
            self.pads[(d.url, d.address)] = d
        self._locks: dict[int, asyncio.Lock] = {}
        self._dirty: dict[str, asyncio.Event] = {}  # caller pad name → refresh wanted
        self._answered: dict[str, bool] = {}  # caller pad name → last frame acknowledged
        self._tasks: list[asyncio.Task[None]] = []
        self._running = False

    # -- lifecycle ----------------------------------------------------------------------------

    async def start(self) -> None:
        if not self.devices:
            return
        self._running = True
        self.service.bus.listen(self.on_event)
        loop = asyncio.get_running_loop()
        for url, bus in self.buses.items():
            bus.start(lambda press, url=url: self.on_key(url, press))
        for d in self.callers():
            self._dirty[d.name] = asyncio.Event()
            self._dirty[d.name].set()  # every pad shows the current state at start
            self._tasks.append(loop.create_task(self._refresh_loop(d), name=f"pad:{d.name}"))

    async def stop(self) -> None:
        self._running = False
        tasks, self._tasks = self._tasks, []
        await cancel_and_wait(tasks)
        for bus in self.buses.values():
            await bus.stop()

    def callers(self) -> list[Device]:
        return [d for d in self.devices if d.kind == "caller"]

    def health(self) -> list[dict[str, Any]]:
        """Per device: the bus's line error if any, else whether the pad acknowledged the
        last frame sent to it. Evaluators are only ever answered (ACK of their keys), so
        their health is the bus's."""
        rows = []
        for d in self.devices:
            line = self.buses[d.url].health()
            health = line if line != "ok" and not line.startswith("pad ") else "ok"
            if health == "ok" and self._answered.get(d.name) is False:
                health = "no answer"
            rows.append({"name": d.name, "kind": d.kind, "url": d.url, "window": d.window,
                         "kiosk": d.kiosk, "health": health})
        return rows

    # -- events → pad displays -------------------------------------------------------------

    def on_event(self, event: Event) -> None:
        """Bus listener: mark the pads whose window or queues the event touched."""
        if not self._running:
            return
        window = event.data.get("window")
        queues = {q.get("id") for q in event.data.get("queues") or () if isinstance(q, dict)}
        for d in self.callers():
            assert d.window is not None
            served = self.service.config.window(d.window).queues
            if d.window == window or queues.intersection(served):
                self._dirty[d.name].set()

    async def _refresh_loop(self, device: Device) -> None:
        dirty = self._dirty[device.name]
        while True:
            await dirty.wait()
            dirty.clear()
            try:
                await self.refresh(device)
            except Exception as exc:  # noqa: BLE001 - keep the pad's task alive
                log.warning("pad %s: refresh failed: %r", device.name, exc)

    async def refresh(self, device: Device) -> None:
        """Push the current ticket's last 3 digits and the window's waiting count."""
        assert device.window is not None
        detail = await self.service.window_detail(device.window)
        current = detail["window"].get("current") or ""
        waiting = sum(int(q["waiting"]) for q in detail["queues"])
        bus = self.buses[device.url]
        self._answered[device.name] = await bus.show(device.address, current, waiting)

    # -- keys → service -------------------------------------------------------------------

    async def on_key(self, url: str, press: KeyPress) -> None:
        """KeypadBus callback (runs on the event loop); never raises."""
        device = self.pads.get((url, press.address))
        if device is None or device.window is None:
            log.info("key %s from unknown pad %s on %s ignored", press.key, press.address, url)
            return
        lock = self._locks.setdefault(device.window, asyncio.Lock())
        try:
            async with lock:
                if device.kind == "caller" and press.key.level is None:
                    await self._caller_key(device, press)
                elif device.kind == "evaluator" and press.key.level is not None:
                    await self._rate(device, press.key.level)
        except Exception as exc:  # noqa: BLE001 - the bus thread must never see a crash
            log.warning("pad %s: key %s failed: %r", device.name, press.key, exc)

    async def _session_key(self, device: Device, press: KeyPress) -> None:
        """LOGIN / LOGOUT on the pad; OK/BYE or an error code on its display."""
        assert device.window is not None
        bus = self.buses[device.url]
        auth = self.auth()
        if auth is None:
            log.warning("pad %s: %s refused, no auth wired", device.name, press.key)
            self._answered[device.name] = await bus.show_error(device.address, E_OTHER)
            return
        try:
            if press.key == Key.LOGIN:
                staff_no, _, pin = press.digits.partition("*")
                await auth.pad_login(staff_no, pin, device.window, device.name)
                self._answered[device.name] = await bus.show_status(device.address, "OK")
            elif await auth.pad_logout(device.window, device.name) is None:
                self._answered[device.name] = await bus.show_error(device.address, E_NOBODY)
            else:
                self._answered[device.name] = await bus.show_status(device.address, "BYE")
        except HallError as exc:
            code = ERROR_CODES.get(exc.code, E_OTHER)
            log.info("pad %s: %s refused: %s (%s)", device.name, press.key, exc.code, code)
            self._answered[device.name] = await bus.show_error(device.address, code)

    async def _caller_key(self, device: Device, press: KeyPress) -> None:
        assert device.window is not None
        if press.key in (Key.LOGIN, Key.LOGOUT):
            await self._session_key(device, press)
            return
        n = device.window
        detail = await self.service.window_detail(n)
        clerk = detail["window"]["clerk"]
        bus = self.buses[device.url]
        if not clerk:
            self._answered[device.name] = await bus.show_error(device.address, E_NOBODY)
            return
        actor = Actor(clerk, f"caller:{device.name}")
        auth = self.auth()
        if auth is not None:
            await auth.touch_pad(device.name)
        s = self.service
        try:
            if press.key == Key.CALL:
                await s.call(n, actor)
            elif press.key == Key.RECALL:
                await s.recall(n, actor)
            elif press.key == Key.SKIP:
                await s.skip(n, actor)
            elif press.key == Key.START:
                await s.start(n, actor)
            elif press.key == Key.FINISH:
                await s.finish(n, actor, outcome="done")
            elif press.key == Key.PAUSE:
                if detail["window"]["state"] == "paused":
                    await s.resume(n, actor)
                else:
                    await s.pause(n, actor, reason=PAUSE_REASON)
            elif press.key == Key.TRANSFER:
                if not press.digits or int(press.digits) == n:
                    raise HallError(422, "invalid_transfer", "转移需要另一个窗口的窗口号")
                await s.transfer(n, actor, window=int(press.digits))
        except HallError as exc:
            code = ERROR_CODES.get(exc.code, E_OTHER)
            log.info("pad %s: %s refused: %s (%s)", device.name, press.key, exc.code, code)
            self._answered[device.name] = await bus.show_error(device.address, code)

    async def _rate(self, device: Device, level: int) -> None:
        assert device.window is not None
        feedback = self.feedback()
        if feedback is None:
            log.warning("evaluator %s: rating %s dropped, no feedback service wired",
                        device.name, level)
            return
        try:
            await feedback.rate_at_window(window=device.window, level=level, channel=CHANNEL)
        except HallError as exc:
            # nothing to rate (no ticket finished here yet) or already rated: the citizen's
            # press is acknowledged by the bus and otherwise ignored
            log.info("evaluator %s: rating refused: %s", device.name, exc.code)
