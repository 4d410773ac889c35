"""HTTP routes of the city level (issue 13.1): city managers' login and the overview's figures.

* `POST /api/city/login` `{"username", "password"}` → the account (a city account: manager or
  admin in the city's store, hall/city_desk.py), with the `city_session` cookie;
  `POST /api/city/logout`; `GET /api/city/me`.
* `GET /api/city/overview` — every hall's live line (hall/city_figures.py `live_row`); the
  page polls it every few seconds.
* `GET /api/city/report?from=&to=` — a hall per line, a hall's own report columns, as `report`
  rows with `columns` and `table` (the cells people read); `?format=csv` is that table.
* `GET /api/city/idle?from=&to=` — 明进暗不进: per hall, windows that served nobody and services
  nobody took a ticket for in the period; `?format=csv` one finding per line.
* `GET /api/city/audit?from=&to=&user=&action=&success=&before=&limit=` and
  `GET /api/city/audit/chain` — the city's own audit log, for the city's admin, answered as a
  hall's `/api/manage/audit` is (hall/audit_api.py), CSV and chain check included.

Dates are days (`YYYY-MM-DD`, both included, each hall counting its own day); without them,
today. A hall's session is no city session: the cookie differs and is signed by another
store's secret. Every query of a report and every export is audited in the city's store.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from hall import audit_api, city_figures, errors
from hall.api import query_date, read_json
from hall.auth import Session
from hall.city_desk import CITY_ROLES, COOKIE, CityDesk
from hall.city_figures import IDLE_COLUMNS, REPORT_COLUMNS, HallReader
from hall.csv_export import Exporter
from hall.guard import client_of
from hall.report_tables import Column, cell, csv_text
from hall.reports_api import namer

LOGIN_BYTES = 4096  # a login body is two short strings
MAX_DAYS = 3 * 366  # a report reaches back three years at most (as the hall's charts)


def _desk(request: Request) -> CityDesk:
    return request.app.state.city


def _readers(request: Request) -> list[HallReader]:
    return request.app.state.readers


async def city_manager_of(request: Request) -> Session:
    """The caller's city session; a hall's session, none, or an ended one is 401."""
    session = await _desk(request).auth.session(request.cookies.get(COOKIE))
    if session is None:
        raise errors.unauthenticated("请先以城市管理账号登录")
    if session.role not in CITY_ROLES:
        raise errors.forbidden("需要城市管理员权限")
    return session


def _me(session: Session) -> dict[str, Any]:
    return {"user": {"username": session.username, "role": session.role}}


async def login(request: Request) -> Response:
    body = await read_json(request, limit=LOGIN_BYTES)
    if body.get("window") is not None:
        raise errors.invalid("城市管理账号不登录窗口", "invalid_login", "window")
    session, cookie = await _desk(request).auth.login(
        body.get("username"), body.get("password"), None, client_of(request))
    response = JSONResponse(_me(session))
    response.set_cookie(COOKIE, cookie, httponly=True, samesite="strict", path="/")
    return response


async def logout(request: Request) -> Response:
    session = await city_manager_of(request)
    await _desk(request).auth.logout(session, client_of(request))
    response = JSONResponse({"ok": True})
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict")
    return response


async def me(request: Request) -> Response:
    return JSONResponse(_me(await city_manager_of(request)))


async def overview(request: Request) -> Response:
    await city_manager_of(request)
    desk = _desk(request)
    now = desk.clock().astimezone(desk.tz)
    return JSONResponse({"city": request.app.state.city_config.name,
                         "time": now.isoformat(timespec="seconds"),
                         "halls": await city_figures.each(_readers(request), city_figures.live)})


def period(request: Request, today: date) -> tuple[str, str]:
    """The `from`/`to` days as a hall's reports read them (hall/api.py `day_range`): without
    both, today; refused backwards or over three years."""
    first_day, last_day = query_date(request, "from"), query_date(request, "to")
    first = first_day or today
    last = last_day or (first if first_day else today)
    if last < first:
        raise errors.bad_request("结束日期不能早于开始日期", "invalid_query", "to")
    if (last - first).days >= MAX_DAYS:
        raise errors.bad_request(f"最多查询 {MAX_DAYS // 366} 年，请缩小日期范围",
                                 "range_too_long", "from")
    return first.isoformat(), last.isoformat()


async def _query(request: Request, action: str) -> tuple[str, str, bool]:
    """Who asks, for which days, as CSV or not — audited in the city's store."""
    session = await city_manager_of(request)
    desk = _desk(request)
    first, last = period(request, desk.clock().astimezone(desk.tz).date())
    csv = request.query_params.get("format") == "csv"
    await desk.record_audit(session.actor(client_of(request)), action, f"period:{first}~{last}",
                            True, "csv" if csv else None)
    return first, last, csv


