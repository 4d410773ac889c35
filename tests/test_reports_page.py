"""/manage/reports in Chromium (issue 10.1): the hand-made day of tests/report_day.py drawn as
four charts whose marks are exactly the day's figures, the figures and productivity tables,
and a CSV link that downloads exactly the table on the screen."""

from __future__ import annotations

import asyncio
import csv
import io
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests import backends
from tests.browser import PASSWORD
from tests.conftest import HallServer
from tests.report_day import DAY, play_day

CHARTS = {
    "arrivals": {"取号": [("9时", "2"), ("10时", "0"), ("11时", "1")],
                 "办理": [("9时", "1"), ("10时", "1"), ("11时", "1")]},
    # C001 waited 5 min, C002 30, D001 2: one each in the bands 0–5, 5–10 and 30–35
    "waits": {"人数": [(f"{lo}–{lo + 5}", "1" if lo in (0, 5, 30) else "0")
                     for lo in range(0, 60, 5)] + [("60以上", "0")]},
    "windows": {"办理": [("3号窗口", "2"), ("6号窗口", "1")]},
    "trend": {"取号": [("2日", "3")], "办理": [("2日", "3")]},
}


async def _play(db: str | Path) -> None:
    service, _ = await play_day(db)
    await service.close()


@pytest.fixture
def server(tmp_path: Path) -> Any:
    # in a thread of its own: the module's Playwright keeps an event loop running in this one
    db = backends.new_db(tmp_path)
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, _play(db)).result()
    s = HallServer(tmp_path)
    s.db = db
    s.add_user("boss", "manager")
    s.start()
    try:
        yield s
    finally:
        s.stop()


def _open(page: Page, server: HallServer, query: str) -> None:
    page.goto(f"{server.url}/manage/reports?{query}")
    page.fill("#l-user", "boss")
    page.fill("#l-pass", PASSWORD)
    page.click("#l-submit")
    for key in CHARTS:
        expect(page.locator(f"#chart-{key} .chart-svg[data-state=ready] svg")).to_be_visible()


def _marks(page: Page, key: str) -> dict[str, list[tuple[str, str]]]:
    got: dict[str, list[tuple[str, str]]] = {}
    for series, label, value in page.eval_on_selector_all(
            f"#chart-{key} svg .mark",
            "ms => ms.map(m => [m.dataset.series, m.dataset.label, m.dataset.value])"):
        got.setdefault(series, []).append((label, value))
    return got


def _table(page: Page, body: str) -> list[list[str]]:
    return page.eval_on_selector_all(
        f"#{body} tr", "rows => rows.map(r => Array.from(r.children, c => c.textContent))")


def test_reports_page_draws_the_days_figures(server: HallServer, new_page: Any) -> None:
    page = new_page(1600, 1000)
    _open(page, server, f"from={DAY}&to={DAY}&by=window&per=all&wby=window")
    for key, expected in CHARTS.items():
        assert _marks(page, key) == expected, key
        svg = page.locator(f"#chart-{key} svg")
        assert svg.get_attribute("role") == "img"
        assert svg.locator("title").first.text_content() == page.locator(
            f"#chart-{key} figcaption").text_content()
        assert "2026年3月2日" in svg.locator("desc").text_content()
        # the data table beside the chart: a row per label, a column per series
        page.locator(f"#chart-{key} summary").click()
        rows = _table(page, f"chart-{key} .chart-values tbody")
        labels = [label for label, _ in next(iter(expected.values()))]
        assert [r[0] for r in rows] == labels
        assert [r[1:] for r in rows] == [[dict(v)[label] for v in expected.values()]
                                         for label in labels]

    head = page.eval_on_selector_all("#stats-head th", "ths => ths.map(t => t.textContent)")
    assert head[:4] == ["窗口", "取号数", "办理数", "过号数"] and "差评率" in head
    shown = _table(page, "stats-body")
    w3 = next(r for r in shown if r[0] == "3号窗口")
    cells = dict(zip(head, w3, strict=True))
    assert (cells["取号数"], cells["平均等候(分钟)"], cells["90%等候(分钟)"], cells["受理占比"],
            cells["平均评价等级"], cells["办不成事反映"]) == ("2", "17.5", "30", "50.0%", "3", "1")
    # the CSV link downloads exactly what is shown
    href = page.locator("#csv-stats").get_attribute("href")
    assert "format=csv" in href and f"from={DAY}" in href and "by=window" in href
    download = page.request.get(server.url + href)
    rows = list(csv.reader(io.StringIO(download.body().decode("utf-8-sig"))))
    assert rows == [head, *shown]

    work_head = page.eval_on_selector_all("#work-head th", "ths => ths.map(t => t.textContent)")
    work = {r[0]: dict(zip(work_head, r, strict=True)) for r in _table(page, "work-body")}
    assert (work["3号窗口"]["登录时长(分钟)"], work["3号窗口"]["有人等候时空闲(分钟)"],
            work["3号窗口"]["暂停原因"]) == ("150", "25", "午休 1次 20分钟；开会 1次 20分钟")
    csv_work = page.request.get(server.url + page.locator("#csv-work").get_attribute("href"))
    assert list(csv.reader(io.StringIO(csv_work.body().decode("utf-8-sig"))))[1:] == _table(
        page, "work-body")


