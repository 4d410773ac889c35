"""Estimated wait: people ahead × a rolling handling time ÷ the windows open for the queue.

Rough on purpose: a citizen decides "wait or come back after lunch" from it, so it must be
honest about its inputs (people ahead is exact; minutes are an estimate) and never zero while
anyone is ahead.
"""

from __future__ import annotations

import math
from collections.abc import Sequence


def rolling_minutes(recent_seconds: Sequence[float], default_minutes: float) -> float:
    """The mean of the latest handling times, falling back to the configured norm on a new day.

    The configured norm is blended in as one sample, so a single very fast or very slow case
    in the morning does not swing every estimate in the hall.
    """
    samples = [s / 60 for s in recent_seconds if s > 0]
    return (sum(samples) + default_minutes) / (len(samples) + 1)


def eta_minutes(ahead: int, handling_minutes: float, open_windows: int) -> int:
    if ahead <= 0:
        return 0
    return max(1, math.ceil(ahead * handling_minutes / max(1, open_windows)))
