"""The JSON API of design.md: public, clerk and manager routes.

Handlers are thin: read and check the body, find the caller's session, call one `hall.service`
function, answer. Every refusal is a `HallError` turned into `{"error": {"code", "message"}}`
by one exception handler, so no route can answer an error in another shape.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable
from datetime import date
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from hall import errors
from hall.auth import CHANGE_FIRST, COOKIE, Auth, Session
from hall.csv_export import Exporter
from hall.guard import client_of, kiosk_of, take_ticket
from hall.prefix import cookie_path
from hall.service import Actor, HallService
from hall.staffing import WINDOW_FIELDS

MANAGER_ROLES = ("manager", "admin")
STAFF_ROLES = ("clerk", "manager", "admin")  # may grant priority (an auditor only reads)


def _service(request: Request) -> HallService:
    return request.app.state.service


def _auth(request: Request) -> Auth:
    return request.app.state.auth


async def read_json(request: Request, required: bool = True,
                    limit: int | None = None) -> dict[str, Any]:
    """The body as a JSON object, refusing oversized bodies before reading them whole.

    Also refused here, so that no handler meets them (issue 9.4, each once a 500): nesting
    deeper than `MAX_DEPTH`, text that is not Unicode (a lone surrogate written as `\\ud800`
    cannot be stored, logged or echoed in a message) and integers outside ±2^53 (SQLite's
    64-bit integers overflow; no id, level or count of the hall comes near). A body whose
    sender gave up half-way is answered 400 (the connection is gone; nothing is logged as a
    server fault). The media type is checked before, by `hall.perimeter`. `limit`: for an app
    without a hall of its own (the city's, hall/city_api.py); else `[hall] max_body_bytes`."""
    limit = limit or _service(request).config.hall.max_body_bytes
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise errors.HallError(413, "too_large", f"请求体过大 (上限 {limit} 字节)")
    chunks = bytearray()
    try:
        async for chunk in request.stream():
            chunks += chunk
            if len(chunks) > limit:
                raise errors.HallError(413, "too_large", f"请求体过大 (上限 {limit} 字节)")
    except ClientDisconnect:
        raise errors.bad_request("请求体未发送完整", "incomplete_body") from None
    if not chunks:
        if required:
            raise errors.bad_request("请求内容为空", "empty_body")
        return {}
    brackets = chunks.count(b"[") + chunks.count(b"{")  # at C speed: most bodies stop here
    if brackets > MAX_DEPTH and _nesting(chunks) > MAX_DEPTH:
        raise errors.bad_request(f"请求内容嵌套层数过多 (最多 {MAX_DEPTH} 层)", "too_deep")
    try:
        body = json.loads(chunks)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise errors.bad_request("请求内容格式不对，无法读取", "malformed_json") from None
    if not isinstance(body, dict):
        raise errors.bad_request("请求内容格式不对，应为一组字段", "malformed_json")
    problem = _unfit(body)
    if problem:
        raise errors.bad_request(problem, "invalid_value")
    return body


MAX_DEPTH = 32
MAX_JSON_INT = 2 ** 53


def _nesting(raw: bytes | bytearray) -> int:
    """Pure: the deepest `[`/`{` nesting of a JSON text, brackets inside strings skipped.
    Checked on the bytes, before parsing: `json.loads` of `[` * 100000 is a RecursionError."""
    depth = deepest = 0
    in_string = escaped = False
    for byte in raw:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:  # quote
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):
            depth += 1
            deepest = max(deepest, depth)
        elif byte in (0x5D, 0x7D):
            depth -= 1
    return deepest


