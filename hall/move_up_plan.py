"""What `python -m hall migrate` decides without touching a database: the order the tables are
copied in, whether two schemas match, how a SQLite value becomes a PostgreSQL one, the hash of
the event log and whether two counts agree (hall/move_up.py does the I/O).

Why a hash of the event log and not of every table: the event log is what screens replay and
what the reports recount, and it is the one table whose every row must come across unchanged
(same `seq`, same time, same text); the other tables are checked by their row counts, and the
audit log by its own hash chain (hall/audit.py). Pure: property-testable.
"""

from __future__ import annotations

import graphlib
import hashlib
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

TEXT_TYPES = frozenset({"text", "varchar", "bpchar", "name"})
INT_TYPES = frozenset({"int8", "int4", "int2"})
FLOAT_TYPES = frozenset({"float8", "float4", "numeric"})


class BadValue(ValueError):
    """A value SQLite kept that the PostgreSQL column cannot hold."""


def copy_order(references: Mapping[str, Iterable[str]]) -> list[str]:
    """Every table after the tables its foreign keys name (PostgreSQL checks a reference row by
    row, so `ticket_people` must find its tickets already there); otherwise by name, so two
    runs copy in the same order. `references`: table -> the tables it refers to."""
    sorter: graphlib.TopologicalSorter[str] = graphlib.TopologicalSorter()
    for table in sorted(references):
        sorter.add(table, *sorted(t for t in references[table] if t != table and
                                  t in references))
    sorter.prepare()
    order: list[str] = []
    while sorter.is_active():
        ready = sorted(sorter.get_ready())
        order.extend(ready)
        sorter.done(*ready)
    return order


def schema_problems(source: Mapping[str, Sequence[str]],
                    target: Mapping[str, Sequence[str]]) -> list[str]:
    """What keeps the target from taking every row of the source, one Chinese line each:
    a table or a column missing on either side (the two are at different schema versions)."""
    problems: list[str] = []
    for table in sorted(set(source) - set(target)):
        problems.append(f"目标数据库缺少表 {table}")
    for table in sorted(set(target) - set(source)):
        problems.append(f"目标数据库多出表 {table}（源数据库没有）")
    for table in sorted(set(source) & set(target)):
        missing = [c for c in source[table] if c not in target[table]]
        extra = [c for c in target[table] if c not in source[table]]
        if missing:
            problems.append(f"目标数据库的表 {table} 缺少列 {'、'.join(missing)}")
        if extra:
            problems.append(f"目标数据库的表 {table} 多出列 {'、'.join(extra)}（源数据库没有）")
    return problems


def _same(value: Any) -> Any:
    return value


def _text(value: Any) -> Any:
    if value is None or type(value) is str:
        return value
    if isinstance(value, bytes):
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise BadValue("二进制内容不是 UTF-8 文本") from exc
    return str(value)  # a column SQLite left untyped (figures' `key`) holds numbers too


def _int(value: Any) -> Any:
    if value is None or type(value) is int:
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    raise BadValue(f"{value!r} 不是整数")


def _float(value: Any) -> Any:
    if value is None or type(value) is float:
        return value
    if isinstance(value, int):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError as exc:
            raise BadValue(f"{value!r} 不是数值") from exc
    raise BadValue(f"{value!r} 不是数值")


def _bytes(value: Any) -> Any:
    if value is None or isinstance(value, bytes):
        return value
    return str(value).encode("utf-8")


def converter(kind: str) -> Callable[[Any], Any]:
    """How a value SQLite returned goes into a PostgreSQL column of type `kind` (its udt name).
    SQLite stores any value in any column; asyncpg's binary COPY takes exactly the column's
    type, so what SQLite's affinity let through is turned the way SQLite itself would read it."""
    if kind in TEXT_TYPES:
        return _text
    if kind in INT_TYPES:
        return _int
    if kind in FLOAT_TYPES:
        return _float
    if kind == "bytea":
        return _bytes
    return _same


def row_converter(columns: Sequence[str], kinds: Sequence[str]
                  ) -> Callable[[Sequence[Any]], tuple[Any, ...]]:
    """One row's converter for `columns` of `kinds`, chosen once per table, not once per
    value; a value it cannot take raises BadValue naming its column."""
    funcs = [converter(k) for k in kinds]
    if all(f is _same for f in funcs):
        return tuple

    def convert(row: Sequence[Any]) -> tuple[Any, ...]:
        try:
            return tuple(f(v) for f, v in zip(funcs, row, strict=True))
        except BadValue:
            for name, f, v in zip(columns, funcs, row, strict=True):
                try:
                    f(v)
                except BadValue as exc:
                    raise BadValue(f"列 {name}：{exc}") from exc
            raise

    return convert


class EventDigest:
    """SHA-256 over the event log in `seq` order: each event as one JSON line of
    [seq, time, type, data], `data` as the stored text. The same on both databases only if
    every event came across with the same number, moment, type and payload."""

    def __init__(self) -> None:
        self._hash = hashlib.sha256()
        self.count = 0
        self.last_seq = 0

    def add(self, seq: int, time: str, type_: str, data: str) -> None:
        line = json.dumps([int(seq), time, type_, data], ensure_ascii=False,
                          separators=(",", ":"))
        self._hash.update(line.encode("utf-8") + b"\n")
        self.count += 1
        self.last_seq = int(seq)

    def hexdigest(self) -> str:
        return self._hash.hexdigest()


def count_differences(source: Mapping[str, int], target: Mapping[str, int]) -> list[str]:
    """One Chinese line per table whose row counts differ (or that one side lacks)."""
    lines = []
    for table in sorted(set(source) | set(target)):
        a, b = source.get(table), target.get(table)
        if a != b:
            lines.append(f"表 {table} 行数不一致：源 {a if a is not None else '无此表'}，"
                         f"目标 {b if b is not None else '无此表'}")
    return lines
