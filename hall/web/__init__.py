"""Shared page machinery: one Jinja2 environment for every page package, and the shared assets.

The pages of `displays/` and `counters/` extend one base template (`base.html`) and use one theme
and one small JavaScript library (`/static/hall/hall.js`: fetch helper with error display, a
reconnecting WebSocket client that resumes with `since`). A ChoiceLoader lets each package keep
its own templates next to its code while sharing the base, without a package importing another's
internals.

Everything is served by the app itself: halls run on intranets, so no CDN, no web fonts, no
framework.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jinja2
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.routing import BaseRoute, Mount
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from hall import passwords
from hall.config import HallConfig, Window
from hall.prefix import base_of

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
STATIC = HERE / "static"

TEMPLATE_DIRS = (
    HERE / "templates",
    ROOT / "displays" / "templates",
    ROOT / "counters" / "templates",
    ROOT / "managers" / "templates",
)


def _environment() -> jinja2.Environment:
    loader = jinja2.ChoiceLoader([jinja2.FileSystemLoader(str(d)) for d in TEMPLATE_DIRS])
    # autoescape everything: service names and notices come from a config file a hall edits
    return jinja2.Environment(loader=loader, autoescape=True, trim_blocks=True,
                              lstrip_blocks=True)


def _hall_context(request: Request) -> dict[str, Any]:
    """What every page needs whatever its handler: the hall's time zone. base.html puts it in
    the page config, and hall.js formats every clock and time in it (Intl.DateTimeFormat with
    timeZone), so a TV or tablet whose own clock zone is wrong (a screen left on UTC) still
    shows hall time. One context processor instead of a key in each handler's page_config.
    Also the password rules, for the change-password form (password_change.html) of every
    page people log in on.
    And `base`, the hall's URL prefix (hall.prefix): every link, script and stylesheet in a
    template is written `{{ base }}/...`, and base.html hands it to hall.js (`data-base`)."""
    config = hall_config(request)
    # booking_on: the kiosk offers 预约签到 only where [booking] is configured
    return {"base": base_of(request.scope), "hall_timezone": config.hall.timezone,
            "booking_on": config.booking.enabled, "password_rules": passwords.RULES,
            "password_min": passwords.MIN_LENGTH}


templates = Jinja2Templates(env=_environment(), context_processors=[_hall_context])


def hall_config(request: Request) -> HallConfig:
    """The checked configuration, for page handlers that render names and settings."""
    return request.app.state.service.config


def page_url(request: Request, path: str) -> str:
    """The absolute URL of `path` (a path of the hall app, "/t/..."), with the hall's prefix,
    at the address the request reached the server by: what a QR code on a screen holds.
    (Not `request.url_for`: it resolves through the outermost router, and under a mount such
    as `/h/{hall}` it wrote the literal `/h/{hall}/t/...` into the URL.)"""
    return str(request.url.replace(path=base_of(request.scope) + path, query="",
                                   fragment=""))


def window_of(request: Request) -> Window:
    """The window named by the `n` path parameter; an unknown one is a 404 page."""
    config = hall_config(request)
    number = request.path_params["n"]
    if not config.has_window(number):
        raise HTTPException(404)
    return config.window(number)


def routes() -> list[BaseRoute]:
    """The shared assets (theme, hall.js) under /static/hall."""
    return [Mount("/static/hall", StaticFiles(directory=STATIC), name="static-hall")]