def _unfit(value: Any) -> str | None:
    """Pure: why a parsed JSON value cannot be used (a Chinese message), or None."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                return "文字中含有无法识别的字符"
        elif isinstance(item, bool) or item is None:
            continue
        elif isinstance(item, int):
            if not -MAX_JSON_INT <= item <= MAX_JSON_INT:
                return "数字超出范围"
        elif isinstance(item, float):
            if item != item or item in (float("inf"), float("-inf")):
                return "数字超出范围"
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return None


def ok(data: Any, status: int = 200) -> JSONResponse:
    return JSONResponse(data, status_code=status)


async def session_of(request: Request, password_change: bool = False) -> Session:
    """The caller's session. One whose password must be changed first (hall/auth.py) gets
    403 `password_change_required` except on the routes that pass `password_change`."""
    cookie = request.cookies.get(COOKIE)
    session = await _auth(request).session(cookie, pending=True)
    if session is None:
        reason = await _auth(request).ended_reason(cookie)
        if reason is not None:  # pushed out by a manager, or logged out on another device
            raise errors.unauthenticated(reason, "session_ended")
        raise errors.unauthenticated()
    if session.must_change and not password_change:
        raise errors.forbidden(CHANGE_FIRST, "password_change_required")
    return session


async def clerk_of(request: Request, number: int) -> Session:
    """The caller may act on window `number`: its own clerk, or a manager standing in."""
    session = await session_of(request)
    _service(request)._window(number)
    if session.window != number:
        mine = f"{session.window} 号窗口" if session.window else "管理账户"
        raise errors.forbidden(f"您登录的是{mine}，不能操作 {number} 号窗口")
    return session


async def manager_of(request: Request, roles: tuple[str, ...] = MANAGER_ROLES) -> Session:
    session = await session_of(request)
    if session.role not in roles:
        raise errors.forbidden("需要管理员权限")
    return session


def _int_param(request: Request, name: str, default: int, low: int, high: int) -> int:
    value = query_int(request, name)
    return default if value is None else max(low, min(high, value))


def query_int(request: Request, name: str) -> int | None:
    """An integer query parameter; absent or empty: None. Over 15 digits is refused rather
    than passed on to overflow SQLite's 64-bit integers (issue 9.4)."""
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return None
    digits = raw.strip().removeprefix("-")
    if not digits.isascii() or not digits.isdigit() or len(digits) > 15:
        raise errors.bad_request(f"{_said(name)}必须是整数", "invalid_query", name)
    return int(raw)


FIRST_YEAR, LAST_YEAR = 1970, 2999
QUERY_NAMES = {"from": "开始日期", "to": "结束日期", "window": "窗口号", "level": "评价等级",
               "limit": "条数"}


def _said(name: str) -> str:
    """A query parameter as a manager's page names it."""
    return QUERY_NAMES.get(name, "查询条件")


def query_date(request: Request, name: str) -> date | None:
    """A `YYYY-MM-DD` query parameter; absent or empty: None. Years outside 1970-2999 are
    refused: `to=9999-12-31` used to overflow the day after it (a 500)."""
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return None
    try:
        value = date.fromisoformat(raw)
    except ValueError:
        raise errors.bad_request(f"{_said(name)}应为日期，如 2026-01-31", "invalid_query",
                                 name) from None
    if not FIRST_YEAR <= value.year <= LAST_YEAR:
        raise errors.bad_request(f"{_said(name)}超出范围（{FIRST_YEAR}—{LAST_YEAR}年）",
                                 "invalid_query", name)
    return value


# ---------------------------------------------------------------- public


async def services(request: Request) -> Response:
    return ok({"services": await _service(request).list_services()})


async def issue(request: Request) -> Response:
    """A kiosk or phone issues anonymously; a signed-in staff account (导办, clerk, manager)
    may also grant a priority reason that is not self-declared, and is recorded as its
    granter."""
    session = await _auth(request).session(request.cookies.get(COOKIE))
    if session is None or session.role not in STAFF_ROLES:
        await take_ticket(request)  # scalping limits (issue 9.2); staff issue for citizens
    body = await read_json(request)
    people = request.app.state.people  # 实名取号: hall/real_name.py
    key, digest = idempotency(request, people.digestible(body))
    async with people.claim(body, key, lambda: kiosk_of(request)) as person:
        ticket = await _service(request).issue_ticket(
            body.get("service"), priority=body.get("priority"),
            needs_help=body.get("needs_help", False), channel=body.get("channel", "kiosk"),
            kiosk=body.get("kiosk"), idempotency_key=key, idempotency_body=digest,
            granted_by=session.username if session is not None and session.role in STAFF_ROLES
            else None, person=person)
    return ok(ticket, 201)


