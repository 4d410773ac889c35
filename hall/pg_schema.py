"""The hall's migrations (hall/store.py MIGRATIONS) as PostgreSQL runs them.

Why the same list and not a schema of its own: a hall that moves up (`python -m hall
migrate`) must find the same tables, columns and meanings on PostgreSQL, and a column added
for SQLite must not be forgotten on PostgreSQL. The column types map one to one (INTEGER to
BIGINT, REAL to DOUBLE PRECISION, an INTEGER PRIMARY KEY to a generated key); only the
triggers are written twice, since SQLite's trigger language is not PostgreSQL's, and the
one data fix-up of migration 2 is skipped (a new PostgreSQL database has no older rows).

SQLite's functions that the reports use exist here under the same names and meanings
(`COMPAT`), so the report queries run unchanged: `strftime` (the formats the hall uses, over
unix seconds), `printf` ('%0Nd'), `date` (a day moved by 'weekday N' and '±N days'),
`julianday`, `round(x, digits)` (SQLite's: a float, half away from zero), `json_extract`,
`json_type` and `json_each` over a path. They stop where SQLite's typing does: PostgreSQL's
functions have one return type, so `json_extract` and `json_each`'s `value` are text (a query
that wants a number says `CAST(... AS INTEGER)`, which SQLite reads the same; a JSON true is
'true' where SQLite gives 1, and no report reads one), and `json_type` is how a query asks
what a value is (SQLite's `typeof` has no counterpart). `printf` knows '%0Nd' of numbers
from 0 up, the hall's keys and hours. Where a portable form exists, the queries use it
instead of a function here (hall/portable_sql.py); tests/test_portable_sql.py holds both to
SQLite's answers. COMPAT is idempotent and hall/store_pg.py applies it at every start, under
the hall's lock, so a database made by an older version gets the functions added since.
Pure: no I/O.
"""

from __future__ import annotations

import re

from hall.pg_sql import translate

# PostgreSQL's own statements for a migration's triggers, keyed by the migration number
TRIGGERS: dict[int, str] = {
    1: """
    CREATE FUNCTION waiting_kept() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP = 'UPDATE' AND OLD.state = 'waiting' THEN
            UPDATE waiting_counts SET waiting = waiting - 1
            WHERE day = OLD.day AND queue = OLD.queue;
        END IF;
        IF NEW.state = 'waiting' THEN
            INSERT INTO waiting_counts (day, queue, waiting) VALUES (NEW.day, NEW.queue, 1)
            ON CONFLICT (day, queue) DO UPDATE SET waiting = waiting_counts.waiting + 1;
        END IF;
        RETURN NULL;
    END $$;
    CREATE TRIGGER waiting_on_insert AFTER INSERT ON tickets
    FOR EACH ROW WHEN (NEW.state = 'waiting') EXECUTE FUNCTION waiting_kept();
    CREATE TRIGGER waiting_on_update AFTER UPDATE OF state, queue ON tickets
    FOR EACH ROW WHEN ((OLD.state = 'waiting') <> (NEW.state = 'waiting') OR
                       (OLD.state = 'waiting' AND OLD.queue <> NEW.queue))
    EXECUTE FUNCTION waiting_kept();
    """,
    3: """
    CREATE FUNCTION audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP = 'DELETE' THEN
            RAISE EXCEPTION '审计日志只能追加，不能删除';
        END IF;
        IF OLD.hash IS NOT NULL THEN
            RAISE EXCEPTION '审计日志只能追加，不能修改';
        END IF;
        RETURN NEW;
    END $$;
    CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
    FOR EACH ROW EXECUTE FUNCTION audit_append_only();
    CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
    FOR EACH ROW EXECUTE FUNCTION audit_append_only();
    """,
}

