"""Who is asking, over HTTP: the client's address, the enrolled device, the rating tablet's
right to rate, and the ticket limits (issue 9.1, 9.2). The counting itself is hall/limits.py
(pure), the credentials hall/credentials.py.

The client's address is the connection's peer; only when that peer is one of the hall's own
reverse proxies (`[limits] trusted_proxies`) is its `X-Forwarded-For` believed (see
`hall.limits.client_address`). Lockout (hall/lockout.py) and the audit log use the same address.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from hall import errors
from hall.auth import COOKIE as SESSION_COOKIE
from hall.credentials import COOKIE, HEADER, Credentials, Device
from hall.limits import Network, TicketLimits, client_address, parse_networks
from hall.limits_shared import SharedLimits
from hall.numbering import hall_day
from hall.prefix import cookie_path
from hall.service import Actor, HallService

# ten years: an enrolled tablet stays enrolled until the hall removes it (device remove)
COOKIE_MAX_AGE = 10 * 365 * 24 * 3600


def _service(request: Request) -> HallService:
    return request.app.state.service


def credentials(request: Request) -> Credentials:
    return request.app.state.credentials


def _proxies(request: Request) -> tuple[Network, ...]:
    cached = getattr(request.app.state, "trusted_proxies", None)
    if cached is None:
        cached = parse_networks(_service(request).config.limits.trusted_proxies)
        request.app.state.trusted_proxies = cached
    return cached


def client_of(request: Request) -> str:
    peer = request.client.host if request.client else None
    return client_address(peer, request.headers.get("x-forwarded-for"), _proxies(request))


async def device_of(request: Request) -> Device | None:
    secret = request.headers.get(HEADER) or request.cookies.get(COOKIE)
    return await credentials(request).device(secret)


async def kiosk_of(request: Request) -> str | None:
    """The name of the enrolled kiosk making this request, or None."""
    device = await device_of(request)
    return device.name if device is not None and device.kind == "kiosk" else None


async def take_ticket(request: Request) -> None:
    """Count one ticket for this kiosk or address, or refuse with 429 (counting nothing)."""
    limits: TicketLimits | SharedLimits = request.app.state.limits
    device = await device_of(request)
    kiosk = device.name if device is not None and device.kind == "kiosk" else None
    service = _service(request)
    now = service.clock()
    refusal = await limits.claim(kiosk, client_of(request), now.timestamp(),
                                 hall_day(now, service.config.hall.tz).isoformat())
    if refusal is None:
        return
    if refusal.per == "minute":
        seconds = max(1, int(refusal.retry_after + 0.999))
        raise errors.HallError(429, "too_many_tickets",
                               f"取号过于频繁，请 {seconds} 秒后再试")
    raise errors.HallError(429, "daily_ticket_limit",
                           "今日取号次数已达上限，如需办理请到咨询台")


async def rater_of(request: Request, window: int) -> str:
    """May this caller rate window `window`'s pending ticket? Only the window's own tablet
    (its device credential) or the window's logged-in session; never an anonymous client.
    Returns who, for the audit log."""
    device = await device_of(request)
    if device is not None:
        if device.kind == "tablet" and device.window == window:
            return device.name
        raise errors.forbidden(f"本设备不是 {window} 号窗口的评价器，不能提交该窗口的评价",
                               "wrong_device")
    session = await request.app.state.auth.session(request.cookies.get(SESSION_COOKIE))
    if session is not None and session.window == window:
        return session.username
    if session is not None:
        raise errors.forbidden(f"只有 {window} 号窗口的评价器可以提交该窗口的评价",
                               "wrong_device")
    raise errors.unauthenticated("只有窗口评价器可以提交评价；本设备尚未登记，请联系工作人员",
                                 "device_required")


async def enrol(request: Request) -> Response:
    """`POST /api/devices/enrol {"code"}`: keep the enrolment code in this browser."""
    from hall.api import read_json  # the API module imports this one

    body = await read_json(request)
    code = body.get("code")
    code = code.strip() if isinstance(code, str) else ""
    device = await credentials(request).device(code)
    source = client_of(request)
    if device is None:
        await _service(request).record_audit(Actor(None, source), "device.enrol", None, False)
        raise errors.unauthenticated("登记码无效，请核对后重新输入", "bad_enrolment_code")
    await _service(request).record_audit(Actor(device.name, source), "device.enrol",
                                         device.name, True)
    response = JSONResponse(_public(device))
    response.set_cookie(COOKIE, code, max_age=COOKIE_MAX_AGE, httponly=True,
                        samesite="strict", path=cookie_path(request.scope))
    return response


async def me(request: Request) -> Response:
    """`GET /api/devices/me`: which enrolled device this browser is (404 when none)."""
    device = await device_of(request)
    if device is None:
        raise errors.not_found("本设备尚未登记", "not_enrolled")
    return JSONResponse(_public(device))


def _public(device: Device) -> dict[str, object]:
    return {"name": device.name, "kind": device.kind, "window": device.window,
            "label": device.label()}


def routes() -> list[BaseRoute]:
    return [
        Route("/api/devices/enrol", enrol, methods=["POST"]),
        Route("/api/devices/me", me, methods=["GET"]),
    ]
