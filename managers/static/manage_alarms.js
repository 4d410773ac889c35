/* manage_alarms.js — /manage/alarms (告警): the alarms whose condition holds, and the record of
 * every alarm raised on the chosen days with when it cleared and who acknowledged it (filters:
 * dates, kind, status; the same list as CSV). Each alarm not yet acknowledged, active or
 * cleared, has a 确认 button (the shared dialog of manage_common.js). Any alarm event on
 * /ws/manage, a new case, or a case step reads both lists again. */
(function () {
  "use strict";
  const $ = (id) => document.getElementById(id);
  const M = HallManage;
  let filters = {};
  let asked = 0;

  const acked = (a) => a.status === "acked" || a.status === "closed";

  function ackCell(a) {
    if (acked(a)) return null;
    return Hall.h("button", { type: "button", class: "secondary small",
      "aria-label": "确认告警：" + a.message, onclick: () => M.ack(a, load) }, "确认");
  }
  function statusCell(a) {
    return Hall.h("span", { class: "hl hl-" + (a.status === "raised" ? "bad" : a.status === "cleared" ? "warn" : "ok") },
      a.status_name);
  }
  function lasting(a) {
    const m = Hall.sinceMinutes(a.raised_at);
    if (m === null) return "—";
    return m < 60 ? m + " 分钟" : Math.floor(m / 60) + " 小时 " + (m % 60) + " 分钟";
  }
  function ackedText(a) {
    if (!acked(a)) return "—";
    return (a.acked_by || "") + " " + M.dt(a.acked_at) + (a.ack_note ? "：" + a.ack_note : "");
  }
  const none = (cols, text) => Hall.h("tr", null, Hall.h("td", { colspan: cols, class: "muted" }, text));

  // `mine`: the load this answer belongs to; a newer load (a filter, an event) is on its way
  // when it is not the last asked, and an older answer must not overwrite the newer one
  async function loadActive(mine) {
    const list = (await Hall.api("GET", "/api/manage/alarms")).alarms;
    if (mine !== undefined && mine !== asked) return;
    $("aa-count").textContent = "（" + list.length + " 条，待确认 " + list.filter((a) => !acked(a)).length + " 条）";
    $("aa-body").replaceChildren(...(list.length ? list.map((a) => Hall.h("tr",
      { class: acked(a) ? "" : "alarm", dataset: { alarm: a.id, kind: a.kind } },
      Hall.h("td", null, a.kind_name), Hall.h("td", null, a.message), Hall.h("td", null, M.dt(a.raised_at)),
      Hall.h("td", { class: "nowrap" }, lasting(a)), Hall.h("td", { class: "nowrap" }, statusCell(a)),
      Hall.h("td", null, ackedText(a)), Hall.h("td", { class: "nowrap" }, ackCell(a)))) : [none(7, "暂无告警")]));
  }

  async function loadHistory(mine) {
    const list = (await Hall.api("GET", M.url("/api/manage/alarms", Object.assign({ history: "1" }, filters)))).alarms;
    if (mine !== asked) return;
    $("ah-count").textContent = "（" + list.length + " 条）";
    $("ah-body").replaceChildren(...(list.length ? list.map((a) => Hall.h("tr",
      { dataset: { alarm: a.id, kind: a.kind, status: a.status } },
      Hall.h("td", null, a.kind_name), Hall.h("td", null, a.message), Hall.h("td", null, M.dt(a.raised_at)),
      Hall.h("td", null, M.dt(a.cleared_at)), Hall.h("td", { class: "nowrap" }, statusCell(a)),
      Hall.h("td", { class: "nowrap" }, M.dash(a.acked_by)), Hall.h("td", null, M.dt(a.acked_at)),
      Hall.h("td", null, M.dash(a.ack_note)), Hall.h("td", { class: "nowrap" }, ackCell(a)))) : [none(9, "没有符合条件的告警")]));
  }

  async function load() {
    const mine = ++asked;
    try {
      await Promise.all([loadActive(mine), loadHistory(mine)]);
      if (mine === asked) M.say("");
    } catch (e) {
      M.fail(e);
    }
  }
  const soon = M.debounce(load, 300);

  M.bindFilters($("filters"), function (chosen) {
    filters = chosen;
    $("csv").href = M.url("/api/manage/alarms", Object.assign({ history: "1", format: "csv" }, filters));
  }, load);
  let ticking = null;
  M.start({
    ready: function () {
      // how long each has lasted, without events
      if (!ticking) ticking = setInterval(() => loadActive().catch(M.fail), 60000);
      return load();
    },
    onOpen: soon,
    onEvent: function (ev) {
      if (/^alarm\./.test(ev.type) || /\.updated$/.test(ev.type)) soon();
    },
  });
})();
