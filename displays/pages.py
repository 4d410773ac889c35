"""Public pages: the kiosk, the hall screen, the window screen, the citizen's phone page (status,
then 好差评 and a 办不成事 report) and the public 办不成事反映 page (/complaint).

The handlers only render a shell from the configuration (names, services, materials): all live
data (waiting counts, calls, ticket state) comes from the JSON API and /ws in the browser, so a
page never holds queue state the core does not know, and a reload always shows the truth.

The QR code of a ticket is drawn here as SVG with the `qrcode` library (no Pillow, no network):
the kiosk shows it, and a phone that scans it opens `/t/{token}`.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import qrcode
import qrcode.image.svg
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from hall.config import SCREEN_NAME, HallConfig
from hall.web import hall_config, page_url, templates, window_of

STATIC = Path(__file__).resolve().parent / "static"
# tokens are secrets.token_urlsafe: refuse anything else before it reaches a QR code or a page
TOKEN = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
# How many recent calls the hall screen lists; its layout is made to show all of them at any
# 16:9 size (tests/test_pages.py counts the rows on the glass at 1080p and 4K).
SCREEN_RECENT_CALLS = 8
SKIP_RULES = {
    "void": "过号作废，请重新取号。",
    "requeue": "过号后可重新排队一次（排在 {n} 位之后）。",
    "recall": "过号后请到原窗口，工作人员可为您重新叫号。",
}


def _skip_rule(config: HallConfig) -> str:
    skip = config.hall.skip
    return SKIP_RULES.get(skip.policy, "").format(n=skip.requeue_after)


def _grouped_services(config: HallConfig) -> list[dict[str, Any]]:
    """Services by domain (queue), in the order of the configuration, as the kiosk shows them."""
    groups = []
    for q in config.queues:
        services = [s for s in config.services if s.queue == q.id]
        if services:
            groups.append({"queue": q, "services": services})
    return groups


async def kiosk(request: Request) -> Response:
    config = hall_config(request)
    kiosk_name = request.query_params.get("kiosk") or None
    if kiosk_name is not None and not re.fullmatch(r"[\w.-]{1,40}", kiosk_name):
        kiosk_name = None
    return templates.TemplateResponse(request, "kiosk.html", {
        "theme": "dark",
        "hall_name": config.hall.name,
        "groups": _grouped_services(config),
        # only reasons a citizen may declare; the rest are granted by staff (hall.service)
        "priorities": [(r.id, r.name) for r in config.priority_reasons if r.self_declared],
        "page_config": {
            "hall": config.hall.name,
            "kiosk": kiosk_name,
            "reset_seconds": config.hall.kiosk_reset_seconds,
            "skip_rule": _skip_rule(config),
        },
    })


def screen_name(request: Request) -> str:
    """Which hall screen this is, for `[voice] speak_on`: `/screen?name=lobby` is "lobby",
    plain `/screen` is "hall". A hall with several TVs and one loudspeaker names the one
    by the loudspeaker; a name that is not a valid one is no name (so it never speaks by
    accident as another)."""
    name = request.query_params.get("name")
    if name is None:
        return "hall"
    return name if SCREEN_NAME.fullmatch(name) else ""


async def screen(request: Request) -> Response:
    config = hall_config(request)
    return templates.TemplateResponse(request, "screen.html", {
        "theme": "dark",
        "hall_name": config.hall.name,
        "notice": config.hall.notice,
        "queues": config.queues,
        "chiefs": [w for w in config.windows if w.chief],  # 首席事务代表 windows
        "page_config": {"recent": SCREEN_RECENT_CALLS,
                        "speak": config.voice.speaks(screen_name(request))},
    })


async def window_screen(request: Request) -> Response:
    config = hall_config(request)
    window = window_of(request)
    return templates.TemplateResponse(request, "window_screen.html", {
        "theme": "dark",
        "hall_name": config.hall.name,
        "window": window,
        "page_config": {"window": window.number, "name": window.name,
                        "speak": config.voice.speaks(window.number)},
    })


async def ticket_page(request: Request) -> Response:
    config = hall_config(request)
    token = request.path_params["token"]
    if not TOKEN.fullmatch(token):
        raise HTTPException(404)
    return templates.TemplateResponse(request, "ticket.html", {
        "theme": "light",
        "hall_name": config.hall.name,
        "days_open": config.ratings.days_open,
        "page_config": {"token": token, "skip_rule": _skip_rule(config),
                        # opened from an invitation to rate (SMS, hall staff): the rating says so
                        "invited": request.query_params.get("invited") == "1"},
    })


async def complaint(request: Request) -> Response:
    """The public 办不成事反映 page: anyone, no login, no ticket needed."""
    config = hall_config(request)
    return templates.TemplateResponse(request, "complaint.html", {
        "theme": "light",
        "hall_name": config.hall.name,
        "groups": _grouped_services(config),
        "windows": config.windows,
        "page_config": {},
    })


def qr_svg(data: str) -> bytes:
    """An SVG QR code (one path, scales to any size on a screen or a phone)."""
    qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=2,
                       image_factory=qrcode.image.svg.SvgPathImage)
    qr.add_data(data)
    qr.make(fit=True)
    return qr.make_image().to_string(encoding="unicode").encode("utf-8")


async def ticket_qr(request: Request) -> Response:
    token = request.path_params["token"]
    if not TOKEN.fullmatch(token):
        raise HTTPException(404)
    # the address the kiosk reached the server by is the one phones in the hall can reach too,
    # with the hall's prefix (hall.web.page_url)
    url = page_url(request, f"/t/{token}")
    return Response(qr_svg(url), media_type="image/svg+xml",
                    headers={"Cache-Control": "private, max-age=86400"})


def routes() -> list[BaseRoute]:
    return [
        Route("/kiosk", kiosk, methods=["GET"], name="kiosk"),
        Route("/screen", screen, methods=["GET"], name="screen"),
        Route("/screen/window/{n:int}", window_screen, methods=["GET"], name="window_screen"),
        Route("/t/{token}", ticket_page, methods=["GET"], name="ticket_page"),
        Route("/t/{token}/qr.svg", ticket_qr, methods=["GET"], name="ticket_qr"),
        Route("/complaint", complaint, methods=["GET"], name="complaint"),
        Mount("/static/displays", StaticFiles(directory=STATIC), name="static-displays"),
    ]
