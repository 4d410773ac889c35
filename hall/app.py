"""The composition root: the only module that imports all four packages.

It builds the Starlette app, opens the store, mounts the API, the WebSocket, the pages of
`counters/` and `displays/`, and starts the device adapters in the lifespan.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.routing import WebSocketRoute

import counters.pages
import displays.booking_pages
import displays.pages
import displays.voice
import hall.web
import managers.pages
from counters.keypad_adapter import CounterPads
from displays.idcard_adapter import KioskCardReaders
from displays.led_adapter import LedWindowScreens
from displays.printer_adapter import KioskPrinters
from displays.voice import VoiceScheduler
from hall import (
    accounts_api,
    alarms_api,
    api,
    audit_api,
    booking_api,
    errors,
    feedback_api,
    guard,
    perimeter,
    plan_api,
    real_name_api,
    reports_api,
    staffing_api,
)
from hall.alarm_desk import AlarmDesk
from hall.appointments import Appointments
from hall.auth import Auth
from hall.config import HallConfig
from hall.credentials import Credentials
from hall.feedback import Feedback
from hall.limits import TicketLimits
from hall.limits_shared import SharedLimits
from hall.service import HallService
from hall.staffing_desk import StaffingDesk
from hall.store_pg import PgStore
from hall.ws import manage_endpoint, websocket_endpoint
from hall.ws_direct import DirectFrames


def build_app(config: HallConfig, db_path: str | Path,
              clock: Any = None, public_url: str = "http://127.0.0.1:8000",
              voice_dir: Path | None = None) -> Starlette:
    """`public_url`: the base URL phones reach the server at (QR codes on printed tickets).
    `voice_dir`: where the announcements are rendered (default: `voice/` beside the database;
    a city's halls each have their own, hall/city_app.py)."""
    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        service = await HallService.open(config, db_path, clock)
        app.state.service = service
        app.state.auth = Auth(service)
        app.state.feedback = Feedback(service)
        app.state.credentials = Credentials(service)
        app.state.staffing = StaffingDesk(service, app.state.auth)
        app.state.appointments = Appointments(service)
        app.state.card_reads, app.state.people = real_name_api.people_for(service)
        limits = config.limits
        counts = (limits.tickets_per_minute_per_client, limits.tickets_per_day_per_client,
                  limits.tickets_per_minute_per_kiosk, limits.tickets_per_day_per_kiosk)
        # several processes may serve a hall on PostgreSQL: its counts are shared there
        app.state.limits = (SharedLimits(service.store, *counts)
                            if isinstance(service.store, PgStore) else TicketLimits(*counts))
        app.state.device_health = lambda: []
        try:
            stop_devices = await start_devices(
                app, service, voice_dir or service.store.data_dir / "voice", public_url)
        except BaseException:
            # the store's threads would keep a failed server alive (and its port taken)
            await service.close()
            raise
        app.state.alarms = AlarmDesk(service, app.state.feedback.alarm_conditions,
                                     lambda: app.state.device_health())
        await app.state.alarms.start(config.sla.alarm_check_seconds)
        background = [
            asyncio.create_task(service.run_day_rollover(), name="hall-day-rollover"),
            asyncio.create_task(service.bus.run_heartbeat(config.hall.ws_heartbeat_seconds),
                                name="hall-ws-heartbeat"),
            asyncio.create_task(app.state.appointments.run_sweeps(), name="hall-no-shows"),
        ]
        try:
            yield
        finally:
            for task in background:
                task.cancel()
            await app.state.alarms.stop()
            await stop_devices()
            await service.close()

    perimeter.bounded_ids()  # before the routes compile their `{n:int}` parameters
    routes = [
        *api.routes(),
        WebSocketRoute("/ws", websocket_endpoint),
        WebSocketRoute("/ws/manage", manage_endpoint),
        *feedback_api.routes(),
        *staffing_api.routes(),
        *alarms_api.routes(),
        *booking_api.routes(),
        *real_name_api.routes(),
        *accounts_api.routes(),
        *audit_api.routes(),
        *plan_api.routes(),  # 明日排班建议 (hall/planner.py)
        *reports_api.routes(),
        *guard.routes(),
        *hall.web.routes(),
        *displays.pages.routes(),
        *displays.booking_pages.routes(),
        *counters.pages.routes(),
        *managers.pages.routes(),
        *displays.voice.routes(),
    ]
    return Starlette(
        routes=routes,
        lifespan=lifespan,
        middleware=[Middleware(DirectFrames),
                    Middleware(perimeter.Perimeter, public_url=config.hall.public_url)],
        exception_handlers={
            errors.HallError: api.hall_error,
            HTTPException: api.http_error,
            500: api.server_error,
        },
    )


async def start_devices(app: Starlette, service: HallService, voice_dir: Path,
                        public_url: str) -> Callable[[], Awaitable[None]]:
    """Build the adapters of `[voice]` and `[[devices]]`, hook them into the service, start
    them; return what stops them. The voice runs even with no device configured: the hall
    screens' browsers play its WAVs."""
    config = service.config
    voice = VoiceScheduler.for_hall(config, voice_dir)
    voice.current_config = lambda: service.config  # temporary windows are announced too
    service.audio_for_call = voice.audio_for_call
    service.bus.listen(voice.on_event)
    adapters: list[Any] = [
        voice,
        LedWindowScreens(service, config.devices),
        KioskPrinters(service, config.devices, public_url),
        KioskCardReaders(config.devices, app.state.card_reads),
        # the feedback service is looked up per key press: it may be wired after this
        CounterPads(service, config.devices, lambda: getattr(app.state, "feedback", None),
                    auth=lambda: getattr(app.state, "auth", None)),
    ]
    started = []
    try:
        for adapter in adapters:
            await adapter.start()
            started.append(adapter)
    except BaseException:
        for adapter in reversed(started):
            await adapter.stop()
        raise
    app.state.voice = voice
    app.state.device_health = lambda: [row for a in adapters for row in a.health()]

    async def stop() -> None:
        service.audio_for_call = None
        for adapter in reversed(adapters):
            with contextlib.suppress(Exception):
                await adapter.stop()

    return stop


def public_base(host: str, port: int) -> str:
    """The base URL a phone in the hall can open. A server listening on every address
    (0.0.0.0) is named by the address it reaches the network from (no packet is sent)."""
    if host in ("0.0.0.0", "::", ""):
        try:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                s.connect(("10.255.255.255", 1))
                host = s.getsockname()[0]
        except OSError:
            host = socket.gethostname()
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def page_urls(base: str, config: HallConfig) -> list[tuple[str, str]]:
    """What `serve` prints at start, so whoever sets up the hall can open every screen."""
    first = config.windows[0].number
    return [
        ("取号机 kiosk", f"{base}/kiosk"),
        ("窗口叫号 counter pad", f"{base}/counter"),
        ("评价器 evaluator", f"{base}/evaluate/{first}"),
        ("设备登记 device enrolment", f"{base}/device"),
        ("大厅综合屏 hall screen", f"{base}/screen"),
        ("窗口屏 window screen", f"{base}/screen/window/{first}"),
        ("手机查询 phone page", f"{base}/t/<token>"),
        ("办不成事反映 complaint", f"{base}/complaint"),
        ("预约与手机取号 booking", f"{base}/book"),
        ("管理 manager view", f"{base}/manage"),
        ("窗口调度 staffing", f"{base}/manage/staffing"),
        ("好差评 ratings", f"{base}/manage/ratings"),
        ("差评整改 rectifications", f"{base}/manage/rectifications"),
        ("办不成事 complaints", f"{base}/manage/complaints"),
        ("告警 alarms", f"{base}/manage/alarms"),
        ("账号管理 accounts", f"{base}/manage/accounts"),
        ("审计日志 audit log", f"{base}/manage/audit"),
        ("统计报表 reports", f"{base}/manage/reports"),
        ("API snapshot", f"{base}/api/hall"),
    ]
