"""Pages at the windows: the clerk's counter pad (/counter), the window's rating tablet
(/evaluate/{n}) and the enrolment form of a kiosk or tablet (/device). The manager's pages live
in `managers/`.

All are shells: login, state and every operation go through the JSON API with the session
cookie, so the pad after a reload or a lost connection shows exactly what the server holds
(GET /api/windows/{n}) and a refusal is the server's own message. The handlers only hand the
page the configuration's names (windows, services, step names of hall.cases), so a label
on a page never drifts from what the core calls it.

The rating tablet is a public device facing the citizen: it shows the window's name and, for
the ticket just finished there, the rating form; never who rated what.
"""

from __future__ import annotations

from pathlib import Path

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from hall.web import hall_config, templates, window_of

STATIC = Path(__file__).resolve().parent / "static"

OUTCOMES = (("done", "办结", "1"), ("accepted", "受理", "2"),
            ("accepted_missing", "容缺受理", "3"), ("rejected", "不予受理", "4"),
            ("failed", "办不成", "5"))

# The tablet goes back to 欢迎评价 when nobody touches it for this long (the citizen walked
# away: the next one must not find someone else's rating), and says thanks this long.
EVALUATE_IDLE_SECONDS = 60
EVALUATE_THANKS_SECONDS = 5

async def counter(request: Request) -> Response:
    config = hall_config(request)
    return templates.TemplateResponse(request, "counter.html", {
        "theme": "light",
        "hall_name": config.hall.name,
        "windows": config.windows,
        "queues": config.queues,
        "outcomes": OUTCOMES,
        "page_config": {
            "windows": {str(w.number): {"name": w.name, "queues": list(w.queues)}
                        for w in config.windows},
            "queues": {q.id: q.name for q in config.queues},
            "outcomes": {o: name for o, name, _ in OUTCOMES},
        },
    })


async def evaluate(request: Request) -> Response:
    """The rating tablet of window n: a shell; the pending ticket comes from /api/evaluate."""
    config = hall_config(request)
    window = window_of(request)
    return templates.TemplateResponse(request, "evaluate.html", {
        "theme": "dark",
        "hall_name": config.hall.name,
        "window": window,
        "page_config": {"window": window.number, "name": window.name,
                        "idle_seconds": EVALUATE_IDLE_SECONDS,
                        "thanks_seconds": EVALUATE_THANKS_SECONDS},
    })


async def device(request: Request) -> Response:
    """Enrolling this browser as a kiosk or a tablet (issue 9): one form for the 登记码."""
    return templates.TemplateResponse(request, "device.html", {
        "theme": "light", "hall_name": hall_config(request).hall.name, "page_config": {}})


def routes() -> list[BaseRoute]:
    return [
        Route("/counter", counter, methods=["GET"], name="counter"),
        Route("/evaluate/{n:int}", evaluate, methods=["GET"], name="evaluate"),
        Route("/device", device, methods=["GET"], name="device"),
        Mount("/static/counters", StaticFiles(directory=STATIC), name="static-counters"),
    ]
