"""The composition root of a city: several halls in one server process (issue 13.1).

Each hall of the city config is a whole hall app (`hall.app.build_app`) with its own store
(hall/locate.py), mounted at `/h/{id}`: its kiosk is `/h/{id}/kiosk`, its API
`/h/{id}/api/…`, its screens' stream `/h/{id}/ws`. Numbering, routing, events and screens are
therefore per hall with no change to any of them. Beside the halls, the city's own routes: the
overview page `/city` and its API `/api/city/…` (hall/city_api.py), over the city's store of
city managers (hall/city_desk.py).

Starlette does not run a mounted app's lifespan: the city's lifespan enters every hall's
(`router.lifespan_context`), one after the other, and leaves them in reverse order; a hall
that cannot start stops the ones started before it, and the server with them.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route

import hall.web
import managers.city_pages
from hall import api, city_api, errors, perimeter
from hall.app import build_app, page_urls
from hall.city_config import CityConfig, HallSite
from hall.city_desk import CityDesk
from hall.city_figures import HallReader
from hall.config import HallConfig
from hall.limits import parse_networks
from hall.locate import CITY, hall_db, voice_dir
from hall.ws_direct import DirectFrames


def hall_url(city: CityConfig, hall_id: str, base: str) -> str:
    """Where phones reach hall `hall_id` (the QR codes of its tickets): its own
    `[halls.hall] public_url`, else the city's address plus /h/{id}."""
    site = city.site(hall_id)
    assert site is not None
    return site.config.hall.public_url or f"{city.public_url or base}/h/{hall_id}"


def served_config(city: CityConfig, site: HallSite) -> HallConfig:
    """A hall's config as its app runs it: behind the city's `public_url` (a proxy), the hall's
    own origin check (hall/perimeter.py) must accept pages served from that address too."""
    if city.public_url and not site.config.hall.public_url:
        hall = replace(site.config.hall, public_url=f"{city.public_url}/h/{site.id}")
        return replace(site.config, hall=hall)
    return site.config


def build_city_app(city: CityConfig, db: str, clock: Any = None,
                   public_url: str = "http://127.0.0.1:8000") -> Starlette:
    """`db`: the deployment's `--db`; each hall's store and the city's are named from it.
    `public_url`: the server's address when `[city] public_url` does not say."""
    halls = [(site, build_app(served_config(city, site), hall_db(db, site.id), clock,
                              public_url=hall_url(city, site.id, public_url),
                              voice_dir=voice_dir(db, site.id)))
             for site in city.halls]

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with contextlib.AsyncExitStack() as stack:
            desk = await CityDesk.open(hall_db(db, CITY), city.tz, clock)
            stack.push_async_callback(desk.close)
            for _, sub in halls:
                await stack.enter_async_context(sub.router.lifespan_context(sub))
            app.state.city = desk
            app.state.readers = [HallReader(site, sub.state.service, sub.state.alarms)
                                 for site, sub in halls]
            yield

    proxies = {p for site in city.halls for p in site.config.limits.trusted_proxies}
    routes: list[BaseRoute] = [
        *(Mount(f"/h/{site.id}", app=sub) for site, sub in halls),
        *city_api.routes(),
        *managers.city_pages.routes(),
        *hall.web.routes(),
        Route("/", _home, methods=["GET"]),
    ]
    app = Starlette(
        routes=routes,
        lifespan=lifespan,
        middleware=[Middleware(DirectFrames),
                    Middleware(perimeter.Perimeter, public_url=city.public_url)],
        exception_handlers={
            errors.HallError: api.hall_error,
            HTTPException: api.http_error,
            500: api.server_error,
        },
    )
    app.state.city_config = city
    app.state.trusted_proxies = parse_networks(sorted(proxies))  # hall/guard.py client_of
    return app


async def _home(request: Request) -> Response:
    return RedirectResponse("/city", status_code=302)


def city_page_urls(base: str, city: CityConfig) -> list[tuple[str, list[tuple[str, str]]]]:
    """What `serve` prints at start: every hall's pages under its prefix."""
    return [(f"{site.name}（{site.level_name}，{site.id}）",
             page_urls(f"{base}/h/{site.id}", site.config)) for site in city.halls]
