"""Personal accounts, sessions and lockout (domain.md: Privacy and security).

* No default accounts: the first one is made with `python -m hall user add`.
* Passwords are hashed with Argon2id (memory-hard); hashing runs in a thread so a login never
  stalls the hall's screens.
* A session is a random id stored in the database and sent as a signed, HttpOnly,
  SameSite=Strict cookie: logout and idle timeout end it on the server, not only in the browser.
* Five wrong passwords lock the account for 15 minutes; every attempt lands in the audit log.
* A clerk's session is bound to one window; managers, admins and auditors log in without one.
"""

from __future__ import annotations

import asyncio
import secrets
import sqlite3
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from itsdangerous import BadSignature, URLSafeSerializer

from hall import errors
from hall.service import Actor, HallService, audit
from hall.store import Tx

ROLES = ("clerk", "manager", "admin", "auditor")
ROLE_NAMES = {"clerk": "窗口人员", "manager": "管理员", "admin": "系统管理员", "auditor": "审计员"}
MAX_FAILURES = 5
LOCK_SECONDS = 15 * 60
IDLE_SECONDS = 8 * 60 * 60  # a clerk's shift; the pad refreshes last_seen on every action
COOKIE = "hall_session"

# OWASP's Argon2id floor (19 MiB, 2 passes): memory-hard, yet eight clerks logging in at
# opening time cost a hall server 150 MiB at most, not the 512 MiB of argon2-cffi's default.
_hasher = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)


@dataclass(frozen=True)
class Session:
    id: str
    username: str
    role: str
    window: int | None

    def actor(self, source: str | None) -> Actor:
        return Actor(self.username, source)


def check_username(username: str) -> None:
    if not username or len(username) > 64 or not username.replace("_", "").replace(
            "-", "").replace(".", "").isalnum():
        raise errors.invalid("用户名只能包含字母、数字和 _ - .，不超过64个字符", "invalid_username")


def check_password(password: str) -> None:
    if len(password) < 8:
        raise errors.invalid("密码至少8位", "weak_password")


