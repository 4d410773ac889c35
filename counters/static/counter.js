/* counter.js — the clerk's pad.
 *
 * The pad keeps no state of its own: everything it shows is the last answer of
 * GET /api/windows/{n} (or of an operation, which answers the same shape), refetched when
 * /ws says something happened to this window, and on every (re)connection. A reload or a lost
 * link therefore resumes exactly where the server is. Refusals show the server's message.
 *
 * Shortcuts use KeyboardEvent.code (physical keys), so they work with a Chinese IME switched on.
 *
 * What the pad offers follows the window's state (padState: closed, idle, held = idle with a
 * held number to call back, called, serving, paused): a button is enabled only when the server
 * would accept its step (the table POSSIBLE mirrors hall.model.LEGAL_FROM and the paused/busy
 * checks of hall.service), the help line says what to do next in that state, and the suggested
 * next step (class "primary") is drawn unlike the keyboard focus, which may be anywhere.
 *
 * A clerk whose password an admin set (a new account, a reset) sees only the change-password
 * form (password.js) after logging in; the server opens the window once it is changed.
 */
(function () {
  "use strict";
  const $ = (id) => document.getElementById(id);
  const cfg = Hall.config;
  const msg = $("pad-msg");
  let win = null; // window number logged in to
  let detail = null; // last GET /api/windows/{n}
  let busy = false;
  // A key pressed while a step is still on its way is kept (the last one) and run when the
  // answer is in, against the state it brings: a quick clerk (S then 1) loses no key.
  let afterBusy = null;
  let refetchTimer = null;
  let live = null;
  // answers can overtake each other: a refresh started before an operation must not paint
  // over the operation's (newer) answer. Each request takes a ticket; older answers are dropped.
  let issued = 0;
  let applied = 0;

  function fresh(ticket) {
    if (ticket < applied) return false;
    applied = ticket;
    return true;
  }

  const STATE = { closed: "未开窗", idle: "空闲，可叫号", called: "已叫号，等待群众到窗口",
    serving: "办理中", paused: "暂停服务" };
  // every step the pad has, and in which pad state each is possible
  const POSSIBLE = {
    closed: [],
    idle: ["call", "callnumber", "pause"],
    held: ["call", "callnumber", "callback", "pause"],
    called: ["recall", "start", "skip", "hold", "transfer", "finish"],
    serving: ["hold", "transfer", "finish"],
    paused: ["resume"],
  };
  const HELP = {
    closed: "窗口未开，请重新登录",
    idle: "当前没有号票，按 N 叫下一位",
    held: "当前没有号票，按 N 叫下一位，或按 B 回呼挂起的号",
    called: "已叫号：群众到窗口后按 S 开始办理；未到可按 R 重呼或 K 过号",
    serving: "办理中：办完按 1–5 选择办理结果",
    paused: "暂停服务中，按 U 恢复服务",
  };
  const NEXT = { idle: ["call"], held: ["call"], called: ["start"], serving: ["finish:done"],
    paused: ["resume"], closed: [] };
  const OP_NAMES = { call: "叫下一位", callnumber: "叫指定号", recall: "重呼", start: "开始办理",
    skip: "过号", hold: "挂起", callback: "回呼", transfer: "转移", finish: "办结",
    pause: "暂停服务", resume: "恢复服务" };

  /** The pad's state from the window's: "held" is idle with a number waiting to be called back. */
  function padState(d) {
    const s = d && d.window ? d.window.state : "closed";
    if (s === "idle" && d.held && d.held.length) return "held";
    return POSSIBLE[s] ? s : "closed";
  }
  function possible(name) {
    return POSSIBLE[padState(detail)].includes(name);
  }
  const PRIORITY = { elderly: "老年人", disabled: "残疾人", pregnant: "孕妇", military: "军人依法优先" };
  // the shortcuts are the buttons' own aria-keyshortcuts (one source: what the button says is
  // what the key does); "N" → KeyN, "1" → Digit1 and Numpad1
  const KEYS = {};
  document.querySelectorAll("#pad .actions button[aria-keyshortcuts]").forEach(function (b) {
    const k = b.getAttribute("aria-keyshortcuts");
    const codes = /^[0-9]$/.test(k) ? ["Digit" + k, "Numpad" + k] : ["Key" + k.toUpperCase()];
    codes.forEach((c) => (KEYS[c] = { name: b.dataset.op, outcome: b.dataset.outcome }));
  });
  const DONE_TEXT = { call: "已叫号", recall: "已重呼", start: "开始办理", skip: "已过号",
    hold: "已挂起", callback: "已回呼", transfer: "已转移", pause: "已暂停服务",
    resume: "已恢复服务", finish: "已办结" };

  // ------------------------------------------------------------------ session
  function showLogin(text) {
    win = null;
    detail = null;
    HallPassword.close();
    $("pad").hidden = true;
    $("logout").hidden = true;
    $("who").textContent = "";
    $("login").hidden = false;
    Hall.say($("login-msg"), text || "", "info");
    $("l-user").focus();
  }

  /** The password an admin set must be replaced before the window opens. */
  function showChange(me) {
    win = null;
    $("login").hidden = true;
    $("pad").hidden = true;
    $("logout").hidden = false;
    $("who").textContent = me.user.username;
    HallPassword.open({
      username: me.user.username,
      forced: true,
      onDone: showPad,
      onLoggedOut: (e) => showLogin(e.message),
    });
  }

  function showPad(me) {
    win = me.window;
    $("login").hidden = true;
    $("pad").hidden = false;
    $("logout").hidden = false;
    const w = cfg.windows[String(win)];
    $("who").textContent = (w ? w.name : win + "号窗口") + " · " + me.user.username;
    document.title = (w ? w.name : win + "号窗口") + " · 窗口叫号";
    refresh();
    if (!live) {
      live = Hall.live({
        onOpen: scheduleRefresh,
        onEvent: onEvent,
      });
    }
    const first = document.querySelector('#pad button[data-op="call"]');
    if (first) first.focus();
  }

  $("login-form").addEventListener("submit", async function (e) {
    e.preventDefault();
    const body = { username: $("l-user").value.trim(), password: $("l-pass").value,
      window: parseInt($("l-window").value, 10) || null };
    if (!body.window) {
      Hall.say($("login-msg"), "请选择窗口", "error");
      $("l-window").focus();
      return;
    }
    $("l-submit").disabled = true;
    try {
      const me = await Hall.api("POST", "/api/login", body);
      $("l-pass").value = "";
      Hall.say($("login-msg"), "");
      if (me.must_change_password) showChange(me);
      else showPad(me);
    } catch (err) {
      Hall.say($("login-msg"), err.message, "error");
    } finally {
      $("l-submit").disabled = false;
    }
  });

  $("logout").addEventListener("click", async function () {
    try {
      await Hall.api("POST", "/api/logout", {});
    } catch (e) { /* gone already */ }
    showLogin("已退出登录");
  });

  // ------------------------------------------------------------------ state
  async function refresh() {
    refetchTimer = null;
    if (!win) return;
    if (busy) { // the operation's own answer is coming; look again after it
      scheduleRefresh();
      return;
    }
    const ticket = ++issued;
    try {
      const d = await Hall.api("GET", "/api/windows/" + win);
      if (fresh(ticket)) draw(d);
    } catch (e) {
      handleError(e);
    }
  }

  function scheduleRefresh() {
    if (!refetchTimer) refetchTimer = setTimeout(refresh, 120);
  }

  function onEvent(ev) {
    if (!win) return;
    const d = ev.data || {};
    if (Hall.windowNumberOf(ev) === win || d.to_window === win || ev.type === "hall.closed") {
      scheduleRefresh();
      return;
    }
    // someone took a ticket or another window called one: only the counts changed
    if (detail && d.queues) {
      let changed = false;
      d.queues.forEach(function (q) {
        const mine = detail.queues.find((x) => x.id === q.id);
        if (mine && mine.waiting !== q.waiting) {
          mine.waiting = q.waiting;
          changed = true;
        }
      });
      if (changed) drawQueues();
    }
  }

  function drawQueues() {
    $("queues").replaceChildren(...detail.queues.map((q) =>
      Hall.h("li", { dataset: { queue: q.id } }, Hall.h("span", null, q.name),
        Hall.h("b", { class: "num" }, String(q.waiting)), " 人")));
    const directed = detail.directed_waiting || 0;
    $("directed").hidden = !directed;
    $("directed").textContent = "转来本窗口的号：" + directed + " 个";
  }

  function numList(el, numbers, op) {
    if (!numbers.length) {
      el.replaceChildren(Hall.h("li", { class: "muted" }, "无"));
      return;
    }
    el.replaceChildren(...numbers.map((n) => Hall.h("li", null,
      Hall.h("button", { type: "button", class: "secondary small",
        onclick: () => op(n), "aria-label": (op === callbackNumber ? "回呼 " : "重叫 ") + n }, n))));
  }

  function draw(d) {
    detail = d;
    const w = d.window;
    let line = STATE[w.state] || w.state;
    if (w.state === "paused" && w.pause_reason) line += "（" + w.pause_reason + "）";
    $("win-state").textContent = line;
    $("win-state").dataset.state = w.state;
    const t = d.current;
    const state = padState(d);
    $("cur").hidden = !t;
    $("cur-none").hidden = !!t;
    $("help").textContent = HELP[state];
    $("help").dataset.state = state;
    if (!t) $("cur-number").textContent = ""; // nothing stale for a reader or a test to find
    if (t) {
      $("cur-number").textContent = t.number;
      $("cur-service").textContent = (t.queue_name || "") + " · " + (t.service_name || "");
      const flags = [];
      if (t.priority) flags.push("绿色通道：" + (t.priority_name || PRIORITY[t.priority] || t.priority));
      if (t.needs_help) flags.push("需要帮办");
      $("cur-flags").textContent = flags.join(" · ");
      $("cur-flags").hidden = !flags.length;
      $("cur-state").textContent = t.state_name || t.state;
      $("cur-waited").textContent = (t.waited_minutes ?? "—") + " 分钟";
      $("cur-called").textContent = Hall.hhmm(t.called_at);
      $("cur-materials").replaceChildren(...(t.materials || []).map((m) => Hall.h("li", null, m)));
      $("cur-nomat").hidden = !!(t.materials && t.materials.length);
    }
    tickElapsed();
    const lost = document.activeElement;
    document.querySelectorAll("#pad .actions button[data-op]").forEach(function (b) {
      const can = POSSIBLE[state].includes(b.dataset.op);
      b.disabled = !can;
      const next = can && NEXT[state].some((n) => n === b.dataset.op ||
        n === b.dataset.op + ":" + b.dataset.outcome);
      b.classList.toggle("primary", next);
      if (next) b.setAttribute("aria-description", "建议下一步");
      else b.removeAttribute("aria-description");
    });
    // a button pressed by keyboard may now be disabled: keep the focus on the pad
    if (lost && lost.disabled && lost.closest("#pad")) {
      const next = document.querySelector("#pad .actions button.primary") ||
        document.querySelector("#pad .actions button:not(:disabled)");
      if (next) next.focus();
    }
    drawQueues();
    numList($("held"), d.held || [], callbackNumber);
    const rec = d.recallable || [];
    $("recallable").hidden = !rec.length;
    $("recallable-title").hidden = !rec.length;
    numList($("recallable"), rec, (n) => op("call", { number: n }));
    $("held").querySelectorAll("button").forEach((b) => (b.disabled = !possible("callback")));
    $("recallable").querySelectorAll("button").forEach((b) => (b.disabled = !possible("call")));
  }

  function tickElapsed() {
    const t = detail && detail.current;
    if (!t) return;
    const from = t.started_at || t.called_at;
    const m = Hall.sinceMinutes(from);
    $("cur-elapsed").textContent = m === null ? "—" : m + " 分钟";
  }
  setInterval(tickElapsed, 15000);

  function handleError(e, where) {
    if (e.status === 401) {
      // session_ended: a manager pushed this clerk out, or they left on another device
      showLogin(e.code === "session_ended" ? e.message : e.message + "（登录已失效，请重新登录）");
      return;
    }
    Hall.say(where || msg, e.message, "error");
  }

  // ------------------------------------------------------------------ operations
  async function op(name, body, where) {
    if (busy || !win) return false;
    busy = true;
    document.body.classList.add("busy");
    Hall.say(msg, "");
    const ticket = ++issued;
    try {
      const d = await Hall.api("POST", "/api/windows/" + win + "/" + name, body);
      if (fresh(ticket)) draw(d);
      let text = DONE_TEXT[name] || "完成";
      if (name === "call" || name === "callback") text += " " + (d.current ? d.current.number : "");
      if (name === "finish") text = (cfg.outcomes[body.outcome] || "办结") + "：已完成";
      Hall.say(msg, text, "ok");
      return true;
    } catch (e) {
      handleError(e, where);
      return false;
    } finally {
      busy = false;
      document.body.classList.remove("busy");
      const next = afterBusy;
      afterBusy = null;
      if (next) run(next[0], next[1]);
    }
  }

  function callbackNumber(n) {
    return op("callback", { number: n });
  }

  function openDialog(id, setup) {
    const dlg = $(id);
    const box = dlg.querySelector(".msg");
    Hall.say(box, "");
    if (setup) setup(dlg);
    dlg.showModal();
    return dlg;
  }

  async function submitIn(dlg, name, body) {
    if (await op(name, body, dlg.querySelector(".msg"))) dlg.close();
  }

  let reasonFor = null;
  const REASONS = {
    pause: { title: "暂停服务", label: "暂停原因（必填）", required: true,
      chips: ["临时离开", "午休", "系统故障", "业务培训", "处理疑难件"] },
    rejected: { title: "不予受理", label: "不予受理的理由（必填，将告知群众）", required: true,
      chips: ["不属于本机关职责", "材料不符合法定形式", "申请人不具备资格"] },
    failed: { title: "办不成（登记办不成事反映）", label: "未能办成的原因（可选）", required: false,
      chips: ["系统故障", "需其他部门协同", "政策未明确"] },
  };

  function askReason(kind) {
    const r = REASONS[kind];
    reasonFor = kind;
    openDialog("dlg-reason", function () {
      $("dr-title").textContent = r.title;
      $("dr-label").textContent = r.label;
      $("dr-input").value = "";
      $("dr-input").required = r.required;
      $("dr-chips").replaceChildren(...r.chips.map((c) => Hall.h("button", { type: "button",
        class: "secondary small", onclick: () => { $("dr-input").value = c; $("dr-input").focus(); } }, c)));
    });
    $("dr-input").focus();
  }

  $("f-reason").addEventListener("submit", function (e) {
    e.preventDefault();
    const text = $("dr-input").value.trim();
    const dlg = $("dlg-reason");
    if (reasonFor === "pause") submitIn(dlg, "pause", { reason: text });
    else submitIn(dlg, "finish", text ? { outcome: reasonFor, note: text } : { outcome: reasonFor });
  });

  $("f-number").addEventListener("submit", function (e) {
    e.preventDefault();
    submitIn($("dlg-number"), "call", { number: $("dn-input").value.trim().toUpperCase() });
  });

  $("f-transfer").addEventListener("submit", function (e) {
    e.preventDefault();
    const kind = document.querySelector('#f-transfer input[name="kind"]:checked').value;
    const body = kind === "queue" ? { queue: $("dt-queue").value }
      : { window: parseInt($("dt-window").value, 10) };
    submitIn($("dlg-transfer"), "transfer", body);
  });
  $("dt-queue").addEventListener("focus", () => (document.querySelector('#f-transfer input[value="queue"]').checked = true));
  $("dt-window").addEventListener("focus", () => (document.querySelector('#f-transfer input[value="window"]').checked = true));

  $("f-callback").addEventListener("submit", function (e) {
    e.preventDefault();
    submitIn($("dlg-callback"), "callback", { number: $("db-select").value });
  });

  // keyboard alone: Enter on a list in a dialog confirms it (a <select> does not submit a form)
  document.querySelectorAll("dialog select").forEach((sel) =>
    sel.addEventListener("keydown", function (e) {
      if (e.key === "Enter") {
        e.preventDefault();
        sel.form.requestSubmit();
      }
    }));
  document.querySelectorAll("dialog [data-close]").forEach((b) =>
    b.addEventListener("click", () => b.closest("dialog").close()));

  function run(name, outcome) {
    if (busy) {
      afterBusy = [name, outcome];
      return;
    }
    if (detail && !possible(name)) { // a shortcut for a step the state does not allow
      Hall.say(msg, "现在不能" + OP_NAMES[name] + "：" + HELP[padState(detail)], "error");
      return;
    }
    switch (name) {
      case "callnumber":
        openDialog("dlg-number", () => ($("dn-input").value = ""));
        $("dn-input").focus();
        return;
      case "transfer":
        openDialog("dlg-transfer");
        return;
      case "pause":
        askReason("pause");
        return;
      case "callback": {
        const held = (detail && detail.held) || [];
        if (!held.length) {
          Hall.say(msg, "本窗口没有挂起的号", "error");
          return;
        }
        openDialog("dlg-callback", () => $("db-select").replaceChildren(
          ...held.map((n) => Hall.h("option", { value: n }, n))));
        $("db-select").focus();
        return;
      }
      case "finish":
        if (outcome === "rejected" || outcome === "failed") askReason(outcome);
        else op("finish", { outcome });
        return;
      case "call":
        op("call", {});
        return;
      default:
        op(name);
    }
  }

  document.querySelectorAll("#pad button[data-op]").forEach(function (b) {
    b.addEventListener("click", () => run(b.dataset.op, b.dataset.outcome));
  });

  document.addEventListener("keydown", function (e) {
    if (!win || $("pad").hidden || e.ctrlKey || e.altKey || e.metaKey || e.repeat) return;
    if (document.querySelector("dialog[open]")) return;
    const tag = (e.target && e.target.tagName) || "";
    if (tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT") return;
    const key = KEYS[e.code];
    if (!key) return;
    e.preventDefault();
    run(key.name, key.outcome);
  });

  // ------------------------------------------------------------------ start
  (async function init() {
    try {
      const me = await Hall.api("GET", "/api/me");
      if (me.must_change_password && me.window) showChange(me);
      else if (me.window) showPad(me);
      else showLogin("当前账户未绑定窗口，请选择窗口重新登录");
    } catch (e) {
      showLogin(e.status === 401 && e.code !== "session_ended" ? "" : e.message);
    }
  })();
})();
