"""The only writer of the hall's state.

Every change is one function here = one transaction (a savepoint of the store's group commit)
that changes the rows, appends its event and, for clerk and manager actions, its audit row;
the event is published after commit and the caller answered after that. Pages, devices and the
API call these functions and nothing else writes to the database.

Rules taken here where domain.md leaves room (each is a hall's choice, kept simple to explain):
* A window with a ticket still called or being served cannot call the next one (409
  `window_busy`): the clerk finishes, skips (过号), holds or transfers it first, so no citizen
  is silently dropped.
* A transfer keeps the ticket and its number (the citizen keeps the paper they hold) and its
  original issue time; to a queue, it waits there in issue-time order; to a window, it is
  directed there and taken first.
* 过号 `requeue` puts the ticket back behind the next N waiting in its queue, once; a second
  skip voids it. `recall` lets the window call one of its last K missed numbers by number.
* Pausing needs a reason and a free window.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import sqlite3
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from hall import audit as hall_audit
from hall import errors, real_name, staffing_rows, stats
from hall.alarms import (
    Condition,
    QueueFacts,
    Thresholds,
    WindowFacts,
    application_condition,
    calendar_condition,
    queue_conditions,
    window_conditions,
)
from hall.config import HallConfig, coverage_warning
from hall.datefmt import day_text
from hall.eta import eta_minutes, rolling_minutes
from hall.events import Bus
from hall.model import (
    CHANNELS,
    LEGAL_FROM,
    OUTCOME_NAMES,
    STATE_NAMES,
    STEP_NAMES,
    Candidate,
    Outcome,
    State,
    WindowState,
)
from hall.numbering import hall_day, parse_number
from hall.routing import WindowRule, callable_now, choose_next, requeue_order
from hall.staffing import Overrides, effective
from hall.store import Event, Store, Tx
from hall.store_pg import open_store
from hall.ticket_rows import COLUMNS, OLDEST, WAITING, TicketDraft, insert_ticket

RECENT_CALLS = 10
HANDLING_SAMPLES = 20

IssueGuard = Callable[[str], Awaitable[str | None]]
InTx = Callable[[Tx, dict[str, Any]], None]
DayCloseHook = Callable[[Tx, float], None]
TicketHook = Callable[[dict[str, Any]], Awaitable[None]]
CallHook = Callable[[str, int], str | None]
FailedCaseHook = Callable[[Tx, sqlite3.Row, int, "Actor", str | None, float], str]


@dataclass(frozen=True)
class Actor:
    """Who did it, for the ticket's clerk field and the audit log."""

    user: str | None
    source: str | None = None


def _ts(value: float | None, tz: Any) -> str | None:
    if value is None:
        return None
    return datetime.fromtimestamp(value, tz).isoformat(timespec="seconds")


# event types after which another process's in-memory view of the hall is read again
FOREIGN_STATE = ("window.", "queue.", "hall.", "staffing.", "day.", "ticket.finished")


