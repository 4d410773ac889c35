/* city.js — 城市总览: every hall side by side, for the city's managers (hall/city_api.py).
 *
 * The session: /api/city/me on load, the login form, logout; a 401/403 from any call brings
 * the login form back. The live table is read from /api/city/overview every POLL_MS (a city
 * has a handful of halls: one small read each few seconds, no WebSocket per hall). The period
 * form (年月日, this month to today when empty) fetches the report across halls and the
 * 明进暗不进 findings together, and points the CSV links at the same period.
 */
(function () {
  "use strict";
  const $ = (id) => document.getElementById(id);
  const h = Hall.h;
  const POLL_MS = 5000;
  const ROLE_NAMES = { manager: "管理员", admin: "系统管理员" };
  let poll = null;

  Hall.clock($("clock"), true);

  const dash = (v) => (v === null || v === undefined || v === "" ? "—" : String(v));

  function fail(e) {
    if (e.status === 401 || e.status === 403) showLogin(e.message);
    else Hall.say($("m-msg"), e.message, "error");
  }

  // ------------------------------------------------------------------ session
  function showLogin(text) {
    clearInterval(poll);
    poll = null;
    $("view").hidden = true;
    $("city-nav").hidden = true;
    $("logout").hidden = true;
    $("who").textContent = "";
    $("login").hidden = false;
    Hall.say($("login-msg"), text || "", "info");
    $("l-user").focus();
  }

  function enter(me) {
    const role = me.user.role;
    $("who").textContent = me.user.username + "（" + (ROLE_NAMES[role] || role) + "）";
    $("login").hidden = true;
    $("view").hidden = false;
    $("city-nav").hidden = false;
    $("nav-audit").hidden = role !== "admin"; // the city's log is its admin's to read
    $("logout").hidden = false;
    loadOverview();
    if (!poll) poll = setInterval(loadOverview, POLL_MS);
    loadPeriod();
  }

  $("login-form").addEventListener("submit", async function (e) {
    e.preventDefault();
    Hall.say($("login-msg"), "", "info");
    try {
      enter(await Hall.api("POST", "/api/city/login",
        { username: $("l-user").value, password: $("l-pass").value }));
      $("l-pass").value = "";
    } catch (err) {
      Hall.say($("login-msg"), err.message, "error");
    }
  });

  $("logout").addEventListener("click", async function () {
    try {
      await Hall.api("POST", "/api/city/logout");
    } catch (e) {
      /* the session may have ended already: the login form either way */
    }
    showLogin("已退出登录");
  });

  // ------------------------------------------------------------------ live overview
  function setCell(row, key, text) {
    const td = row.querySelector('[data-k="' + key + '"]');
    if (td) td.textContent = text;
  }

  function drawOverview(data) {
    for (const hall of data.halls) {
      const row = $("ov-body").querySelector('tr[data-hall="' + hall.id + '"]');
      if (!row) continue;
      row.classList.toggle("alarm", !!hall.error);
      if (hall.error) {
        setCell(row, "waiting", hall.error);
        continue;
      }
      setCell(row, "waiting", String(hall.waiting));
      setCell(row, "windows", hall.windows_open + " / " + hall.windows_total);
      setCell(row, "windows_paused", String(hall.windows_paused));
      const alarms = row.querySelector('[data-k="alarms"]');
      const text = hall.alarms + "（" + hall.alarms_unacked + "）";
      // alarms nobody has acknowledged stand out; the hall's own page has the list
      alarms.replaceChildren(hall.alarms_unacked > 0 ? h("span", { class: "st st-paused" }, text) : text);
      setCell(row, "issued", String(hall.issued));
      setCell(row, "served", String(hall.served));
      setCell(row, "wait_avg_minutes", dash(hall.wait_avg_minutes));
      setCell(row, "wait_p90_minutes", dash(hall.wait_p90_minutes));
    }
    $("ov-time").textContent = "更新于 " + Hall.dateTime(data.time);
  }

  async function loadOverview() {
    try {
      drawOverview(await Hall.api("GET", "/api/city/overview"));
    } catch (e) {
      fail(e);
    }
  }

  // ------------------------------------------------------------------ period: report, 明进暗不进
  function monthStart() {
    const p = Hall.partsOf(new Date());
    return p.year + "年" + p.month + "月1日";
  }

  function period() {
    const from = Hall.parseDay($("f-from").value);
    const to = Hall.parseDay($("f-to").value);
    const q = {};
    if (from) q.from = from;
    if (to) q.to = to;
    return q;
  }

  function url(base, params) {
    const qs = new URLSearchParams(params).toString();
    return base + (qs ? "?" + qs : "");
  }

  function drawTable(head, body, data, hallKey) {
    head.replaceChildren(h("tr", null,
      data.columns.map((c) => h("th", { scope: "col" }, c.name))));
    const rows = data.table.map(function (cells, i) {
      return h("tr", { dataset: { hall: data[hallKey][i].hall || data[hallKey][i].id } },
        cells.map((text, j) => (j === 0 ? h("th", { scope: "row" }, text) : h("td", null, text))));
    });
    body.replaceChildren(...rows);
  }

  async function loadPeriod() {
    const q = period();
    $("csv-report").href = url(Hall.url("/api/city/report"), Object.assign({ format: "csv" }, q));
    $("csv-idle").href = url(Hall.url("/api/city/idle"), Object.assign({ format: "csv" }, q));
    try {
      const [report, idle] = await Promise.all([
        Hall.api("GET", url(Hall.url("/api/city/report"), q)),
        Hall.api("GET", url(Hall.url("/api/city/idle"), q)),
      ]);
      $("period").textContent = "当前期间：" + Hall.dayText(report.from) + "至" + Hall.dayText(report.to) + "。";
      drawTable($("report-head"), $("report-body"), report, "report");
      const lines = idle.table.map(function (cells, i) {
        return h("tr", { dataset: { hall: idle.findings[i].hall, what: idle.findings[i].what } },
          cells.map((text, j) => (j === 0 ? h("th", { scope: "row" }, text) : h("td", null, text))));
      });
      if (!lines.length) {
        lines.push(h("tr", null, h("td", { colspan: "5" }, "所选期间各中心的窗口和事项都有业务办理")));
      }
      $("idle-body").replaceChildren(...lines);
      $("idle-count").textContent = idle.findings.length ? "共 " + idle.findings.length + " 项" : "";
    } catch (e) {
      fail(e);
    }
  }

  $("f-from").value = monthStart();
  $("f-to").value = Hall.date(new Date());
  $("filters").addEventListener("submit", function (e) {
    e.preventDefault();
    loadPeriod();
  });

  // ------------------------------------------------------------------ start
  (async function () {
    try {
      enter(await Hall.api("GET", "/api/city/me"));
    } catch (e) {
      if (e.status === 401 || e.status === 403) showLogin();
      else Hall.say($("login-msg"), e.message, "error");
    }
  })();
})();
