/* manage_real_name.js — /manage/real-name (实名取号): the real-name tickets of the days chosen,
 * names and ID numbers masked as the API gives them. 查看 opens a small form that asks why; the
 * reveal (POST /api/manage/tickets/{id}/reveal, audited with the reason) fills that row in full,
 * on this page only, until it is read again. */
(function () {
  "use strict";
  const $ = (id) => document.getElementById(id);
  const M = HallManage;
  const SOURCES = { reader: "读卡", typed: "手动输入" };
  let filters = {};
  let asked = 0;
  let chosen = null;

  function rowOf(t) {
    const button = Hall.h("button", { type: "button", class: "secondary small",
      "aria-label": "查看 " + t.number + " 的完整实名信息", onclick: () => ask(t) }, "查看");
    const cells = [M.day(t.day), t.number, M.dash(t.service_name), t.name, t.id_number,
      M.dash(t.proxy_name), M.dash(t.proxy_id_number), SOURCES[t.source] || t.source,
      t.priority ? (t.priority_by === "身份证" ? "老年人（按身份证）" : "有") : "—",
      t.state_name, button];
    return Hall.h("tr", { dataset: { ticket: t.id } }, ...cells.map((x) => Hall.h("td", null, x)));
  }

  async function load() {
    const mine = ++asked;
    try {
      const rows = (await Hall.api("GET", M.url("/api/manage/real-name", filters))).tickets;
      if (mine !== asked) return;
      $("rl-count").textContent = "（" + rows.length + " 张）";
      $("people").replaceChildren(...(rows.length ? rows.map(rowOf) : [Hall.h("tr", null,
        Hall.h("td", { colspan: 11, class: "muted" }, "没有实名取号记录"))]));
      M.say("");
    } catch (e) {
      M.fail(e);
    }
  }

  function ask(t) {
    chosen = t;
    $("rv-number").textContent = t.number;
    $("reveal").hidden = false;
    $("rv-reason").value = "";
    $("rv-reason").focus();
  }

  $("rv-cancel").addEventListener("click", function () {
    $("reveal").hidden = true;
    chosen = null;
  });
  $("reveal-form").addEventListener("submit", async function (e) {
    e.preventDefault();
    if (!chosen) return;
    try {
      const r = await Hall.api("POST", "/api/manage/tickets/" + chosen.id + "/reveal",
        { reason: $("rv-reason").value.trim() });
      const row = document.querySelector('tr[data-ticket="' + chosen.id + '"]');
      if (row) {
        const cells = row.querySelectorAll("td");
        cells[3].textContent = r.name;
        cells[4].textContent = r.id_number;
        cells[5].textContent = M.dash(r.proxy_name);
        cells[6].textContent = M.dash(r.proxy_id_number);
        cells[10].textContent = "已查看（已记入审计日志）";
      }
      $("reveal").hidden = true;
      chosen = null;
      M.say("已显示完整信息，本次查看已记入审计日志", "ok");
    } catch (err) {
      M.fail(err);
    }
  });

  M.bindFilters($("filters"), function (f) { filters = f; }, load);
  M.start({ ready: load });
})();