def idempotency(request: Request, body: dict[str, Any]) -> tuple[str | None, str]:
    """The `Idempotency-Key` scoped to the client, and a digest of the body (issue 9.8).

    A key is only the client's own: two clients sending the same key (a guessable one such
    as "kiosk-1-tap-42") each get their own ticket, never the other's (with its secret
    token). The client is its network address (`hall.guard.client_of`: behind the hall's
    own reverse proxy, the address the proxy saw)."""
    raw = request.headers.get("idempotency-key")
    if raw is None:
        return None, ""
    if not 0 < len(raw) <= 200:
        raise errors.bad_request("重复提交标识长度应为 1 到 200", "invalid_idempotency_key")
    scoped = hashlib.sha256(f"{client_of(request)}\n{raw}".encode()).hexdigest()[:32]
    canonical = json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return scoped, hashlib.sha256(canonical.encode()).hexdigest()[:32]


async def ticket(request: Request) -> Response:
    return ok(await _service(request).get_ticket(request.path_params["token"]))


async def hall_snapshot(request: Request) -> Response:
    return ok(await _service(request).hall_snapshot())


# ---------------------------------------------------------------- clerks


async def login(request: Request) -> Response:
    body = await read_json(request)
    session, cookie = await _auth(request).login(
        body.get("username"), body.get("password"), body.get("window"), client_of(request))
    response = ok(_me(session))
    # one hall's session only: under /h/demo/ the cookie is that hall's (hall.prefix)
    response.set_cookie(COOKIE, cookie, httponly=True, samesite="strict",
                        path=cookie_path(request.scope))
    return response


async def logout(request: Request) -> Response:
    session = await session_of(request, password_change=True)
    await _auth(request).logout(session, client_of(request))
    response = ok({"ok": True})
    response.delete_cookie(COOKIE, path=cookie_path(request.scope), httponly=True,
                           samesite="strict")
    return response


async def me(request: Request) -> Response:
    return ok(_me(await session_of(request, password_change=True)))


def _me(session: Session) -> dict[str, Any]:
    """Who is logged in; `must_change_password`: the pages show only the change form."""
    return {"user": {"username": session.username, "role": session.role},
            "window": session.window, "must_change_password": session.must_change}


async def reader_of(request: Request, number: int) -> Session:
    """May see window `number`'s pad: its own clerk, or a manager."""
    session = await session_of(request)
    if session.window != number and session.role not in MANAGER_ROLES:
        raise errors.forbidden()
    return session


async def window_detail(request: Request) -> Response:
    number = request.path_params["n"]
    await reader_of(request, number)
    return ok(await _service(request).window_detail(number))


async def window_cases(request: Request) -> Response:
    """The 办不成事 cases handed to this window's 首席事务代表 (its clerk, or a manager)."""
    number = request.path_params["n"]
    await reader_of(request, number)
    _service(request)._window(number)
    return ok({"cases": await request.app.state.feedback.chief_cases(number)})


def clerk_action(
    action: Callable[[HallService, int, Actor, dict[str, Any]], Awaitable[dict[str, Any]]],
    needs_body: bool = False,
) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        number = request.path_params["n"]
        session = await clerk_of(request, number)
        body = await read_json(request, required=needs_body)
        result = await action(_service(request), number, session.actor(client_of(request)), body)
        return ok(result)

    return endpoint


