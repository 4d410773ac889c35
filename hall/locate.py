"""Where one hall of a city keeps its data (issue 13.1, docs/halls.md).

Every hall of a city config is a whole hall with a store of its own, so its numbering, routing,
event log and screens need no hall column in any table and no change to any SQL: two halls can
both issue A001 because they count in two stores. What differs is only where the store is:

* SQLite (`var/hall.db`): a file per hall beside the one given, `var/hall-{id}.db`;
* PostgreSQL (`postgresql://…/db`): the same database, a schema per hall, named by the
  connection's `search_path=hall_{id}` (the PostgreSQL store creates the schema).

The city's own accounts, sessions and audit log live in the store of the reserved id `city`.
Pure string work, no I/O: the caller opens what this names.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

# a hall id is used in URLs (/h/{id}), file names and PostgreSQL schema names (hall_{id}):
# lower-case ASCII letters, digits and _, starting with a letter, so no quoting is ever needed
HALL_ID = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
CITY = "city"  # the id of the city's own store; no hall may take it
POSTGRES_SCHEMES = ("postgresql://", "postgres://")


def is_postgres(db: str) -> bool:
    return db.startswith(POSTGRES_SCHEMES)


def hall_db(db: str, hall_id: str) -> str:
    """The store of hall `hall_id` (or of the city, `CITY`) of the deployment whose `--db` is
    `db`. Raises ValueError for an id that is not a hall id."""
    if not HALL_ID.fullmatch(hall_id):
        raise ValueError(f"not a hall id: {hall_id!r}")
    if is_postgres(db):
        parts = urlsplit(db)
        query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
                 if k != "search_path"]
        query.append(("search_path", f"hall_{hall_id}"))
        return urlunsplit(parts._replace(query=urlencode(query)))
    path = Path(db)
    return str(path.with_name(f"{path.stem}-{hall_id}{path.suffix}"))


def voice_dir(db: str, hall_id: str) -> Path:
    """Where hall `hall_id` renders its announcements: a directory of its own (each hall
    prunes its own WAVs), beside the SQLite files, or under `var/` for PostgreSQL."""
    if not HALL_ID.fullmatch(hall_id):
        raise ValueError(f"not a hall id: {hall_id!r}")
    base = Path("var") if is_postgres(db) else Path(db).parent
    return base / f"voice-{hall_id}"