def _table(columns: Sequence[Column], rows: Sequence[dict[str, Any]],
           namers: dict[str, Any]) -> list[list[str]]:
    """The cells, each hall's line named by that hall's own names (priority reasons)."""
    return [[cell(row, c, "hall", namers.get(row.get("id"), _plain)) for c in columns]
            for row in rows]


def _plain(by: str, key: Any) -> str:
    return "—" if key is None else str(key)


def _answer(name: str, first: str, last: str, csv: bool, columns: Sequence[Column],
            rows: list[dict[str, Any]], cells: list[list[str]],
            extra: dict[str, Any] | None = None) -> Response:
    if csv:
        return Response(csv_text(columns, cells), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition":
                                 f'attachment; filename="city_{name}_{first}_{last}.csv"'})
    return JSONResponse({"from": first, "to": last, name: rows, **(extra or {}),
                         "columns": [{"key": c.key, "name": c.name} for c in columns],
                         "table": cells})


async def report(request: Request) -> Response:
    first, last, csv = await _query(request, "city.report")
    readers = _readers(request)
    rows = await city_figures.each(
        readers, lambda r: city_figures.report(r, first, last))
    namers = {r.site.id: namer(r.service) for r in readers}
    return _answer("report", first, last, csv, REPORT_COLUMNS, rows,
                   _table(REPORT_COLUMNS, rows, namers))


async def idle(request: Request) -> Response:
    first, last, csv = await _query(request, "city.idle")
    halls = await city_figures.each(
        _readers(request), lambda r: city_figures.idle(r, first, last))
    lines = city_figures.idle_lines(halls)
    return _answer("findings", first, last, csv, IDLE_COLUMNS, lines,
                   _table(IDLE_COLUMNS, lines, {}), {"halls": halls})


# The city's own log (its accounts' logins and the reports they asked for) is read by the city's
# admin: the city has no auditor role, and a manager reading the log of their own actions is
# what the halls' AUDIT_ROLES keep managers from (hall/audit_log.py).
CITY_AUDIT_ROLES = ("admin",)


async def _city_auditor(request: Request) -> Session:
    session = await city_manager_of(request)
    if session.role not in CITY_AUDIT_ROLES:
        raise errors.forbidden("只有城市系统管理员可以查看城市审计日志")
    return session


def _audit_source(desk: CityDesk) -> audit_api.AuditSource:
    return audit_api.AuditSource(desk.store, Exporter(None, desk.tz), desk.record_audit)


async def audit(request: Request) -> Response:
    session = await _city_auditor(request)
    return await audit_api.respond(request, session, _audit_source(_desk(request)))


async def audit_chain(request: Request) -> Response:
    await _city_auditor(request)
    return await audit_api.chain_status(_desk(request).store)


def routes() -> list[BaseRoute]:
    return [
        Route("/api/city/login", login, methods=["POST"]),
        Route("/api/city/logout", logout, methods=["POST"]),
        Route("/api/city/me", me, methods=["GET"]),
        Route("/api/city/overview", overview, methods=["GET"]),
        Route("/api/city/report", report, methods=["GET"]),
        Route("/api/city/idle", idle, methods=["GET"]),
        Route("/api/city/audit", audit, methods=["GET"]),
        Route("/api/city/audit/chain", audit_chain, methods=["GET"]),
    ]
