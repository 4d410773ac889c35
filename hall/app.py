"""The composition root: the only module that imports all four packages.

It builds the Starlette app, opens the store, mounts the API, the WebSocket, the pages of
`counters/` and `displays/`, and starts the device adapters in the lifespan.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import counters.pages
import displays.pages
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.routing import WebSocketRoute

import hall.web
from hall import api, errors
from hall.auth import Auth
from hall.config import HallConfig
from hall.service import HallService
from hall.ws import websocket_endpoint


def build_app(config: HallConfig, db_path: str | Path,
              clock: Any = None) -> Starlette:
    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        service = await HallService.open(config, db_path, clock)
        app.state.service = service
        app.state.auth = Auth(service)
        app.state.device_health = lambda: []
        try:
            yield
        finally:
            await service.close()

    routes = [
        *api.routes(),
        WebSocketRoute("/ws", websocket_endpoint),
        *hall.web.routes(),
        *displays.pages.routes(),
        *counters.pages.routes(),
    ]
    return Starlette(
        routes=routes,
        lifespan=lifespan,
        exception_handlers={
            errors.HallError: api.hall_error,
            HTTPException: api.http_error,
            500: api.server_error,
        },
    )


def page_urls(base: str, config: HallConfig) -> list[tuple[str, str]]:
    """What `serve` prints at start, so whoever sets up the hall can open every screen."""
    first = config.windows[0].number
    return [
        ("取号机 kiosk", f"{base}/kiosk"),
        ("窗口叫号 counter pad", f"{base}/counter"),
        ("评价器 evaluator", f"{base}/evaluate/{first}"),
        ("大厅综合屏 hall screen", f"{base}/screen"),
        ("窗口屏 window screen", f"{base}/screen/window/{first}"),
        ("手机查询 phone page", f"{base}/t/<token>"),
        ("管理 manager view", f"{base}/manage"),
        ("API snapshot", f"{base}/api/hall"),
    ]
