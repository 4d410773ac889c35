/* manage_reports.js — /manage/reports (统计报表): the figures of a date range by grouping and
 * period (GET /api/manage/stats), the clerks' productivity (GET /api/manage/productivity), both
 * drawn from the `table` the server sends — the very cells its CSV holds — and four charts
 * (GET /api/manage/charts/{name}.svg). A chart is fetched as SVG text, parsed as XML (never as
 * HTML: nothing in it can run) and put in the page, so its Chinese <title>/<desc> are read out;
 * its data table is built from the chart's own marks (data-series, data-label, data-value),
 * so the table can never disagree with the picture. Without dates the range is this month so
 * far, in hall time. While the range includes today, a ticket event reads it all again. */
(function () {
  "use strict";
  const $ = (id) => document.getElementById(id);
  const M = HallManage;
  const cfg = Hall.config;
  let filters = {};
  let asked = 0;

  function pad(n) {
    return String(n).padStart(2, "0");
  }
  function today() {
    const p = Hall.partsOf(new Date());
    return p.year + "-" + pad(p.month) + "-" + pad(p.day);
  }
  /** The range asked for; an empty field is this month so far (hall time). */
  function range() {
    const end = filters.to || (filters.from && filters.from > today() ? filters.from : today());
    return { from: filters.from || end.slice(0, 8) + "01", to: end };
  }
  function statsQuery() {
    return Object.assign(range(), { by: filters.by || "hall", per: filters.per || "day" });
  }
  function workQuery() {
    return Object.assign(range(), { by: filters.wby || "window", per: filters.per || "day" });
  }

  async function load() {
    const mine = ++asked;
    const r = range();
    if (!filters.from) $("f-from").value = M.day(r.from);
    if (!filters.to) $("f-to").value = M.day(r.to);
    $("ch-period").textContent = "（" + M.day(r.from) + " 至 " + M.day(r.to) + "）";
    try {
      const [stats, work] = await Promise.all([
        Hall.api("GET", M.url("/api/manage/stats", statsQuery())),
        Hall.api("GET", M.url("/api/manage/productivity", workQuery())),
      ]);
      if (mine !== asked) return; // a newer load is on its way
      drawTable("stats", stats, "st-count");
      drawTable("work", work, "wk-count");
      M.say("");
    } catch (e) {
      M.fail(e);
    }
    for (const c of cfg.charts || []) loadChart(c.key, r, mine);
  }
  const soon = M.debounce(load, 3000);

  function drawTable(id, answer, countId) {
    const cols = answer.columns;
    $(id + "-head").replaceChildren(Hall.h("tr", null,
      ...cols.map((c) => Hall.h("th", { scope: "col", dataset: { key: c.key } }, c.name))));
    $(countId).textContent = "（" + answer.table.length + " 行）";
    if (!answer.table.length) {
      $(id + "-body").replaceChildren(Hall.h("tr", null,
        Hall.h("td", { colspan: cols.length, class: "muted" }, "本期间没有数据")));
      return;
    }
    $(id + "-body").replaceChildren(...answer.table.map((cells) => Hall.h("tr", null,
      ...cells.map((text, i) => i === 0
        ? Hall.h("th", { scope: "row" }, text)
        : Hall.h("td", { class: /^[\d.%—-]+$/.test(text) ? "num" : "", dataset: { key: cols[i].key } },
          text)))));
  }

  async function loadChart(key, r, mine) {
    const box = $("chart-" + key);
    const holder = box.querySelector(".chart-svg");
    let resp;
    try {
      resp = await fetch(M.url("/api/manage/charts/" + key + ".svg", r),
        { credentials: "same-origin", cache: "no-store" });
    } catch (e) {
      M.fail(new Hall.ApiError(0, "network", "网络连接中断，请稍后再试"));
      return;
    }
    if (!resp.ok) {
      let message = "图表生成失败 (" + resp.status + ")";
      try { message = (await resp.json()).error.message; } catch (e) { /* not JSON */ }
      M.fail(new Hall.ApiError(resp.status, "chart", message));
      return;
    }
    const text = await resp.text();
    if (mine !== asked) return;
    const doc = new DOMParser().parseFromString(text, "image/svg+xml");
    const svg = doc.documentElement;
    if (svg.nodeName !== "svg" || doc.querySelector("parsererror")) {
      holder.replaceChildren(Hall.h("p", { class: "msg" }, "图表无法显示"));
      return;
    }
    holder.replaceChildren(document.importNode(svg, true));
    holder.dataset.state = "ready";
    box.querySelector(".chart-table").replaceChildren(dataTable(holder.firstChild));
  }

  /** The chart's numbers as a table: a row per label, a column per series. */
  function dataTable(svg) {
    const marks = Array.from(svg.querySelectorAll(".mark"));
    const series = [];
    const rows = new Map();
    for (const m of marks) {
      const s = m.dataset.series;
      if (!series.includes(s)) series.push(s);
      if (!rows.has(m.dataset.label)) rows.set(m.dataset.label, {});
      rows.get(m.dataset.label)[s] = m.dataset.value === "" ? "—" : m.dataset.value;
    }
    const title = svg.querySelector("title");
    if (!marks.length) return Hall.h("p", { class: "muted" }, "本期间没有数据");
    return Hall.h("table", { class: "mt chart-values" },
      Hall.h("caption", { class: "muted" }, (title ? title.textContent : "") + "（数据表）"),
      Hall.h("thead", null, Hall.h("tr", null, Hall.h("th", { scope: "col" }, "项目"),
        ...series.map((s) => Hall.h("th", { scope: "col" }, s)))),
      Hall.h("tbody", null, ...Array.from(rows, ([label, values]) => Hall.h("tr", null,
        Hall.h("th", { scope: "row" }, label),
        ...series.map((s) => Hall.h("td", { class: "num" }, values[s] || "—"))))));
  }

  M.bindFilters($("filters"), function (chosen) {
    filters = chosen;
    $("csv-stats").href = M.url("/api/manage/stats", Object.assign({ format: "csv" }, statsQuery()));
    $("csv-work").href = M.url("/api/manage/productivity",
      Object.assign({ format: "csv" }, workQuery()));
  }, load);

  M.start({
    ready: load,
    onEvent: function (ev) {
      if (/^ticket\.(issued|finished|skipped)$|^window\./.test(ev.type) && range().to >= today()) soon();
    },
  });
})();
