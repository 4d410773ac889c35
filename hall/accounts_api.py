"""HTTP routes of accounts (issue 10.3); hall/accounts.py does the work.

* `GET  /api/manage/users` — the accounts, never a password, hash or PIN hash (`?format=csv`).
  Admins, and managers too: a manager assigns clerks to windows by name, and the list holds
  nothing secret. Auditors read the audit log only.
* `POST /api/manage/users` (admin) `{"username", "role", "password"?, "staff_no"?, "pin"?}`
  → 201 `{"user", "temporary_password"?}`.
* `PATCH /api/manage/users/{name}` (admin) `{"role"?, "active"?, "unlock"?: true,
  "reset_password"?: true}` → `{"user", "temporary_password"?}`.
* `POST /api/password` `{"old", "new"}` — anyone logged in changes their own password; the only
  route (with /api/me and logout) a session that must change its password may use.
A refused admin action is audited as a failure, also when the caller is not an admin.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from hall import errors
from hall.accounts import Accounts
from hall.api import MANAGER_ROLES, as_list, ok, read_json, session_of
from hall.auth import ADMIN_ROLES, Auth, Session
from hall.guard import client_of

NOT_ADMIN = "账号管理需要系统管理员权限"


def _accounts(request: Request) -> Accounts:
    return Accounts(_auth(request))


def _auth(request: Request) -> Auth:
    return request.app.state.auth


async def _admin(request: Request, action: str, target: str | None) -> Session:
    """The caller, if an admin; anyone else logged in is refused and the attempt audited."""
    session = await session_of(request)
    if session.role not in ADMIN_ROLES:
        await request.app.state.service.record_audit(
            session.actor(client_of(request)), action, target, False, "forbidden")
        raise errors.forbidden(NOT_ADMIN)
    return session


async def users(request: Request) -> Response:
    if request.method == "POST":
        return await add_user(request)
    session = await session_of(request)
    if session.role not in (*ADMIN_ROLES, *MANAGER_ROLES):
        raise errors.forbidden(NOT_ADMIN)
    return as_list(request, "users", await _accounts(request).list())


async def add_user(request: Request) -> Response:
    session = await _admin(request, "user.add", None)
    body = await read_json(request)
    return ok(await _accounts(request).add(body, session.actor(client_of(request))), 201)


async def change_user(request: Request) -> Response:
    name = request.path_params["name"]
    session = await _admin(request, "user.change", name[:64])
    body = await read_json(request)
    return ok(await _accounts(request).change(name, body, session.actor(client_of(request))))


async def change_password(request: Request) -> Response:
    session = await session_of(request, password_change=True)
    body = await read_json(request)
    unknown = set(body) - {"old", "new"}
    if unknown:
        raise errors.invalid("只能填写当前密码和新密码", "invalid_password_change")
    await _auth(request).change_password(session, body.get("old"), body.get("new"),
                                         client_of(request))
    return ok({"user": {"username": session.username, "role": session.role},
               "window": session.window, "must_change_password": False})


def routes() -> list[BaseRoute]:
    return [
        Route("/api/manage/users", users, methods=["GET", "POST"]),
        Route("/api/manage/users/{name}", change_user, methods=["PATCH"]),
        Route("/api/password", change_password, methods=["POST"]),
    ]
