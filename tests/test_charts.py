"""The SVG charts (hall/charts.py) and the report's four charts (hall/report_charts.py): for
any numbers, a well-formed SVG with every data point, no NaN, Chinese names, nothing that
could run."""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hall import charts, report_charts

SVG = "{http://www.w3.org/2000/svg}"
CJK = re.compile(r"[\u4e00-\u9fff]")

values = st.one_of(st.none(), st.integers(0, 10**6),
                   st.floats(0, 1e6, allow_nan=False, allow_infinity=False))
# labels people type: Chinese, digits, and the characters XML escapes
labels = st.text(st.sampled_from("时日月窗口号0123456789<>&\"' -–"), min_size=1, max_size=8)


@st.composite
def chart_data(draw: st.DrawFn) -> charts.Chart:
    n = draw(st.integers(0, 40))
    series = draw(st.lists(st.sampled_from(["取号", "办理", "过号", "<办&结>"]), min_size=1,
                           max_size=4, unique=True))
    return charts.Chart(
        key=draw(st.sampled_from(["arrivals", "waits", "w-2"])), title="各时段取号与办理人数",
        desc="说明 <含 & 符号>", x_label="时段", y_label="人数",
        labels=draw(st.lists(labels, min_size=n, max_size=n)),
        series=[charts.Series(s, draw(st.lists(values, min_size=n, max_size=n)))
                for s in series], unit="人")


def marks(svg: str) -> list[ET.Element]:
    root = ET.fromstring(svg)
    return [e for e in root.iter() if e.get("class") == "mark"]


@settings(max_examples=150, deadline=None)
@given(chart_data(), st.sampled_from([charts.bar_chart, charts.line_chart]))
def test_every_point_is_drawn_with_its_value(chart: charts.Chart, draw) -> None:
    svg = draw(chart)
    root = ET.fromstring(svg)  # well-formed XML whatever the labels held
    assert root.tag == SVG + "svg" and root.get("role") == "img"
    assert not re.search(r"(?<![a-z])(nan|inf)(?![a-z])", svg, re.IGNORECASE)
    assert "<script" not in svg and "style=" not in svg and not re.search(r"\son\w+=", svg)
    found = marks(svg)
    assert len(found) == len(chart.labels) * len(chart.series)
    expected = [(s.name, label, "" if v is None else charts.number(v))
                for s in chart.series for label, v in zip(chart.labels, s.values, strict=True)]
    assert [(m.get("data-series"), m.get("data-label"), m.get("data-value"))
            for m in found] == expected
    raw = [v for s in chart.series for v in s.values]
    for m, (name, label, _), v in zip(found, expected, raw, strict=True):
        tip = m.find(SVG + "title")
        assert tip is not None and tip.text.startswith(f"{label} {name}：")
        if v is not None:  # the value as drawn is the figure (to the 2 decimals shown)
            assert float(m.get("data-value")) == pytest.approx(v, abs=0.006)
    title, desc = root.find(SVG + "title"), root.find(SVG + "desc")
    assert title.text == chart.title and desc.text == chart.desc
    assert root.get("aria-labelledby") == f"{chart.key}-title {chart.key}-desc"
    axis = [e.text for e in root.iter(SVG + "text") if e.get("class") == "axis-label"]
    assert axis == [chart.x_label, chart.y_label] and all(CJK.search(a) for a in axis)
    for e in root.iter():  # every coordinate a finite number inside the picture
        for name in ("x", "y", "width", "height", "cx", "cy"):
            if e.get(name) is not None:
                assert math.isfinite(float(e.get(name)))
                assert -1 <= float(e.get(name)) <= charts.WIDTH + 1


@settings(max_examples=100, deadline=None)
@given(st.floats(0, 1e9, allow_nan=False))
def test_the_axis_reaches_every_value_with_round_steps(top: float) -> None:
    axis, step = charts.nice_scale(top)
    assert axis >= top and axis >= 1
    assert axis / step <= 11
    mantissa = step / 10 ** math.floor(math.log10(step))
    assert round(mantissa, 6) in (1, 2, 5, 10)


def test_values_that_are_not_figures_are_refused() -> None:
    for bad in (float("nan"), float("inf"), -1, "3"):
        with pytest.raises(ValueError):
            charts.bar_chart(charts.Chart("a", "标题", "说明", "时段", "人数", ["9时"],
                                          [charts.Series("取号", [bad])]))
    with pytest.raises(ValueError):
        charts.line_chart(charts.Chart("a", "标题", "说明", "时段", "人数", ["9时", "10时"],
                                       [charts.Series("取号", [1])]))
    with pytest.raises(ValueError):
        charts.bar_chart(charts.Chart("<a>", "标题", "说明", "时段", "人数", [], []))


@settings(max_examples=100, deadline=None)
@given(st.dictionaries(st.integers(0, 600), st.integers(1, 1000), max_size=60))
def test_wait_bands_hold_every_person(hist: dict[int, int]) -> None:
    chart = report_charts.waits(hist, "2026-11-01", "2026-11-30")
    svg = charts.bar_chart(chart)
    got = sum(int(m.get("data-value")) for m in marks(svg))
    assert got == sum(hist.values())
    if hist:
        assert len(chart.labels) == 13 and chart.labels[-1] == "60以上"
        assert int(marks(svg)[-1].get("data-value")) == sum(
            n for minute, n in hist.items() if minute >= 60)


def test_the_report_charts_say_what_they_show() -> None:
    issued = [{"period": "09", "issued": 12}, {"period": "11", "issued": 3}]
    served = [{"period": "10", "served": 8}]
    arrivals = report_charts.arrivals(issued, served, "2026-11-02", "2026-11-02")
    assert arrivals.labels == ["9时", "10时", "11时"]  # the hours between are there, as 0
    assert [list(s.values) for s in arrivals.series] == [[12, 0, 3], [0, 8, 0]]
    assert "取号最多的时段是 9时（12 人）" in arrivals.desc
    trend = report_charts.trend([{"period": "2026-11-03", "issued": 5, "served": 4}],
                                "2026-11-02", "2026-11-04")
    assert trend.labels == ["2日", "3日", "4日"]
    assert [list(s.values) for s in trend.series] == [[0, 5, 0], [0, 4, 0]]
    windows = report_charts.windows(
        [{"window": 10, "served": 2}, {"window": 2, "served": 5}, {"window": None, "served": 0},
         {"window": 4, "served": 0}], lambda n: f"{n}号窗口", "2026-11-02", "2026-11-04")
    assert windows.labels == ["2号窗口", "10号窗口"] and list(windows.series[0].values) == [5, 2]
    empty = charts.bar_chart(report_charts.waits({}, "2026-11-02", "2026-11-02"))
    assert marks(empty) == [] and "本期间没有数据" in empty
