"""The manager's side of the house: the live view (/manage), the 好差评 and 办不成事 case pages,
and (issue 10) reports, staffing, accounts, alarms and the audit log.

Like the clerk's pad these are shells around the JSON API under /api/manage/: the handlers hand
each page only the configuration's names (queues, windows, the step names of hall.cases), so a
label on a page never drifts from what the core calls it. Who may open what is the API's job; a
page without a manager's session shows only its login form.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from hall import report_charts
from hall.cases import (
    CLASSIFICATIONS,
    COMPLAINT_CLASSES,
    COMPLAINT_SOURCES,
    COMPLAINT_STATUS,
    COMPLAINT_STEPS,
    RECT_STATUS,
    RECT_STEPS,
    VIEWS,
)
from hall.config import HallConfig
from hall.ratings import INDICATORS, LEVELS, RATING_CHANNELS, RATING_MODES
from hall.web import hall_config, templates

STATIC = Path(__file__).resolve().parent / "static"

# The manager pages, in the order of their navigation bar.
MANAGE_NAV = (("/manage", "实时"), ("/manage/ratings", "好差评"),
              ("/manage/rectifications", "差评整改"), ("/manage/complaints", "办不成事"),
              ("/manage/reports", "统计报表"))


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


async def manage_reports(request: Request) -> Response:
    """统计报表 (issue 10.1, 10.5): the figures, charts and productivity of hall.reports_api."""
    return _manage_page(request, "manage_reports.html", "统计报表", "/manage/reports", {
        "charts": [{"key": k, "name": v} for k, v in report_charts.NAMES.items()],
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
        Route("/manage/reports", manage_reports, methods=["GET"], name="manage_reports"),
        Mount("/static/managers", StaticFiles(directory=STATIC), name="static-managers"),
    ]
