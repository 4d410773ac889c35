"""The perimeter: what every HTTP request passes before a route sees it, and every answer after.

One pure ASGI middleware (no BaseHTTPMiddleware: it would buffer bodies and break streaming),
wired once in `hall.app`:

* **Cross-site requests** (issue 9.3). A page on another port of the same host is *same-site*
  for the browser, so the `SameSite=Strict` session cookie went along and a clerk's window was
  paused by it. A state-changing request (POST, PUT, PATCH, DELETE) that carries an `Origin`
  header must come from this server's own origin (the `Host` it was sent to, or `[hall]
  public_url` behind a proxy); any other origin, and the opaque `null`, is refused with 403.
  A request *without* `Origin` is allowed: every browser sends `Origin` on a cross-origin
  POST, so a request without one comes from a kiosk, a device adapter, a script or `curl`,
  none of which carry a clerk's cookie by accident. (Decision recorded in docs/core.md.)
* **JSON only** (issue 9.3). A state-changing `/api/` request with a body must say
  `Content-Type: application/json`: text/plain, form and multipart bodies are what a foreign
  page can send without a CORS preflight, and they used to be parsed as JSON. 415 otherwise.
* **Headers on every answer** (issue 9.8): a Content-Security-Policy that allows only the
  server's own scripts (pages carry no inline script; the `<script type="application/json">`
  data block is not executed, so CSP does not touch it), `X-Content-Type-Options: nosniff`,
  `X-Frame-Options: DENY` with `frame-ancestors 'none'`, `Referrer-Policy: no-referrer`
  (phone pages have the ticket's secret token in their URL), and `Cache-Control: no-store` on
  manager answers and pages (contacts, complaints: nothing a shared browser should keep).
* **No 500 from bad input** (issue 9.4): the causes are fixed where input is read
  (`hall.api.read_json`, the query readers, `bounded_ids`); this is the last net for the three
  exception types only bad input raises (too deep, unencodable text, a number out of range),
  answered 400 in the error shape. Any other exception still reaches the 500 handler.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import urlsplit

from starlette import convertors

from hall.prefix import route_path

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})

# style-src-attr: some templates set a margin in a style attribute; no inline <style>, no
# inline script, no eval. data: images: the empty favicon of base.html.
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; "
       "style-src-attr 'unsafe-inline'; img-src 'self' data:; media-src 'self'; "
       "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
       "form-action 'self'; frame-ancestors 'none'")
SECURITY_HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
]
NO_STORE = (b"cache-control", b"no-store")
PRIVATE_PREFIXES = ("/api/manage", "/manage", "/api/me", "/api/login", "/api/windows",
                    "/a/", "/api/appointments", "/api/phone-tickets",
                    "/api/password",  # a person's booking
                    "/city", "/api/city")  # the city overview (hall/city_app.py)

# input that can only come from a malformed or hostile request (issue 9.4)
BAD_INPUT_ERRORS = (RecursionError, UnicodeError, OverflowError)


def error_body(code: str, message: str) -> bytes:
    return json.dumps({"error": {"code": code, "message": message}},
                      ensure_ascii=False).encode("utf-8")


async def answer(send: Send, status: int, code: str, message: str) -> None:
    body = error_body(code, message)
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return value.decode("latin-1")
    return None


def origin_allowed(origin: str | None, host: str | None, public_url: str = "") -> bool:
    """Pure: may a state-changing request with this `Origin` act? No `Origin`: not a browser
    page, allowed. Otherwise its host:port must be the one the request was sent to (`Host`) or
    the configured public URL's."""
    if origin is None:
        return True
    if origin == "null":
        return False
    parts = urlsplit(origin)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return False
    allowed = set()
    if host:
        allowed.add(_netloc(host, parts.scheme))
    if public_url:
        pub = urlsplit(public_url)
        allowed.add(_netloc(pub.netloc, pub.scheme))
    return _netloc(parts.netloc, parts.scheme) in allowed


def _netloc(netloc: str, scheme: str) -> str:
    """host:port with the scheme's default port made explicit and the host lower-cased."""
    netloc = netloc.strip().lower()
    if netloc.endswith("]") or ":" not in netloc.rsplit("]", 1)[-1]:
        netloc += ":443" if scheme == "https" else ":80"
    return netloc


def json_content_type(value: str | None) -> bool:
    return value is not None and value.split(";", 1)[0].strip().lower() == "application/json"


def _has_body(scope: Scope) -> bool:
    length = _header(scope, b"content-length")
    if length is not None:
        return length.strip() not in ("", "0")
    return _header(scope, b"transfer-encoding") is not None


class Perimeter:
    """The ASGI middleware. `public_url`: `[hall] public_url`, the origin pages are served
    from when a proxy stands in front of the server."""

    def __init__(self, app: ASGIApp, public_url: str = "") -> None:
        self.app = app
        self.public_url = public_url

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        # the path within this app: under a hall's prefix (/h/demo/api/...) too, as a city
        # mounts each hall's app at /h/{id} (hall/city_app.py, hall/prefix.py)
        path = route_path(scope)
        method: str = scope.get("method", "GET")
        if method in UNSAFE_METHODS:
            if not origin_allowed(_header(scope, b"origin"), _header(scope, b"host"),
                                  self.public_url):
                await answer(send, 403, "cross_origin",
                             "拒绝来自其他网页的操作请求，请在本系统的页面上操作")
                return
            if (path.startswith("/api/") and _has_body(scope)
                    and not json_content_type(_header(scope, b"content-type"))):
                await answer(send, 415, "unsupported_media_type",
                             "请求内容的格式不受支持，请用本系统的页面或接口格式提交")
                return
        private = path.startswith(PRIVATE_PREFIXES)
        started = False

        async def send_with_headers(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                headers = [h for h in message.get("headers", ())
                           if h[0].lower() not in _REPLACED]
                headers += SECURITY_HEADERS
                if private:
                    headers.append(NO_STORE)
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        except BAD_INPUT_ERRORS:
            if started:
                raise
            await answer(send_with_headers, 400, "bad_input", "请求内容无法处理，请检查后重试")


_REPLACED = {name for name, _ in SECURITY_HEADERS} | {NO_STORE[0]}


class BoundedInt(convertors.IntegerConvertor):
    """`{n:int}` in a path: at most 15 digits. Every id the hall has fits; a longer one used to
    reach SQLite and overflow its 64-bit integer (a 500); now it matches no route (a 404)."""

    regex = "[0-9]{1,15}"


def bounded_ids() -> None:
    """Make `{x:int}` path parameters bounded. Call before routes are built (hall.app)."""
    convertors.register_url_convertor("int", BoundedInt())
