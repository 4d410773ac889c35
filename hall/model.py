"""Ticket and window states, and which clerk step is legal from which state.

The transition table is data, not scattered `if`s, so the API can name the current state in
every 409 and a test can walk every pair.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class State(StrEnum):
    WAITING = "waiting"
    CALLED = "called"
    SERVING = "serving"
    HELD = "held"  # 挂起: the citizen stepped away (copying a material) and will be called back
    DONE = "done"
    NO_SHOW = "no_show"  # 过号: called, did not come
    MISSED = "missed"  # still waiting when the hall closed
    CANCELLED = "cancelled"


STATE_NAMES = {
    State.WAITING: "等待中",
    State.CALLED: "已叫号",
    State.SERVING: "办理中",
    State.HELD: "挂起",
    State.DONE: "已办结",
    State.NO_SHOW: "过号",
    State.MISSED: "已过期",
    State.CANCELLED: "已取消",
}

# Which states a clerk step may start from.
LEGAL_FROM: dict[str, tuple[State, ...]] = {
    "recall": (State.CALLED,),
    "start": (State.CALLED,),
    "finish": (State.SERVING, State.CALLED),
    "skip": (State.CALLED,),
    "transfer": (State.CALLED, State.SERVING),
    "hold": (State.CALLED, State.SERVING),
    "callback": (State.HELD,),
}

STEP_NAMES = {
    "recall": "重呼", "start": "开始办理", "finish": "办结", "skip": "过号",
    "transfer": "转移", "hold": "挂起", "callback": "回呼", "call": "叫号",
}


class Outcome(StrEnum):
    DONE = "done"  # 办结
    ACCEPTED = "accepted"  # 受理
    ACCEPTED_MISSING = "accepted_missing"  # 容缺受理
    REJECTED = "rejected"  # 不予受理 (with a reason)
    FAILED = "failed"  # 办不成 (opens a complaint record)


OUTCOME_NAMES = {
    Outcome.DONE: "办结",
    Outcome.ACCEPTED: "受理",
    Outcome.ACCEPTED_MISSING: "容缺受理",
    Outcome.REJECTED: "不予受理",
    Outcome.FAILED: "办不成",
}

PRIORITIES = {"elderly": "老年人", "disabled": "残疾人", "pregnant": "孕妇",
              "military": "军人依法优先"}

CHANNELS = ("kiosk", "phone", "counter", "appointment", "caller")


class WindowState(StrEnum):
    CLOSED = "closed"  # nobody logged in
    IDLE = "idle"
    CALLED = "called"
    SERVING = "serving"
    PAUSED = "paused"


@dataclass(frozen=True)
class Candidate:
    """What routing needs to know of a waiting ticket, and nothing that would tempt it to I/O."""

    id: int
    queue: str
    order_at: float  # seconds; the issue time, moved back only by a 过号 re-queue
    priority: bool = False
    needs_help: bool = False
    appointment_at: float | None = None  # slot start; callable only from then
    directed_window: int | None = None
    present: bool = True  # False: a phone ticket (云取号) not yet checked in at the hall
