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
      const [stats, work, booking] = await Promise.all([
        Hall.api("GET", M.url("/api/manage/stats", statsQuery())),
        Hall.api("GET", M.url("/api/manage/productivity", workQuery())),
        Hall.api("GET", M.url("/api/manage/appointments/figures", r)),
      ]);
      if (mine !== asked) return; // a newer load is on its way
      drawTable("stats", stats, "st-count");
      drawTable("work", work, "wk-count");
      drawBooking(booking);
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

  /** 预约与取号渠道: a line per service and slot hour, then the service's whole day. */
  function drawBooking(answer) {
    const rows = answer.figures;
    $("bk-count").textContent = "（" + rows.length + " 行）";
    const share = (v) => (v === null || v === undefined ? "—" : (v * 100).toFixed(1) + "%");
    if (!rows.length) {
      $("booking-body").replaceChildren(Hall.h("tr", null,
        Hall.h("td", { colspan: 11, class: "muted" }, "本期间没有预约或取号")));
      return;
    }
    $("booking-body").replaceChildren(...rows.map((f) => Hall.h("tr",
      { class: f.hour === null ? "total" : "" },
      Hall.h("th", { scope: "row" }, f.service_name), Hall.h("td", null, f.hour_text),
      ...["bookings", "cancelled", "check_ins", "no_shows"].map((k) =>
        Hall.h("td", { class: "num" }, String(f[k]))),
      Hall.h("td", { class: "num" }, share(f.no_show_rate)),
      ...["booked_tickets", "walk_in_tickets", "phone_tickets"].map((k) =>
        Hall.h("td", { class: "num" }, String(f[k]))),
      Hall.h("td", { class: "num" }, share(f.booked_share)))));
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


  /* ---------------------------------------------------------------- 明日排班建议
   * Asked for on a button, not with every reload: a plan is seconds of simulation on the
   * server (kept there for the day per target and weeks). A row per queue, a column per
   * hour, each cell the windows to open; a cell that cannot meet the target even so is
   * marked, and the last row sums the windows of the hour. */
  function planQuery() {
    return { target_p90: $("pl-target").value.trim(), weeks: $("pl-weeks").value.trim() };
  }
  /** The page's own Chinese checks, as custom validity: hall.js shows them beside the field
   * on submit (never the browser's bubble) and the submit below runs only when both pass. */
  function planValidity() {
    const q = planQuery();
    const target = Number(q.target_p90);
    const weeks = Number(q.weeks);
    $("pl-target").setCustomValidity(/^\d+(\.\d+)?$/.test(q.target_p90) && target >= 1 &&
      target <= 240 ? "" : "等候目标请填写 1 到 240 之间的分钟数");
    $("pl-weeks").setCustomValidity(/^\d+$/.test(q.weeks) && weeks >= 1 && weeks <= 52
      ? "" : "参考周数请填写 1 到 52 之间的整数");
  }
  ["pl-target", "pl-weeks"].forEach((id) => $(id).addEventListener("input", planValidity));
  planValidity();
  async function loadPlan() {
    const q = planQuery();
    $("csv-plan").href = M.url("/api/manage/plan", Object.assign({ format: "csv" }, q));
    $("pl-state").textContent = "正在模拟推算，请稍候……";
    $("pl-submit").disabled = true;
    try {
      drawPlan(await Hall.api("GET", M.url("/api/manage/plan", q)));
      $("pl-state").textContent = "";
    } catch (e) {
      $("pl-state").textContent = "";
      M.fail(e);
    } finally {
      $("pl-submit").disabled = false;
    }
  }
  function drawPlan(plan) {
    $("pl-day").textContent = "（" + M.day(plan.day) + "，等候目标 " + plan.target_p90_minutes +
      " 分钟）";
    const hours = plan.totals.map((t) => t.hour);
    $("plan-head").replaceChildren(Hall.h("tr", null, Hall.h("th", { scope: "col" }, "队列"),
      ...hours.map((h) => Hall.h("th", { scope: "col" }, h))));
    const rows = plan.queues.map((q) => {
      const by = new Map(q.hours.map((x) => [x.hour, x]));
      return Hall.h("tr", { dataset: { queue: q.queue } }, Hall.h("th", { scope: "row" }, q.name),
        ...hours.map((h) => {
          const x = by.get(h);
          if (!x) return Hall.h("td", { class: "num" }, "—");
          const note = "预计取号 " + x.expected_tickets + "，九成等候 " + x.p90_minutes + " 分钟" +
            (x.target_met ? "" : "，未达目标");
          return Hall.h("td", { class: "num" + (x.target_met ? "" : " miss"), title: note,
            dataset: { windows: x.windows } }, String(x.windows) + (x.target_met ? "" : "！"));
        }));
    });
    rows.push(Hall.h("tr", { class: "total" }, Hall.h("th", { scope: "row" }, "合计"),
      ...plan.totals.map((t) => Hall.h("td", { class: "num" }, String(t.windows)))));
    $("plan-body").replaceChildren(...rows);
  }
  $("plan-form").addEventListener("submit", function (e) {
    e.preventDefault();
    loadPlan();
  });

  M.bindFilters($("filters"), function (chosen) {
    filters = chosen;
    $("csv-stats").href = M.url("/api/manage/stats", Object.assign({ format: "csv" }, statsQuery()));
    $("csv-booking").href = M.url("/api/manage/appointments/figures",
      Object.assign({ format: "csv" }, range()));
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
