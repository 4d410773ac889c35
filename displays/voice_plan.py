"""The hall's announcement timeline: which calls are said, when, and how many times. Pure.

A hall has one voice (domain.md: one audio queue per hall area, calls never overlap), so a
burst of calls is said one after another, and every second of it is a second someone waits
to hear their number. Before this plan, four windows calling within two seconds and one
clerk pressing 重呼 three times queued about 50 s of audio (seven announcements of ~11 s
each, plus a second chime per call from the page). The rules, decided here once per call in
call order and obeyed by every speaker (each speaking screen's browser and the server's own
player):

* **A repeat merges.** A call whose phrase is already waiting in the timeline (queued, not
  yet started) is not queued again: the waiting announcement is the repeat, and keeps its
  earlier place, so the impatient clerk's citizen is called sooner, not later. A repeat of
  the announcement that is playing right now is queued (the citizen may have missed it).
* **A backlog shortens.** A call that has to wait for another announcement is said once
  (chime + phrase) instead of `repeat` times: the second reading is for attention in a quiet
  hall; in a burst, the next chime already brings the attention back.
* **Stale is dropped.** A call that could not start within `stale_seconds` of being made is
  not said at all: its number has been on every screen for that long, and an announcement
  heard much later sends people to a window that has moved on.

Time is wall-clock seconds of the call events (their `time`), so the plan is the same
whenever and wherever it is computed; durations are those of the rendered WAVs.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Decision:
    """What one call gets: `repeat` readings starting at `start`, or nothing (`repeat` 0)."""

    repeat: int
    start: float
    reason: str  # "play" | "merged" (a repeat of a waiting one) | "stale"

    @property
    def plays(self) -> bool:
        return self.repeat > 0


@dataclass(frozen=True)
class _Slot:
    key: str
    start: float
    end: float


class Timeline:
    """The announcements booked so far; `decide` then `book` each call, in call order.

    Two steps because the length of an announcement is known only once it is rendered, and
    rendering needs the decision (how many readings)."""

    def __init__(self, repeat: int, stale_seconds: float) -> None:
        self.repeat = repeat
        self.stale_seconds = stale_seconds
        self._slots: list[_Slot] = []

    def decide(self, key: str, arrived: float) -> Decision:
        """The decision for a call of phrase `key` made at `arrived` (nothing is booked)."""
        self._slots = [s for s in self._slots if s.end > arrived]  # finished: forgotten
        for slot in self._slots:
            if slot.key == key and slot.start > arrived:
                return Decision(0, slot.start, "merged")
        start = max([arrived, *(s.end for s in self._slots)])
        if start - arrived > self.stale_seconds:
            return Decision(0, start, "stale")
        return Decision(self.repeat if start <= arrived else 1, start, "play")

    def book(self, key: str, decision: Decision, seconds: float) -> None:
        """Record a played decision, now that its announcement is `seconds` long."""
        if decision.plays:
            self._slots.append(_Slot(key, decision.start, decision.start + seconds))

    @property
    def free_at(self) -> float | None:
        """When the last booked announcement ends (None when nothing is booked)."""
        return max((s.end for s in self._slots), default=None)
