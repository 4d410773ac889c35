"""城市总览 (issue 13.1): the page of the city's managers, every hall side by side.

A shell around hall/city_api.py, as the hall's manager pages are around /api/manage/: the page
gets only the halls' names and levels; the figures come from the API, which checks the city
session on every call. Without a city session the page shows its login form; a hall's session
is none (hall/city_desk.py). It is no page of a hall (no hall's config behind it), so it has
its own template set, whose page clock and dates are in the city's time zone.
"""

from __future__ import annotations

from typing import Any

import jinja2
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from hall.csv_export import ACTIONS
from hall.web import TEMPLATE_DIRS
from managers.pages import STATIC


def _city_context(request: Request) -> dict[str, Any]:
    return {"hall_timezone": request.app.state.city_config.timezone}


templates = Jinja2Templates(
    env=jinja2.Environment(
        loader=jinja2.ChoiceLoader([jinja2.FileSystemLoader(str(d)) for d in TEMPLATE_DIRS]),
        autoescape=True, trim_blocks=True, lstrip_blocks=True),
    context_processors=[_city_context])


async def city(request: Request) -> Response:
    config = request.app.state.city_config
    halls = [{"id": s.id, "name": s.name, "level_name": s.level_name} for s in config.halls]
    return templates.TemplateResponse(request, "city.html", {
        "theme": "light", "hall_name": config.name, "page_title": "城市总览",
        "halls": halls, "page_config": {"halls": halls, "city": config.name}})


# What the city's log can hold: its accounts' sessions, what the command line does to them, the
# reports across halls and the log's own exports. A city account runs no hall.
CITY_ACTIONS = ("login", "logout", "user.add", "user.reset_password", "user.unlock",
                "password.change", "city.report", "city.idle", "audit.export")


async def city_audit(request: Request) -> Response:
    """The city's own audit log: the page is a shell; /api/city/audit lets only the city's
    admin read (hall/city_api.py)."""
    config = request.app.state.city_config
    return templates.TemplateResponse(request, "city_audit.html", {
        "theme": "light", "hall_name": config.name, "page_title": "城市审计日志",
        "page_config": {"city": config.name,
                        "actions": [{"action": k, "name": ACTIONS[k]} for k in CITY_ACTIONS]}})


def routes() -> list[BaseRoute]:
    return [
        Route("/city", city, methods=["GET"], name="city"),
        Route("/city/audit", city_audit, methods=["GET"], name="city_audit"),
        Mount("/static/managers", StaticFiles(directory=STATIC), name="static-managers"),
    ]
