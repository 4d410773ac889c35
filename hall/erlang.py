"""Erlang C: the M/M/c queue in closed form.

Why here: the planner starts its search for each hour at the window count this formula
suggests (it then walks up or down with the simulator, which knows what the formula does not:
priority tickets, no-shows, breaks, a backlog from the hour before); and a long simulated run
of one M/M/c queue must come within a few per cent of it, which checks the simulator itself.

Notation: arrival rate `lam` and service rate `mu` per the same time unit, `c` servers,
offered load a = lam / mu (Erlangs), utilisation rho = a / c < 1 for a stable queue.
"""

from __future__ import annotations

import math


def erlang_b(c: int, a: float) -> float:
    """Blocking probability of M/M/c/c, by the stable recurrence
    B(k) = a B(k-1) / (k + a B(k-1))."""
    b = 1.0
    for k in range(1, c + 1):
        b = a * b / (k + a * b)
    return b


def erlang_c(c: int, a: float) -> float:
    """Probability that an arriving customer waits (all c servers busy); 1 when a >= c."""
    if c <= 0 or a >= c:
        return 1.0
    if a <= 0:
        return 0.0
    b = erlang_b(c, a)
    return c * b / (c - a * (1.0 - b))


def mean_wait(lam: float, mu: float, c: int) -> float:
    """Mean time in queue (before service) of M/M/c; infinite when unstable."""
    if c * mu <= lam:
        return math.inf
    return erlang_c(c, lam / mu) / (c * mu - lam)


def wait_quantile(lam: float, mu: float, c: int, p: float) -> float:
    """The p-quantile of the wait in queue: P(W > t) = C(c, a) exp(-(c mu - lam) t)."""
    if c * mu <= lam:
        return math.inf
    tail = 1.0 - p
    waits = erlang_c(c, lam / mu)
    if waits <= tail:
        return 0.0
    return math.log(waits / tail) / (c * mu - lam)


def servers_for(lam: float, mu: float, p: float, target: float, most: int = 200) -> int:
    """The fewest servers whose p-quantile wait is within `target` (0 when nobody comes)."""
    if lam <= 0:
        return 0
    c = max(1, math.floor(lam / mu))
    while c < most and wait_quantile(lam, mu, c, p) > target:
        c += 1
    return c
