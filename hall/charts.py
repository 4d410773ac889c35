"""Charts for the manager's reports, drawn on the server as SVG.

Halls run on intranets and the pages run under a strict Content-Security-Policy, so a chart is
plain markup the server writes: no script, no web font, no CDN, and it prints and exports as
it shows. Two shapes cover the reports (arrivals vs served per hour, the wait distribution,
window workload, a month's trend): grouped bars and lines over one category axis. Colours are
presentation attributes (not `style`), which a CSP does not block.

Every drawn point carries `data-series`, `data-label` and `data-value`, so a test (or a
screen reader's table view beside it) reads the figures the chart shows.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from xml.sax.saxutils import escape, quoteattr

# Colour-blind-safe pairs (Okabe–Ito) that keep 3:1 contrast on white.
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#56B4E9", "#E69F00")
WIDTH, HEIGHT = 720, 300
LEFT, RIGHT, TOP, BOTTOM = 56, 16, 36, 56


def nice_max(value: float) -> float:
    """The top of the value axis: 1, 2 or 5 times a power of ten at or above `value`."""
    if value <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 5, 10):
        if step * power >= value:
            return float(step * power)
    return float(10 * power)  # pragma: no cover - the loop always returns


def _fmt(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.1f}"


def _frame(title: str, labels: Sequence[str], top: float, unit: str) -> list[str]:
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    parts = [f'<text x="{LEFT}" y="20" font-size="15" fill="#222">{escape(title)}</text>']
    for i in range(5):
        value = top * i / 4
        y = TOP + plot_h - plot_h * i / 4
        parts.append(f'<line x1="{LEFT}" y1="{y:.1f}" x2="{LEFT + plot_w}" y2="{y:.1f}" '
                     f'stroke="#ddd"/>')
        parts.append(f'<text x="{LEFT - 6}" y="{y + 4:.1f}" font-size="11" fill="#444" '
                     f'text-anchor="end">{_fmt(value)}</text>')
    if unit:
        parts.append(f'<text x="4" y="{TOP - 8}" font-size="11" fill="#444">{escape(unit)}</text>')
    step = plot_w / max(1, len(labels))
    every = max(1, math.ceil(len(labels) / 16))  # at most 16 axis labels stay readable
    for i, label in enumerate(labels):
        if i % every == 0:
            x = LEFT + step * (i + 0.5)
            parts.append(f'<text x="{x:.1f}" y="{TOP + plot_h + 16}" font-size="11" '
                         f'fill="#444" text-anchor="middle">{escape(label)}</text>')
    return parts


def _legend(names: Sequence[str]) -> list[str]:
    parts, x = [], LEFT
    for i, name in enumerate(names):
        colour = PALETTE[i % len(PALETTE)]
        parts.append(f'<rect x="{x}" y="{HEIGHT - 18}" width="12" height="12" '
                     f'fill="{colour}"/>')
        parts.append(f'<text x="{x + 16}" y="{HEIGHT - 8}" font-size="12" '
                     f'fill="#222">{escape(name)}</text>')
        x += 28 + 14 * len(name)
    return parts


def _svg(kind: str, title: str, body: list[str]) -> str:
    return (f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" data-chart={quoteattr(kind)} '
            f'viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label={quoteattr(title)}>'
            f'<title>{escape(title)}</title>{"".join(body)}</svg>')


def bar_chart(title: str, labels: Sequence[str], series: Mapping[str, Sequence[float]],
              unit: str = "", kind: str = "bars") -> str:
    """Grouped bars: one group per label, one bar per series (e.g. 取号 and 办结 per hour)."""
    names = list(series)
    top = nice_max(max((v for vals in series.values() for v in vals), default=0))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    step = plot_w / max(1, len(labels))
    bar = step * 0.8 / max(1, len(names))
    body = _frame(title, labels, top, unit)
    for s, name in enumerate(names):
        colour = PALETTE[s % len(PALETTE)]
        for i, value in enumerate(series[name]):
            h = plot_h * value / top
            x = LEFT + step * i + step * 0.1 + bar * s
            body.append(
                f'<rect x="{x:.1f}" y="{TOP + plot_h - h:.1f}" width="{max(bar - 1, 1):.1f}" '
                f'height="{h:.1f}" fill="{colour}" data-series={quoteattr(name)} '
                f'data-label={quoteattr(labels[i])} data-value="{_fmt(value)}">'
                f'<title>{escape(f"{labels[i]} {name} {_fmt(value)}{unit}")}</title></rect>')
    if len(names) > 1:
        body += _legend(names)
    return _svg(kind, title, body)


def line_chart(title: str, labels: Sequence[str], series: Mapping[str, Sequence[float | None]],
               unit: str = "", kind: str = "lines") -> str:
    """Lines over time (a month's trend); a missing value breaks the line, never drops to 0."""
    names = list(series)
    top = nice_max(max((v for vals in series.values() for v in vals if v is not None),
                       default=0))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    step = plot_w / max(1, len(labels))
    body = _frame(title, labels, top, unit)
    for s, name in enumerate(names):
        colour = PALETTE[s % len(PALETTE)]
        runs: list[list[str]] = [[]]
        for i, value in enumerate(series[name]):
            if value is None:
                runs.append([])
                continue
            x, y = LEFT + step * (i + 0.5), TOP + plot_h - plot_h * value / top
            runs[-1].append(f"{x:.1f},{y:.1f}")
            body.append(
                f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{colour}" '
                f'data-series={quoteattr(name)} data-label={quoteattr(labels[i])} '
                f'data-value="{_fmt(value)}"><title>'
                f'{escape(f"{labels[i]} {name} {_fmt(value)}{unit}")}</title></circle>')
        for run in runs:
            if len(run) > 1:
                body.append(f'<polyline points="{" ".join(run)}" fill="none" '
                            f'stroke="{colour}" stroke-width="2"/>')
    if len(names) > 1:
        body += _legend(names)
    return _svg(kind, title, body)
