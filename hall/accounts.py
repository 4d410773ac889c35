"""The admin's accounts (issue 10.3): add a user, reset a password, unlock, deactivate and
reactivate, change a role. The accounts page and `/api/manage/users` call these.

Choices where the issue is open, and why:
* A reset gives a generated temporary password (hall/passwords.py `temporary`), shown to the
  admin once in the answer and never stored or shown again; the user must change it at the next
  login. A generated one cannot be a weak one an admin typed in a hurry, nor one reused across
  accounts. A new account may get a password the admin types (to read out over the phone) or a
  generated one; either way the user must change it, since the admin knows it.
* Reset, deactivation and a role change end the user's sessions at once (their windows close):
  a reset is often done because someone else knew the password, and a session must never keep
  rights its account no longer has. Unlock and reactivation leave sessions alone.
* Unlock clears the lockout back-off of that name from every address (hall/lockout.py).
* No change may leave the hall without an active admin: the last one cannot deactivate or
  demote themselves (nor be by anyone). The first admin comes from `python -m hall user add`.
* Every action is audited in its own transaction with who, the target user and the outcome;
  a refused one too (as a failure, with the reason's code). Never a password, hash or PIN.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from hall import errors, passwords
from hall.auth import ROLE_NAMES, ROLES, Auth, check_username, hash_secret
from hall.service import Actor, audit
from hall.store import Tx

ADD_FIELDS = frozenset({"username", "role", "password", "staff_no", "pin"})
CHANGES = ("role", "active", "unlock", "reset_password")  # applied in this order
LAST_ADMIN = ("这是最后一个启用的系统管理员账户，不能停用或改为其他角色；"
              "请先添加另一个系统管理员")
ENDED = {"reset_password": "您的密码已被管理员重置，请用新密码重新登录",
         "active": "您的账户已被停用，如有疑问请联系系统管理员",
         "role": "您的账户角色已变更，请重新登录"}


@dataclass(frozen=True)
class Change:
    """One PATCH, checked: what to set (None: leave as it is)."""
    role: str | None = None
    active: bool | None = None
    unlock: bool = False
    reset_password: bool = False

    def actions(self) -> list[str]:
        """The audit actions this change asks for (to record a refusal of each)."""
        out = ["user.role"] if self.role is not None else []
        if self.active is not None:
            out.append("user.activate" if self.active else "user.deactivate")
        if self.unlock:
            out.append("user.unlock")
        if self.reset_password:
            out.append("user.reset_password")
        return out


def parse_change(body: dict[str, Any]) -> Change:
    """Pure: the admin's PATCH body as a Change, or a refusal in Chinese."""
    unknown = set(body) - set(CHANGES)
    if not body or unknown:
        raise errors.invalid("只能修改角色、启用或停用、解除锁定、重置密码",
                             "invalid_user_change")
    role = body.get("role")
    if "role" in body and role not in ROLES:
        raise errors.invalid(f"角色只能是 {'、'.join(ROLE_NAMES.values())} 之一",
                             "invalid_role", "role")
    active = body.get("active")
    if "active" in body and not isinstance(active, bool):
        raise errors.invalid("请选择启用或停用", "invalid_active", "active")
    for flag in ("unlock", "reset_password"):
        if flag in body and body[flag] is not True:
            raise errors.invalid("该项只能为 是", "invalid_user_change", flag)
    return Change(role=role, active=active, unlock=body.get("unlock") is True,
                  reset_password=body.get("reset_password") is True)


def leaves_an_admin(active_admins: set[str], username: str, role: str, active: bool) -> bool:
    """Pure: whether some active admin remains once `username` has `role` and `active`."""
    after = set(active_admins)
    if role == "admin" and active:
        after.add(username)
    else:
        after.discard(username)
    return bool(after)


def user_view(row: sqlite3.Row | dict[str, Any], now: float,
              tz: Any) -> dict[str, Any]:
    """Pure: one account as the admin sees it, without any hash or secret."""
    def iso(ts: float | None) -> str | None:
        return datetime.fromtimestamp(ts, tz).isoformat(timespec="seconds") if ts else None

    locked_until = row["locked_until"]
    locked = locked_until is not None and locked_until > now
    return {"username": row["username"], "role": row["role"],
            "role_name": ROLE_NAMES.get(row["role"], row["role"]),
            "staff_no": row["staff_no"], "active": bool(row["active"]), "locked": locked,
            "locked_until": iso(locked_until) if locked else None,
            "must_change": bool(row["must_change"]), "last_login_at": iso(row["last_login_at"]),
            "created_at": iso(row["created_at"]), "window": row["window"]}


_USERS = ("SELECT u.username, u.role, u.staff_no, u.active, u.must_change, u.last_login_at, "
          "u.created_at, (SELECT MAX(f.locked_until) FROM login_failures f "
          "WHERE f.username = u.username) AS locked_until, "
          "(SELECT w.number FROM windows w WHERE w.clerk = u.username "
          "ORDER BY w.number LIMIT 1) AS window FROM users u")


