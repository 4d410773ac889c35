/* manage_cases.js — /manage/rectifications (差评整改) and /manage/complaints (办不成事): the
 * cases with filters, overdue first (the API's order), overdue rows marked in words as well as
 * in colour, each linking to its case page; the same list as CSV. Contacts appear masked, as
 * the API gives them. A new case or a step on /ws reads the list again. */
(function () {
  "use strict";
  const $ = (id) => document.getElementById(id);
  const M = HallManage;
  const cfg = Hall.config;
  const rect = cfg.kind === "rectification";
  const api = Hall.url(rect ? "/api/manage/rectifications" : "/api/manage/complaints");
  const pageUrl = Hall.url(rect ? "/manage/rectifications/" : "/manage/complaints/");
  const STEPS = { callback: "回访", fix: "整改", contact: "联系群众", answer: "答复" };
  let filters = {};
  let asked = 0;

  const HEAD = rect
    ? ["编号", "状态", "评价", "窗口", "事项", "号码", "开单", "回访期限", "整改期限", "负责人"]
    : ["受理编号", "状态", "来源", "窗口", "事项", "反映内容", "联系方式", "受理", "期限", "分类"];
  $("cl-head").replaceChildren(Hall.h("tr", null, ...HEAD.map((t) => Hall.h("th", { scope: "col" }, t))));

  function overdueTag(c) {
    if (!c.overdue) return null;
    const what = (c.overdue_steps || []).map((s) => STEPS[s] || s).join("、");
    return Hall.h("span", { class: "tag-overdue" }, "已超期" + (what ? "（" + what + "）" : ""));
  }

  function rowOf(c) {
    const link = Hall.h("a", { href: pageUrl + c.id }, rect ? "#" + c.id : c.reference);
    const status = [c.status_name, overdueTag(c)];
    const cells = rect ? [
      link, status, c.level + " " + c.level_name, M.dash(c.window_name), M.dash(c.service_name),
      M.dash(c.number), M.dt(c.opened_at), M.day(c.callback_due), M.day(c.fix_due), M.dash(c.assignee),
    ] : [
      link, status, M.dash(c.source_name), M.dash(c.window_name), M.dash(c.service_name),
      Hall.h("span", { class: "clip", title: c.description }, c.description),
      M.dash(c.contact), M.dt(c.opened_at), M.day(c.due), M.dash(c.class_name),
    ];
    return Hall.h("tr", { class: c.overdue ? "overdue" : "", dataset: { case: c.id } },
      ...cells.map((x) => Hall.h("td", null, x)));
  }

  async function load() {
    const mine = ++asked;
    try {
      const rows = (await Hall.api("GET", M.url(api, filters)))[rect ? "rectifications" : "complaints"];
      if (mine !== asked) return;
      $("cl-count").textContent = "（" + rows.length + " 件，超期 " +
        rows.filter((c) => c.overdue).length + " 件）";
      $("cases").replaceChildren(...(rows.length ? rows.map(rowOf) : [Hall.h("tr", null,
        Hall.h("td", { colspan: HEAD.length, class: "muted" }, "没有符合条件的案件"))]));
      M.say("");
    } catch (e) {
      M.fail(e);
    }
  }
  const soon = M.debounce(load, 300);

  M.bindFilters($("filters"), function (chosen) {
    filters = chosen;
    $("csv").href = M.url(api, Object.assign({ format: "csv" }, filters));
  }, load);
  M.start({
    ready: load,
    onOpen: soon,
    onEvent: function (ev) {
      if (ev.type === (rect ? "alarm.bad_rating" : "alarm.complaint") ||
          ev.type === cfg.kind + ".updated") soon();
    },
  });
})();
