"""Device credentials: the rating tablet at a window and the hall's kiosks (issue 9.1, 9.2).

Why: anyone watching the public /ws saw `ticket.finished` and could rate that citizen 1 star
through `POST /api/evaluate/{window}`, opening a 差评 case against the clerk; and any client
could take tickets as fast as it liked. A device the hall set up now proves it is that device.

How (choices where the issue is silent):
* `python -m hall device add tablet-3 --kind tablet --window 3` (run by whoever installs the
  hall, on the server) prints a one-off 登记码: a random secret of 128 bits. The server keeps
  only its SHA-256 (a random secret needs no slow hash: there is nothing to guess).
* The device is enrolled once: on its page the installer types the code (`/device`), and
  `POST /api/devices/enrol` stores it in the browser as an HttpOnly, SameSite=Strict cookie
  (`hall_device`) that never expires. A non-browser kiosk may send the secret in an
  `X-Hall-Device` header instead.
* A tablet may rate only its own window; a kiosk's tickets count against the kiosk's limits,
  not its address's. `device remove NAME` withdraws a lost device at once (every request
  looks the credential up: one read, and only for requests that carry one).
"""

from __future__ import annotations

import hashlib
import secrets
import sqlite3
from dataclasses import dataclass

from hall import errors
from hall.service import Actor, HallService, audit
from hall.store import Tx

KINDS = ("tablet", "kiosk")
COOKIE = "hall_device"
HEADER = "x-hall-device"
KIND_NAMES = {"tablet": "评价器", "kiosk": "取号机"}


@dataclass(frozen=True)
class Device:
    name: str
    kind: str
    window: int | None

    def label(self) -> str:
        where = f"{self.window}号窗口" if self.window is not None else "大厅"
        return f"{where}{KIND_NAMES.get(self.kind, '设备')} {self.name}"


def secret_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8", "replace")).hexdigest()


class Credentials:
    def __init__(self, service: HallService) -> None:
        self.service = service

    async def add(self, name: str, kind: str, window: int | None,
                  actor: Actor | None = None) -> str:
        """Enrol a device; return its secret (shown once, never stored in clear)."""
        if not name or len(name) > 64 or not name.replace("-", "").replace("_", "").isalnum():
            raise errors.invalid("设备名只能包含字母、数字和 - _，不超过64个字符", "invalid_device")
        if kind not in KINDS:
            raise errors.invalid("设备类型只能是评价器或取号机",
                                 "invalid_device_kind")
        if kind == "tablet":
            if window is None:
                raise errors.invalid("评价器需要指定所在的窗口号", "window_required", "window")
            if not self.service.config.has_window(window):
                raise errors.not_found(f"没有 {window} 号窗口", "unknown_window")
        elif window is not None:
            raise errors.invalid("取号机不属于某个窗口", "invalid_window")
        secret = secrets.token_urlsafe(16)
        now = self.service.clock()
        actor = actor or Actor("cli", "cli")

        def op(tx: Tx) -> None:
            if tx.one("SELECT 1 FROM device_credentials WHERE name = ?", (name,)):
                raise errors.conflict(f"设备 {name} 已登记", "device_exists")
            tx.conn.execute("INSERT INTO device_credentials (name, kind, window, secret_hash, "
                            "created_at) VALUES (?, ?, ?, ?, ?)",
                            (name, kind, window, secret_hash(secret), now.timestamp()))
            audit(tx, actor, "device.add", name, True, f"{kind} window:{window}")

        await self.service.store.write(op, now)
        return secret

    async def remove(self, name: str, actor: Actor | None = None) -> None:
        actor = actor or Actor("cli", "cli")

        def op(tx: Tx) -> None:
            if tx.conn.execute("DELETE FROM device_credentials WHERE name = ?",
                               (name,)).rowcount == 0:
                raise errors.not_found(f"没有登记名为 {name} 的设备", "unknown_device")
            audit(tx, actor, "device.remove", name, True, None)

        await self.service.store.write(op, self.service.clock())

    async def list(self) -> list[dict[str, object]]:
        def read(conn: sqlite3.Connection) -> list[dict[str, object]]:
            return [dict(r) for r in conn.execute(
                "SELECT name, kind, window, created_at FROM device_credentials "
                "WHERE active = 1 ORDER BY name")]

        return await self.service.store.read(read)

    async def device(self, secret: str | None) -> Device | None:
        """The device holding `secret`, or None (also for an empty or unknown one)."""
        if not secret or len(secret) > 200:
            return None
        key = secret_hash(secret)

        def read(conn: sqlite3.Connection) -> sqlite3.Row | None:
            return conn.execute("SELECT name, kind, window FROM device_credentials "
                                "WHERE secret_hash = ? AND active = 1", (key,)).fetchone()

        row = await self.service.store.read(read)
        return Device(row["name"], row["kind"], row["window"]) if row else None
