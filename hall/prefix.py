"""The URL prefix a hall is served under (issue 13: one deployment, several halls, each hall's
whole app at `/h/{hall}/...`; a single hall keeps today's URLs, prefix "").

The prefix is never configured in the hall app: it is the ASGI `root_path` of the request, set
by whatever mounts the app (Starlette's `Mount` sets it to the mount path, uvicorn's
`root_path=` behind a proxy that strips it). So one app serves unchanged at "/" and under any
mount, and every URL the server hands a client is built here from the request itself:

* `base_of`: the prefix ("" or "/h/demo"), for pages (`{{ base }}` in templates, the
  `data-base` of `<html>` that hall.js reads) and absolute URLs (QR codes);
* `route_path`: the path inside the hall app, for checks that look at paths (hall.perimeter);
* `cookie_path`: the `Path` of the session and device cookies, so two halls on one host
  neither share nor overwrite each other's cookies.

URLs that the core stores or sends to device adapters (the `audio` of a `ticket.called` event,
`/audio/<id>.wav`) stay relative to the hall app: events are shared with adapters that never
see a request, and the page that plays one adds its own base (`Hall.url` in hall.js).
See docs/url-prefix.md.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def base_of(scope: Mapping[str, Any]) -> str:
    """The hall's prefix: "" at the root of the host, else "/h/demo" (never a trailing "/")."""
    return str(scope.get("root_path") or "").rstrip("/")


def route_path(scope: Mapping[str, Any]) -> str:
    """The request's path inside the hall app ("/api/tickets" whatever the prefix). Starlette
    keeps the full path in `path` and the mount in `root_path`; this strips the one from the
    other as its router does."""
    path = str(scope.get("path") or "")
    base = base_of(scope)
    if base and (path == base or path.startswith(base + "/")):
        return path[len(base):] or "/"
    return path


def cookie_path(scope: Mapping[str, Any]) -> str:
    """`Path` of a cookie the hall sets: "/h/demo/" under a prefix (the browser then sends it
    to that hall only), "/" at the root. The same value must be used to delete it."""
    return base_of(scope) + "/"
