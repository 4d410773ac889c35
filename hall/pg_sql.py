"""The hall's SQL, written once for SQLite, as PostgreSQL reads it.

Why a translator and not two copies of every query: the SQL lives beside the logic it serves
(routing, numbering, reports) in some 60 modules, and a second copy of each would drift from
the first the day one of them is fixed. The hall's SQL keeps to a small, portable subset, so
what differs is small and mechanical, and that is all this module rewrites:

* placeholders: `?` and `:name` become `$1, $2, ...` (asyncpg's), with the order of the
  named ones returned so a dict of parameters can be laid out;
* identifiers PostgreSQL reserves and SQLite does not (`window`, `user`) are quoted;
* SQLite's `x IS ?` / `x IS NOT 'a'` (true for two NULLs) is `IS [NOT] DISTINCT FROM` there;
* `INSERT OR IGNORE` becomes `ON CONFLICT DO NOTHING`, `INSERT OR REPLACE` an upsert on the
  table's primary key (`keys` names it);
* an INSERT into a table with a generated key returns that key, which stands in for
  SQLite's `lastrowid`.

SQLite's few functions the reports use (`strftime`, `printf`, `json_extract`, ...) exist in
PostgreSQL as functions of the same name (hall/pg_schema.py), so no query text changes for
them. Pure: no I/O, so a property test can hammer it (tests/test_pg_sql.py).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache

QUOTED = frozenset({"window", "user"})

_TOKEN = re.compile(r"""
    (?P<string>'(?:[^']|'')*')
  | (?P<ident>"(?:[^"]|"")*")
  | (?P<comment>--[^\n]*)
  | (?P<cast>::)
  | (?P<named>:[A-Za-z_]\w*)
  | (?P<qmark>\?)
  | (?P<word>[A-Za-z_]\w*)
  | (?P<space>\s+)
  | (?P<other>.)