CLERK_ACTIONS: dict[str, tuple[Callable[..., Awaitable[dict[str, Any]]], bool]] = {
    "call": (lambda s, n, a, b: s.call(n, a, b.get("number")), False),
    "recall": (lambda s, n, a, b: s.recall(n, a), False),
    "start": (lambda s, n, a, b: s.start(n, a), False),
    "finish": (lambda s, n, a, b: s.finish(n, a, b.get("outcome"), b.get("note")), True),
    "skip": (lambda s, n, a, b: s.skip(n, a), False),
    "transfer": (lambda s, n, a, b: s.transfer(n, a, b.get("queue"), b.get("window")), True),
    "hold": (lambda s, n, a, b: s.hold(n, a), False),
    "callback": (lambda s, n, a, b: s.callback(n, a, b.get("number")), True),
    "pause": (lambda s, n, a, b: s.pause(n, a, b.get("reason")), True),
    "resume": (lambda s, n, a, b: s.resume(n, a), False),
    "priority": (lambda s, n, a, b: s.grant_priority(n, a, b.get("number"), b.get("reason")),
                 True),
}


# ---------------------------------------------------------------- managers


def as_list(request: Request, name: str, rows: list[dict[str, Any]]) -> Response:
    """Every manager list can be had as CSV (`?format=csv`) for the hall's own spreadsheets,
    written for people by hall.csv_export (Chinese headers and values, BOM for Excel)."""
    if request.query_params.get("format") != "csv":
        return ok({name: rows})
    service = _service(request)
    text = Exporter(service.config, service.tz).render(rows)
    return Response(text, media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{name}.csv"'})


async def manage_windows(request: Request) -> Response:
    await manager_of(request)
    return as_list(request, "windows", await _service(request).manage_windows())


async def manage_window(request: Request) -> Response:
    """`PATCH /api/manage/windows/{n}`: `{"force_logout": true}` ends every session at the
    window (the clerk is told why), `{"assign": "name"|null}` assigns the clerk who may log
    in to a window that needs a manager's say (the 办不成事 window); `queues`, `order` and
    `closed` are runtime staffing (hall/staffing_desk.py), answered with the window's
    manager view."""
    session = await manager_of(request)
    number = request.path_params["n"]
    _service(request)._window(number)
    body = await read_json(request)
    actor = session.actor(client_of(request))
    known = {"force_logout", "assign", *WINDOW_FIELDS}
    if not body or set(body) - known:
        raise errors.invalid("只能调整窗口的队列、叫号顺序、停止服务，或强制下线、指派窗口人员",
                             "invalid_window_change")
    force = body.get("force_logout", False)
    if not isinstance(force, bool):
        raise errors.invalid("请选择是否强制下线", "invalid_window_change",
                             "force_logout")
    staffing = {k: v for k, v in body.items() if k in WINDOW_FIELDS}
    result = None
    if staffing:
        result = await request.app.state.staffing.change_window(number, staffing, actor)
    if "assign" in body:
        await _auth(request).assign_window(number, body["assign"], actor)
    if force and not staffing.get("closed"):  # closing logs the clerk out already
        await _auth(request).force_logout(number, actor)
    return ok(result if result is not None else await _service(request).window_detail(number))


async def manage_events(request: Request) -> Response:
    await manager_of(request)
    limit = _int_param(request, "limit", 50, 1, 1000)
    return as_list(request, "events", await _service(request).recent_events(limit))




async def manage_server(request: Request) -> Response:
    """How the server itself is doing: connected screens and the event log's head."""
    await manager_of(request)
    service = _service(request)
    return ok({"subscribers": service.bus.subscriber_count, "seq": await service.last_seq(),
               "db": service.store.where})


async def manage_close_day(request: Request) -> Response:
    session = await manager_of(request)
    missed = await _service(request).close_day(session.actor(client_of(request)))
    return ok({"missed": missed})


def day_range(request: Request) -> tuple[str, str]:
    today = _service(request).clock().date().isoformat()
    first_day, last_day = query_date(request, "from"), query_date(request, "to")
    first = first_day.isoformat() if first_day else today
    last = last_day.isoformat() if last_day else (first if first_day else today)
    if last < first:
        raise errors.bad_request("结束日期不能早于开始日期", "invalid_query", "to")
    return first, last


async def manage_priority(request: Request) -> Response:
    """Priority tickets with their reason and who granted it."""
    await manager_of(request)
    first, last = day_range(request)
    return as_list(request, "priority", await _service(request).priority_tickets(first, last))


async def manage_open_days(request: Request) -> Response:
    """GET: the days opened by hand; POST {"date", "note"?}: open a day the calendar shuts."""
    session = await manager_of(request)
    service = _service(request)
    if request.method == "POST":
        body = await read_json(request)
        return ok(await service.open_day(body.get("date"), session.actor(client_of(request)),
                                         body.get("note")), 201)
    return as_list(request, "open_days", await service.open_days())


async def manage_deadlines(request: Request) -> Response:
    """限时办结: accepted applications late or due within 3 working days."""
    await manager_of(request)
    return as_list(request, "applications", await _service(request).applications())


async def manage_deadline_complete(request: Request) -> Response:
    session = await manager_of(request)
    return ok(await _service(request).complete_application(
        request.path_params["id"], session.actor(client_of(request))))


async def manage_devices(request: Request) -> Response:
    await manager_of(request)
    health = request.app.state.device_health
    return as_list(request, "devices", health())


def routes() -> list[BaseRoute]:
    clerk = [Route(f"/api/windows/{{n:int}}/{name}", clerk_action(fn, needs_body),
                   methods=["POST"]) for name, (fn, needs_body) in CLERK_ACTIONS.items()]
    return [
        Route("/api/services", services, methods=["GET"]),
        Route("/api/tickets", issue, methods=["POST"]),
        Route("/api/tickets/{token}", ticket, methods=["GET"]),
        Route("/api/hall", hall_snapshot, methods=["GET"]),
        Route("/api/login", login, methods=["POST"]),
        Route("/api/logout", logout, methods=["POST"]),
        Route("/api/me", me, methods=["GET"]),
        Route("/api/windows/{n:int}", window_detail, methods=["GET"]),
        Route("/api/windows/{n:int}/cases", window_cases, methods=["GET"]),
        *clerk,
        Route("/api/manage/windows", manage_windows, methods=["GET"]),
        Route("/api/manage/windows/{n:int}", manage_window, methods=["PATCH"]),
        Route("/api/manage/events", manage_events, methods=["GET"]),
        Route("/api/manage/devices", manage_devices, methods=["GET"]),
        Route("/api/manage/close-day", manage_close_day, methods=["POST"]),
        Route("/api/manage/server", manage_server, methods=["GET"]),
        Route("/api/manage/priority", manage_priority, methods=["GET"]),
        Route("/api/manage/open-days", manage_open_days, methods=["GET", "POST"]),
        Route("/api/manage/deadlines", manage_deadlines, methods=["GET"]),
        Route("/api/manage/deadlines/{id:int}/complete", manage_deadline_complete,
              methods=["POST"]),
    ]


async def hall_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, errors.HallError)
    return JSONResponse(exc.as_json(), status_code=exc.status)


async def http_error(request: Request, exc: Exception) -> Response:
    """404/405 from the router in the same error shape, so a kiosk never has to parse HTML."""
    assert isinstance(exc, HTTPException)
    codes = {404: ("not_found", "没有这个地址"), 405: ("method_not_allowed", "不支持该请求方法")}
    code, message = codes.get(exc.status_code, ("http_error", "请求无法处理"))
    return JSONResponse({"error": {"code": code, "message": message}},
                        status_code=exc.status_code)


async def server_error(request: Request, exc: Exception) -> Response:
    return JSONResponse({"error": {"code": "internal", "message": "服务器内部错误，请稍后再试"}},
                        status_code=500)
