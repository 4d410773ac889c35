"""The manager's side of the house: the live view (/manage), the 好差评 and 办不成事 case pages,
and (issue 10) reports, staffing, accounts, alarms and the audit log.

Like the clerk's pad these are shells around the JSON API under /api/manage/: the handlers hand
each page only the configuration's names (queues, windows, the step names of hall.cases), so a
label on a page never drifts from what the core calls it. The API checks every call; the pages
check the role too (`PAGE_ROLES`): a page without a session shows only its login form, a session
of another role gets a 403 page (an auditor sees the audit log and nothing else; the accounts
page is the admin's), and the navigation shows each role only its own pages.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from hall import report_charts
from hall.alarms import KIND_NAMES, STATUS_NAMES
from hall.api import MANAGER_ROLES
from hall.auth import ADMIN_ROLES, AUDIT_ROLES, COOKIE, ROLE_NAMES, ROLES
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
from hall.csv_export import ACTIONS
from hall.ratings import INDICATORS, LEVELS, RATING_CHANNELS, RATING_MODES
from hall.staffing import ORDER_NAMES
from hall.web import hall_config, templates

STATIC = Path(__file__).resolve().parent / "static"

# The manager pages, in the order of their navigation bar.
MANAGE_NAV = (("/manage", "实时"), ("/manage/ratings", "好差评"),
              ("/manage/rectifications", "差评整改"), ("/manage/complaints", "办不成事"),
              ("/manage/staffing", "窗口调度"), ("/manage/alarms", "告警"),
              ("/manage/real-name", "实名取号"), ("/manage/reports", "统计报表"),
              ("/manage/accounts", "账号管理"),
              ("/manage/audit", "审计日志"))
# Who may open a page (and see it in the navigation); any other page is for MANAGER_ROLES.
PAGE_ROLES: dict[str, tuple[str, ...]] = {"/manage/accounts": ADMIN_ROLES,
                                          "/manage/audit": AUDIT_ROLES}


def page_roles(path: str) -> tuple[str, ...]:
    return PAGE_ROLES.get(path, MANAGER_ROLES)


def _manage_page(request: Request, template: str, title: str, current: str,
                 extra: dict[str, Any] | None = None) -> Response:
    """A manager page: the shared layout (login, navigation, alarm strip) around one view."""
    config = hall_config(request)
    return templates.TemplateResponse(request, template, {
        "theme": "light",
        "hall_name": config.hall.name,
        "page_title": title,
        "nav": MANAGE_NAV,
        "nav_roles": {href: " ".join(page_roles(href)) for href, _ in MANAGE_NAV},
        "nav_current": current,
        "windows": config.windows,
        "page_config": {
            "queues": {q.id: q.name for q in config.queues},
            "windows": {str(w.number): w.name for w in config.windows},
            "roles": list(page_roles(current)),
            "role_names": ROLE_NAMES,
            "managers": list(MANAGER_ROLES),
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


async def manage_staffing(request: Request) -> Response:
    """窗口调度 (runtime staffing): the queues to choose from and the two calling orders."""
    config = hall_config(request)
    return _manage_page(request, "manage_staffing.html", "窗口调度", "/manage/staffing", {
        "queue_list": [{"id": q.id, "prefix": q.prefix, "name": q.name} for q in config.queues],
        "orders": ORDER_NAMES,
    })


async def manage_alarms(request: Request) -> Response:
    return _manage_page(request, "manage_alarms.html", "告警", "/manage/alarms",
                        {"kinds": KIND_NAMES, "statuses": STATUS_NAMES})


async def manage_real_name(request: Request) -> Response:
    """实名取号 tickets, masked; a reveal asks for a reason and is audited (hall/real_name_api)."""
    return _manage_page(request, "manage_real_name.html", "实名取号", "/manage/real-name")


async def manage_accounts(request: Request) -> Response:
    return _manage_page(request, "manage_accounts.html", "账号管理", "/manage/accounts", {
        "role_list": [{"role": r, "name": ROLE_NAMES[r]} for r in ROLES],
    })


async def manage_audit(request: Request) -> Response:
    return _manage_page(request, "manage_audit.html", "审计日志", "/manage/audit", {
        "actions": [{"action": k, "name": v} for k, v in ACTIONS.items()],
    })


def guarded(route: BaseRoute) -> BaseRoute:
    """A manager page refused (403) to a logged-in person whose role may not open it."""
    if not isinstance(route, Route) or not route.path.startswith("/manage"):
        return route
    endpoint = route.endpoint
    roles = page_roles(route.path)

    async def guard(request: Request) -> Response:
        session = await request.app.state.auth.session(request.cookies.get(COOKIE),
                                                       pending=True)
        if session is not None and session.role not in roles:
            return _forbidden(request, session.role)
        return await endpoint(request)

    return Route(route.path, guard, methods=route.methods, name=route.name)


def _forbidden(request: Request, role: str) -> Response:
    """The page a role may not open: says so, and links to what this role may open."""
    allowed = [(href, label) for href, label in MANAGE_NAV if role in page_roles(href)]
    config = hall_config(request)
    return templates.TemplateResponse(request, "manage_forbidden.html", {
        "theme": "light", "hall_name": config.hall.name,
        "role_name": ROLE_NAMES.get(role, role), "allowed": allowed,
        "page_config": {}}, status_code=403)


def routes() -> list[BaseRoute]:
    return [guarded(route) for route in [
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
        Route("/manage/staffing", manage_staffing, methods=["GET"], name="manage_staffing"),
        Route("/manage/alarms", manage_alarms, methods=["GET"], name="manage_alarms"),
        Route("/manage/real-name", manage_real_name, methods=["GET"], name="manage_real_name"),
        Route("/manage/accounts", manage_accounts, methods=["GET"], name="manage_accounts"),
        Route("/manage/audit", manage_audit, methods=["GET"], name="manage_audit"),
        Route("/manage/reports", manage_reports, methods=["GET"], name="manage_reports"),
        Mount("/static/managers", StaticFiles(directory=STATIC), name="static-managers"),
    ]]
