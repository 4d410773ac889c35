"""The city's own store: its managers' accounts, sessions and audit log (issue 13.1).

Roles are scoped to halls by where an account lives: a hall's clerks and managers are in that
hall's store and log in at /h/{id}/…; their session cookie is signed with that store's secret
and found in that store's sessions, so no other hall and not the city accepts it. City managers
(role manager or admin) are in the store of the reserved id `city` (hall/locate.py), the same
schema as a hall's, of which only `users`, `sessions`, `lockout`, `meta` and `audit` are used.
They log in at the city level and see the overview of every hall (hall/city_api.py), which
reads each hall only through that hall's own service.

Logins, lockout and sessions are the halls' own code (`hall.auth.Auth`): it needs of its
service only the store, the clock and `record_audit` for an account without a window, which
is all a city account is (a login naming a window is refused before it reaches Auth).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import cast
from zoneinfo import ZoneInfo

from hall import errors
from hall.auth import Auth
from hall.service import Actor, HallService, audit
from hall.store import Store
from hall.store_pg import open_store

CITY_ROLES = ("manager", "admin")  # who may open the overview; the only roles city accounts have
COOKIE = "city_session"  # not the halls' cookie name: a city login never replaces a hall's


class CityDesk:
    """What `Auth` needs of a service, over the city's store, and the city's audit."""

    def __init__(self, store: Store, tz: ZoneInfo,
                 clock: Callable[[], datetime] | None = None) -> None:
        self.store = store
        self.tz = tz
        self.clock = clock or (lambda: datetime.now(self.tz))
        self.auth = Auth(cast(HallService, self))

    @classmethod
    async def open(cls, db: str | Path, tz: ZoneInfo,
                   clock: Callable[[], datetime] | None = None) -> CityDesk:
        return cls(await open_store(db), tz, clock)

    async def close(self) -> None:
        await self.store.close()

    async def record_audit(self, actor: Actor, action: str, target: str | None, success: bool,
                           detail: str | None = None) -> None:
        await self.store.write(lambda tx: audit(tx, actor, action, target, success, detail),
                               self.clock())

    async def add_user(self, username: str, role: str, password: str) -> None:
        """`python -m hall user add NAME --city`: a city account is a manager or an admin."""
        if role not in CITY_ROLES:
            raise errors.invalid("城市账号只能是管理员或系统管理员", "invalid_role", "role")
        await self.auth.add_user(username, role, password)
