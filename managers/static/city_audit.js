/* city_audit.js — /city/audit (城市审计日志): the city's own log for the city's admin, in
 * audit_view.js's page. The session is the overview's (city.js logs in): without one, or for a
 * city manager, the page says why and links back; a 401/403 later does the same. */
(function () {
  "use strict";
  const $ = (id) => document.getElementById(id);
  const ROLE_NAMES = { manager: "管理员", admin: "系统管理员" };

  Hall.clock($("clock"), true);

  function gate(text) {
    $("view").hidden = true;
    $("logout").hidden = true;
    $("gate").hidden = false;
    $("gate-text").textContent = text;
  }

  function fail(e) {
    if (e.status === 401) gate("请先以城市系统管理员账号登录。");
    else if (e.status === 403) gate(e.message);
    else Hall.say($("m-msg"), e.message, "error");
  }

  $("logout").addEventListener("click", async function () {
    try {
      await Hall.api("POST", "/api/city/logout");
    } catch (e) {
      /* the session may have ended already */
    }
    location.href = Hall.url("/city");
  });

  (async function () {
    let me;
    try {
      me = await Hall.api("GET", "/api/city/me");
    } catch (e) {
      fail(e);
      return;
    }
    const role = me.user.role;
    $("who").textContent = me.user.username + "（" + (ROLE_NAMES[role] || role) + "）";
    $("logout").hidden = false;
    if (role !== "admin") {
      gate("只有城市系统管理员可以查看城市审计日志。");
      return;
    }
    const view = HallAuditView({
      api: Hall.url("/api/city/audit"),
      fail: fail,
      say: (text, kind) => Hall.say($("m-msg"), text, kind),
    });
    $("view").hidden = false;
    view.ready();
  })();
})();
