"""A city's halls in one config file: `[[halls]]` (issue 13.1, docs/halls.md).

Each `[[halls]]` entry is one hall with what a single-hall config.toml holds (`[halls.hall]`,
`[[halls.queues]]`, `[[halls.services]]`, `[[halls.windows]]`, `[[halls.devices]]`,
`[halls.workdays]` …) plus its `id` (used in URLs, /h/{id}, and in where its data lives,
hall/locate.py), `name` and `level` (市级政务服务中心 … 村（社区）便民服务站). Each hall is
checked by the single hall's own checker (`hall.config.parse_config`), so a city file can
hold nothing a hall file cannot, and every mistake is named by its full key
(`halls[2].windows[1].number: duplicate window number 3`).

Defaults: the top-level sections a single-hall file has (`[hall]` without its name, `[sla]`,
`[voice]`, `[workdays]`, `[ratings]`, `[complaints]`, `[limits]`, `[booking]`, `[real_name]`,
`[[priority_reasons]]`, and `[[queues]]`/`[[services]]` for halls that share a catalogue) are
what every hall inherits where it says nothing. Why: a city's halls share the calendar, the
alarm thresholds and the rating rules far more often than not, and one place to type next
year's holidays is one place to forget nothing. Tables merge key by key (a hall's own
`[halls.sla] waiting_alarm = 5` keeps the city's other thresholds); a list or a value of the
hall's own replaces the default whole (a hall's own `[[halls.queues]]` is its whole list). A
mistake in an inherited value is named in the hall that met it, with where it came from.
Windows and devices are always a hall's own: a top-level `[[windows]]` is a mistake.

`[city]`: `name` (the overview's title) and `public_url` (the address phones reach the city
server at; each hall's is it plus /h/{id}, unless the hall gives its own `[halls.hall]
public_url`).
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from hall.config import ConfigError, HallConfig, parse_config
from hall.locate import CITY, HALL_ID

# the levels of the seed's 政务服务 places (市级为政务服务中心，乡镇(街道)、村(社区)分别为便民服务
# 中心、便民服务站); the district level between them is the county's or district's own centre
LEVELS = {
    "city": "市级政务服务中心",
    "district": "区县政务服务中心",
    "township": "乡镇（街道）便民服务中心",
    "village": "村（社区）便民服务站",
}
# top-level keys a city file may hold as defaults for its halls
INHERITED = ("hall", "sla", "voice", "ratings", "workdays", "complaints", "limits",
             "priority_reasons", "booking", "real_name", "simulate", "queues", "services")
OWN_ONLY = ("windows", "devices")  # one hall's, never inherited
IDENTITY = ("id", "name", "level")
_SEGMENT = re.compile(r"([^.\[\]]+)(?:\[(\d+)\])?")


@dataclass(frozen=True)
class HallSite:
    """One hall of the city: who it is, and its checked config (name = `[hall] name`)."""

    id: str
    level: str
    config: HallConfig

    @property
    def name(self) -> str:
        return self.config.hall.name

    @property
    def level_name(self) -> str:
        return LEVELS[self.level]


@dataclass(frozen=True)
class CityConfig:
    name: str
    timezone: str
    public_url: str
    halls: tuple[HallSite, ...]
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def site(self, hall_id: str) -> HallSite | None:
        return next((s for s in self.halls if s.id == hall_id), None)


def is_city(raw: dict[str, Any]) -> bool:
    """Pure: does this parsed file describe several halls? (`[[halls]]` present)"""
    return "halls" in raw


def merged(defaults: Any, own: Any) -> Any:
    """Pure: `own` over `defaults`: tables merge key by key (deeply), anything else of the
    hall's own replaces the default whole."""
    if isinstance(defaults, dict) and isinstance(own, dict):
        out = dict(defaults)
        for key, value in own.items():
            out[key] = merged(defaults[key], value) if key in defaults else value
        return out
    return own


def owns(own: dict[str, Any], key: str) -> bool:
    """Pure: is the value at `key` (a checker's key: `sla.waiting_alarm`, `windows[1].number`)
    the hall's own, rather than inherited? A list of the hall's own is wholly its own."""
    value: Any = own
    for name, _index in _SEGMENT.findall(key):
        if not isinstance(value, dict) or name not in value:
            return False
        value = value[name]
        if not isinstance(value, dict):
            return True
    return True


def _rekey(problem: str, where: str, own: dict[str, Any]) -> str:
    """A single-hall problem line as a city's: prefixed by the hall, and for an inherited
    value, saying where it came from."""
    key, sep, message = problem.partition(": ")
    if not sep:
        return f"{where}: {problem}"
    if not key or owns(own, key):
        return f"{where}.{key}: {message}"
    return f"{where}.{key}: {message} (inherited from the top-level {key})"