# SQLite's functions, as far as the hall's queries use them
COMPAT = r"""
-- SQLite first rounds the instant to its whole millisecond (on its Julian-day scale, in the
-- same double arithmetic), so 09:59:59.9996 is 10 o'clock on both databases
-- (STABLE, as to_char is: then PostgreSQL inlines it into the query, four times quicker)
CREATE OR REPLACE FUNCTION strftime(fmt text, ts double precision, modifier text)
RETURNS text LANGUAGE sql STABLE AS $$
    SELECT to_char(to_timestamp(
            (floor(ts * 1000.0 + 210866760000000.0 + 0.5) - 210866760000000.0) / 1000.0)
            AT TIME ZONE 'UTC',
        replace(replace(replace(replace(replace(replace(fmt,
            '%Y', 'YYYY'), '%m', 'MM'), '%d', 'DD'), '%H', 'HH24'), '%M', 'MI'), '%S', 'SS'))
$$;
-- over json, not jsonb: reading a path out of the text is quicker than building a tree
CREATE OR REPLACE FUNCTION json_extract(data text, path text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT (data::json) #>> string_to_array(substring(path from 3), '.')
$$;
CREATE OR REPLACE FUNCTION julianday(t text) RETURNS double precision
LANGUAGE sql STABLE AS $$
    SELECT extract(epoch from t::timestamptz)::double precision / 86400.0 + 2440587.5
$$;
CREATE OR REPLACE FUNCTION printf(fmt text, n bigint) RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT regexp_replace(fmt, '%0\d+d', lpad(COALESCE(n, 0)::text,
        greatest(substring(fmt from '%0(\d+)d')::int, length(COALESCE(n, 0)::text)), '0'))
$$;
-- SQLite's round(x, n) is a float rounded half away from zero; PostgreSQL has it for numeric
CREATE OR REPLACE FUNCTION round(x double precision, digits integer) RETURNS double precision
LANGUAGE sql IMMUTABLE AS $$ SELECT pg_catalog.round(x::numeric, digits)::double precision $$;
-- date(day, modifier, modifier) over 'YYYY-MM-DD': the modifiers a report period uses (in
-- plpgsql: a year's report by window and week calls it for some 100,000 roll-up rows)
CREATE OR REPLACE FUNCTION date(day text, first text, second text) RETURNS text
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    d date := make_date(substr(day, 1, 4)::int, substr(day, 6, 2)::int, substr(day, 9, 2)::int);
    m text;
BEGIN
    FOREACH m IN ARRAY ARRAY[first, second] LOOP
        IF m LIKE 'weekday _' AND substr(m, 9) BETWEEN '0' AND '6' THEN
            d := d + (substr(m, 9)::int - extract(dow from d)::int + 7) % 7;
        ELSIF m ~ '^[+-]?[0-9]+ days?$' THEN
            d := d + split_part(m, ' ', 1)::int;
        ELSE
            RETURN NULL;
        END IF;
    END LOOP;
    RETURN to_char(d, 'YYYY-MM-DD');
END $$;
-- SQLite's json_type: integer, real, text, true, false, null, array, object; NULL if absent
-- (in plpgsql: the text is read once, where an SQL function would read it for each use)
CREATE OR REPLACE FUNCTION json_type(data text, path text) RETURNS text
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    v json := (data::json) #> string_to_array(substring(path from 3), '.');
BEGIN
    RETURN CASE json_typeof(v)
        WHEN 'number' THEN CASE WHEN v::text ~ '^-?[0-9]+$' THEN 'integer' ELSE 'real' END
        WHEN 'string' THEN 'text'
        WHEN 'boolean' THEN v::text
        ELSE json_typeof(v)
    END;
END $$;
-- SQLite's json_each(data, path): a row per element of an array (key 0, 1, ...) or member of
-- an object, or one row (key NULL) for a single value; `value` is the element's text, or its
-- JSON text for an array or object; no row where the path leads nowhere
CREATE OR REPLACE FUNCTION json_each(data text, path text) RETURNS TABLE (key text, value text)
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN json_typeof(x.doc) = 'array' THEN (e.n - 1)::text ELSE e.k END,
           e.v #>> '{}'
    FROM (SELECT (data::json) #> string_to_array(substring(path from 3), '.') AS doc) AS x,
    LATERAL (
        SELECT NULL::text AS k, a.v, a.n FROM json_array_elements(
            CASE WHEN json_typeof(x.doc) = 'array' THEN x.doc END) WITH ORDINALITY AS a(v, n)
        UNION ALL
        SELECT o.key, o.value, 0 FROM json_each(
            CASE WHEN json_typeof(x.doc) = 'object' THEN x.doc END) AS o
        UNION ALL
        SELECT NULL, x.doc, 0 WHERE json_typeof(x.doc) NOT IN ('array', 'object')
    ) AS e
$$;
CREATE OR REPLACE FUNCTION bool_sum(acc bigint, x boolean) RETURNS bigint
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN x IS NULL THEN acc ELSE COALESCE(acc, 0) + CASE WHEN x THEN 1 ELSE 0 END END
$$;
DO $$ BEGIN
    CREATE AGGREGATE total(double precision) (SFUNC = float8pl, STYPE = double precision,
                                              INITCOND = '0');
EXCEPTION WHEN duplicate_function THEN NULL;
END $$;
DO $$ BEGIN
    CREATE AGGREGATE sum(boolean) (SFUNC = bool_sum, STYPE = bigint);
EXCEPTION WHEN duplicate_function THEN NULL;
END $$;
"""