class Accounts:
    def __init__(self, auth: Auth) -> None:
        self.auth = auth
        self.service = auth.service

    async def list(self) -> list[dict[str, Any]]:
        now = self.service.clock().timestamp()

        def read(conn: sqlite3.Connection) -> list[dict[str, Any]]:
            return [user_view(r, now, self.service.tz)
                    for r in conn.execute(_USERS + " ORDER BY u.username")]

        return await self.service.store.read(read)

    async def user(self, username: str) -> dict[str, Any]:
        now = self.service.clock().timestamp()
        row = await self.service.store.read(lambda conn: conn.execute(
            _USERS + " WHERE u.username = ?", (username,)).fetchone())
        if row is None:
            raise errors.not_found(f"没有这个用户：{username}", "unknown_user")
        return user_view(row, now, self.service.tz)

    async def add(self, body: dict[str, Any], actor: Actor) -> dict[str, Any]:
        """A new account; `password` left out (or empty) gets a generated one, returned once
        as `temporary_password`. The user must change it at the first login either way."""
        username = body.get("username")
        try:
            if set(body) - ADD_FIELDS:
                raise errors.invalid("只能填写用户名、角色、密码、工号和呼叫器密码",
                                     "invalid_user")
            check_username(username)
            password = body.get("password")
            generated = None
            if password is None or password == "":
                password = generated = passwords.temporary()
            staff_no = body.get("staff_no") or None
            pin = body.get("pin") or None
            await self.auth.add_user(username, body.get("role"), password, actor,
                                     staff_no, pin, must_change=True)
        except errors.HallError as exc:
            await self.service.record_audit(
                actor, "user.add", username[:64] if isinstance(username, str) else None,
                False, exc.code)
            raise
        out: dict[str, Any] = {"user": await self.user(username)}
        if generated is not None:
            out["temporary_password"] = generated
        return out

    async def change(self, username: str, body: dict[str, Any],
                     actor: Actor) -> dict[str, Any]:
        """`PATCH /api/manage/users/{name}`: the changes of `CHANGES`, all or none, each
        audited; a reset answers the temporary password once."""
        target = username[:64]
        try:
            change = parse_change(body)
        except errors.HallError as exc:
            await self.service.record_audit(actor, "user.change", target, False, exc.code)
            raise
        temporary = passwords.temporary() if change.reset_password else None
        pwhash = await hash_secret(temporary) if temporary else None
        now = self.service.clock()
        ts = now.timestamp()

        def op(tx: Tx) -> list[int]:
            row = tx.one("SELECT * FROM users WHERE username = ?", (username,))
            if row is None:
                raise errors.not_found(f"没有这个用户：{username}", "unknown_user")
            role = change.role or row["role"]
            active = bool(row["active"]) if change.active is None else change.active
            admins = {r[0] for r in tx.all(
                "SELECT username FROM users WHERE role = 'admin' AND active = 1")}
            if not leaves_an_admin(admins, username, role, active):
                raise errors.conflict(LAST_ADMIN, "last_admin")
            ended: str | None = None
            done: list[str] = []
            if change.role is not None and change.role != row["role"]:
                tx.conn.execute("UPDATE users SET role = ? WHERE username = ?",
                                (role, username))
                audit(tx, actor, "user.role", username, True, f"{row['role']}→{role}")
                ended, done = ENDED["role"], [*done, "role"]
            if change.active is not None and change.active != bool(row["active"]):
                tx.conn.execute("UPDATE users SET active = ? WHERE username = ?",
                                (int(active), username))
                audit(tx, actor, "user.activate" if active else "user.deactivate", username,
                      True, None)
                if not active:
                    ended = ENDED["active"]
                done.append("activate" if active else "deactivate")
            if change.unlock:
                cleared = tx.conn.execute("DELETE FROM login_failures WHERE username = ?",
                                          (username,)).rowcount
                tx.conn.execute("UPDATE users SET failures = 0, locked_until = NULL "
                                "WHERE username = ?", (username,))
                audit(tx, actor, "user.unlock", username, True, f"cleared:{cleared}")
                done.append("unlock")
            if pwhash is not None:
                tx.conn.execute("UPDATE users SET pwhash = ?, must_change = 1 "
                                "WHERE username = ?", (pwhash, username))
                audit(tx, actor, "user.reset_password", username, True, None)
                ended, done = ended or ENDED["reset_password"], [*done, "reset_password"]
            windows = self.auth.end_user_sessions(tx, username, ended, ts) if ended else []
            if done:
                tx.emit("user.changed", {"username": username, "changes": done})
            return windows

        try:
            windows = await self.service.store.write(op, now)
        except errors.HallError as exc:
            for action in change.actions():
                await self.service.record_audit(actor, action, target, False, exc.code)
            raise
        for window in windows:  # the clerk is gone: the window closes, as a force logout
            await self.service.close_window(window, actor)
        out: dict[str, Any] = {"user": await self.user(username)}
        if temporary is not None:
            out["temporary_password"] = temporary
        return out
