"""The citizen's booking pages: `/book` (choose a service, a day, a slot, give name, ID and
phone, get a code and a QR; or 现在取号, a walk-in ticket from the phone) and `/a/{token}`
(the booking or phone ticket, to show at the kiosk, change or cancel), made for a phone.

Like displays.pages, the handlers render a shell from the configuration; everything live comes
from the JSON API (hall/booking_api.py). The QR of `/a/{token}` is what the kiosk's scanner
reads for check-in: it types the URL, and the kiosk page takes the token from it.
"""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from displays.pages import TOKEN, qr_svg
from hall.web import hall_config, page_url, templates


async def book(request: Request) -> Response:
    config = hall_config(request)
    if not config.booking.enabled:
        raise HTTPException(404)
    return templates.TemplateResponse(request, "book.html", {
        "theme": "light",
        "hall_name": config.hall.name,
        "rules": config.booking.rules,
        "booking": config.booking,
        "page_config": {},
    })


async def appointment_page(request: Request) -> Response:
    config = hall_config(request)
    token = request.path_params["token"]
    if not config.booking.enabled or not TOKEN.fullmatch(token):
        raise HTTPException(404)
    return templates.TemplateResponse(request, "appointment.html", {
        "theme": "light",
        "hall_name": config.hall.name,
        "page_config": {"token": token},
    })


async def appointment_qr(request: Request) -> Response:
    token = request.path_params["token"]
    if not TOKEN.fullmatch(token):
        raise HTTPException(404)
    url = page_url(request, f"/a/{token}")
    return Response(qr_svg(url), media_type="image/svg+xml")


def routes() -> list[BaseRoute]:
    return [
        Route("/book", book, methods=["GET"], name="book"),
        Route("/a/{token}", appointment_page, methods=["GET"], name="appointment_page"),
        Route("/a/{token}/qr.svg", appointment_qr, methods=["GET"], name="appointment_qr"),
    ]
