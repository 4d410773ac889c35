/* manage_ratings.js — /manage/ratings: the 好差评 figures of a period (GET /api/manage/figures:
 * distribution, 差评率, 参评率, 主动评价率, 回访率, 整改率, on-time rate, the monthly ranking of
 * windows) and the ratings list with its filters (GET /api/manage/ratings), each list also as
 * CSV with the same filters. A rating.recorded or a case step on /ws reads both again, so the
 * page counts a rating the moment it is given. */
(function () {
  "use strict";
  const $ = (id) => document.getElementById(id);
  const M = HallManage;
  const cfg = Hall.config;
  let filters = {};
  let asked = 0;

  function period() {
    const out = {};
    if (filters.from) out.from = filters.from;
    if (filters.to) out.to = filters.to;
    return out;
  }

  async function load() {
    const mine = ++asked;
    try {
      const [figures, list] = await Promise.all([
        Hall.api("GET", M.url("/api/manage/figures", period())),
        Hall.api("GET", M.url("/api/manage/ratings", filters)),
      ]);
      if (mine !== asked) return; // a newer load is on its way
      drawFigures(figures);
      drawList(list.ratings);
      M.say("");
    } catch (e) {
      M.fail(e);
    }
  }
  const soon = M.debounce(load, 300);

  function card(label, value, key) {
    return Hall.h("div", { class: "card", dataset: { fig: key } },
      Hall.h("dt", null, label), Hall.h("dd", null, value));
  }

  function drawFigures(f) {
    const r = f.ratings;
    const x = f.rectifications;
    const c = f.complaints;
    $("fig-period").textContent = "（" + M.day(f.from) + " 至 " + M.day(f.to) + "）";
    // the period the figures cover, shown in the date fields when left empty (= this month)
    if (!filters.from) $("f-from").value = M.day(f.from);
    if (!filters.to) $("f-to").value = M.day(f.to);
    $("cards").replaceChildren(
      card("评价数", String(r.count), "count"),
      card("平均等级", M.dash(r.average), "average"),
      card("差评率", M.pct(r.bad_rate), "bad_rate"),
      card("参评率", M.pct(r.rating_rate), "rating_rate"),
      card("主动评价率", M.pct(r.self_initiated_rate), "self_initiated_rate"),
      card("差评整改", String(x.count), "rect_count"),
      card("回访率", M.pct(x.callback_rate), "callback_rate"),
      card("整改率", M.pct(x.fix_rate), "fix_rate"),
      card("按时率（回访、整改、答复）", M.pct(f.on_time_rate), "on_time_rate"),
      ...(cfg.indicators || []).map((i) =>
        card(i.name + "（均分）", M.dash(r.indicators[i.key]), "ind_" + i.key)),
      card("办不成事", String(c.count), "complaints"),
      card("办不成事按时答复率", M.pct(c.on_time_rate), "complaint_on_time_rate"),
      card("超期未办", String(x.overdue + c.overdue), "overdue"));
    const max = Math.max(1, ...Object.values(r.distribution));
    $("dist").replaceChildren(...[5, 4, 3, 2, 1].map(function (level) {
      const n = r.distribution[String(level)] || 0;
      const share = r.count ? n / r.count : null;
      return Hall.h("tr", { dataset: { level } },
        Hall.h("th", { scope: "row" }, level + " " + cfg.levels[String(level)]),
        Hall.h("td", { class: "num" }, String(n)),
        Hall.h("td", { class: "bar-cell" }, Hall.h("div", { class: "bar", "aria-hidden": "true" },
          Hall.h("i", { style: "width:" + Math.round(100 * n / max) + "%" })),
        Hall.h("span", { class: "num" }, M.pct(share))));
    }));
    drawRanking(f.ranking);
  }

  function drawRanking(months) {
    if (!months.length) {
      $("ranking").replaceChildren(Hall.h("p", { class: "muted" }, "本期间还没有评价"));
      return;
    }
    $("ranking").replaceChildren(...months.slice().reverse().map(function (m) {
      return Hall.h("table", { class: "mt", "aria-label": m.month + " 窗口排名" },
        Hall.h("caption", { class: "muted" }, m.month),
        Hall.h("thead", null, Hall.h("tr", null, ...["名次", "窗口", "评价数", "平均", "差评", "满意率"]
          .map((t) => Hall.h("th", { scope: "col" }, t)))),
        Hall.h("tbody", null, ...m.windows.map((w) => Hall.h("tr", { dataset: { window: w.window } },
          Hall.h("td", { class: "num" }, String(w.rank)),
          Hall.h("td", null, w.window_name || String(w.window)),
          Hall.h("td", { class: "num" }, String(w.count)),
          Hall.h("td", { class: "num" }, String(w.average)),
          Hall.h("td", { class: "num" }, String(w.bad)),
          Hall.h("td", { class: "num" }, M.pct(w.satisfied_rate))))));
    }));
  }

  function drawList(rows) {
    $("list-count").textContent = "（" + rows.length + " 条）";
    if (!rows.length) {
      $("ratings").replaceChildren(Hall.h("tr", null,
        Hall.h("td", { colspan: 9, class: "muted" }, "没有符合条件的评价")));
      return;
    }
    $("ratings").replaceChildren(...rows.map(function (r) {
      const why = [(r.reasons || []).join("、"), r.comment || ""].filter(Boolean).join("；");
      return Hall.h("tr", { class: r.level <= 2 ? "bad" : "", dataset: { rating: r.id } },
        Hall.h("td", { class: "num" }, M.dt(r.rated_at)),
        Hall.h("td", { class: "num" }, r.number),
        Hall.h("td", null, M.dash(r.window_name)),
        Hall.h("td", null, M.dash(r.clerk)),
        Hall.h("td", null, M.dash(r.service_name)),
        Hall.h("td", null, r.level + " " + r.level_name),
        Hall.h("td", { class: "clip", title: why }, why || "—"),
        Hall.h("td", null, r.channel_name + " · " + r.mode_name),
        Hall.h("td", null, r.rectification
          ? Hall.h("a", { href: Hall.url("/manage/rectifications/" + r.rectification) }, "#" + r.rectification)
          : "—"));
    }));
  }

  M.bindFilters($("filters"), function (chosen) {
    filters = chosen;
    const p = period();
    $("csv-ratings").href = M.url("/api/manage/ratings", Object.assign({ format: "csv" }, filters));
    $("csv-rect").href = M.url("/api/manage/rectifications", Object.assign({ format: "csv" }, p));
    $("csv-complaints").href = M.url("/api/manage/complaints", Object.assign({ format: "csv" }, p));
  }, load);

  M.start({
    ready: load,
    onOpen: soon,
    onEvent: function (ev) {
      if (ev.type === "rating.recorded" || ev.type === "alarm.bad_rating" ||
          ev.type === "rectification.updated" ||
          ev.type === "alarm.complaint" || ev.type === "complaint.updated") soon();
    },
  });
})();
