"""HTTP routes of the audit log (issue 10.6): the auditor's and the admin's page reads these.

* `GET /api/manage/audit?from=&to=&user=&action=&success=&before=&limit=` — newest first, one
  keyset page (`next` is the `before` of the following page, null on the last); each row with
  the Chinese names people read beside its codes. `?format=csv` streams every matching row
  with Chinese headers (and each row's hash, so an exported copy can be checked), in chunks,
  so a year of the log never sits in memory; the export itself is audited.
* `GET /api/manage/audit/chain` — the hash chain checked as `python -m hall audit verify`
  does, and whether the triggers that refuse edits are still there.
Why the auditor and the admin, not managers: hall/audit_log.py.

The same two answers serve the city's own log (hall/city_api.py): `respond` and
`chain_status` take the log as an `AuditSource` (its store, the names its rows are read
with, and where an export is itself audited), not a hall's service.
"""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import BaseRoute, Route

from hall import audit_log, errors
from hall.api import manager_of, ok, query_date, query_int
from hall.auth import AUDIT_ROLES, Session
from hall.csv_export import ACTIONS, Exporter, spreadsheet_safe
from hall.datefmt import day_text
from hall.guard import client_of
from hall.service import Actor, HallService
from hall.store import Store

CSV_CHUNK = 2000
# where an action came from, when it is not a network address
SOURCES = {"cli": "命令行", "qr_page": "号票二维码页面", "public": "网页",
           "window_tablet": "窗口评价器(平板)", "serial_evaluator": "窗口评价器"}
CSV_COLUMNS = ("id", "time", "user", "action", "target", "source", "success", "detail", "hash")


@dataclass(frozen=True)
class AuditSource:
    """One audit log as the routes read it: a hall's, or the city's."""

    store: Store
    exporter: Exporter
    record: Callable[[Actor, str, str | None, bool, str | None], Awaitable[None]]


def _hall(request: Request) -> AuditSource:
    service: HallService = request.app.state.service
    return AuditSource(service.store, Exporter(service.config, service.tz), service.record_audit)


def _filter(request: Request) -> audit_log.AuditFilter:
    first, last = query_date(request, "from"), query_date(request, "to")
    if first and last and last < first:
        raise errors.bad_request("结束日期不能早于开始日期", "invalid_query", "to")
    action = audit_log.parse_text(request.query_params.get("action"), "action")
    return audit_log.AuditFilter(
        first, last, audit_log.parse_text(request.query_params.get("user"), "user"), action,
        audit_log.parse_success(request.query_params.get("success")))


def row_view(ex: Exporter, row: dict[str, Any]) -> dict[str, Any]:
    """One audit row with what people read beside each code (the CSV writes the names)."""
    local = datetime.fromisoformat(row["time"]).astimezone(ex.tz)
    source = row["source"]
    return {
        "id": row["id"], "time": row["time"],
        "time_text": f"{day_text(local.date())} {local:%H:%M:%S}",
        "user": row["user"], "user_name": ex.value("user", row["user"]) or None,
        "action": row["action"], "action_name": ex.value("action", row["action"]),
        "target": row["target"], "target_text": ex.value("target", row["target"]) or None,
        "source": source,
        "source_name": SOURCES.get(source) or ex.value("target", source) or None,
        "success": bool(row["success"]),
        "detail": row["detail"], "detail_text": ex.value("detail", row["detail"]) or None,
        "hash": row["hash"],
    }


async def audit(request: Request) -> Response:
    session = await manager_of(request, AUDIT_ROLES)
    return await respond(request, session, _hall(request))


async def respond(request: Request, session: Session, source: AuditSource) -> Response:
    """A page of `source`'s log, or all of it as CSV (an export is itself audited)."""
    f = _filter(request)
    ex = source.exporter
    if request.query_params.get("format") == "csv":
        await source.record(session.actor(client_of(request)), "audit.export", None, True,
                            _described(f))
        return StreamingResponse(_csv(source.store, ex, f),
                                 media_type="text/csv; charset=utf-8",
                                 headers={"Content-Disposition":
                                          'attachment; filename="audit.csv"'})
    before = query_int(request, "before")
    limit = max(1, min(audit_log.MAX_PAGE, query_int(request, "limit") or 200))
    rows, after = await source.store.read(
        lambda conn: audit_log.page(conn, f, before, limit))
    return ok({"audit": [row_view(ex, r) for r in rows], "next": after})


def _described(f: audit_log.AuditFilter) -> str | None:
    """The export's filters, for its own audit row, as people say them."""
    parts = [f"开始日期 {day_text(f.first)}" if f.first else None,
             f"结束日期 {day_text(f.last)}" if f.last else None,
             f"操作人 {f.user}" if f.user else None,
             f"操作 {ACTIONS.get(f.action, f.action)}" if f.action else None,
             {True: "只看成功", False: "只看失败", None: None}[f.success]]
    return "；".join(p for p in parts if p) or None


async def _csv(store: Store, ex: Exporter, f: audit_log.AuditFilter) -> AsyncIterator[str]:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([ex.header(k) for k in CSV_COLUMNS])
    yield "\ufeff" + out.getvalue()
    before: int | None = None
    while True:
        rows, before = await store.read(
            lambda conn, b=before: audit_log.page(conn, f, b, CSV_CHUNK))
        out = io.StringIO()
        writer = csv.writer(out)
        for row in rows:
            view = row_view(ex, row)
            writer.writerow([spreadsheet_safe(ex.cell(k, view)) for k in CSV_COLUMNS])
        yield out.getvalue()
        if before is None:
            return


async def chain(request: Request) -> Response:
    await manager_of(request, AUDIT_ROLES)
    return await chain_status(_hall(request).store)


async def chain_status(store: Store) -> Response:
    status = await audit_log.check(store.db)
    return ok(status.as_json())


def routes() -> list[BaseRoute]:
    return [
        Route("/api/manage/audit", audit, methods=["GET"]),
        Route("/api/manage/audit/chain", chain, methods=["GET"]),
    ]
