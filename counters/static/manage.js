/* manage.js — the manager's live view: queues against their alarm thresholds, windows with
 * clerk and current number, the latest events. Queue figures come from /ws (snapshot + the
 * summaries every event carries), staffing from /api/manage/windows, history from
 * /api/manage/events. Waiting times grow without events, so the snapshot is re-read each 30 s. */
(function () {
  "use strict";
  const $ = (id) => document.getElementById(id);
  const queues = new Map();
  let windows = [];
  let events = [];
  let live = null;
  let winTimer = null;

  const TYPES = { "ticket.issued": "取号", "ticket.called": "叫号", "ticket.started": "开始办理",
    "ticket.finished": "办结", "ticket.skipped": "过号", "ticket.transferred": "转移",
    "ticket.held": "挂起", "window.paused": "暂停服务", "window.resumed": "恢复服务",
    "window.opened": "开窗", "window.closed": "关窗", "hall.closed": "闭厅" };
  const STATES = { closed: "未开窗", idle: "空闲", called: "已叫号", serving: "办理中", paused: "暂停" };

  Hall.clock($("clock"), false);

  function showLogin(text) {
    $("view").hidden = true;
    $("logout").hidden = true;
    $("login").hidden = false;
    Hall.say($("login-msg"), text || "", "info");
    $("l-user").focus();
  }

  async function showView(me) {
    $("login").hidden = true;
    $("view").hidden = false;
    $("logout").hidden = false;
    $("who").textContent = me.user.username + "（" + me.user.role + "）";
    await Promise.all([loadWindows(), loadEvents(), loadHall()]);
    if (!live) {
      live = Hall.live({ onSnapshot: (d) => mergeQueues(d.queues), onEvent, onOpen: loadWindows });
      setInterval(loadHall, 30000);
      setInterval(drawWindows, 30000);
    }
  }

  function fail(e) {
    if (e.status === 401 || e.status === 403) showLogin(e.message);
    else Hall.say($("m-msg"), e.message, "error");
  }

  async function loadWindows() {
    winTimer = null;
    try {
      windows = (await Hall.api("GET", "/api/manage/windows")).windows;
      drawWindows();
    } catch (e) { fail(e); }
  }
  async function loadEvents() {
    try {
      events = (await Hall.api("GET", "/api/manage/events?limit=40")).events;
      drawEvents();
    } catch (e) { fail(e); }
  }
  async function loadHall() {
    try {
      mergeQueues((await Hall.api("GET", "/api/hall")).queues);
    } catch (e) { fail(e); }
  }

  function mergeQueues(list) {
    (list || []).forEach((q) => queues.set(q.id, Object.assign(queues.get(q.id) || {}, q)));
    drawQueues();
  }

  function onEvent(ev) {
    mergeQueues((ev.data || {}).queues);
    const w = Hall.windowOf(ev);
    if (w) {
      const i = windows.findIndex((x) => x.number === w.number);
      if (i >= 0) windows[i] = Object.assign({}, windows[i], w);
      drawWindows();
    }
    if (ev.type.startsWith("window.")) {
      if (!winTimer) winTimer = setTimeout(loadWindows, 200); // clerk or reason changed
    }
    events.unshift(ev);
    events = events.slice(0, 40);
    drawEvents();
  }

  function drawQueues() {
    $("mq").replaceChildren(...[...queues.values()].map(function (q) {
      const over = q.waiting >= q.waiting_alarm || q.longest_wait_minutes >= q.wait_alarm_minutes;
      const pct = Math.min(100, Math.round((100 * q.waiting) / Math.max(1, q.waiting_alarm)));
      return Hall.h("tr", { class: over ? "alarm" : "", dataset: { queue: q.id } },
        Hall.h("td", null, q.prefix + " · " + q.name),
        Hall.h("td", { class: "num" }, q.waiting + " / " + q.waiting_alarm),
        Hall.h("td", null, Hall.h("div", { class: "bar", role: "img",
          "aria-label": "等候人数占阈值 " + pct + "%" }, Hall.h("i", { style: "width:" + pct + "%" }))),
        Hall.h("td", { class: "num" }, q.longest_wait_minutes + " 分钟" +
          (q.longest_wait_minutes >= q.wait_alarm_minutes ? " ⚠" : "")),
        Hall.h("td", null, q.waiting ? Hall.minutes(q.eta_minutes) : "—"));
    }));
  }

  function drawWindows() {
    $("mw").replaceChildren(...windows.map(function (w) {
      const m = Hall.sinceMinutes(w.since);
      return Hall.h("tr", { dataset: { window: w.number } },
        Hall.h("td", null, w.number + " · " + w.name),
        Hall.h("td", null, Hall.h("span", { class: "st st-" + w.state }, STATES[w.state] || w.state),
          w.state === "paused" && w.pause_reason ? "（" + w.pause_reason + "）" : ""),
        Hall.h("td", null, w.clerk || "—"),
        Hall.h("td", { class: "num" }, w.current || "—"),
        Hall.h("td", null, m === null ? "—" : m + " 分钟"));
    }));
  }

  function drawEvents() {
    $("me").replaceChildren(...events.map(function (ev) {
      const d = ev.data || {};
      const bits = [Hall.h("span", { class: "num" }, Hall.hhmm(ev.time) + " "),
        Hall.h("b", null, TYPES[ev.type] || ev.type), " "];
      if (d.number) bits.push(Hall.h("span", { class: "num" }, d.number), " ");
      if (d.window_name) bits.push("→ " + d.window_name + " ");
      if (d.outcome_name) bits.push("（" + d.outcome_name + "）");
      if (d.reason) bits.push("（" + d.reason + "）");
      return Hall.h("li", null, bits);
    }));
  }

  $("login-form").addEventListener("submit", async function (e) {
    e.preventDefault();
    $("l-submit").disabled = true;
    try {
      const me = await Hall.api("POST", "/api/login", { username: $("l-user").value.trim(),
        password: $("l-pass").value, window: null });
      $("l-pass").value = "";
      if (me.user.role !== "manager" && me.user.role !== "admin") {
        Hall.say($("login-msg"), "需要管理员权限（manager 或 admin）", "error");
        return;
      }
      showView(me);
    } catch (err) {
      Hall.say($("login-msg"), err.message, "error");
    } finally {
      $("l-submit").disabled = false;
    }
  });
  $("logout").addEventListener("click", async function () {
    try { await Hall.api("POST", "/api/logout", {}); } catch (e) { /* gone already */ }
    showLogin("已退出登录");
  });

  (async function init() {
    try {
      const me = await Hall.api("GET", "/api/me");
      if (me.user.role === "manager" || me.user.role === "admin") showView(me);
      else showLogin("当前账户不是管理员，请用管理账户登录");
    } catch (e) {
      showLogin(e.status === 401 ? "" : e.message);
    }
  })();
})();
