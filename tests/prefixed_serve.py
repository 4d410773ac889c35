"""`python -m tests.prefixed_serve PREFIX serve ...`: `hall serve` with the hall's whole app
mounted under PREFIX (`/h/demo`), for the URL-prefix tests (tests/test_prefix.py).

It mounts the app the way a deployment of several halls does (issue 13): a Starlette `Mount`,
which sets the ASGI `root_path` to the mount path and keeps the full path in `path`, so a
request for `/h/demo/kiosk` reaches the hall as `/kiosk` and anything outside the prefix is
not the hall's (404). Everything else is `hall serve` itself (the same listener, timeouts,
WebSocket settings and database lock), reached by wrapping `hall.app.build_app`, which
`cmd_serve` looks up when it runs.

uvicorn's own `root_path=` is not used: it assumes a proxy in front that has already stripped
the prefix, so it serves `/kiosk` as if it were `/h/demo/kiosk` and `/h/demo/kiosk` not at all.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import AsyncIterator
from typing import Any

from starlette.applications import Starlette
from starlette.routing import Mount

import hall.app
from hall import cli


def mounted(prefix: str, app: Starlette) -> Starlette:
    """`app` under `prefix`; its lifespan (store, devices, background tasks) runs as the
    outer app's, since a mounted app's own lifespan is not run by Starlette."""
    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        async with app.router.lifespan_context(app):
            yield

    return Starlette(routes=[Mount(prefix, app=app)], lifespan=lifespan)


def main(argv: list[str]) -> int:
    prefix, rest = argv[0].rstrip("/"), argv[1:]
    build = hall.app.build_app

    def build_mounted(config: Any, db_path: Any, clock: Any = None,
                      public_url: str = "http://127.0.0.1:8000") -> Starlette:
        # a printed ticket's QR must open the hall's phone page, prefix included
        return mounted(prefix, build(config, db_path, clock, public_url=public_url + prefix))

    hall.app.build_app = build_mounted  # type: ignore[assignment]
    return cli.main(rest)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