class HallService:
    def __init__(self, config: HallConfig, store: Store, bus: Bus,
                 clock: Callable[[], datetime] | None = None) -> None:
        self.base_config = config  # config.toml as loaded
        self._overrides = Overrides()
        self._config = config
        self._memo: tuple[Overrides, HallConfig] = (self._overrides, config)
        self.store = store
        self.bus = bus
        self.tz = config.hall.tz
        self.clock = clock or (lambda: datetime.now(self.tz))
        self._handling: dict[str, float] = {}
        self._open_windows: set[int] = set()
        self._open_days: set[str] = set()  # days a manager opened though the calendar is off
        # Hooks app.py wires to devices: a kiosk's printer refuses before a number is used;
        # a printer prints after commit; a call gets its announcement's audio URL.
        self.issue_guards: dict[str, IssueGuard] = {}
        self.on_issued: list[TicketHook] = []
        self.audio_for_call: CallHook | None = None
        # hall.feedback makes a 办不成 outcome a complaint case (reference, deadlines, alarm)
        # in the finish's own transaction; without it, a bare complaints row is written.
        self.open_failed_case: FailedCaseHook | None = None
        # hall.arrivals marks bookings and phone tickets no-shows in the day close's transaction
        self.on_day_close: list[DayCloseHook] = []
        store.on_commit = bus.publish
        # on PostgreSQL, other server processes change the hall too (hall/store_pg.py)
        store.on_foreign = self._foreign_changes

    # ------------------------------------------------------------------ the hall as it runs

    @property
    def config(self) -> HallConfig:
        """The hall as it runs now: config.toml plus the managers' staffing (hall/staffing.py).

        Why one property and no copies: routing, the snapshot, the screens' pages, the LED,
        voice and caller-pad adapters, the counter pad's window list and the manager pages all
        read the configuration here at the moment they need it, so swapping this one value
        (`use_staffing`, after the change commits and before its event is published) moves
        them all at once; nobody holds a stale copy to be told about. The few steps that must
        agree with rows written in the same group commit (calling, the snapshot's seq, login,
        the daily cap) read it from their own transaction instead (`config_in`)."""
        return self._config

    @config.setter
    def config(self, value: HallConfig) -> None:
        """A new config.toml (tests): today's staffing is applied over it."""
        self.base_config = value
        self._memo = (Overrides(), value)
        self._config = effective(value, self._overrides)

    def config_in(self, conn: sqlite3.Connection) -> HallConfig:
        """The hall as the open transaction on `conn` sees it (the overrides read there; the
        result is remembered, so an unchanged hall costs two small reads)."""
        overrides = staffing_rows.load(conn)
        seen, config = self._memo
        if seen != overrides:
            config = effective(self.base_config, overrides)
            self._memo = (overrides, config)
        return config

    def use_staffing(self, tx: Tx) -> HallConfig:
        """After a staffing change in `tx`: the new hall, made current once `tx` commits."""
        overrides = staffing_rows.load(tx.conn)
        config = self.config_in(tx.conn)

        def swap() -> None:
            self._overrides, self._config = overrides, config

        tx.after_commit(swap)
        return config

    def window_name(self, number: int) -> str:
        """A window's name, also for one that is gone (a temporary window closed since)."""
        return self.config.window(number).name if self.config.has_window(number) \
            else f"{number}号窗口"

    def public_windows(self, conn: sqlite3.Connection, config: HallConfig
                       ) -> list[dict[str, Any]]:
        return [self.window_public(conn, w.number, config) for w in config.windows]

    @classmethod
    async def open(cls, config: HallConfig, db_path: str | Path,
                   clock: Callable[[], datetime] | None = None) -> HallService:
        store = await open_store(db_path)
        service = cls(config, store, Bus(config.hall.ws_client_queue), clock)
        try:
            await service._start()
        except BaseException:
            await store.close()  # its threads would keep a failed start-up alive
            raise
        return service

    async def close(self) -> None:
        await self.store.close()

    async def _start(self) -> None:
        numbers = [w.number for w in self.config.windows]

        def init(tx: Tx) -> None:
            tx.conn.executemany("INSERT OR IGNORE INTO windows (number) VALUES (?)",
                                [(n,) for n in numbers])
            tx.conn.execute("INSERT OR IGNORE INTO windows (number) "
                            "SELECT number FROM staffing_windows WHERE temporary = 1")

        await self.store.write(init, self.clock())
        await self.refresh_caches()
        await self.close_stale_days()

    async def _foreign_changes(self, events: list[Event]) -> None:
        """Another server process committed `events`: what this one keeps in memory (open
        windows, handling times, opened days, the managers' staffing) is read again before the
        events reach this process's screens and devices, so they see the hall the events
        describe. Tickets alone change nothing kept here but the handling average."""
        if not any(e.type.startswith(FOREIGN_STATE) for e in events):
            return

        def load(conn: sqlite3.Connection) -> tuple[Overrides, HallConfig]:
            return staffing_rows.load(conn), self.config_in(conn)

        self._overrides, self._config = await self.store.read(load)
        await self.refresh_caches()

    async def refresh_caches(self) -> None:
        def load(conn: sqlite3.Connection) -> tuple[set[int], dict[str, float], set[str]]:
            open_ = {r[0] for r in conn.execute(
                "SELECT number FROM windows WHERE clerk IS NOT NULL AND paused = 0")}
            handling = {q.id: _handling_minutes(conn, q.id, q.default_minutes)
                        for q in self.config.queues}
            days = {r[0] for r in conn.execute("SELECT day FROM open_days")}
            return open_, handling, days

        self._open_windows, self._handling, self._open_days = await self.store.read(load)

    # ------------------------------------------------------------------ reading helpers

    def _now(self) -> tuple[datetime, float, str]:
        now = self.clock()
        return now, now.timestamp(), hall_day(now, self.tz).isoformat()

    def _open_for(self, queue_id: str) -> int:
        return sum(1 for w in self.config.windows_serving(queue_id)
                   if w.number in self._open_windows)

    def queue_summary(self, conn: sqlite3.Connection, queue_id: str, day: str,
                      now: float) -> dict[str, Any]:
        # one statement (a round trip on PostgreSQL)
        waiting, oldest = conn.execute(f"SELECT ({WAITING}), ({OLDEST})",
                                       (day, queue_id, day, queue_id)).fetchone()
        return self._summary(queue_id, waiting or 0, oldest, now)

    def _summary(self, queue_id: str, waiting: int, oldest: float | None,
                 now: float) -> dict[str, Any]:
        q = self.config.queue(queue_id)
        return {
            "id": q.id, "name": q.name, "prefix": q.prefix, "waiting": waiting,
            "eta_minutes": eta_minutes(waiting, self._handling.get(q.id, q.default_minutes),
                                       self._open_for(q.id)),
            "longest_wait_minutes": int((now - oldest) // 60) if oldest else 0,
            "waiting_alarm": q.waiting_alarm or self.config.sla.waiting_alarm,
            "wait_alarm_minutes": q.wait_alarm_minutes or self.config.sla.wait_alarm_minutes,
        }

    def window_public(self, conn: sqlite3.Connection, number: int,
                      config: HallConfig | None = None) -> dict[str, Any]:
        """A window as every public screen may see it: its staffing (queues, temporary,
        closed for the day) and state, never who sits there."""
        config = config or self.config
        if not config.has_window(number):  # a temporary window closed since
            return {"number": number, "name": f"{number}号窗口", "kind": "comprehensive",
                    "chief": False, "state": str(WindowState.CLOSED), "current": None,
                    "since": None, "queues": [], "order": "strict", "temporary": True,
                    "closed_today": True}
        row = conn.execute(
            "SELECT w.clerk, w.paused, w.pause_reason, w.since, t.number AS current, "
            "t.state AS tstate FROM windows w LEFT JOIN tickets t ON t.id = w.current_ticket "
            "WHERE w.number = ?", (number,)).fetchone()
        w = config.window(number)
        if row is None or row["clerk"] is None:
            state = WindowState.CLOSED
        elif row["paused"]:
            state = WindowState.PAUSED
        elif row["current"] and row["tstate"] in (State.CALLED, State.SERVING):
            state = WindowState(row["tstate"])
        else:
            state = WindowState.IDLE
        current = row["current"] if row is not None and state in (
            WindowState.CALLED, WindowState.SERVING) else None
        return {"number": w.number, "name": w.name, "kind": w.kind, "chief": w.chief,
                "state": str(state),
                "current": current,
                "since": _ts(row["since"], self.tz) if row is not None else None,
                "queues": list(w.queues), "order": w.order, "temporary": w.temporary,
                "closed_today": w.closed}

    def _ticket_view(self, conn: sqlite3.Connection, row: sqlite3.Row, now: float,
                     with_token: bool = True, position: int | None = None) -> dict[str, Any]:
        """The ticket as its holder sees it. The token is the citizen's key to their status
        and rating page: it goes to the holder only, never to a clerk's pad. A caller that
        knows the position (a new ticket is last in line) passes it and spares a count."""
        service = self.config.service(row["service"])
        queue = self.config.queue(row["queue"])
        eta = None
        if row["state"] != State.WAITING:
            position = None
        elif position is None:
            position = conn.execute(
                "SELECT COUNT(*) FROM tickets WHERE state = 'waiting' AND day = ? "
                "AND queue = ? AND (order_at < ? OR (order_at = ? AND id < ?))",
                (row["day"], row["queue"], row["order_at"], row["order_at"],
                 row["id"])).fetchone()[0]
        if position is not None:
            eta = eta_minutes(position, self._handling.get(queue.id, queue.default_minutes),
                              self._open_for(queue.id))
        window = None
        if row["window"] is not None and row["state"] in (
                State.CALLED, State.SERVING, State.HELD, State.DONE):
            window = {"number": row["window"], "name": self.window_name(row["window"])}
        # 好差评: a served ticket may be rated once, within [ratings] days_open of service
        rated = row["state"] == State.DONE and conn.execute(
            "SELECT 1 FROM ratings WHERE ticket_id = ?", (row["id"],)).fetchone() is not None
        rating_open = (row["state"] == State.DONE and not rated and now - (
            row["finished_at"] or now) <= self.config.ratings.days_open * 86400)
        return {
            "id": row["id"], "number": row["number"], "service": service.id,
            "service_name": service.name, "queue": queue.id, "queue_name": queue.name,
            "state": row["state"], "state_name": STATE_NAMES[State(row["state"])],
            "position": position, "eta_minutes": eta,
            "token": row["token"] if with_token else None,
            "issued_at": _ts(row["issued_at"], self.tz),
            "materials": list(service.materials), "time_limit_days": service.time_limit_days,
            "priority": row["priority"], "priority_name": self._priority_name(row["priority"]),
            "needs_help": bool(row["needs_help"]), "due_date": row["due_date"],
            "window": window, "outcome": row["outcome"],
            "called_at": _ts(row["called_at"], self.tz),
            "started_at": _ts(row["started_at"], self.tz),
            "finished_at": _ts(row["finished_at"], self.tz),
            "rated": rated, "rating_open": rating_open,
            "waited_minutes": int(((row["first_called_at"] or now) - row["issued_at"]) // 60),
        }

    def _priority_name(self, reason_id: str | None) -> str | None:
        if reason_id is None:
            return None
        reason = self.config.priority_reason(reason_id)
        return reason.name if reason is not None else reason_id

    def _check_priority(self, priority: Any, granted_by: str | None) -> None:
        """A reason from config; one that is not self-declared needs a staff account."""
        if priority is None:
            return
        reason = self.config.priority_reason(priority) if isinstance(priority, str) else None
        if reason is None:
            names = "、".join(r.name for r in self.config.priority_reasons)
            raise errors.invalid(f"优先原因只能是{names}之一，或不选", "invalid_priority")
        if not reason.self_declared and granted_by is None:
            raise errors.forbidden(
                f"“{reason.name}”优先需由工作人员核验证件后办理，请到导办台或窗口",
                "priority_needs_staff")

    def _check_open(self, now: datetime, queue_id: str) -> None:
        """Tickets only on working days (or a day a manager opened) and within the queue's
        issuing hours. Weekends count as days off too: a hall that serves on Saturdays opens
        them by hand (`open_day`) or lists them in [workdays] makeup_days."""
        if not self.config.hall.enforce_hours:
            return
        local = now.astimezone(self.tz)
        today = local.date()
        workdays = self.config.workdays
        if not workdays.is_working_day(today) and today.isoformat() not in self._open_days:
            raise errors.conflict(
                f"今天是{workdays.holiday_name(today)}，大厅不办理取号，请在工作日前来",
                "hall_holiday")
        opening, closing = self.config.hours(queue_id)
        if not (opening <= local.time() < closing):
            name = self.config.queue(queue_id).name
            raise errors.conflict(
                f"现在不在{name}的取号时间 ({opening:%H:%M}-{closing:%H:%M})，请在办公时间内取号",
                "hall_closed")

    # ------------------------------------------------------------------ citizens

    async def issue_ticket(self, service_id: Any, *, priority: Any = None,
                           needs_help: Any = False, channel: Any = "kiosk",
                           kiosk: Any = None, idempotency_key: str | None = None,
                           appointment_at: float | None = None,
                           granted_by: str | None = None,
                           idempotency_body: str = "",
                           in_tx: InTx | None = None,
                           person: real_name.Person | None = None) -> dict[str, Any]:
        """`granted_by`: the staff account (导办, clerk) issuing the ticket, who may grant a
        priority reason that is not self-declared; recorded on the ticket.
        `idempotency_key`: a retry with it gets the same ticket. `hall.api` scopes it to the
        client and passes a digest of the body as `idempotency_body`: the same key with another
        body is refused (409), never answered with the first request's ticket (issue 9.8).
        `in_tx(tx, ticket)`: more of the same change in the ticket's own transaction (a booking
        checked in, a phone ticket's holder recorded); when it refuses, no number is used.

        `person`: who the ticket is for, needed in a real-name queue (hall/real_name.py)."""
        if not isinstance(service_id, str) or not service_id:
            raise errors.invalid("请选择办理事项", "invalid_service", "service")
        if not self.config.has_service(service_id):
            raise errors.not_found("没有这个办理事项", "unknown_service", "service")
        self._check_priority(priority, granted_by)
        if not isinstance(needs_help, bool):
            raise errors.invalid("请选择是否需要帮办", "invalid_needs_help", "needs_help")
        if not isinstance(channel, str) or channel not in CHANNELS:
            raise errors.invalid("取号渠道不对", "invalid_channel", "channel")
        if kiosk is not None and not isinstance(kiosk, str):
            raise errors.invalid("取号机编号格式不对", "invalid_kiosk", "kiosk")
        if idempotency_key is not None and not (0 < len(idempotency_key) <= 200):
            raise errors.bad_request("重复提交标识长度应为 1 到 200", "invalid_idempotency_key")
        now, ts, day = self._now()
        self._check_open(now, self.config.service(service_id).queue)
        if kiosk and kiosk in self.issue_guards:
            refusal = await self.issue_guards[kiosk](kiosk)
            if refusal:
                raise errors.HallError(503, "printer_not_ready",
                                       f"{refusal}，请到其他取号机取号或联系工作人员")
        service = self.config.service(service_id)
        queue = self.config.queue(service.queue)
        person, priority, granted_by = real_name.admit(
            self.config, queue, person, priority, granted_by, appointment_at is not None,
            date.fromisoformat(day))

        columns = dict(service=service.id, channel=channel, kiosk=kiosk, priority=priority,
                       priority_by=granted_by if priority is not None else None,
                       needs_help=int(needs_help), appointment_at=appointment_at,
                       token=secrets.token_urlsafe(16), issued_at=ts)
        draft = TicketDraft(queue.id, day, queue.prefix, queue.width,
                            tuple(columns[c] for c in COLUMNS))
        # a plain ticket writes its row and nothing else: its batch may write it ahead
        plain = idempotency_key is None and person is None and granted_by is None \
            and in_tx is None

        def issue(tx: Tx) -> tuple[dict[str, Any], bool]:
            if idempotency_key is not None:
                # stored as "<key>|<body digest>": the range finds the key whatever the body
                row = tx.one("SELECT i.key AS idem_key, t.* FROM idempotency i JOIN tickets t "
                             "ON t.id = i.ticket_id WHERE i.key >= ? AND i.key < ?",
                             (idempotency_key + "|", idempotency_key + "}"))
                if row is not None:
                    if row["idem_key"] != f"{idempotency_key}|{idempotency_body}":
                        raise errors.conflict("这次取号的请求编号已用于另一个不同的取号请求，"
                                              "请重新取号", "idempotency_mismatch")
                    return self._ticket_view(tx.conn, row, ts), False
            if person is not None:
                real_name.check_limits(tx.conn, person, service.id, date.fromisoformat(day),
                                       self.config.real_name)

            def check(counter: int, cap: int | None) -> None:  # a manager's cap, else the file's
                if counter > (cap or self.base_config.queue(queue.id).daily_cap):
                    raise errors.conflict(
                        f"{queue.name}今日号源已发完；如有空闲窗口，请直接到窗口咨询", "daily_cap")

            numbered = insert_ticket(tx.conn, draft, check)
            row, number = numbered.row, numbered.row["number"]
            ticket_id = row["id"]
            if person is not None:
                real_name.record(tx.conn, ticket_id, day, service.id, person,
                                 self.config.real_name.keep_days)
            if idempotency_key is not None:
                tx.conn.execute("INSERT INTO idempotency (key, ticket_id, created_at) "
                                "VALUES (?, ?, ?)",
                                (f"{idempotency_key}|{idempotency_body}", ticket_id, ts))
            if granted_by is not None:  # a staff member issued it for a citizen: audited
                audit(tx, Actor(granted_by, None), "ticket.issue", f"ticket:{ticket_id}", True,
                      priority)
            # the queue before this ticket (hall/ticket_rows.py), and so after it
            oldest = numbered.oldest
            summary = self._summary(queue.id, numbered.waiting + 1,
                                    ts if oldest is None else min(oldest, ts), ts)
            view = self._ticket_view(tx.conn, row, ts, position=summary["waiting"] - 1)
            tx.emit("ticket.issued", {
                "number": number, "queue": queue.id, "service": service.id,
                "queues": [summary], "window": None, "window_state": None})
            if in_tx is not None:
                in_tx(tx, view)
            return view, True

        view, created = await self.store.write(issue, now, draft=draft if plain else None)
        if person is not None:
            view["real_name"] = person.public()
        if created:
            for hook in self.on_issued:
                asyncio.ensure_future(hook({**view, "kiosk": kiosk}))
        return view

    async def get_ticket(self, token: str) -> dict[str, Any]:
        now, ts, _ = self._now()

        def read(conn: sqlite3.Connection) -> dict[str, Any] | None:
            row = conn.execute("SELECT * FROM tickets WHERE token = ?", (token,)).fetchone()
            return None if row is None else self._ticket_view(conn, row, ts)

        view = await self.store.read(read)
        if view is None:
            raise errors.not_found("没有找到这张号票", "unknown_ticket")
        return view

    async def list_services(self) -> list[dict[str, Any]]:
        _, ts, day = self._now()
        summaries = await self.store.read(lambda conn: {
            q.id: self.queue_summary(conn, q.id, day, ts) for q in self.config.queues})
        return [{
            "id": s.id, "name": s.name, "queue": s.queue,
            "queue_name": self.config.queue(s.queue).name,
            "prefix": self.config.queue(s.queue).prefix, "materials": list(s.materials),
            "time_limit_days": s.time_limit_days, "helpdesk": s.helpdesk,
            "waiting": summaries[s.queue]["waiting"],
            "eta_minutes": summaries[s.queue]["eta_minutes"],
        } for s in self.config.services]

    async def hall_snapshot(self) -> dict[str, Any]:
        """Everything a public screen shows, consistent with one `seq` (one read transaction)."""
        _, ts, day = self._now()

        def read(conn: sqlite3.Connection) -> dict[str, Any]:
            seq = conn.execute("SELECT COALESCE(MAX(seq), 0) FROM events").fetchone()[0]
            config = self.config_in(conn)  # the windows of this very seq
            calls = conn.execute(
                "SELECT time, data FROM events WHERE type = 'ticket.called' "
                "ORDER BY seq DESC LIMIT ?", (RECENT_CALLS * 3,)).fetchall()
            recent: list[dict[str, Any]] = []
            seen: set[str] = set()
            for row in calls:
                data = json.loads(row["data"])
                if data["number"] in seen:  # a recall is not a second line on the screen
                    continue
                seen.add(data["number"])
                recent.append({"number": data["number"], "window": data["window"],
                               "window_name": data["window_name"], "time": row["time"],
                               "audio": data.get("audio")})
                if len(recent) == RECENT_CALLS:
                    break
            return {
                "seq": seq,
                "hall": {"name": self.config.hall.name, "notice": self.config.hall.notice},
                "queues": [self.queue_summary(conn, q.id, day, ts) for q in config.queues],
                "windows": self.public_windows(conn, config),
                "recent_calls": recent,
            }

        return await self.store.read(read)

    async def events_since(self, seq: int, limit: int) -> list[Event]:
        def read(conn: sqlite3.Connection) -> list[Event]:
            rows = conn.execute("SELECT seq, time, type, data FROM events WHERE seq > ? "
                                "ORDER BY seq LIMIT ?", (seq, limit)).fetchall()
            return [Event(r[0], r[1], r[2], json.loads(r[3])) for r in rows]

        return await self.store.read(read)

    async def last_seq(self) -> int:
        return await self.store.read(
            lambda conn: conn.execute("SELECT COALESCE(MAX(seq), 0) FROM events").fetchone()[0])

    # ------------------------------------------------------------------ clerks

    async def window_detail(self, number: int) -> dict[str, Any]:
        self._window(number)
        _, ts, day = self._now()
        policy = self.config.hall.skip

        def read(conn: sqlite3.Connection) -> dict[str, Any]:
            return self._window_detail(conn, number, day, ts, policy.recall_last)

        return await self.store.read(read)

    def _window_detail(self, conn: sqlite3.Connection, number: int, day: str, ts: float,
                       recall_last: int) -> dict[str, Any]:
        config = self.config_in(conn)
        if not config.has_window(number) or (
                row := conn.execute("SELECT * FROM windows WHERE number = ?",
                                    (number,)).fetchone()) is None:
            raise errors.not_found(f"没有 {number} 号窗口", "unknown_window")
        w = config.window(number)
        public = self.window_public(conn, number, config)
        current = None
        if row["current_ticket"] is not None:
            trow = conn.execute("SELECT * FROM tickets WHERE id = ?",
                                (row["current_ticket"],)).fetchone()
            if trow["state"] in (State.CALLED, State.SERVING):
                current = self._ticket_view(conn, trow, ts, with_token=False)
        held = [r[0] for r in conn.execute(
            "SELECT number FROM tickets WHERE window = ? AND state = 'held' AND day = ? "
            "ORDER BY called_at", (number, day))]
        recallable: list[str] = []
        if self.config.hall.skip.policy == "recall":
            recallable = [r[0] for r in conn.execute(
                "SELECT number FROM tickets WHERE window = ? AND state = 'no_show' AND day = ? "
                "ORDER BY finished_at DESC, id DESC LIMIT ?", (number, day, recall_last))]
        queues = [{"id": q, "name": self.config.queue(q).name,
                   "waiting": self.queue_summary(conn, q, day, ts)["waiting"]}
                  for q in w.queues]
        directed = conn.execute("SELECT COUNT(*) FROM tickets WHERE state = 'waiting' "
                                "AND day = ? AND directed_window = ?", (day, number)).fetchone()[0]
        return {"window": {**public, "pause_reason": row["pause_reason"], "clerk": row["clerk"]},
                "current": current, "queues": queues, "directed_waiting": directed,
                "held": held, "recallable": recallable}

    def _window(self, number: int) -> None:
        if not self.config.has_window(number):
            raise errors.not_found(f"没有 {number} 号窗口", "unknown_window")

    async def _clerk_op(self, number: int, action: str, actor: Actor,
                        body: Callable[[Tx, sqlite3.Row, str, float], list[str]],
                        target: str | None = None) -> dict[str, Any]:
        """Run one clerk step on a window: its change, its events and its audit row commit
        together; a refusal is audited too (as a failure) and raised for the API to answer."""
        self._window(number)
        now, ts, day = self._now()
        recall_last = self.config.hall.skip.recall_last

        def op(tx: Tx) -> dict[str, Any]:
            wrow = tx.one("SELECT * FROM windows WHERE number = ?", (number,))
            touched = body(tx, wrow, day, ts)
            audit(tx, actor, action, target or f"window:{number}", True,
                  ",".join(t for t in touched if not t.startswith("queue:")))
            return self._window_detail(tx.conn, number, day, ts, recall_last)

        try:
            result = await self.store.write(op, now)
        except errors.HallError as exc:
            await self.record_audit(actor, action, target or f"window:{number}", False,
                                    exc.code)
            raise
        if action in ("login", "logout", "pause", "resume"):
            await self.refresh_caches()
        return result

    def _current(self, tx: Tx, wrow: sqlite3.Row, step: str) -> sqlite3.Row:
        ticket = None
        if wrow["current_ticket"] is not None:
            ticket = tx.one("SELECT * FROM tickets WHERE id = ?", (wrow["current_ticket"],))
        if ticket is None or ticket["state"] not in (State.CALLED, State.SERVING):
            raise errors.conflict(f"本窗口当前没有号票，无法{STEP_NAMES[step]}", "illegal_state")
        if ticket["state"] not in LEGAL_FROM[step]:
            raise errors.conflict(
                f"{ticket['number']} 当前状态为{STATE_NAMES[State(ticket['state'])]}，"
                f"不能{STEP_NAMES[step]}", "illegal_state")
        return ticket

    def _require_free(self, tx: Tx, wrow: sqlite3.Row) -> None:
        if wrow["paused"]:
            raise errors.conflict(f"窗口暂停服务中 ({wrow['pause_reason']})，请先恢复服务",
                                  "window_paused")
        if wrow["current_ticket"] is not None:
            cur = tx.one("SELECT number, state FROM tickets WHERE id = ?",
                         (wrow["current_ticket"],))
            if cur is not None and cur["state"] in (State.CALLED, State.SERVING):
                raise errors.conflict(
                    f"{cur['number']} {STATE_NAMES[State(cur['state'])]}，尚未办结，"
                    "请先办结、过号、挂起或转移",
                    "window_busy")

    def _called(self, tx: Tx, number: int, ticket: sqlite3.Row, day: str, ts: float,
                recall: bool) -> None:
        audio = self.audio_for_call(ticket["number"], number) if self.audio_for_call else None
        tx.emit("ticket.called", {
            "number": ticket["number"], "window": number,
            "window_name": self.window_name(number), "queue": ticket["queue"],
            "recall": recall, "audio": audio,
            "queues": [self.queue_summary(tx.conn, ticket["queue"], day, ts)],
            "window_state": self.window_public(tx.conn, number)})

    def _event(self, tx: Tx, type_: str, number: int, ticket: sqlite3.Row | None, day: str,
               ts: float, queues: set[str] | None = None, **extra: Any) -> None:
        """Every event carries the public state of the window and queues it changed, so a
        screen merges it without asking again (design.md: public data only)."""
        qs = set(queues or ())
        if ticket is not None:
            qs.add(ticket["queue"])
        tx.emit(type_, {
            "number": ticket["number"] if ticket is not None else None, "window": number,
            "window_name": self.window_name(number), **extra,
            "queues": [self.queue_summary(tx.conn, q, day, ts) for q in sorted(qs)],
            "window_state": self.window_public(tx.conn, number)})

    async def call(self, number: int, actor: Actor, ticket_number: Any = None) -> dict[str, Any]:
        if ticket_number is not None and not isinstance(ticket_number, str):
            raise errors.invalid("号码格式不对，应如 A005", "invalid_number", "number")
        aging = self.config.hall.aging_minutes * 60
        policy = self.config.hall.skip

        def body(tx: Tx, wrow: sqlite3.Row, day: str, ts: float) -> list[str]:
            self._require_free(tx, wrow)
            rule = self._rule(tx, number)
            if ticket_number is None:
                rows = tx.all(
                    "SELECT id, queue, order_at, priority, needs_help, appointment_at, "
                    "directed_window, remote FROM tickets WHERE state = 'waiting' AND day = ? AND "
                    f"(queue IN ({','.join('?' * len(rule.queues))}) OR directed_window = ?)",
                    (day, *rule.queues, number))
                chosen = choose_next(rule, [_candidate(r) for r in rows], ts, aging)
                if chosen is None:
                    raise errors.conflict("当前没有等待的号票", "no_ticket_waiting")
                ticket = tx.one("SELECT * FROM tickets WHERE id = ?", (chosen.id,))
            else:
                ticket = self._find_callable(tx, rule, ticket_number, day,
                                             policy.recall_last, ts)
            tx.conn.execute(
                "UPDATE tickets SET state = 'called', window = ?, clerk = ?, called_at = ?, "
                "first_called_at = COALESCE(first_called_at, ?), calls = calls + 1, "
                "directed_window = NULL WHERE id = ?",
                (number, actor.user, ts, ts, ticket["id"]))
            tx.conn.execute("UPDATE windows SET current_ticket = ?, since = ? WHERE number = ?",
                            (ticket["id"], ts, number))
            self._called(tx, number, ticket, day, ts, recall=False)
            return [ticket["number"]]

        return await self._clerk_op(number, "call", actor, body)

    def _rule(self, tx: Tx, number: int) -> WindowRule:
        """The window's calling rule as this transaction sees the staffing; a window closed for
        the day (or a temporary one closed meanwhile) calls nobody."""
        config = self.config_in(tx.conn)
        if not config.has_window(number):
            raise errors.not_found(f"没有 {number} 号窗口", "unknown_window")
        w = config.window(number)
        if w.closed:
            raise errors.conflict(f"{w.name}今日已停止服务，不能叫号", "window_closed")
        return WindowRule(w.number, w.queues, w.kind, w.order)

    def _find_callable(self, tx: Tx, rule: WindowRule, ticket_number: str, day: str,
                       recall_last: int, ts: float) -> sqlite3.Row:
        parsed = parse_number(ticket_number)
        if parsed is None:
            raise errors.invalid("号码格式不对，应如 A005", "invalid_number", "number")
        ticket = tx.one("SELECT * FROM tickets WHERE day = ? AND number = ?",
                        (day, ticket_number.strip().upper()))
        if ticket is None:
            raise errors.not_found(f"今天没有 {ticket_number.strip().upper()} 号", "unknown_number",
                                   "number")
        number = rule.number
        state = State(ticket["state"])
        if state == State.NO_SHOW and self.config.hall.skip.policy == "recall":
            recent = [r[0] for r in tx.all(
                "SELECT id FROM tickets WHERE window = ? AND state = 'no_show' AND day = ? "
                "ORDER BY finished_at DESC, id DESC LIMIT ?", (number, day, recall_last))]
            if ticket["id"] in recent:
                return ticket
        if state != State.WAITING:
            raise errors.conflict(
                f"{ticket['number']} 当前状态为{STATE_NAMES[state]}，不能叫号",
                "illegal_state")
        directed = ticket["directed_window"]
        if (directed is not None and directed != number) or (
                directed is None and ticket["queue"] not in rule.queues):
            raise errors.conflict(f"{ticket['number']} 不属于本窗口办理的队列", "not_served")
        if ticket["remote"]:
            raise errors.conflict(f"{ticket['number']} 是手机取号，本人尚未到大厅签到，暂不能叫号",
                                  "not_checked_in")
        if not callable_now(_candidate(ticket), ts):  # the same rule as call-next
            slot = datetime.fromtimestamp(ticket["appointment_at"], self.tz)
            raise errors.conflict(
                f"{ticket['number']} 是预约号，预约时段 {slot:%H:%M} 开始后才能叫号",
                "appointment_not_started")
        return ticket

    async def recall(self, number: int, actor: Actor) -> dict[str, Any]:
        def body(tx: Tx, wrow: sqlite3.Row, day: str, ts: float) -> list[str]:
            ticket = self._current(tx, wrow, "recall")
            tx.conn.execute("UPDATE tickets SET calls = calls + 1, called_at = ? WHERE id = ?",
                            (ts, ticket["id"]))
            self._called(tx, number, ticket, day, ts, recall=True)
            return [ticket["number"]]

        return await self._clerk_op(number, "recall", actor, body)

    async def start(self, number: int, actor: Actor) -> dict[str, Any]:
        def body(tx: Tx, wrow: sqlite3.Row, day: str, ts: float) -> list[str]:
            ticket = self._current(tx, wrow, "start")
            tx.conn.execute("UPDATE tickets SET state = 'serving', started_at = ?, clerk = ? "
                            "WHERE id = ?", (ts, actor.user, ticket["id"]))
            tx.conn.execute("UPDATE windows SET since = ? WHERE number = ?", (ts, number))
            self._event(tx, "ticket.started", number, ticket, day, ts)
            return [ticket["number"]]

        return await self._clerk_op(number, "start", actor, body)

    async def finish(self, number: int, actor: Actor, outcome: Any,
                     note: Any = None) -> dict[str, Any]:
        if not isinstance(outcome, str) or outcome not in set(Outcome):
            raise errors.invalid(
                f"办理结果只能是 {'、'.join(OUTCOME_NAMES.values())} 之一", "invalid_outcome",
                "outcome")
        if note is not None and not isinstance(note, str):
            raise errors.invalid("说明必须是文字", "invalid_note", "note")
        if outcome == Outcome.REJECTED and not (note or "").strip():
            raise errors.invalid("不予受理必须写明理由", "reason_required", "note")

        def body(tx: Tx, wrow: sqlite3.Row, day: str, ts: float) -> list[str]:
            ticket = self._current(tx, wrow, "finish")
            started = ticket["started_at"] or ticket["called_at"]
            tx.conn.execute(
                "UPDATE tickets SET state = 'done', outcome = ?, note = ?, finished_at = ?, "
                "started_at = COALESCE(started_at, ?), clerk = ?, due_date = ? WHERE id = ?",
                (outcome, note, ts, started, actor.user,
                 self._due_date(ticket["service"], outcome, day), ticket["id"]))
            _free_window(tx, number, ts)
            touched = [ticket["number"]]
            if outcome == Outcome.FAILED and self.open_failed_case is not None:
                touched.append(self.open_failed_case(tx, ticket, number, actor, note, ts))
            elif outcome == Outcome.FAILED:
                cur = tx.conn.execute(
                    "INSERT INTO complaints (opened_at, source, ticket_id, service, window, "
                    "clerk, description, status) VALUES (?, 'clerk', ?, ?, ?, ?, ?, 'open')",
                    (ts, ticket["id"], ticket["service"], number, actor.user,
                     (note or "").strip() or "窗口办理未成功 (办不成)"))
                touched.append(f"complaint:{cur.lastrowid}")
            self._handling[ticket["queue"]] = _handling_minutes(
                tx.conn, ticket["queue"], self.config.queue(ticket["queue"]).default_minutes)
            self._event(tx, "ticket.finished", number, ticket, day, ts, outcome=outcome,
                        outcome_name=OUTCOME_NAMES[Outcome(outcome)])
            return touched

        return await self._clerk_op(number, "finish", actor, body)

    def _due_date(self, service_id: str, outcome: str, day: str) -> str | None:
        """限时办结: an application taken in (受理, 容缺受理) is due `time_limit_days` working
        days after the day it was accepted; 0 means it is settled on the spot."""
        limit = self.config.service(service_id).time_limit_days
        if outcome not in (Outcome.ACCEPTED, Outcome.ACCEPTED_MISSING) or limit <= 0:
            return None
        return self.config.workdays.add(date.fromisoformat(day), limit).isoformat()

    async def skip(self, number: int, actor: Actor) -> dict[str, Any]:
        policy = self.config.hall.skip

        def body(tx: Tx, wrow: sqlite3.Row, day: str, ts: float) -> list[str]:
            ticket = self._current(tx, wrow, "skip")
            requeue = policy.policy == "requeue" and ticket["skips"] == 0
            if requeue:
                behind = tx.all(
                    "SELECT order_at FROM tickets WHERE state = 'waiting' AND day = ? "
                    "AND queue = ? ORDER BY order_at, id LIMIT ?",
                    (day, ticket["queue"], policy.requeue_after))
                order_at = requeue_order([r[0] for r in behind], policy.requeue_after, ts)
                tx.conn.execute(
                    "UPDATE tickets SET state = 'waiting', order_at = ?, skips = skips + 1, "
                    "window = NULL WHERE id = ?", (order_at, ticket["id"]))
            else:
                tx.conn.execute(
                    "UPDATE tickets SET state = 'no_show', skips = skips + 1, finished_at = ? "
                    "WHERE id = ?", (ts, ticket["id"]))
            _free_window(tx, number, ts)
            self._event(tx, "ticket.skipped", number, ticket, day, ts, requeued=requeue)
            return [ticket["number"]]

        return await self._clerk_op(number, "skip", actor, body)

    async def transfer(self, number: int, actor: Actor, queue: Any = None,
                       window: Any = None) -> dict[str, Any]:
        if (queue is None) == (window is None):
            raise errors.invalid("转移需要选择一个队列或一个窗口 (只选一个)", "invalid_transfer")
        if queue is not None and (not isinstance(queue, str) or not self.config.has_queue(queue)):
            raise errors.not_found("没有这个队列", "unknown_queue", "queue")
        if window is not None:
            if not isinstance(window, int) or isinstance(window, bool):
                raise errors.invalid("窗口号必须是整数", "invalid_window", "window")
            self._window(window)
            if window == number:
                raise errors.conflict("不能转移到本窗口", "illegal_state")

        def body(tx: Tx, wrow: sqlite3.Row, day: str, ts: float) -> list[str]:
            ticket = self._current(tx, wrow, "transfer")
            if queue is not None:
                tx.conn.execute(
                    "UPDATE tickets SET state = 'waiting', queue = ?, directed_window = NULL, "
                    "window = NULL, transfers = transfers + 1 WHERE id = ?", (queue, ticket["id"]))
            else:
                tx.conn.execute(
                    "UPDATE tickets SET state = 'waiting', directed_window = ?, window = NULL, "
                    "transfers = transfers + 1 WHERE id = ?", (window, ticket["id"]))
            _free_window(tx, number, ts)
            self._event(tx, "ticket.transferred", number, ticket, day, ts,
                        queues={queue} if queue else None, to_queue=queue, to_window=window)
            return [ticket["number"], f"to:{queue or window}"]

        return await self._clerk_op(number, "transfer", actor, body)

    async def hold(self, number: int, actor: Actor) -> dict[str, Any]:
        def body(tx: Tx, wrow: sqlite3.Row, day: str, ts: float) -> list[str]:
            ticket = self._current(tx, wrow, "hold")
            tx.conn.execute("UPDATE tickets SET state = 'held' WHERE id = ?", (ticket["id"],))
            _free_window(tx, number, ts)
            self._event(tx, "ticket.held", number, ticket, day, ts)
            return [ticket["number"]]

        return await self._clerk_op(number, "hold", actor, body)

    async def callback(self, number: int, actor: Actor, ticket_number: Any) -> dict[str, Any]:
        if not isinstance(ticket_number, str):
            raise errors.invalid("号码格式不对，应如 A005", "invalid_number", "number")

        def body(tx: Tx, wrow: sqlite3.Row, day: str, ts: float) -> list[str]:
            self._require_free(tx, wrow)
            ticket = tx.one("SELECT * FROM tickets WHERE day = ? AND number = ? AND window = ?",
                            (day, ticket_number.strip().upper(), number))
            if ticket is None or ticket["state"] != State.HELD:
                raise errors.conflict(f"{ticket_number.strip().upper()} 不是本窗口挂起的号",
                                      "illegal_state")
            tx.conn.execute("UPDATE tickets SET state = 'called', called_at = ?, "
                            "calls = calls + 1 WHERE id = ?", (ts, ticket["id"]))
            tx.conn.execute("UPDATE windows SET current_ticket = ?, since = ? WHERE number = ?",
                            (ticket["id"], ts, number))
            self._called(tx, number, ticket, day, ts, recall=True)
            return [ticket["number"]]

        return await self._clerk_op(number, "callback", actor, body)

    async def pause(self, number: int, actor: Actor, reason: Any) -> dict[str, Any]:
        if not isinstance(reason, str) or not reason.strip():
            raise errors.invalid("暂停服务需要填写原因", "reason_required")
        reason = reason.strip()[:100]

        def body(tx: Tx, wrow: sqlite3.Row, day: str, ts: float) -> list[str]:
            self._require_free(tx, wrow)
            tx.conn.execute("UPDATE windows SET paused = 1, pause_reason = ?, since = ? "
                            "WHERE number = ?", (reason, ts, number))
            self._event(tx, "window.paused", number, None, day, ts, reason=reason)
            return [reason]

        return await self._clerk_op(number, "pause", actor, body)

    async def resume(self, number: int, actor: Actor) -> dict[str, Any]:
        def body(tx: Tx, wrow: sqlite3.Row, day: str, ts: float) -> list[str]:
            if not wrow["paused"]:
                raise errors.conflict("窗口没有暂停，无需恢复", "illegal_state")
            tx.conn.execute("UPDATE windows SET paused = 0, pause_reason = NULL, since = ? "
                            "WHERE number = ?", (ts, number))
            self._event(tx, "window.resumed", number, None, day, ts)
            return []

        return await self._clerk_op(number, "resume", actor, body)

    async def open_window(self, number: int, actor: Actor) -> dict[str, Any]:
        """A clerk logging in opens the window; a second login takes the window over (shift
        change), which the audit log records."""
        def body(tx: Tx, wrow: sqlite3.Row, day: str, ts: float) -> list[str]:
            # the same clerk on a second device keeps the window's "since"
            tx.conn.execute("UPDATE windows SET since = CASE WHEN clerk IS ? THEN since "
                            "ELSE ? END, clerk = ? WHERE number = ?",
                            (actor.user, ts, actor.user, number))
            self._event(tx, "window.opened", number, None, day, ts)
            return [f"previous:{wrow['clerk']}"] if wrow["clerk"] not in (None, actor.user) \
                else []

        return await self._clerk_op(number, "login", actor, body)

    async def close_window(self, number: int, actor: Actor) -> dict[str, Any]:
        def body(tx: Tx, wrow: sqlite3.Row, day: str, ts: float) -> list[str]:
            if wrow["clerk"] is None:
                return []
            tx.conn.execute("UPDATE windows SET clerk = NULL, paused = 0, pause_reason = NULL, "
                            "since = ? WHERE number = ?", (ts, number))
            self._event(tx, "window.closed", number, None, day, ts)
            return []

        return await self._clerk_op(number, "logout", actor, body)

    # ------------------------------------------------------------------ the day

    async def close_day(self, actor: Actor) -> int:
        """End of day: every ticket still waiting (or held) is closed as missed — except
        today's of a queue in 延时服务 (open until empty): its windows go on calling them
        after closing time; the midnight roll-over closes whatever is left (a number is valid
        on its day only). Temporary windows and windows closed for the day stay as they are
        until that roll-over too: 延时服务 may be served at them."""
        now, ts, day = self._now()

        def op(tx: Tx) -> int:
            config = self.config_in(tx.conn)
            keep = [q.id for q in config.queues if q.open_until_empty]
            spared = f" AND NOT (day = ? AND queue IN ({','.join('?' * len(keep))}))" \
                if keep else ""
            cur = tx.conn.execute(
                "UPDATE tickets SET state = 'missed', finished_at = ? "
                f"WHERE state IN ('waiting', 'held') AND day <= ?{spared}",
                (ts, day, *((day, *keep) if keep else ())))
            count = cur.rowcount
            for hook in self.on_day_close:
                hook(tx, ts)
            tx.emit("hall.closed", {
                "missed": count, "window": None, "window_state": None,
                "open_until_empty": keep,
                "queues": [self.queue_summary(tx.conn, q.id, day, ts)
                           for q in config.queues]})
            audit(tx, actor, "close_day", day, True, f"missed:{count}" + (
                "；延时服务：" + "、".join(config.queue(q).name for q in keep) if keep else ""))
            return count

        return await self.store.write(op, now)

    async def close_stale_days(self) -> int:
        """Numbers are valid on the day of issue only: on start, earlier days are closed."""
        now, ts, day = self._now()

        def op(tx: Tx) -> int:
            cur = tx.conn.execute(
                "UPDATE tickets SET state = 'missed', finished_at = ? "
                "WHERE state IN ('waiting', 'held', 'called', 'serving') AND day < ?", (ts, day))
            tx.conn.execute(
                "UPDATE windows SET current_ticket = NULL WHERE current_ticket IN "
                "(SELECT id FROM tickets WHERE day < ?)", (day,))
            tx.conn.execute("DELETE FROM idempotency WHERE created_at < ?",
                            (ts - timedelta(days=2).total_seconds(),))
            offset = now.utcoffset()
            stats.roll_up_closed(tx.conn, day, int(offset.total_seconds()) if offset else 0,
                                 {w.number: w.queues for w in self.config.windows})
            # yesterday's temporary windows end, windows closed for yesterday reopen
            ended = staffing_rows.end_days_before(tx.conn, day)
            config = self.use_staffing(tx)
            for hook in self.on_day_close:
                hook(tx, ts)
            if cur.rowcount or ended:  # screens drop yesterday's counts and current numbers
                tx.emit("hall.closed", {
                    "missed": cur.rowcount, "window": None, "window_state": None,
                    "queues": [self.queue_summary(tx.conn, q.id, day, ts)
                               for q in config.queues],
                    "windows": self.public_windows(tx.conn, config)})
            return cur.rowcount

        return await self.store.write(op, now)

    async def run_day_rollover(self) -> None:
        """Run for the server's life: just after each midnight in the hall's timezone, close
        the day that ended (a hall server is rarely restarted every night)."""
        while True:
            now = self.clock()
            tomorrow = datetime.combine(now.date() + timedelta(days=1), datetime.min.time(),
                                        tzinfo=self.tz)
            await asyncio.sleep(max(1.0, (tomorrow - now).total_seconds() + 1))
            await self.close_stale_days()

    # ------------------------------------------------------------------ managers

    async def manage_windows(self) -> list[dict[str, Any]]:
        def read(conn: sqlite3.Connection) -> list[dict[str, Any]]:
            out = []
            for w in self.config.windows:
                row = conn.execute("SELECT clerk, pause_reason, since, assigned FROM windows "
                                   "WHERE number = ?", (w.number,)).fetchone()
                out.append({**self.window_public(conn, w.number), "clerk": row["clerk"],
                            "assigned": row["assigned"],
                            "pause_reason": row["pause_reason"], "since_ts": row["since"]})
            return out

        return await self.store.read(read)

    async def stats(self, first: str, last: str, by: str,
                    per: str | None = None) -> list[dict[str, Any]]:
        """Figures over hall days `first`..`last` (ISO dates), grouped by `by` and `per`
        (hall.stats: summed daily roll-ups plus today's tickets). The older `by=day|hour`
        still means the whole hall per day or hour."""
        if by in ("day", "hour") and per is None:
            by, per = "hall", by
        per = per or "all"
        if by not in stats.BY:
            raise errors.invalid("分组方式只能是全厅、队列、事项、窗口、人员或优先原因",
                                 "invalid_grouping")
        if per not in stats.PERIODS:
            raise errors.invalid("统计周期只能是全部、小时、日、周或月", "invalid_period")
        now, _, today = self._now()
        offset = int(now.utcoffset().total_seconds()) if now.utcoffset() else 0
        out = await self.store.read(
            lambda conn: stats.ticket_figures(conn, first, last, by, per, offset, today))
        if by == "priority":  # the reason's name beside its id, for people reading the report
            for line in out:
                line["priority_name"] = self._priority_name(line["priority"]) or "普通"
        return out

    async def alarm_conditions(self) -> list[Condition]:
        """The conditions of the hall itself (queues, windows, 限时办结, the calendar), for
        hall.alarm_desk, which adds the cases' and the devices' and keeps the alarm log."""
        now, ts, day = self._now()
        sla = self.config.sla
        day_start = datetime.combine(date.fromisoformat(day), datetime.min.time(),
                                     tzinfo=self.tz).timestamp()

        def read(conn: sqlite3.Connection) -> tuple[dict[str, tuple[int, float]],
                                                    dict[int, float], dict[int, sqlite3.Row]]:
            waiting = {r[0]: (r[1], r[2]) for r in conn.execute(
                "SELECT queue, COUNT(*), MIN(order_at) FROM tickets WHERE state = 'waiting' "
                "AND day = ? GROUP BY queue", (day,))}
            directed = {r[0]: r[1] for r in conn.execute(
                "SELECT directed_window, MIN(order_at) FROM tickets WHERE state = 'waiting' "
                "AND day = ? AND directed_window IS NOT NULL GROUP BY directed_window", (day,))}
            rows = {r["number"]: r for r in conn.execute(
                "SELECT w.number, w.clerk, w.paused, w.pause_reason, w.since, "
                "t.number AS current, t.state AS tstate, t.started_at, t.service "
                "FROM windows w LEFT JOIN tickets t ON t.id = w.current_ticket")}
            return waiting, directed, rows

        waiting, directed, rows = await self.store.read(read)
        queues = [QueueFacts(
            q.id, q.name, waiting.get(q.id, (0, 0.0))[0], waiting.get(q.id, (0, None))[1],
            q.waiting_alarm or sla.waiting_alarm, q.wait_alarm_minutes or sla.wait_alarm_minutes)
            for q in self.config.queues]
        windows = []
        for w in self.config.windows:
            row = rows.get(w.number)
            if row is None or w.closed:  # a window a manager closed for the day is not away
                continue
            busy = row["tstate"] in (State.CALLED, State.SERVING)
            service = self.config.service(row["service"]) if busy and \
                self.config.has_service(row["service"]) else None
            firsts = [waiting[q][1] for q in w.queues if q in waiting]
            if w.number in directed:
                firsts.append(directed[w.number])
            windows.append(WindowFacts(
                w.number, w.name, row["clerk"], bool(row["paused"]), row["pause_reason"],
                row["since"], row["current"] if busy else None,
                row["started_at"] if row["tstate"] == State.SERVING else None,
                service.name if service else None, service.norm_minutes if service else None,
                min(firsts) if firsts else None,
                row["clerk"] is None and (row["since"] or 0) >= day_start))
        out = queue_conditions(queues, ts)
        out += window_conditions(windows, ts, Thresholds(
            sla.idle_minutes, sla.away_minutes, sla.pause_minutes))
        for app in await self.applications():
            if app["late"]:
                out.append(application_condition(app["id"], app["number"], app["service_name"],
                                                  app["due_date_text"], app["window"]))
        today = now.astimezone(self.tz).date()
        gap = self.config.workdays.uncovered_from(today)
        warning = coverage_warning(self.config.workdays, today)
        if gap is not None and warning:
            out.append(calendar_condition(gap.isoformat(), warning))
        return out

    async def priority_tickets(self, first: str, last: str) -> list[dict[str, Any]]:
        """Every priority ticket of hall days `first`..`last`: its reason and who granted it
        (a staff account, or 本人申报 for a self-declared reason chosen at the kiosk)."""
        def read(conn: sqlite3.Connection) -> list[dict[str, Any]]:
            return [{"day": r["day"], "number": r["number"], "service": r["service"],
                     "priority": r["priority"], "priority_name": self._priority_name(r["priority"]),
                     "granted_by": r["priority_by"] or "本人申报",
                     "state_name": STATE_NAMES[State(r["state"])]}
                    for r in conn.execute(
                        "SELECT day, number, service, priority, priority_by, state FROM tickets "
                        "WHERE priority IS NOT NULL AND day BETWEEN ? AND ? ORDER BY day, id",
                        (first, last))]

        return await self.store.read(read)

    # ------------------------------------------------------------------ calendar, 限时办结

    async def open_day(self, day: Any, actor: Actor, note: Any = None) -> dict[str, Any]:
        """A manager opens a day the calendar keeps shut (holiday duty, a Saturday service
        day): tickets may be issued on it. Audited; opening it twice changes nothing."""
        if not isinstance(day, str):
            raise errors.invalid("请填写要开放的日期，如 2027-01-01", "invalid_date")
        try:
            when = date.fromisoformat(day)
        except ValueError:
            raise errors.invalid("日期应写成 2027-01-01 这样", "invalid_date", "date") from None
        if note is not None and not isinstance(note, str):
            raise errors.invalid("说明必须是文字", "invalid_note", "note")
        now, ts, today = self._now()
        if when.isoformat() < today:
            raise errors.invalid("不能开放已经过去的日期", "invalid_date")

        def op(tx: Tx) -> dict[str, Any]:
            tx.conn.execute("INSERT OR IGNORE INTO open_days (day, opened_by, opened_at, note) "
                            "VALUES (?, ?, ?, ?)", (when.isoformat(), actor.user, ts,
                                                    (note or "").strip()[:100] or None))
            audit(tx, actor, "open_day", when.isoformat(), True, None)
            row = tx.one("SELECT * FROM open_days WHERE day = ?", (when.isoformat(),))
            return self._open_day_view(row)

        result = await self.store.write(op, now)
        self._open_days.add(when.isoformat())
        return result

    def _open_day_view(self, row: sqlite3.Row) -> dict[str, Any]:
        day = date.fromisoformat(row["day"])
        return {"date": row["day"], "date_text": day_text(day),
                "holiday": self.config.workdays.holiday_name(day), "opened_by": row["opened_by"],
                "opened_at": _ts(row["opened_at"], self.tz), "note": row["note"]}

    async def open_days(self) -> list[dict[str, Any]]:
        return await self.store.read(lambda conn: [self._open_day_view(r) for r in conn.execute(
            "SELECT * FROM open_days ORDER BY day DESC LIMIT 200")])

    async def applications(self, soon_days: int = 3) -> list[dict[str, Any]]:
        """限时办结: accepted applications not yet completed that are late, or due within
        `soon_days` working days; late ones first, then by due date."""
        now, _, today = self._now()
        horizon = self.config.workdays.add(date.fromisoformat(today), soon_days).isoformat()

        def read(conn: sqlite3.Connection) -> list[dict[str, Any]]:
            rows = conn.execute(
                "SELECT id, day, number, service, window, clerk, outcome, due_date, finished_at "
                "FROM tickets WHERE due_date IS NOT NULL AND completed_at IS NULL "
                "AND due_date <= ? ORDER BY due_date, id", (horizon,)).fetchall()
            return [self._application_view(r, today) for r in rows]

        apps = await self.store.read(read)
        apps.sort(key=lambda a: (not a["late"], a["due_date"], a["id"]))
        return apps

    def _application_view(self, row: sqlite3.Row, today: str) -> dict[str, Any]:
        due = date.fromisoformat(row["due_date"])
        late = row["due_date"] < today
        return {
            "id": row["id"], "number": row["number"], "accepted_day": row["day"],
            "service": row["service"], "service_name": self.config.service(row["service"]).name,
            "window": row["window"], "clerk": row["clerk"],
            "outcome_name": OUTCOME_NAMES[Outcome(row["outcome"])],
            "due_date": row["due_date"], "due_date_text": day_text(due), "late": late,
            "status_name": "已超期" if late else "即将到期",
            "late_working_days": self.config.workdays.between(due, date.fromisoformat(today))
            if late else 0,
        }

    async def complete_application(self, ticket_id: int, actor: Actor) -> dict[str, Any]:
        """The accepted application is settled (办结): it leaves the due and late lists."""
        now, ts, today = self._now()

        def op(tx: Tx) -> dict[str, Any]:
            row = tx.one("SELECT * FROM tickets WHERE id = ? AND due_date IS NOT NULL",
                         (ticket_id,))
            if row is None:
                raise errors.not_found("没有这件受理的办件", "unknown_application")
            if row["completed_at"] is not None:
                raise errors.conflict("该办件已经办结", "illegal_state")
            tx.conn.execute("UPDATE tickets SET completed_at = ? WHERE id = ?", (ts, ticket_id))
            on_time = row["due_date"] >= today
            audit(tx, actor, "application.complete", f"ticket:{ticket_id}", True,
                  "on_time" if on_time else "late")
            return {"id": ticket_id, "completed_at": _ts(ts, self.tz), "on_time": on_time}

        return await self.store.write(op, now)

    async def grant_priority(self, number: int, actor: Actor, ticket_number: Any,
                             reason: Any) -> dict[str, Any]:
        """A clerk at window `number` (or a 导办 standing at it) checks a card and grants a
        waiting ticket of today its priority reason; the ticket records who granted it."""
        if not isinstance(ticket_number, str):
            raise errors.invalid("号码格式不对，应如 A005", "invalid_number", "number")
        if reason is None:
            raise errors.invalid("请选择优先原因", "invalid_priority")
        self._check_priority(reason, actor.user)

        def body(tx: Tx, wrow: sqlite3.Row, day: str, ts: float) -> list[str]:
            ticket = tx.one("SELECT * FROM tickets WHERE day = ? AND number = ?",
                            (day, ticket_number.strip().upper()))
            if ticket is None:
                raise errors.not_found(f"今天没有 {ticket_number} 号", "unknown_number")
            if ticket["state"] != State.WAITING:
                state = State(ticket["state"])
                raise errors.conflict(
                    f"{ticket['number']} 当前状态为{STATE_NAMES[state]}，不能再设为优先",
                    "illegal_state")
            tx.conn.execute("UPDATE tickets SET priority = ?, priority_by = ? WHERE id = ?",
                            (reason, actor.user, ticket["id"]))
            return [ticket["number"], f"priority:{reason}"]

        return await self._clerk_op(number, "priority", actor, body)

    async def recent_events(self, limit: int) -> list[dict[str, Any]]:
        def read(conn: sqlite3.Connection) -> list[dict[str, Any]]:
            rows = conn.execute("SELECT seq, time, type, data FROM events ORDER BY seq DESC "
                                "LIMIT ?", (limit,)).fetchall()
            return [{"seq": r[0], "time": r[1], "type": r[2], "data": json.loads(r[3])}
                    for r in rows]

        return await self.store.read(read)

    async def audit_log(self, limit: int) -> list[dict[str, Any]]:
        def read(conn: sqlite3.Connection) -> list[dict[str, Any]]:
            rows = conn.execute("SELECT * FROM audit ORDER BY id DESC LIMIT ?",
                                (limit,)).fetchall()
            return [dict(r) for r in rows]

        return await self.store.read(read)

    async def record_audit(self, actor: Actor, action: str, target: str | None, success: bool,
                           detail: str | None = None) -> None:
        await self.store.write(lambda tx: audit(tx, actor, action, target, success, detail),
                               self.clock())


def audit(tx: Tx, actor: Actor, action: str, target: str | None, success: bool,
          detail: str | None) -> None:
    hall_audit.append(tx.conn, tx.now.isoformat(timespec="milliseconds"), actor.user, action,
                      target, actor.source, success, detail)


def _candidate(row: sqlite3.Row) -> Candidate:
    return Candidate(row["id"], row["queue"], row["order_at"], row["priority"] is not None,
                     bool(row["needs_help"]), row["appointment_at"], row["directed_window"],
                     not row["remote"])


def _free_window(tx: Tx, number: int, ts: float) -> None:
    """The window's current ticket has left it (finished, skipped, held, transferred)."""
    tx.conn.execute("UPDATE windows SET current_ticket = NULL, since = ? WHERE number = ?",
                    (ts, number))


def _handling_minutes(conn: sqlite3.Connection, queue_id: str, default: float) -> float:
    rows = conn.execute(
        "SELECT finished_at - started_at FROM tickets WHERE queue = ? AND state = 'done' "
        "AND started_at IS NOT NULL ORDER BY finished_at DESC LIMIT ?",
        (queue_id, HANDLING_SAMPLES)).fetchall()
    return rolling_minutes([r[0] for r in rows], default)