class Auth:
    def __init__(self, service: HallService) -> None:
        self.service = service
        self._serializer: URLSafeSerializer | None = None

    async def _secret(self) -> URLSafeSerializer:
        if self._serializer is None:
            candidate = secrets.token_urlsafe(32)

            def op(tx: Tx) -> str:
                tx.conn.execute("INSERT OR IGNORE INTO meta (key, value) VALUES ('secret', ?)",
                                (candidate,))
                return tx.one("SELECT value FROM meta WHERE key = 'secret'")[0]

            secret = await self.service.store.write(op, self.service.clock())
            self._serializer = URLSafeSerializer(secret, salt="hall-session")
        return self._serializer

    async def add_user(self, username: str, role: str, password: str,
                       actor: Actor | None = None) -> None:
        check_username(username)
        if role not in ROLES:
            raise errors.invalid(f"角色只能是 {'、'.join(ROLE_NAMES.values())} 之一",
                                 "invalid_role", "role")
        check_password(password)
        pwhash = await asyncio.to_thread(_hasher.hash, password)
        now = self.service.clock()
        actor = actor or Actor("cli", "cli")

        def op(tx: Tx) -> None:
            if tx.one("SELECT 1 FROM users WHERE username = ?", (username,)):
                raise errors.conflict("该用户名已存在", "user_exists", "username")
            tx.conn.execute("INSERT INTO users (username, role, pwhash, created_at) "
                            "VALUES (?, ?, ?, ?)", (username, role, pwhash, now.timestamp()))
            audit(tx, actor, "user.add", username, True, role)

        await self.service.store.write(op, now)

    async def users(self) -> list[dict[str, object]]:
        """Accounts without their hashes, for the admin's list."""
        def read(conn: sqlite3.Connection) -> list[dict[str, object]]:
            rows = conn.execute("SELECT username, role, active, locked_until, created_at, "
                                "(SELECT window FROM sessions s WHERE s.username = u.username "
                                "ORDER BY last_seen DESC LIMIT 1) AS window FROM users u "
                                "ORDER BY username").fetchall()
            return [dict(r) for r in rows]

        return await self.service.store.read(read)

    async def login(self, username: object, password: object, window: object,
                    source: str | None) -> tuple[Session, str]:
        if not isinstance(username, str) or not isinstance(password, str):
            raise errors.invalid("需要用户名和密码", "invalid_login")
        if window is not None and (not isinstance(window, int) or isinstance(window, bool)):
            raise errors.invalid("窗口号必须是整数", "invalid_window", "window")
        now = self.service.clock()
        ts = now.timestamp()
        row = await self.service.store.read(lambda conn: conn.execute(
            "SELECT * FROM users WHERE username = ?", (username,)).fetchone())
        actor = Actor(username, source)
        refusal = errors.unauthenticated("用户名或密码错误", "bad_credentials")
        if row is None or not row["active"]:
            await asyncio.to_thread(_dummy_verify)  # same time as a real check: no user probing
            await self.service.record_audit(actor, "login", f"window:{window}", False,
                                            "unknown user")
            raise refusal
        if row["locked_until"] and row["locked_until"] > ts:
            minutes = int((row["locked_until"] - ts) // 60) + 1
            await self.service.record_audit(actor, "login", f"window:{window}", False, "locked")
            raise errors.HallError(423, "locked",
                                   f"账户已锁定，请 {minutes} 分钟后再试或联系管理员")
        if not await asyncio.to_thread(_verify, row["pwhash"], password):
            def fail(tx: Tx) -> int:
                failures = tx.one("UPDATE users SET failures = failures + 1 WHERE username = ? "
                                  "RETURNING failures", (username,))[0]
                if failures >= MAX_FAILURES:
                    tx.conn.execute("UPDATE users SET locked_until = ?, failures = 0 "
                                    "WHERE username = ?", (ts + LOCK_SECONDS, username))
                audit(tx, actor, "login", f"window:{window}", False,
                      "locked" if failures >= MAX_FAILURES else "bad password")
                return failures

            if await self.service.store.write(fail, now) >= MAX_FAILURES:
                raise errors.HallError(423, "locked",
                                       f"密码连续错误{MAX_FAILURES}次，账户已锁定15分钟")
            raise refusal
        role = row["role"]
        if role == "clerk" and window is None:
            raise errors.invalid("窗口人员登录需要选择窗口", "window_required")
        if window is not None:
            if role == "auditor":
                raise errors.forbidden("审计员不能登录窗口")
            if not self.service.config.has_window(window):
                raise errors.not_found(f"没有 {window} 号窗口", "unknown_window")
        session_id = secrets.token_urlsafe(24)

        def ok(tx: Tx) -> None:
            tx.conn.execute("UPDATE users SET failures = 0, locked_until = NULL "
                            "WHERE username = ?", (username,))
            if window is not None:  # one clerk per window: a new login ends the old session
                tx.conn.execute("DELETE FROM sessions WHERE window = ?", (window,))
            tx.conn.execute("INSERT INTO sessions (id, username, window, created_at, last_seen) "
                            "VALUES (?, ?, ?, ?, ?)", (session_id, username, window, ts, ts))

        await self.service.store.write(ok, now)
        if window is not None:
            await self.service.open_window(window, actor)
        else:
            await self.service.record_audit(actor, "login", None, True, role)
        serializer = await self._secret()
        return Session(session_id, username, role, window), serializer.dumps(session_id)

    async def session(self, cookie: str | None) -> Session | None:
        if not cookie:
            return None
        try:
            session_id = (await self._secret()).loads(cookie)
        except BadSignature:
            return None
        now = self.service.clock().timestamp()

        def read(conn: sqlite3.Connection) -> sqlite3.Row | None:
            return conn.execute(
                "SELECT s.*, u.role, u.active FROM sessions s JOIN users u "
                "ON u.username = s.username WHERE s.id = ?", (session_id,)).fetchone()

        row = await self.service.store.read(read)
        if row is None or not row["active"] or now - row["last_seen"] > IDLE_SECONDS:
            return None
        if now - row["last_seen"] > 60:
            await self.service.store.write(lambda tx: tx.conn.execute(
                "UPDATE sessions SET last_seen = ? WHERE id = ?", (now, session_id)) and None,
                self.service.clock())
        return Session(row["id"], row["username"], row["role"], row["window"])

    async def logout(self, session: Session, source: str | None) -> None:
        await self.service.store.write(lambda tx: tx.conn.execute(
            "DELETE FROM sessions WHERE id = ?", (session.id,)) and None, self.service.clock())
        if session.window is not None:
            await self.service.close_window(session.window, session.actor(source))
        else:
            await self.service.record_audit(session.actor(source), "logout", None, True)


def _verify(pwhash: str, password: str) -> bool:
    try:
        return _hasher.verify(pwhash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


_dummy: list[str] = []


def _dummy_verify() -> None:
    """Spend a real verification's time on an unknown name, so names cannot be probed."""
    if not _dummy:
        _dummy.append(_hasher.hash(secrets.token_urlsafe(12)))
    _verify(_dummy[0], "wrong-password")
