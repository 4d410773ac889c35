"""Staff pages: the clerk's counter pad (/counter) and the manager's live view (/manage).

Both are shells: login, state and every operation go through the JSON API with the session
cookie, so the pad after a reload or a lost connection shows exactly what the server holds
(GET /api/windows/{n}) and a refusal is the server's own message.
"""

from __future__ import annotations

from pathlib import Path

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from hall.config import HallConfig
from hall.web import templates

STATIC = Path(__file__).resolve().parent / "static"

OUTCOMES = (("done", "办结", "1"), ("accepted", "受理", "2"),
            ("accepted_missing", "容缺受理", "3"), ("rejected", "不予受理", "4"),
            ("failed", "办不成", "5"))


def _config(request: Request) -> HallConfig:
    return request.app.state.service.config


async def counter(request: Request) -> Response:
    config = _config(request)
    return templates.TemplateResponse(request, "counter.html", {
        "theme": "light",
        "hall_name": config.hall.name,
        "windows": config.windows,
        "queues": config.queues,
        "outcomes": OUTCOMES,
        "page_config": {
            "windows": {str(w.number): {"name": w.name, "queues": list(w.queues)}
                        for w in config.windows},
            "queues": {q.id: q.name for q in config.queues},
            "outcomes": {o: name for o, name, _ in OUTCOMES},
        },
    })


async def manage(request: Request) -> Response:
    config = _config(request)
    return templates.TemplateResponse(request, "manage.html", {
        "theme": "light",
        "hall_name": config.hall.name,
        "page_config": {
            "queues": {q.id: q.name for q in config.queues},
        },
    })


def routes() -> list[BaseRoute]:
    return [
        Route("/counter", counter, methods=["GET"], name="counter"),
        Route("/manage", manage, methods=["GET"], name="manage"),
        Mount("/static/counters", StaticFiles(directory=STATIC), name="static-counters"),
    ]
