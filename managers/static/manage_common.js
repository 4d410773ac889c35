/* manage_common.js — what every manager page shares, so each page script is only its view.
 *
 * The session: /api/me on load, the login form, logout, and a 401/403 from any call brings the
 * login form back (an idle timeout ends sessions on the server). The navigation bar. One
 * WebSocket per page (Hall.live, resuming with ?since=), whose events feed the page and the
 * alarm strip. The alarm strip lists the alarms whose condition holds (GET /api/manage/alarms:
 * queues, windows, cases, devices, the calendar — docs/alarms.md), those still to acknowledge
 * first; alarm.raised adds one at once, highlighted, alarm.cleared takes it off, alarm.acked
 * marks it 已确认. A new 差评 or 办不成事 (alarm.bad_rating / alarm.complaint: its alarm has no
 * event of its own) shows at once from the event, then the list is read again. Each alarm has
 * a 确认 button: a dialog takes an optional note (HallManage.ack, also used by /manage/alarms).
 *
 * Roles (issue 10.3): the page config names the roles that may open this page (`roles`) and
 * those that run the hall (`managers`); the navigation shows each role its own pages only. An
 * auditor who logs in anywhere is taken to the audit log; another role that may not open this
 * page reloads it and gets the server's 403 page. The alarm strip and the live channel are for
 * managers (an auditor's page has neither). A session whose password an admin set sees only the
 * change-password form (password.js) until it is changed; anyone may change theirs (修改密码).
 *
 * Pages call HallManage.start({ready(me), onEvent(ev), onSnapshot(data, seq), onOpen()}).
 */
