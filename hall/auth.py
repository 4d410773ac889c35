"""Personal accounts, sessions and lockout (domain.md: Privacy and security).

* No default accounts: the first one is made with `python -m hall user add`.
* Passwords are hashed with Argon2id (memory-hard); hashing runs in a thread so a login never
  stalls the hall's screens.
* A session is a random id stored in the database and sent as a signed, HttpOnly,
  SameSite=Strict cookie: logout and idle timeout end it on the server, not only in the browser.
* Five wrong passwords from one address lock that name from that address, with back-off
  (hall/lockout.py); unknown names are answered the same way; every attempt is audited.
* A clerk's session is bound to one window; managers, admins and auditors log in without one.

Passwords (issue 10.3; the rules and their reasons are in hall/passwords.py, the pages show
`passwords.RULES`): 10 to 128 characters; at least two kinds among upper-case letters,
lower-case letters, digits and symbols; not the username and not containing it; not a common
password; a new one differs from the current one. They hold for every password set, on the
command line too.

Must change (issue 10.3): a password an admin set (a new account made on the accounts page, a
reset) is known to someone else, so the user must replace it. Login answers
`must_change_password: true`; until the change, `session()` gives nothing to the API but
`POST /api/password`, `GET /api/me` and logout (hall/api.py `session_of`), a clerk's window is
not opened, and the caller pad's PIN login is refused. The first admin comes from
`python -m hall user add` and is not asked (whoever runs it types their own password).
"""

from __future__ import annotations

import asyncio
import secrets
import sqlite3
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from itsdangerous import BadSignature, URLSafeSerializer

from hall import errors, lockout, passwords
from hall.service import Actor, HallService, audit
from hall.store import Tx

ROLES = ("clerk", "manager", "admin", "auditor")
ROLE_NAMES = {"clerk": "窗口人员", "manager": "管理员", "admin": "系统管理员", "auditor": "审计员"}
IDLE_SECONDS = 8 * 60 * 60  # a clerk's shift; the pad refreshes last_seen on every action
COOKIE = "hall_session"
FORCED = "已由管理员强制下线，请重新登录"
LEFT = "您已在其他设备上退出本窗口，请重新登录"
CHANGE_FIRST = "请先修改密码后再继续操作"
# who may do what beyond the manager routes (hall/api.py MANAGER_ROLES): the accounts page is
# the admin's; the audit log is read by the auditor and the admin (docs/security.md says why)
ADMIN_ROLES = ("admin",)
AUDIT_ROLES = ("auditor", "admin")

# OWASP's Argon2id floor (19 MiB, 2 passes): memory-hard, yet eight clerks logging in at
# opening time cost a hall server 150 MiB at most, not the 512 MiB of argon2-cffi's default.
_hasher = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)


@dataclass(frozen=True)
class Session:
    id: str
    username: str
    role: str
    window: int | None
    must_change: bool = False  # only the password change is open to this session

    def actor(self, source: str | None) -> Actor:
        return Actor(self.username, source)


def check_username(username: object) -> None:
    if not isinstance(username, str) or not username or len(username) > 64 or \
            not username.replace("_", "").replace("-", "").replace(".", "").isalnum():
        raise errors.invalid("用户名只能包含字母、数字和 _ - .，不超过64个字符", "invalid_username",
                             "username")