def test_grouping_and_period_are_chosen_on_the_page(server: HallServer, new_page: Any) -> None:
    page = new_page(1600, 1000)
    _open(page, server, f"from={DAY}&to={DAY}")
    assert page.locator("#f-from").input_value() == "2026年3月2日"
    page.select_option("#f-by", "clerk")
    page.select_option("#f-per", "hour")
    page.select_option("#f-wby", "clerk")
    page.click("#f-submit")
    expect(page.locator("#stats-head th").first).to_have_text("工作人员")
    expect(page.locator("#work-head th").first).to_have_text("工作人员")
    assert "by=clerk" in page.url and "per=hour" in page.url
    shown = _table(page, "stats-body")
    # the 办不成事 report on C002 came at 11:45: a line of its own, with no ticket issued
    assert [r[:3] for r in shown] == [["clerk3", "9时", "2"], ["clerk3", "11时", "0"],
                                     ["clerk6", "11时", "1"]]
    work = [r[:3] for r in _table(page, "work-body")]
    assert ["clerk3", "8时", "30"] in work and ["clerk5", "9时", "30"] in work
    # a date the page cannot read is refused in Chinese, beside the field
    page.fill("#f-to", "三月")
    page.click("#f-submit")
    expect(page.locator("#f-to-problem")).to_contain_text("年月日")


def test_the_plan_for_the_next_working_day_is_asked_for_on_the_page(
        server: HallServer, new_page: Any) -> None:
    """明日排班建议: a target the page cannot take is refused beside its field; history that
    holds no ticket is explained; a year's history gives a rota of windows per queue and hour,
    its last row the hour's total."""
    page = new_page(1600, 1000)
    _open(page, server, f"from={DAY}&to={DAY}")
    page.fill("#pl-target", "0")
    page.click("#pl-submit")
    expect(page.locator("#pl-target-problem")).to_contain_text("1 到 240")
    expect(page.locator("#plan-body tr")).to_have_count(0)
    page.fill("#pl-target", "15")
    page.fill("#pl-weeks", "1")  # the played day is months ago: nothing to learn from
    page.click("#pl-submit")
    expect(page.locator("#m-msg")).to_contain_text("没有号票记录")
    page.fill("#pl-weeks", "52")
    page.click("#pl-submit")
    expect(page.locator("#plan-body tr.total")).to_be_visible(timeout=60_000)
    rows = _table(page, "plan-body")
    hours = page.eval_on_selector_all("#plan-head th", "ths => ths.map(t => t.textContent)")
    assert hours[0] == "队列" and all(h.endswith("时") or "—" in h or ":" in h for h in hours[1:])
    assert rows[-1][0] == "合计" and len(rows) >= 2
    for col in range(1, len(hours)):  # the total is the sum of the queues' windows
        cells = [r[col].rstrip("！") for r in rows[:-1]]
        assert int(rows[-1][col]) == sum(int(c) for c in cells if c != "—")
    assert "weeks=52" in page.get_attribute("#csv-plan", "href")


def test_bookings_and_channels_are_in_the_report(server: HallServer, new_page: Any) -> None:
    """预约与取号渠道 (issue 11.7) for the played day: no bookings, every ticket a walk-in, and
    the booked share therefore 0 on each service's whole-day line."""
    page = new_page(1600, 1000)
    _open(page, server, f"from={DAY}&to={DAY}")
    expect(page.locator("#booking-body tr.total").first).to_be_visible()
    days = [r for r in _table(page, "booking-body") if r[1] == "全天"]
    assert sum(int(r[8]) for r in days) == 3  # C001, C002 and D001, all taken at the kiosk
    assert all(r[2] == "0" and r[7] == "0" and r[10] == "0.0%" for r in days)
    assert "from=2026-03-02" in page.get_attribute("#csv-booking", "href")