(function () {
  "use strict";
  const $ = (id) => document.getElementById(id);
  const M = {};
  const ROLE_NAMES = Hall.config.role_names || {};
  const PAGE_ROLES = Hall.config.roles || ["manager", "admin"];
  const MANAGERS = Hall.config.managers || ["manager", "admin"];
  let me = null;
  const FRESH_MS = 120000; // how long a live alarm stays highlighted
  let page = {};
  let live = null;
  let alarms = [];
  let alarmTimer = null;
  let alarmPoll = null;
  const fresh = new Map(); // "rectification:3" → when its alarm event arrived

  Hall.clock($("clock"), false);

  // ------------------------------------------------------------------ helpers for pages
  /** A share 0..1 as a percentage; "—" when the API says there was nothing to divide. */
  M.pct = function (x) {
    return x === null || x === undefined ? "—" : (x * 100).toFixed(1) + "%";
  };
  /** "2026年11月25日 09:30" of an ISO time, in hall time (Hall.dateTime). */
  M.dt = function (iso) {
    return iso ? Hall.dateTime(iso) : "—";
  };
  /** "2026年1月31日" of an ISO day; "—" for none. */
  M.day = function (iso) {
    return iso ? Hall.dayText(iso) : "—";
  };
  M.dash = HallFilters.dash;

  /** Run fn once, `ms` after the last call (events come in bursts). */
  M.debounce = function (fn, ms) {
    let t = null;
    return function () {
      clearTimeout(t);
      t = setTimeout(fn, ms);
    };
  };

  // the filter form ↔ the address bar, and URLs with a query (filters.js)
  M.readFilters = HallFilters.read;
  M.fillFilters = HallFilters.fill;
  M.keepFilters = HallFilters.keep;
  M.bindFilters = HallFilters.bind;
  M.url = HallFilters.url;

  /** A refusal: back to the login form for 401/403 (to the change-password form when the
   * password must be changed first), else the server's message on top. */
  M.fail = function (e) {
    if (e.code === "password_change_required") showChange(true);
    else if (e.status === 401 || e.status === 403) showLogin(e.message);
    else Hall.say($("m-msg"), e.message, "error");
  };
  M.say = (text, kind) => Hall.say($("m-msg"), text, kind);

  // ------------------------------------------------------------------ session
  function showLogin(text) {
    $("view").hidden = true;
    $("logout").hidden = true;
    $("pw-open").hidden = true;
    $("mnav").hidden = true;
    HallPassword.close();
    $("login").hidden = false;
    Hall.say($("login-msg"), text || "", "info");
    $("l-user").focus();
  }

  /** The change-password form alone; `forced`: nothing else is open until it is done. */
  function showChange(forced) {
    $("login").hidden = true;
    $("view").hidden = forced;
    $("mnav").hidden = forced;
    $("pw-open").hidden = true;
    $("logout").hidden = false;
    HallPassword.open({
      username: me && me.user.username,
      forced,
      onDone: function (after) {
        if (forced) enter(after);
        else {
          $("pw-open").hidden = false;
          M.say("密码已修改", "ok");
        }
      },
      onCancel: () => ($("pw-open").hidden = false),
      onLoggedOut: (e) => showLogin(e.message),
    });
  }

  /** After login or on load: the form, the page, or where this role belongs. */
  function enter(who) {
    me = who;
    const role = who.user.role;
    $("who").textContent = who.user.username + "（" + (ROLE_NAMES[role] || role) + "）";
    if (who.must_change_password) showChange(true);
    else if (PAGE_ROLES.includes(role)) showView(who);
    else if (role === "auditor") location.assign(Hall.url("/manage/audit"));
    else location.reload(); // the server answers the page this role may not open: 403
  }

  async function showView(who) {
    const manager = MANAGERS.includes(who.user.role);
    $("login").hidden = true;
    $("view").hidden = false;
    $("logout").hidden = false;
    $("pw-open").hidden = false;
    $("mnav").hidden = false;
    for (const li of $("mnav").querySelectorAll("li[data-roles]")) {
      li.hidden = !li.dataset.roles.split(" ").includes(who.user.role);
    }
    $("alarms").hidden = !manager;
    if (manager) {
      loadAlarms();
      if (!alarmPoll) alarmPoll = setInterval(loadAlarms, 60000); // deadlines pass without events
    }
    try {
      if (page.ready) await page.ready(who);
    } catch (e) {
      M.fail(e);
    }
    if (manager && !live) {
      live = Hall.live({
        path: "/ws/manage", // ratings and alarms are private: the managers' channel has them
        onSnapshot: (d, seq) => page.onSnapshot && page.onSnapshot(d, seq),
        onEvent,
        onOpen: function () {
          loadAlarms();
          if (page.onOpen) page.onOpen();
        },
      });
      M.live = live;
    }
  }

  // ------------------------------------------------------------------ alarm strip
  const NOTE_MAX = 200;

  async function loadAlarms() {
    alarmTimer = null;
    try {
      alarms = (await Hall.api("GET", "/api/manage/alarms")).alarms;
      drawAlarms();
    } catch (e) {
      M.fail(e);
    }
  }
  function alarmsSoon() {
    if (!alarmTimer) alarmTimer = setTimeout(loadAlarms, 300);
  }
  /** ["rectification", 3] for a case's alarm, null for the others. */
  function caseOf(a) {
    if (a.rectification) return ["rectification", a.rectification];
    if (a.complaint) return ["complaint", a.complaint];
    return null;
  }
  const acked = (a) => a.status === "acked" || a.status === "closed";

  function alarmItem(a, now) {
    const c = caseOf(a);
    const seen = Math.max(fresh.get("alarm:" + a.id) || 0, c ? fresh.get(c[0] + ":" + c[1]) || 0 : 0);
    const isFresh = now - seen < FRESH_MS;
    const overdue = /_overdue$|^application_late$/.test(a.kind);
    const cls = (c ? "al-item" : "al-rule") + (overdue ? " overdue" : "") +
      (isFresh && !acked(a) ? " fresh" : "") + (acked(a) ? " acked" : "");
    const data = { kind: a.kind };
    if (a.id) data.alarm = a.id;
    if (c) data.id = c[1];
    const text = c
      ? Hall.h("a", { href: Hall.url("/manage/" + (c[0] === "rectification" ? "rectifications/" : "complaints/") + c[1]) }, a.message)
      : Hall.h("span", null, a.message);
    const since = a.raised_at ? Hall.h("span", { class: "al-since muted" }, Hall.hhmm(a.raised_at) + " 起") : null;
    let action = null;
    if (acked(a)) {
      action = Hall.h("span", { class: "al-acked", title: a.ack_note || "" },
        "已确认（" + (a.acked_by || "") + "）");
    } else if (a.id) {
      action = Hall.h("button", { type: "button", class: "secondary small al-ack",
        "aria-label": "确认告警：" + a.message, onclick: () => M.ack(a) }, "确认");
    }
    return Hall.h("li", { class: cls, dataset: data },
      Hall.h("span", { class: "al-tag" }, acked(a) ? "已确认" : a.kind_name || "告警"),
      text, since, action);
  }

  function drawAlarms() {
    const now = Date.now();
    const items = alarms.map((a) => alarmItem(a, now));
    if (!items.length) items.push(Hall.h("li", { class: "al-none" }, "暂无告警"));
    $("al-list").replaceChildren(...items);
    $("al-count").textContent = alarms.length;
    $("alarms").dataset.count = alarms.length;
    $("alarms").dataset.open = alarms.filter((a) => !acked(a)).length;
  }

  /** One alarm changed (raised, cleared, acknowledged): the strip follows at once. */
  function alarmChanged(type, a) {
    alarms = alarms.filter((x) => x.id !== a.id &&
      !(caseOf(x) && caseOf(a) && !x.id && caseOf(x)[0] === caseOf(a)[0] && caseOf(x)[1] === caseOf(a)[1]));
    if (type === "alarm.raised") fresh.set("alarm:" + a.id, Date.now());
    if (type !== "alarm.cleared") {
      alarms.push(a);
      alarms.sort((x, y) => (acked(x) - acked(y)) || String(y.raised_at).localeCompare(String(x.raised_at)));
    }
    drawAlarms();
  }

  // the acknowledge dialog, shared by the strip and the alarms page
  let acking = null;
  M.ack = function (a, done) {
    acking = { alarm: a, done };
    $("ack-what").textContent = (a.kind_name ? a.kind_name + "：" : "") + a.message;
    $("ack-note").value = "";
    $("ack-note").setCustomValidity("");
    Hall.say($("ack-msg"), "");
    const old = $("ack-note-problem");
    if (old) Hall.say(old, "");
    $("ack-note").removeAttribute("aria-invalid");
    $("ack-dlg").showModal();
    $("ack-note").focus();
  };
  $("ack-note").addEventListener("input", function () {
    const n = this.value.trim().length;
    this.setCustomValidity(n > NOTE_MAX ? "处理说明不能超过 " + NOTE_MAX + " 个字（现有 " + n + " 个）" : "");
  });
  $("ack-cancel").addEventListener("click", () => $("ack-dlg").close());
  $("ack-form").addEventListener("submit", async function (e) {
    e.preventDefault();
    if (!acking) return;
    const { alarm, done } = acking;
    const note = $("ack-note").value.trim();
    $("ack-ok").disabled = true;
    try {
      const view = await Hall.api("POST", "/api/manage/alarms/" + alarm.id + "/ack",
        note ? { note } : {});
      $("ack-dlg").close();
      acking = null;
      if (!view.cleared_at) alarmChanged("alarm.acked", view);
      M.say("已确认告警：" + view.message, "ok");
      if (done) done(view);
    } catch (err) {
      if (err.status === 401) {
        $("ack-dlg").close();
        M.fail(err);
      } else {
        Hall.say($("ack-msg"), err.message, "error");
      }
    } finally {
      $("ack-ok").disabled = false;
    }
  });

  function onEvent(ev) {
    const d = ev.data || {};
    if (ev.type === "alarm.raised" || ev.type === "alarm.cleared" || ev.type === "alarm.acked") {
      alarmChanged(ev.type, d);
    } else if (ev.type === "alarm.bad_rating" || ev.type === "alarm.complaint") {
      const kind = ev.type === "alarm.bad_rating" ? "rectification" : "complaint";
      const id = d[kind];
      fresh.set(kind + ":" + id, Date.now());
      // at once, from the event (window and level only), before the list is read again
      const message = kind === "rectification"
        ? "新差评 #" + id + " " + (d.window_name || "") + " " + (d.level_name || "") +
          "，回访期限 " + Hall.dayText(d.callback_due)
        : "新办不成事 #" + id + " " + (d.window_name || d.source_name || "") + "，期限 " + Hall.dayText(d.due);
      const a = { kind: kind + "_new", kind_name: kind === "rectification" ? "新差评" : "新办不成事",
        window: d.window, message, status: "raised" };
      a[kind] = id;
      alarms = [a, ...alarms.filter((x) => !caseOf(x) || caseOf(x)[1] !== id || caseOf(x)[0] !== kind)];
      drawAlarms();
      alarmsSoon();
    } else if (ev.type === "rectification.updated" || ev.type === "complaint.updated") {
      alarmsSoon();
    }
    if (page.onEvent) page.onEvent(ev);
  }

  // ------------------------------------------------------------------ start
  M.start = function (handlers) {
    page = handlers || {};
    $("login-form").addEventListener("submit", async function (e) {
      e.preventDefault();
      $("l-submit").disabled = true;
      try {
        const who = await Hall.api("POST", "/api/login", { username: $("l-user").value.trim(),
          password: $("l-pass").value, window: null });
        $("l-pass").value = "";
        enter(who);
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
    $("pw-open").addEventListener("click", () => showChange(false));
    (async function init() {
      try {
        const who = await Hall.api("GET", "/api/me");
        if (who.must_change_password || PAGE_ROLES.includes(who.user.role)) enter(who);
        else showLogin("当前账户不能使用本页，请用有权限的账户登录");
      } catch (e) {
        // session_ended: an admin deactivated the account or reset its password (the reason)
        showLogin(e.status === 401 && e.code !== "session_ended" ? "" : e.message);
      }
    })();
  };

  window.HallManage = M;
})();
