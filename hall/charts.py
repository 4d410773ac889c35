"""Charts as SVG text, drawn on the server from numbers: pure functions, no I/O.

Why server-side SVG rather than a chart library in the browser: halls run on intranets, so
nothing may come from the internet, and a vendored library is code to audit, update and
license for four charts. An SVG is text a test can read, an <img> can show, a manager can
save, and a screen reader can read: every chart is `<svg role="img">` with a Chinese
`<title>` and `<desc>`, and every data point is one element (`class="mark"`) carrying its
series, label and value in `data-*` attributes and a `<title>` tooltip, from which the page
builds the data table beside the chart. The hall's CSP allows no inline `<style>`, so all
drawing is done with presentation attributes (fill, stroke, font-size).

A value is a finite number ≥ 0 or None (no data, e.g. the average wait of a day nobody
waited); None is still a mark, with an empty value, drawn as nothing.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from xml.sax.saxutils import escape

WIDTH, HEIGHT = 720, 320
LEFT, RIGHT, TOP, BOTTOM = 60, 16, 44, 58
COLOURS = ("#1f5fbf", "#c2410c", "#2b7a3e", "#6d28d9")  # 4.5:1 or more on white
INK, GRID, FONT = "#333333", "#dddddd", "sans-serif"
KEY = re.compile(r"^[a-z][a-z0-9-]{0,30}$")


@dataclass(frozen=True)
class Series:
    name: str
    values: Sequence[float | None]


@dataclass(frozen=True)
class Chart:
    """`key` names the chart (and prefixes its element ids, so several charts can share a
    page); `unit` follows each value in the tooltips (人, 分钟)."""

    key: str
    title: str
    desc: str
    x_label: str
    y_label: str
    labels: Sequence[str]
    series: Sequence[Series]
    unit: str = ""


def _check(chart: Chart) -> None:
    if not KEY.match(chart.key):
        raise ValueError(f"chart key {chart.key!r}")
    for s in chart.series:
        if len(s.values) != len(chart.labels):
            raise ValueError(f"series {s.name!r}: {len(s.values)} values, "
                             f"{len(chart.labels)} labels")
        for v in s.values:
            if v is not None and not (isinstance(v, int | float) and math.isfinite(v) and v >= 0):
                raise ValueError(f"series {s.name!r}: value {v!r}")


def number(v: float) -> str:
    """Pure: a value as people read it: 12, 7.5, 0.25 (no 12.0, no 1e-05)."""
    if float(v).is_integer():
        return str(int(v))
    return f"{v:.2f}".rstrip("0").rstrip(".")


def nice_scale(top: float, ticks: int = 5) -> tuple[float, float]:
    """Pure: an axis top ≥ `top` and its step, both round numbers (1, 2, 5 × 10ⁿ); at least 1,
    so an empty chart still has an axis."""
    rough = max(top, 1) / ticks
    magnitude = 10 ** math.floor(math.log10(rough))
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= rough)
    if top <= ticks and step < 1:  # counts: no ticks between whole numbers
        step = 1
    return step * max(1, math.ceil(top / step)), step


def _f(x: float) -> str:
    return f"{x:.1f}"


def _attr(value: str) -> str:
    return escape(value, {'"': "&quot;"})


class _Frame:
    """The axes, grid, labels and legend every chart shares."""

    def __init__(self, chart: Chart) -> None:
        _check(chart)
        self.chart = chart
        self.n = len(chart.labels)
        values = [v for s in chart.series for v in s.values if v is not None]
        self.top, self.step = nice_scale(max(values, default=0))
        self.pw = WIDTH - LEFT - RIGHT
        self.ph = HEIGHT - TOP - BOTTOM
        self.slot = self.pw / max(self.n, 1)

    def y(self, v: float) -> float:
        return TOP + self.ph - v / self.top * self.ph

    def x_centre(self, i: int) -> float:
        return LEFT + self.slot * (i + 0.5)

    def open(self) -> list[str]:
        c = self.chart
        out = [
            f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{WIDTH}" '
            f'height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" class="chart" '
            f'data-chart="{c.key}" aria-labelledby="{c.key}-title {c.key}-desc" '
            f'font-family="{FONT}" font-size="12">',
            f'<title id="{c.key}-title">{escape(c.title)}</title>',
            f'<desc id="{c.key}-desc">{escape(c.desc)}</desc>',
            f'<rect x="0" y="0" width="{WIDTH}" height="{HEIGHT}" fill="#ffffff"/>',
        ]
        ticks = int(round(self.top / self.step))
        for t in range(ticks + 1):
            v = t * self.step
            y = _f(self.y(v))
            out.append(f'<line x1="{LEFT}" y1="{y}" x2="{WIDTH - RIGHT}" y2="{y}" '
                       f'stroke="{GRID}"/>')
            out.append(f'<text x="{LEFT - 6}" y="{y}" text-anchor="end" '
                       f'dominant-baseline="middle" fill="{INK}">{number(v)}</text>')
        base = _f(TOP + self.ph)
        out.append(f'<line x1="{LEFT}" y1="{base}" x2="{WIDTH - RIGHT}" y2="{base}" '
                   f'stroke="{INK}"/>')
        # as many x labels as fit: every k-th, all marks are drawn regardless
        widest = max((len(label) for label in c.labels), default=1) * 12 + 8
        every = max(1, math.ceil(widest / self.slot)) if self.n else 1
        for i, label in enumerate(c.labels):
            if i % every == 0:
                out.append(f'<text x="{_f(self.x_centre(i))}" y="{_f(TOP + self.ph + 16)}" '
                           f'text-anchor="middle" fill="{INK}">{escape(label)}</text>')
        out.append(f'<text class="axis-label" x="{_f(LEFT + self.pw / 2)}" '
                   f'y="{HEIGHT - 8}" text-anchor="middle" fill="{INK}">'
                   f'{escape(c.x_label)}</text>')
        out.append(f'<text class="axis-label" x="14" y="{_f(TOP + self.ph / 2)}" '
                   f'text-anchor="middle" fill="{INK}" '
                   f'transform="rotate(-90 14 {_f(TOP + self.ph / 2)})">'
                   f'{escape(c.y_label)}</text>')
        x = LEFT
        for j, s in enumerate(c.series):  # the legend, along the top
            colour = COLOURS[j % len(COLOURS)]
            out.append(f'<rect x="{x}" y="12" width="12" height="12" fill="{colour}"/>')
            out.append(f'<text x="{x + 16}" y="22" fill="{INK}">{escape(s.name)}</text>')
            x += 16 + len(s.name) * 12 + 20
        if not self.n:
            out.append(f'<text x="{_f(LEFT + self.pw / 2)}" y="{_f(TOP + self.ph / 2)}" '
                       f'text-anchor="middle" fill="{INK}">本期间没有数据</text>')
        return out

    def mark_data(self, s: Series, i: int) -> tuple[str, str]:
        """The attributes and tooltip of one data point."""
        v = s.values[i]
        label = self.chart.labels[i]
        said = f"{number(v)}{self.chart.unit}" if v is not None else "无数据"
        return (f'class="mark" data-series="{_attr(s.name)}" data-label="{_attr(label)}" '
                f'data-value="{number(v) if v is not None else ""}"',
                f"<title>{escape(label)} {escape(s.name)}：{escape(said)}</title>")


def bar_chart(chart: Chart) -> str:
    """Grouped bars: one group per label, one bar per series."""
    frame = _Frame(chart)
    out = frame.open()
    k = max(len(chart.series), 1)
    width = frame.slot * 0.8 / k
    for j, s in enumerate(chart.series):
        colour = COLOURS[j % len(COLOURS)]
        out.append(f'<g data-series="{_attr(s.name)}">')
        for i, v in enumerate(s.values):
            x = LEFT + frame.slot * i + frame.slot * 0.1 + width * j
            top = frame.y(v or 0)
            attrs, title = frame.mark_data(s, i)
            out.append(f'<rect {attrs} x="{_f(x)}" y="{_f(top)}" width="{_f(width)}" '
                       f'height="{_f(TOP + frame.ph - top)}" fill="{colour}">{title}</rect>')
        out.append("</g>")
    out.append("</svg>")
    return "\n".join(out)


def line_chart(chart: Chart) -> str:
    """One line per series with a marker per value; a None breaks the line."""
    frame = _Frame(chart)
    out = frame.open()
    for j, s in enumerate(chart.series):
        colour = COLOURS[j % len(COLOURS)]
        out.append(f'<g data-series="{_attr(s.name)}">')
        runs: list[list[str]] = [[]]
        for i, v in enumerate(s.values):
            if v is None:
                runs.append([])
            else:
                runs[-1].append(f"{_f(frame.x_centre(i))},{_f(frame.y(v))}")
        for run in runs:
            if len(run) > 1:
                out.append(f'<polyline points="{" ".join(run)}" fill="none" '
                           f'stroke="{colour}" stroke-width="2"/>')
        for i, v in enumerate(s.values):
            attrs, title = frame.mark_data(s, i)
            radius = 3.5 if v is not None else 0
            out.append(f'<circle {attrs} cx="{_f(frame.x_centre(i))}" '
                       f'cy="{_f(frame.y(v or 0))}" r="{radius}" fill="{colour}">{title}'
                       "</circle>")
        out.append("</g>")
    out.append("</svg>")
    return "\n".join(out)
