"""The hall's SQL, written once for SQLite, as PostgreSQL reads it.

Why a translator and not two copies of every query: the SQL lives beside the logic it serves
(routing, numbering, reports) in some 60 modules, and a second copy of each would drift from
the first the day one of them is fixed. The hall's SQL keeps to a small, portable subset, so
what differs is small and mechanical, and that is all this module rewrites:

* placeholders: `?` and `:name` become `$1, $2, ...` (asyncpg's), with the order of the
  named ones returned so a dict of parameters can be laid out;
* SQLite's `a IS b` (equal, NULL equal to NULL) is PostgreSQL's `IS NOT DISTINCT FROM`;
* a subquery in FROM or JOIN without a name gets one (PostgreSQL before 16 wants it);
* identifiers PostgreSQL reserves and SQLite does not (`window`, `user`) are quoted, except
  the keyword WINDOW of a named window (`WINDOW run AS (...)`);
* `INSERT OR IGNORE` becomes `ON CONFLICT DO NOTHING`, `INSERT OR REPLACE` an upsert on the
  table's primary key (`keys` names it);
* an INSERT into a table with a generated key returns that key, which stands in for
  SQLite's `lastrowid`.

Left as it is: where NULLs sort. SQLite puts them first in ascending order, PostgreSQL last;
writing `NULLS FIRST` into every ORDER BY would keep the hot "call next" query off its index,
so the hall's queries order by columns that are never NULL, or say `NULLS FIRST/LAST`
themselves where it matters.

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
        # drop the words and the space after each
        drop = {words[1][0], words[1][0] + 1, words[2][0], words[2][0] + 1}
        toks = [t for i, t in enumerate(toks) if i not in drop]
    toks = _is_distinct(toks)
    toks = _alias_subqueries(toks)
    clauses = _window_clauses(toks)
    for i, (kind, value) in enumerate(toks):
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
        elif kind == "word" and value.lower() in QUOTED and i not in clauses:
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


_IS_KEEP = frozenset({"null", "true", "false", "distinct", "unknown"})


def _is_distinct(toks: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """`x IS y` / `x IS NOT y` where y is a value, not NULL/TRUE/FALSE."""
    out: list[tuple[str, str]] = []
    solid = [i for i, (k, _) in enumerate(toks) if k not in ("space", "comment")]
    replace: dict[int, str] = {}
    drop: set[int] = set()
    for n, i in enumerate(solid):
        kind, value = toks[i]
        if kind != "word" or value.lower() != "is" or n + 1 >= len(solid):
            continue
        nxt = toks[solid[n + 1]]
        if nxt[0] == "word" and nxt[1].lower() == "not" and n + 2 < len(solid):
            after = toks[solid[n + 2]]
            if not (after[0] == "word" and after[1].lower() in _IS_KEEP):
                replace[i] = "IS DISTINCT FROM "
                drop.update(range(i + 1, solid[n + 2]))  # NOT and the spaces around it
        elif not (nxt[0] == "word" and nxt[1].lower() in _IS_KEEP):
            replace[i] = "IS NOT DISTINCT FROM"
    for i, tok in enumerate(toks):
        if i in drop:
            continue
        out.append(("word", replace[i]) if i in replace else tok)
    return out


# what may follow a subquery in FROM when it has no alias of its own
_AFTER_SUBQUERY = frozenset({
    "where", "group", "order", "limit", "offset", "join", "left", "right", "inner", "cross",
    "full", "natural", "on", "using", "union", "except", "intersect", "having", "window",
    "returning"})


def _alias_subqueries(toks: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """`FROM (SELECT ...)` / `JOIN (SELECT ...)` without an alias: ` AS _sN` after it."""
    solid = [i for i, (k, _) in enumerate(toks) if k not in ("space", "comment")]
    insert_after: set[int] = set()
    for n, i in enumerate(solid[:-2]):
        kind, value = toks[i]
        if kind != "word" or value.lower() not in ("from", "join") or \
                (n > 0 and toks[solid[n - 1]][1].lower() == "distinct") or \
                toks[solid[n + 1]][1] != "(" or \
                toks[solid[n + 2]][1].lower() not in ("select", "with", "values"):
            continue
        depth = 0
        for m in range(n + 1, len(solid)):
            v = toks[solid[m]][1]
            depth += v == "("
            depth -= v == ")"
            if depth == 0:
                nxt = toks[solid[m + 1]] if m + 1 < len(solid) else ("other", "")
                if not (nxt[0] in ("word", "ident") and nxt[1].lower() not in _AFTER_SUBQUERY):
                    insert_after.add(solid[m])
                break
    out: list[tuple[str, str]] = []
    for i, tok in enumerate(toks):
        out.append(tok)
        if i in insert_after:
            out.append(("other", f" AS _s{i}"))
    return out


def _window_clauses(toks: list[tuple[str, str]]) -> set[int]:
    """Where `window` is the keyword of `WINDOW name AS (`, not the hall's column."""
    solid = [i for i, (k, _) in enumerate(toks) if k not in ("space", "comment")]
    out = set()
    for n, i in enumerate(solid[:-3]):
        kind, value = toks[i]
        name, as_, paren = (toks[j] for j in solid[n + 1:n + 4])
        if kind == "word" and value.lower() == "window" and name[0] == "word" \
                and as_[1].lower() == "as" and paren[1] == "(":
            out.add(i)
    return out


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