_TYPES = [
    (re.compile(r"\bINTEGER\s+PRIMARY\s+KEY\b", re.IGNORECASE),
     "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY"),
    (re.compile(r"\bINTEGER\b", re.IGNORECASE), "BIGINT"),
    (re.compile(r"\bINT\b", re.IGNORECASE), "BIGINT"),
    (re.compile(r"\bREAL\b", re.IGNORECASE), "DOUBLE PRECISION"),
    (re.compile(r"\bBLOB\b", re.IGNORECASE), "BYTEA"),
    (re.compile(r"\)\s*WITHOUT\s+ROWID", re.IGNORECASE), ")"),
]
_SKIP = ("CREATE TRIGGER", "UPDATE COMPLAINTS SET STATUS = 'RECEIVED'")


def _typed(statement: str) -> str:
    """A column SQLite left without a type (it takes any value) is TEXT here."""
    start = statement.index("(")
    depth, parts, current = 0, [], ""
    for char in statement[start + 1:]:
        if char == "(":
            depth += 1
        elif char == ")":
            if depth == 0:
                break
            depth -= 1
        if char == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += char
    parts.append(current)
    body = ",".join(f"{p} TEXT" if re.fullmatch(r"\s*\w+\s*", p) else p for p in parts)
    end = start + 1 + len(",".join(parts))
    return statement[:start + 1] + body + statement[end:]


def statements(number: int, script: str, split: object) -> list[str]:
    """Migration `number` as PostgreSQL statements. `split`: hall.store's statement splitter
    (passed in, so this module needs no SQLite)."""
    out: list[str] = []
    for statement in split(script):  # type: ignore[operator]
        head = " ".join(statement.split()).upper()
        if head.startswith(_SKIP):
            continue
        if head.startswith(("CREATE TABLE", "ALTER TABLE")):
            for pattern, replacement in _TYPES:
                statement = pattern.sub(replacement, statement)
        if head.startswith("CREATE TABLE"):
            statement = _typed(statement)
        out.append(translate(statement).sql)
    if number in TRIGGERS:
        out.append(TRIGGERS[number])
    return out


# Tables only PostgreSQL has, which a hall moving up from SQLite (hall/move_up.py) neither
# copies nor expects in its file: the migrations' own record, and the shared ticket counts.
PG_ONLY_TABLES = ("schema_version", "ticket_takes")

