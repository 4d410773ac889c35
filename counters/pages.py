"""Pages at the windows and for managers: the clerk's counter pad (/counter), the window's rating
tablet (/evaluate/{n}), the manager's live view (/manage) and the 好差评 / 办不成事 pages under
/manage/.

All are shells: login, state and every operation go through the JSON API with the session
cookie, so the pad after a reload or a lost connection shows exactly what the server holds
(GET /api/windows/{n}) and a refusal is the server's own message. The handlers only hand the
page the configuration's names (windows, services, step names of hall.feedback), so a label
on a page never drifts from what the core calls it.

The rating tablet is a public device facing the citizen: it shows the window's name and, for
the ticket just finished there, the rating form; never who rated what.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from hall.config import HallConfig
from hall.feedback import (
    CLASSIFICATIONS,
    COMPLAINT_CLASSES,
    COMPLAINT_SOURCES,
    COMPLAINT_STATUS,
    COMPLAINT_STEPS,
    INDICATORS,
    LEVELS,
    RATING_CHANNELS,
    RATING_MODES,
    RECT_STATUS,
    RECT_STEPS,
    VIEWS,
)
from hall.web import hall_config, templates, window_of

STATIC = Path(__file__).resolve().parent / "static"

OUTCOMES = (("done", "办结", "1"), ("accepted", "受理", "2"),
            ("accepted_missing", "容缺受理", "3"), ("rejected", "不予受理", "4"),
            ("failed", "办不成", "5"))

# The tablet goes back to 欢迎评价 when nobody touches it for this long (the citizen walked
# away: the next one must not find someone else's rating), and says thanks this long.
EVALUATE_IDLE_SECONDS = 60
EVALUATE_THANKS_SECONDS = 5

# The manager pages, in the order of their navigation bar.
MANAGE_NAV = (("/manage", "实时"), ("/manage/ratings", "好差评"),
              ("/manage/rectifications", "差评整改"), ("/manage/complaints", "办不成事"))


async def counter(request: Request) -> Response:
    config = hall_config(request)
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


async def evaluate(request: Request) -> Response:
    """The rating tablet of window n: a shell; the pending ticket comes from /api/evaluate."""
    config = hall_config(request)
    window = window_of(request)
    return templates.TemplateResponse(request, "evaluate.html", {
        "theme": "dark",
        "hall_name": config.hall.name,
        "window": window,
        "page_config": {"window": window.number, "name": window.name,
                        "idle_seconds": EVALUATE_IDLE_SECONDS,
                        "thanks_seconds": EVALUATE_THANKS_SECONDS},
    })


async def device(request: Request) -> Response:
    """Enrolling this browser as a kiosk or a tablet (issue 9): one form for the 登记码."""
    return templates.TemplateResponse(request, "device.html", {
        "theme": "light", "hall_name": hall_config(request).hall.name, "page_config": {}})


def _manage_page(request: Request, template: str, title: str, current: str,
                 extra: dict[str, Any] | None = None) -> Response:
    """A manager page: the shared layout (login, navigation, alarm strip) around one view."""
    config = hall_config(request)
    return templates.TemplateResponse(request, template, {
        "theme": "light",
        "hall_name": config.hall.name,
        "page_title": title,
        "nav": MANAGE_NAV,
        "nav_current": current,
        "windows": config.windows,
        "page_config": {
            "queues": {q.id: q.name for q in config.queues},
            "windows": {str(w.number): w.name for w in config.windows},
            **(extra or {}),
        },
    })


async def manage(request: Request) -> Response:
    return _manage_page(request, "manage.html", "大厅实时管理", "/manage")


async def manage_ratings(request: Request) -> Response:
    return _manage_page(request, "manage_ratings.html", "好差评", "/manage/ratings", {
        "levels": {str(k): v for k, v in LEVELS.items()},
        "channels": RATING_CHANNELS,
        "modes": RATING_MODES,
        "indicators": [{"key": k, "name": v} for k, v in INDICATORS.items()],
    })


def _case_config(config: HallConfig, kind: str) -> dict[str, Any]:
    """What the case pages need to name statuses and build one form per allowed step."""
    if kind == "rectification":
        return {"kind": kind, "statuses": RECT_STATUS,
                "steps": {k: s.name for k, s in RECT_STEPS.items()},
                "classifications": CLASSIFICATIONS, "views": VIEWS,
                "levels": {str(k): v for k, v in LEVELS.items()}}
    return {"kind": kind, "statuses": COMPLAINT_STATUS,
            "steps": {k: s.name for k, s in COMPLAINT_STEPS.items()},
            "classes": COMPLAINT_CLASSES, "sources": COMPLAINT_SOURCES, "views": VIEWS,
            "departments": list(config.complaints.departments),
            "categories": list(config.complaints.categories)}


async def manage_rectifications(request: Request) -> Response:
    return _manage_page(request, "manage_cases.html", "差评整改", "/manage/rectifications",
                        _case_config(hall_config(request), "rectification"))


async def manage_complaints(request: Request) -> Response:
    return _manage_page(request, "manage_cases.html", "办不成事", "/manage/complaints",
                        _case_config(hall_config(request), "complaint"))


async def manage_rectification(request: Request) -> Response:
    case_id = request.path_params["id"]
    return _manage_page(request, "manage_case.html", f"差评整改 #{case_id}",
                        "/manage/rectifications",
                        {**_case_config(hall_config(request), "rectification"), "id": case_id})


async def manage_complaint(request: Request) -> Response:
    case_id = request.path_params["id"]
    return _manage_page(request, "manage_case.html", f"办不成事 #{case_id}",
                        "/manage/complaints",
                        {**_case_config(hall_config(request), "complaint"), "id": case_id})


def routes() -> list[BaseRoute]:
    return [
        Route("/counter", counter, methods=["GET"], name="counter"),
        Route("/evaluate/{n:int}", evaluate, methods=["GET"], name="evaluate"),
        Route("/device", device, methods=["GET"], name="device"),
        Route("/manage", manage, methods=["GET"], name="manage"),
        Route("/manage/ratings", manage_ratings, methods=["GET"], name="manage_ratings"),
        Route("/manage/rectifications", manage_rectifications, methods=["GET"],
              name="manage_rectifications"),
        Route("/manage/rectifications/{id:int}", manage_rectification, methods=["GET"],
              name="manage_rectification"),
        Route("/manage/complaints", manage_complaints, methods=["GET"],
              name="manage_complaints"),
        Route("/manage/complaints/{id:int}", manage_complaint, methods=["GET"],
              name="manage_complaint"),
        Mount("/static/counters", StaticFiles(directory=STATIC), name="static-counters"),
    ]