def parse_city(raw: dict[str, Any]) -> CityConfig:
    """Check a parsed city file; raise ConfigError listing every problem by key."""
    problems: list[str] = []
    defaults = {k: v for k, v in raw.items() if k in INHERITED}
    for key in raw:
        if key in OWN_ONLY:
            problems.append(f"{key}: belongs inside each [[halls]] entry "
                            f"(a city's {key} are each one hall's)")
        elif key not in (*INHERITED, "halls", "city"):
            problems.append(f"{key}: unknown key")
    top_hall = defaults.get("hall")
    if isinstance(top_hall, dict):
        if "name" in top_hall:
            problems.append("hall.name: in a city config each hall has its own name "
                            "(halls[N].name); the city's is city.name")
        if "public_url" in top_hall:
            problems.append("hall.public_url: in a city config the city's address is "
                            "city.public_url (each hall is served under it at /h/ID)")
    name, public_url = _parse_city_table(raw.get("city", {}), problems)
    zone = top_hall.get("timezone") if isinstance(top_hall, dict) else None
    # a wrong zone is named by each hall that inherits it; the overview keeps China's
    timezone = zone if isinstance(zone, str) and _known_zone(zone) else "Asia/Shanghai"
    tables = raw.get("halls")
    if not isinstance(tables, list):
        problems.append(f"halls: expected a list of [[halls]] tables, got {tables!r}")
        tables = []
    elif not tables:
        problems.append("halls: at least one hall is needed")
    sites: list[HallSite] = []
    seen: set[str] = set()
    for i, table in enumerate(tables):
        site = _parse_hall(i, table, defaults, seen, problems)
        if site is not None:
            sites.append(site)
    if problems:
        raise ConfigError(problems)
    return CityConfig(name=name, timezone=timezone, public_url=public_url,
                      halls=tuple(sites), raw=raw)


def _known_zone(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def _parse_city_table(table: Any, problems: list[str]) -> tuple[str, str]:
    if not isinstance(table, dict):
        problems.append("city: expected a table")
        return "全市", ""
    name = table.get("name", "全市")
    if not isinstance(name, str) or not name.strip():
        problems.append(f"city.name: expected a non-empty string, got {name!r}")
        name = "全市"
    url = table.get("public_url", "")
    if not isinstance(url, str) or (url and not url.startswith(("http://", "https://"))):
        problems.append(f"city.public_url: must start with http:// or https://, got {url!r}")
        url = ""
    for key in table:
        if key not in ("name", "public_url"):
            problems.append(f"city.{key}: unknown key")
    return name.strip(), url.rstrip("/")


def _parse_hall(i: int, table: Any, defaults: dict[str, Any], seen: set[str],
                problems: list[str]) -> HallSite | None:
    where = f"halls[{i}]"
    if not isinstance(table, dict):
        problems.append(f"{where}: expected a table")
        return None
    hall_id = table.get("id")
    if hall_id is None:
        problems.append(f"{where}.id: missing")
    elif not isinstance(hall_id, str) or not HALL_ID.fullmatch(hall_id):
        problems.append(f"{where}.id: use 1 to 32 lower-case letters, digits and _, starting "
                        f"with a letter (it is part of the hall's URL /h/ID), got {hall_id!r}")
        hall_id = None
    elif hall_id == CITY:
        problems.append(f'{where}.id: "{CITY}" is the city\'s own; choose another id')
        hall_id = None
    elif hall_id in seen:
        problems.append(f"{where}.id: duplicate hall id {hall_id!r}")
    else:
        seen.add(hall_id)
    name = table.get("name")
    if name is None:
        problems.append(f"{where}.name: missing")
    elif not isinstance(name, str) or not name.strip():
        problems.append(f"{where}.name: expected a non-empty string, got {name!r}")
        name = None
    level = table.get("level")
    if level is None:
        problems.append(f"{where}.level: missing (one of {', '.join(LEVELS)})")
    elif level not in LEVELS:
        problems.append(f"{where}.level: must be one of {', '.join(LEVELS)}, got {level!r}")
        level = None
    own = {k: v for k, v in table.items() if k not in IDENTITY}
    own_hall = own.get("hall")
    if isinstance(own_hall, dict) and "name" in own_hall:
        problems.append(f"{where}.hall.name: give the hall's name once, as {where}.name")
    hall_raw = merged(defaults, own)
    if isinstance(hall_raw.get("hall", {}), dict):
        hall_raw["hall"] = {**hall_raw.get("hall", {}), "name": name or "?"}
    try:
        config = parse_config(hall_raw)
    except ConfigError as exc:
        problems.extend(_rekey(p, where, own) for p in exc.problems)
        return None
    if hall_id is None or name is None or level is None:
        return None
    return HallSite(id=hall_id, level=level, config=config)


def load_deployment(path: str | Path) -> HallConfig | CityConfig:
    """Read and check a config file of one hall or of a city's halls."""
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError([f"{path}: file not found"]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError([f"{path}: cannot be read ({exc})"]) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([f"{path}: {exc}"]) from None
    return parse_city(raw) if is_city(raw) else parse_config(raw)