# The per-client ticket counts of a hall served by several processes (hall/limits_shared.py):
# one row per address or kiosk, taken under its row lock, so two processes counting the same
# client see each other. UNLOGGED: a count is worth less than the WAL it would cost every
# ticket, and a database crash forgets it as a server restart forgets the in-memory counts of
# one process (hall/limits.py). Idempotent, applied at every start like COMPAT.
# ticket_take answers NULL (taken), -1 (the day's limit reached) or the seconds until the
# minute's window lets one more through; a refusal counts nothing.
TICKET_TAKES = r"""
CREATE UNLOGGED TABLE IF NOT EXISTS ticket_takes (
    kind TEXT NOT NULL,
    key TEXT NOT NULL,
    day TEXT NOT NULL,
    day_count BIGINT NOT NULL,
    recent DOUBLE PRECISION[] NOT NULL,
    PRIMARY KEY (kind, key));
CREATE INDEX IF NOT EXISTS ticket_takes_day ON ticket_takes (day);
CREATE OR REPLACE FUNCTION ticket_take(k text, who text, today text, at double precision,
                                       per_minute bigint, per_day bigint)
RETURNS double precision LANGUAGE plpgsql AS $$
DECLARE
    kept double precision[];
    counted bigint;
BEGIN
    INSERT INTO ticket_takes VALUES (k, who, today, 0, '{}') ON CONFLICT (kind, key) DO NOTHING;
    SELECT CASE WHEN day = today THEN day_count ELSE 0 END,
           ARRAY(SELECT h FROM unnest(recent) AS h WHERE h > at - 60 ORDER BY h)
      INTO counted, kept
      FROM ticket_takes WHERE kind = k AND key = who FOR UPDATE;
    IF per_minute > 0 AND cardinality(kept) >= per_minute THEN
        RETURN greatest(0, kept[cardinality(kept) - per_minute + 1] + 60 - at);
    END IF;
    IF per_day > 0 AND counted >= per_day THEN
        RETURN -1;
    END IF;
    IF per_minute > 0 THEN
        kept := kept || at;
        kept := kept[greatest(1, cardinality(kept) - per_minute + 1):];
    ELSE
        kept := '{}';
    END IF;
    UPDATE ticket_takes SET day = today, day_count = counted + 1, recent = kept
     WHERE kind = k AND key = who;
    RETURN NULL;
END $$;
"""


# A batch's plain tickets (hall/ticket_rows.py `TicketDraft`) numbered and written by one call:
# for each, in order, exactly `_ONE`'s statement (the counter, the manager's cap, the queue's
# waiting count and oldest place as they were before it, the row), one round trip for all.
# Applied at every start (CREATE OR REPLACE), like COMPAT.
ISSUE_TICKETS = r"""
CREATE OR REPLACE FUNCTION issue_tickets(
    q text[], d text[], pre text[], w bigint[], svc text[], chan text[], kio text[],
    pri text[], pri_by text[], help bigint[], appt double precision[], tok text[],
    at double precision[])
RETURNS TABLE (t tickets, counted_ bigint, cap_ bigint, waiting_ bigint,
               oldest_ double precision)
LANGUAGE plpgsql AS $$
DECLARE
    i integer;
BEGIN
    FOR i IN 1 .. coalesce(array_length(q, 1), 0) LOOP
        INSERT INTO counters (queue, day, last) VALUES (q[i], d[i], 1)
            ON CONFLICT (queue, day) DO UPDATE SET last = counters.last + 1
            RETURNING last INTO counted_;
        cap_ := (SELECT daily_cap FROM staffing_queues WHERE id = q[i]);
        waiting_ := (SELECT waiting FROM waiting_counts WHERE day = d[i] AND queue = q[i]);
        oldest_ := (SELECT order_at FROM tickets WHERE state = 'waiting' AND day = d[i]
                      AND queue = q[i] ORDER BY order_at LIMIT 1);
        INSERT INTO tickets (day, number, queue, service, channel, kiosk, priority,
                             priority_by, needs_help, appointment_at, token, issued_at, state,
                             order_at)
            VALUES (d[i], pre[i] || lpad(counted_::text,
                                         greatest(w[i]::integer, length(counted_::text)), '0'),
                    q[i], svc[i], chan[i], kio[i], pri[i], pri_by[i], help[i], appt[i], tok[i],
                    at[i], 'waiting', at[i])
            RETURNING * INTO t;
        RETURN NEXT;
    END LOOP;
END $$;
"""