""", re.VERBOSE | re.DOTALL)


@dataclass(frozen=True)
class Translated:
    sql: str
    names: tuple[str, ...] | None  # the named parameters in `$n` order; None for `?` style
    count: int  # how many `$n` there are


def tokens(sql: str) -> list[tuple[str, str]]:
    return [(m.lastgroup or "other", m.group()) for m in _TOKEN.finditer(sql)]


@lru_cache(maxsize=4096)
def translate(sql: str, keys: tuple[tuple[str, tuple[str, ...]], ...] = (),
              generated: tuple[tuple[str, str], ...] = ()) -> Translated:
    """`keys`: each table's primary key columns; `generated`: each table's generated key
    column (both from the schema, hall/pg_schema.py; tuples so the result can be cached)."""
    primary = dict(keys)
    serial = dict(generated)
    out: list[str] = []
    names: list[str] = []
    positions: dict[str, int] = {}
    count = 0
    toks = tokens(sql)
    words = [(i, v.lower()) for i, (k, v) in enumerate(toks) if k == "word"]
    head = [w for _, w in words[:4]]
    conflict = ""
    if head[:3] in (["insert", "or", "ignore"], ["insert", "or", "replace"]):
        mode = head[2]
        table = _table_after_into(toks)
        if mode == "ignore":
            conflict = " ON CONFLICT DO NOTHING"
        else:
            columns = _insert_columns(toks)
            pk = primary.get(table, ())
            rest = [c for c in columns if c not in pk]
            sets = ", ".join(f"{_q(c)} = EXCLUDED.{_q(c)}" for c in rest)
            conflict = (f" ON CONFLICT ({', '.join(_q(c) for c in pk)}) "
                        + (f"DO UPDATE SET {sets}" if sets else "DO NOTHING"))
        # drop "OR IGNORE" / "OR REPLACE"
        drop = {words[1][0], words[2][0]}
        toks = [t for i, t in enumerate(toks) if i not in drop]
    toks = _null_safe_equality(toks)
    toks = _subquery_aliases(toks)
    clause = _window_clauses(toks)
    for at, (kind, value) in enumerate(toks):
        if kind == "qmark":
            count += 1
            out.append(f"${count}")
        elif kind == "named":
            name = value[1:]
            if name not in positions:
                count += 1
                positions[name] = count
                names.append(name)
            out.append(f"${positions[name]}")
        elif kind == "word" and value.lower() in QUOTED and at not in clause:
            out.append(f'"{value.lower()}"')
        else:
            out.append(value)
    text = "".join(out).rstrip().rstrip(";")
    if head[:1] == ["insert"]:
        table = _table_after_into(toks)
        returning = _find_word(toks, "returning")
        if conflict:
            text = _insert_before_returning(text, conflict) if returning else text + conflict
        column = serial.get(table)
        if column and not returning:
            text += f" RETURNING {_q(column)}"
    return Translated(text, tuple(names) if positions else None, count)


def arguments(translated: Translated, params: object) -> list[object]:
    """The positional arguments for `translated` from a tuple or a dict of parameters."""
    if translated.names is not None:
        if not isinstance(params, Mapping):
            raise TypeError("named parameters need a mapping")
        return [params[name] for name in translated.names]
    values = list(params) if params is not None else []  # type: ignore[call-overload]
    if len(values) != translated.count:
        raise ValueError(f"{translated.count} parameters expected, {len(values)} given")
    return values


def _window_clauses(toks: list[tuple[str, str]]) -> set[int]:
    """Where `window` is the keyword of a WINDOW clause (`WINDOW w AS (...)`), not the
    column of that name (which is quoted)."""
    found = set()
    for i, (kind, value) in enumerate(toks):
        if kind == "word" and value.lower() == "window":
            name = _next_solid(toks, i + 1)
            as_ = _next_solid(toks, name + 1) if name is not None else None
            if as_ is not None and toks[as_][1].lower() == "as" and toks[name][0] == "word":
                found.add(i)
    return found


def _null_safe_equality(toks: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """`IS ?` (or `IS 'text'`) compares two values in SQLite; PostgreSQL's IS takes only NULL,
    TRUE, FALSE, so `IS ?` becomes `IS NOT DISTINCT FROM ?` and `IS NOT ?` `IS DISTINCT FROM ?`."""
    words = [i for i, (k, _) in enumerate(toks) if k in ("word", "qmark", "named", "string")]
    out = list(toks)
    for at, i in enumerate(words):
        if toks[i][0] not in ("qmark", "named", "string") or at == 0:
            continue
        before = toks[words[at - 1]][1].lower()
        if before == "is":
            out[words[at - 1]] = ("word", "IS NOT DISTINCT FROM")
        elif before == "not" and at >= 2 and toks[words[at - 2]][1].lower() == "is":
            out[words[at - 2]] = ("word", "IS DISTINCT FROM")
            out[words[at - 1]] = ("space", "")
    return out


_AFTER_FROM = frozenset({"where", "group", "order", "limit", "offset", "join", "left", "right",
                         "inner", "outer", "cross", "full", "natural", "on", "using", "union",
                         "except", "intersect", "having", "window"})


def _subquery_aliases(toks: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """PostgreSQL 15 wants a name on every subquery in FROM (`FROM (SELECT ...) AS s`),
    which SQLite does without: one is given where it is missing."""
    out = list(toks)
    inserts: list[int] = []
    for i, (kind, value) in enumerate(toks):
        if kind != "word" or value.lower() not in ("from", "join"):
            continue
        j = _next_solid(toks, i + 1)
        if j is None or toks[j][1] != "(":
            continue
        k = _next_solid(toks, j + 1)
        if k is None or toks[k][1].lower() != "select":
            continue
        depth, end = 0, None
        for m in range(j, len(toks)):
            if toks[m][1] == "(":
                depth += 1
            elif toks[m][1] == ")":
                depth -= 1
                if depth == 0:
                    end = m
                    break
        if end is None:
            continue
        after = _next_solid(toks, end + 1)
        if after is None or toks[after][0] != "word" or toks[after][1].lower() in _AFTER_FROM:
            inserts.append(end + 1)
    for n, at in enumerate(sorted(inserts, reverse=True)):
        out.insert(at, ("space", f" AS _sub{len(inserts) - n}"))
    return out


def _next_solid(toks: list[tuple[str, str]], start: int) -> int | None:
    for i in range(start, len(toks)):
        if toks[i][0] not in ("space", "comment"):
            return i
    return None


def _q(column: str) -> str:
    return f'"{column}"' if column in QUOTED else column


def _table_after_into(toks: list[tuple[str, str]]) -> str:
    seen_into = False
    for kind, value in toks:
        if kind == "word" and value.lower() == "into":
            seen_into = True
        elif seen_into and kind in ("word", "ident"):
            return value.strip('"').lower()
    return ""


def _insert_columns(toks: list[tuple[str, str]]) -> list[str]:
    """The column list of `INSERT INTO t (a, b, ...)`."""
    depth, columns, started = 0, [], False
    table_seen = False
    for kind, value in toks:
        if not table_seen:
            if kind == "word" and value.lower() == "into":
                table_seen = True
            continue
        if value == "(":
            depth += 1
            started = True
            continue
        if value == ")" and started:
            break
        if started and depth == 1 and kind in ("word", "ident"):
            columns.append(value.strip('"').lower())
    return columns


def _find_word(toks: list[tuple[str, str]], word: str) -> bool:
    return any(k == "word" and v.lower() == word for k, v in toks)


def _insert_before_returning(text: str, clause: str) -> str:
    match = list(re.finditer(r"\bRETURNING\b", text, re.IGNORECASE))[-1]
    return text[:match.start()].rstrip() + clause + " " + text[match.start():]