def check_password(password: object, username: str | None = None,
                   field: str = "password") -> str:
    """The password if it keeps the rules (hall/passwords.py); else a refusal naming the rule."""
    if not isinstance(password, str) or not password:
        raise errors.invalid("请填写密码", "password_required", field)
    problem = passwords.problem(password, username)
    if problem:
        raise errors.invalid(problem, "weak_password", field)
    return password


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
                       actor: Actor | None = None, staff_no: str | None = None,
                       pin: str | None = None, must_change: bool = False) -> None:
        """`staff_no` and `pin` let the clerk log in on a hardware caller pad; the PIN is
        hashed like a password (it is short, so the shared lockout is what guards it).
        `must_change`: someone else chose the password (an admin on the accounts page)."""
        check_username(username)
        if role not in ROLES:
            raise errors.invalid(f"角色只能是 {'、'.join(ROLE_NAMES.values())} 之一",
                                 "invalid_role", "role")
        check_password(password, username)
        if (staff_no is None) != (pin is None):
            raise errors.invalid("工号和呼叫器密码需一起设置", "invalid_pin", "pin")
        if staff_no is not None and not (isinstance(staff_no, str) and staff_no.isascii()
                                         and staff_no.isdigit() and len(staff_no) <= 8):
            raise errors.invalid("工号只能是1至8位数字", "invalid_staff_no", "staff_no")
        if pin is not None and not (isinstance(pin, str) and pin.isascii() and pin.isdigit()
                                    and 4 <= len(pin) <= 8):
            raise errors.invalid("呼叫器密码只能是4至8位数字", "invalid_pin", "pin")
        pwhash = await asyncio.to_thread(_hasher.hash, password)
        pinhash = await asyncio.to_thread(_hasher.hash, pin) if pin is not None else None
        now = self.service.clock()
        # the command line runs beside the server, not in it: no live client would get its
        # event (as `device add`, it emits none); the accounts page's additions do
        live = actor is not None
        actor = actor or Actor("cli", "cli")

        def op(tx: Tx) -> None:
            if tx.one("SELECT 1 FROM users WHERE username = ?", (username,)):
                raise errors.conflict("该用户名已存在", "user_exists", "username")
            if staff_no is not None and tx.one("SELECT 1 FROM users WHERE staff_no = ?",
                                               (staff_no,)):
                raise errors.conflict(f"工号 {staff_no} 已被使用", "staff_no_exists", "staff_no")
            tx.conn.execute("INSERT INTO users (username, role, pwhash, created_at, staff_no, "
                            "pinhash, must_change) VALUES (?, ?, ?, ?, ?, ?, ?)",
                            (username, role, pwhash, now.timestamp(), staff_no, pinhash,
                             int(must_change)))
            audit(tx, actor, "user.add", username, True,
                  role + (f",staff_no:{staff_no}" if staff_no else ""))
            if live:
                tx.emit("user.changed", {"username": username, "changes": ["add"]})

        await self.service.store.write(op, now)

    async def login(self, username: object, password: object, window: object,
                    source: str | None) -> tuple[Session, str]:
        if not isinstance(username, str) or not isinstance(password, str):
            raise errors.invalid("需要用户名和密码", "invalid_login")
        if window is not None and (not isinstance(window, int) or isinstance(window, bool)):
            raise errors.invalid("请选择正确的窗口号", "invalid_window", "window")
        row = await self.service.store.read(lambda conn: conn.execute(
            "SELECT * FROM users WHERE username = ?", (username,)).fetchone())
        actor = Actor(username, source)
        lock = (username[:128], source or "unknown")
        await self._check_secret(row, "pwhash", password, actor, f"window:{window}",
                                 errors.unauthenticated("用户名或密码错误", "bad_credentials"),
                                 "password", lock)
        assert row is not None
        role = row["role"]
        pending = bool(row["must_change"])
        if role == "clerk" and window is None:
            raise errors.invalid("窗口人员登录需要选择窗口", "window_required")
        if window is not None:
            if role == "auditor":
                raise errors.forbidden("审计员不能登录窗口")
            if not self.service.config.has_window(window):
                raise errors.not_found(f"没有 {window} 号窗口", "unknown_window")
        session_id = secrets.token_urlsafe(24)
        await self._start_session(session_id, username, role, window, actor, lock, pending)
        serializer = await self._secret()
        return (Session(session_id, username, role, window, pending),
                serializer.dumps(session_id))

    async def _check_secret(self, row: sqlite3.Row | None, column: str, secret: str,
                            actor: Actor, target: str | None, refusal: errors.HallError,
                            what: str, lock: tuple[str, str], action: str = "login") -> None:
        """Verify a password or a pad PIN against `row`, with one lockout for both, counted
        per (name, address) with back-off (hall/lockout.py, issue 9.7): a PIN cannot be
        guessed on a pad while the password is guarded on the web, and nobody in the street
        locks a manager out of the office. An unknown name is answered exactly like a known
        one (same refusal, same hashing time). Raises the refusal; audits every failure."""
        now = self.service.clock()
        ts = now.timestamp()
        key, where = lock
        until = await self.service.store.read(
            lambda conn: lockout.locked_until(conn, key, where, ts))
        if until is not None:
            await self.service.record_audit(actor, action, target, False, "locked")
            raise _locked(lockout.minutes_left(until, ts))
        known = row is not None and bool(row["active"]) and bool(row[column])
        if known:
            assert row is not None
            if await asyncio.to_thread(_verify, row[column], secret):
                return
        else:
            await asyncio.to_thread(_dummy_verify)  # same time as a real check

        def fail(tx: Tx) -> float | None:
            until = lockout.record_failure(tx, key, where, ts)
            detail = f"bad {what}" if known else "unknown user"
            audit(tx, actor, action, target, False, detail + (",locked" if until else ""))
            return until

        until = await self.service.store.write(fail, now)
        if until is not None:
            raise _locked(lockout.minutes_left(until, ts))
        raise refusal

    async def _start_session(self, session_id: str, username: str, role: str,
                             window: int | None, actor: Actor, lock: tuple[str, str],
                             pending: bool = False) -> None:
        """Record the session and open the window, refusing a window that is not free.
        `pending`: the password must be changed first; the window opens after the change.

        Rules (issue 8.10, 9.7), checked in the same transaction that records the session:
        * a window where ANOTHER person holds a live session (web or pad) is in use: 409;
          only a manager's `force_logout` frees it. Sessions idle past the timeout do not
          count, so a clerk who walked away without logging out blocks nobody forever.
        * the same person logging in again (a second browser, or the pad beside the PC)
          shares the window: their other sessions stay.
        * the 办不成事 window (kind `complaint`) takes a clerk only after a manager assigned
          them to it (`PATCH /api/manage/windows/{n}` `{"assign": "name"}`); managers and
          admins may sit there themselves.
        """
        now = self.service.clock()
        ts = now.timestamp()

        def ok(tx: Tx) -> None:
            lockout.clear(tx, *lock)
            if window is not None:
                refusal = self._window_refusal(tx, username, role, window, ts)
                if refusal is not None:
                    raise refusal
                tx.conn.execute("DELETE FROM sessions WHERE window = ? AND username <> ?",
                                (window, username))  # idle leftovers of someone else
            tx.conn.execute("DELETE FROM ended_sessions WHERE id = ?", (session_id,))
            tx.conn.execute("INSERT OR REPLACE INTO sessions (id, username, window, "
                            "created_at, last_seen) VALUES (?, ?, ?, ?, ?)",
                            (session_id, username, window, ts, ts))
            tx.conn.execute("UPDATE users SET last_login_at = ? WHERE username = ?",
                            (ts, username))
            if window is None or pending:  # else open_window audits the login
                audit(tx, actor, "login", f"window:{window}" if window is not None else None,
                      True, role + (",must_change" if pending else ""))

        try:
            await self.service.store.write(ok, now)
        except errors.HallError as exc:
            await self.service.record_audit(actor, "login", f"window:{window}", False, exc.code)
            raise
        if window is not None and not pending:
            await self.service.open_window(window, actor)

    def _window_refusal(self, tx: Tx, username: str, role: str, window: int,
                        ts: float) -> errors.HallError | None:
        config = self.service.config_in(tx.conn)  # the staffing of this very transaction
        if not config.has_window(window):  # a temporary window closed meanwhile
            return errors.not_found(f"没有 {window} 号窗口", "unknown_window")
        w = config.window(window)
        if w.closed:
            return errors.conflict(f"{w.name}今日已停止服务，请到其他窗口登录", "window_closed")
        if w.kind == "complaint" and role == "clerk":
            assigned = tx.one("SELECT assigned FROM windows WHERE number = ?", (window,))
            if assigned is None or assigned["assigned"] != username:
                return errors.forbidden(f"{w.name}需由管理员指派后才能登录，请联系管理员",
                                        "needs_manager")
        holder = tx.one("SELECT 1 FROM sessions WHERE window = ? AND username <> ? "
                        "AND last_seen > ? LIMIT 1", (window, username, ts - IDLE_SECONDS))
        if holder is not None:
            return errors.conflict(f"{w.name}正由其他工作人员使用，请其先退出登录，"
                                   "或请管理员强制下线后再登录", "window_in_use")
        return None

    async def session(self, cookie: str | None, pending: bool = False) -> Session | None:
        """The live session of `cookie`. One whose password must be changed first is None
        unless `pending` (only hall/api.py `session_of` asks, for the routes open to it)."""
        session_id = await self._session_id(cookie)
        if session_id is None:
            return None
        now = self.service.clock().timestamp()

        def read(conn: sqlite3.Connection) -> sqlite3.Row | None:
            return conn.execute(
                "SELECT s.*, u.role, u.active, u.must_change FROM sessions s JOIN users u "
                "ON u.username = s.username WHERE s.id = ?", (session_id,)).fetchone()

        row = await self.service.store.read(read)
        if row is None or not row["active"] or now - row["last_seen"] > IDLE_SECONDS:
            return None
        if row["must_change"] and not pending:
            return None
        if now - row["last_seen"] > 60:
            await self.service.store.write(lambda tx: tx.conn.execute(
                "UPDATE sessions SET last_seen = ? WHERE id = ?", (now, session_id)) and None,
                self.service.clock())
        return Session(row["id"], row["username"], row["role"], row["window"],
                       bool(row["must_change"]))

    async def _session_id(self, cookie: str | None) -> str | None:
        if not cookie:
            return None
        try:
            return (await self._secret()).loads(cookie)
        except BadSignature:
            return None

    async def ended_reason(self, cookie: str | None) -> str | None:
        """Why a session that no longer exists was ended by someone else (a manager, or the
        same clerk leaving the window on another device), so the page can say so."""
        session_id = await self._session_id(cookie)
        if session_id is None:
            return None
        row = await self.service.store.read(lambda conn: conn.execute(
            "SELECT reason FROM ended_sessions WHERE id = ?", (session_id,)).fetchone())
        return row["reason"] if row else None

    def _end_window_sessions(self, tx: Tx, window: int, reason: str, ts: float,
                             keep: str | None = None) -> list[str]:
        """Delete every session at `window`, remembering why (a day) for those pushed out;
        returns the users whose sessions ended."""
        rows = tx.all("SELECT id, username FROM sessions WHERE window = ?", (window,))
        tx.conn.execute("DELETE FROM ended_sessions WHERE ended_at < ?", (ts - 86400,))
        for r in rows:
            if r["id"] != keep:
                tx.conn.execute("INSERT OR REPLACE INTO ended_sessions (id, reason, ended_at) "
                                "VALUES (?, ?, ?)", (r["id"], reason, ts))
        tx.conn.execute("DELETE FROM sessions WHERE window = ?", (window,))
        return sorted({r["username"] for r in rows})

    async def logout(self, session: Session, source: str | None) -> None:
        """Logging out at a window means leaving it: every session of that window ends (the
        clerk's other browser, the pad), and the window closes. A manager's windowless
        session ends alone."""
        if session.window is None or session.must_change:  # no window was opened
            def op(tx: Tx) -> None:
                tx.conn.execute("DELETE FROM sessions WHERE id = ?", (session.id,))
                audit(tx, session.actor(source), "logout", None, True, None)

            await self.service.store.write(op, self.service.clock())
            return
        await self.leave_window(session.window, session.actor(source), LEFT, keep=session.id)

    async def change_password(self, session: Session, old: object, new: object,
                              source: str | None) -> None:
        """The user replaces their own password (`POST /api/password`); the one way out of a
        pending change. The current password is checked under the login lockout, so a session
        left open on a shared PC cannot be used to guess it. The user's sessions elsewhere
        end (whoever knew the old password is out), except those at the same window: the pad
        beside the clerk's PC. A clerk whose window waited for the change gets it opened."""
        actor = session.actor(source)
        try:
            if not isinstance(old, str) or not old:
                raise errors.invalid("请填写当前密码", "password_required", "old")
            new_password = check_password(new, session.username, "new")
            if new_password == old:
                raise errors.invalid("新密码不能与当前密码相同", "same_password", "new")
        except errors.HallError as exc:
            await self.service.record_audit(actor, "password.change", session.username, False,
                                            exc.code)
            raise
        row = await self.service.store.read(lambda conn: conn.execute(
            "SELECT * FROM users WHERE username = ?", (session.username,)).fetchone())
        await self._check_secret(row, "pwhash", old, actor, session.username,
                                 errors.invalid("当前密码不正确", "bad_password", "old"),
                                 "password", (session.username, source or "unknown"),
                                 "password.change")
        pwhash = await asyncio.to_thread(_hasher.hash, new_password)
        now = self.service.clock()
        ts = now.timestamp()

        def op(tx: Tx) -> None:
            lockout.clear(tx, session.username, source or "unknown")
            tx.conn.execute("UPDATE users SET pwhash = ?, must_change = 0, "
                            "password_changed_at = ? WHERE username = ?",
                            (pwhash, ts, session.username))
            others = [r["id"] for r in tx.all(
                "SELECT id FROM sessions WHERE username = ? AND id <> ? AND "
                "(window IS NULL OR window IS NOT ?)",
                (session.username, session.id, session.window))]
            self._end_sessions(tx, others, "您的密码已修改，请用新密码重新登录", ts)
            audit(tx, actor, "password.change", session.username, True,
                  "must_change" if session.must_change else None)
            tx.emit("user.changed", {"username": session.username, "changes": ["password"]})

        await self.service.store.write(op, now)
        if session.must_change and session.window is not None:
            await self.service.open_window(session.window, actor)

    def _end_sessions(self, tx: Tx, ids: list[str], reason: str, ts: float) -> None:
        """End these sessions, remembering why (a day) so their pages can say so."""
        tx.conn.execute("DELETE FROM ended_sessions WHERE ended_at < ?", (ts - 86400,))
        for session_id in ids:
            tx.conn.execute("INSERT OR REPLACE INTO ended_sessions (id, reason, ended_at) "
                            "VALUES (?, ?, ?)", (session_id, reason, ts))
            tx.conn.execute("DELETE FROM sessions WHERE id = ?", (session_id,))

    def end_user_sessions(self, tx: Tx, username: str, reason: str, ts: float) -> list[int]:
        """End every session of `username` inside the caller's transaction (an admin changed
        the account); returns the windows they held, for the caller to close after commit."""
        rows = tx.all("SELECT id FROM sessions WHERE username = ?", (username,))
        self._end_sessions(tx, [r["id"] for r in rows], reason, ts)
        return [r["number"] for r in tx.all(
            "SELECT number FROM windows WHERE clerk = ? ORDER BY number", (username,))]

    async def leave_window(self, window: int, actor: Actor, reason: str,
                           keep: str | None = None) -> None:
        ts = self.service.clock().timestamp()
        await self.service.store.write(
            lambda tx: self._end_window_sessions(tx, window, reason, ts, keep) and None,
            self.service.clock())
        await self.service.close_window(window, actor)

    async def force_logout(self, window: int, actor: Actor) -> dict[str, object]:
        """A manager frees a window: its sessions end with the reason the clerk will read,
        the window closes; both land in the audit log."""
        self.service._window(window)
        now = self.service.clock()

        def op(tx: Tx) -> None:
            users = self._end_window_sessions(tx, window, FORCED, now.timestamp())
            audit(tx, actor, "force_logout", f"window:{window}", True, ",".join(users))

        await self.service.store.write(op, now)
        return await self.service.close_window(window, actor)

    async def assign_window(self, window: int, username: object, actor: Actor) -> None:
        """A manager assigns a clerk to a window that needs one (the 办不成事 window); None
        clears the assignment."""
        self.service._window(window)
        if username is not None and not isinstance(username, str):
            raise errors.invalid("请填写要指派的工作人员用户名", "invalid_assign")
        now = self.service.clock()

        def op(tx: Tx) -> None:
            if username is not None and not tx.one(
                    "SELECT 1 FROM users WHERE username = ? AND active = 1", (username,)):
                raise errors.not_found(f"没有这个工作人员: {username}", "unknown_user")
            tx.conn.execute("UPDATE windows SET assigned = ? WHERE number = ?",
                            (username, window))
            audit(tx, actor, "window.assign", f"window:{window}", True, username)

        await self.service.store.write(op, now)

    # -- hardware caller pads ---------------------------------------------------------------

    async def pad_login(self, staff_no: str, pin: str, window: int, pad: str) -> str:
        """A clerk logs in on the caller pad itself (staff number + PIN): the same checks
        as a web login (lockout, window in use, the 办不成事 window), a session named after
        the pad; returns the username. Raises HallError on refusal."""
        row = await self.service.store.read(lambda conn: conn.execute(
            "SELECT * FROM users WHERE staff_no = ?", (staff_no,)).fetchone())
        actor = Actor(row["username"] if row else f"工号{staff_no}", f"caller:{pad}")
        lock = (row["username"] if row else f"工号{staff_no}"[:128], f"caller:{pad}")
        await self._check_secret(row, "pinhash", pin, actor, f"window:{window}",
                                 errors.unauthenticated("工号或密码错误", "bad_credentials"),
                                 "pin", lock)
        assert row is not None
        if row["role"] == "auditor":
            raise errors.forbidden("审计员不能登录窗口")
        if row["must_change"]:
            await self.service.record_audit(actor, "login", f"window:{window}", False,
                                            "password_change_required")
            raise errors.forbidden("密码已由管理员重置，请先在电脑上登录并修改密码",
                                   "password_change_required")
        await self._start_session(pad_session_id(pad), row["username"], row["role"], window,
                                  actor, lock)
        return row["username"]

    async def pad_logout(self, window: int, pad: str) -> str | None:
        """LOGOUT on the pad: the clerk leaves the window (as a web logout does); None when
        nobody was logged in there."""
        clerk = await self.service.store.read(lambda conn: conn.execute(
            "SELECT clerk FROM windows WHERE number = ?", (window,)).fetchone())
        if clerk is None or clerk["clerk"] is None:
            return None
        await self.leave_window(window, Actor(clerk["clerk"], f"caller:{pad}"), LEFT)
        return clerk["clerk"]

    async def touch_pad(self, pad: str) -> None:
        """A key on the pad is the clerk at work: the pad's session does not go idle."""
        ts = self.service.clock().timestamp()
        await self.service.store.write(lambda tx: tx.conn.execute(
            "UPDATE sessions SET last_seen = ? WHERE id = ? AND last_seen < ?",
            (ts, pad_session_id(pad), ts - 60)) and None, self.service.clock())


def pad_session_id(pad: str) -> str:
    """A pad's session id. Web session ids are random and reach the server only inside a
    signed cookie, so this fixed id can never be presented by a browser."""
    return f"pad:{pad}"


async def hash_secret(secret: str) -> str:
    """A password or PIN as stored: Argon2id, in a thread (it takes tens of milliseconds)."""
    return await asyncio.to_thread(_hasher.hash, secret)


def _locked(minutes: int) -> errors.HallError:
    """The same words for every name, known or not: nothing tells which names exist."""
    return errors.HallError(423, "locked", f"登录失败次数过多，请 {minutes} 分钟后再试")


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
