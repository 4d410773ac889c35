/* manage.js — the manager's live view: queues against their alarm thresholds, windows with
 * clerk and current number, the latest events, device health. Queue figures come from /ws
 * (snapshot + the summaries every event carries), staffing from /api/manage/windows, history
 * from /api/manage/events. Waiting times grow without events, so the snapshot is re-read each
 * 30 s; device health (GET /api/manage/devices) has no events at all, so it is read each 15 s.
 * Session, navigation and the 差评 / 办不成事 alarm strip: manage_common.js. */
(function () {
  "use strict";
  const $ = (id) => document.getElementById(id);
  const queues = new Map();
  let windows = [];
  let events = [];
  let winTimer = null;
  let timers = null;
  const DEVICE_POLL_MS = 15000; // a printer runs out of paper without any event

  const TYPES = { "ticket.issued": "取号", "ticket.called": "叫号", "ticket.started": "开始办理",
    "ticket.finished": "办结", "ticket.skipped": "过号", "ticket.transferred": "转移",
    "ticket.held": "挂起", "window.paused": "暂停服务", "window.resumed": "恢复服务",
    "window.opened": "开窗", "window.closed": "关窗", "hall.closed": "闭厅",
    "rating.recorded": "收到评价", "alarm.bad_rating": "差评预警", "alarm.complaint": "办不成事反映",
    "rectification.updated": "差评整改", "complaint.updated": "办不成事处理",
    "window.added": "开设临时窗口", "window.changed": "调整窗口", "window.removed": "撤销临时窗口",
    "queue.changed": "调整队列",
    "alarm.raised": "告警", "alarm.cleared": "告警解除", "alarm.acked": "告警已确认",
    "booking.changed": "预约变动", "ticket.arrived": "到厅签到", "ticket.delayed": "我会晚到",
    "ticket.expired": "未签到过号", "ticket.cancelled": "取消取号" };
  const ALARM_EVENTS = /^alarm\.(raised|cleared|acked)$/;
  const KINDS = { led: "窗口屏", printer: "取号打印机", caller: "呼叫器", evaluator: "评价器",
    voice: "语音" };
  const STATES = { closed: "未开窗", idle: "空闲", called: "已叫号", serving: "办理中", paused: "暂停" };

  async function ready() {
    await Promise.all([loadWindows(), loadEvents(), loadHall(), loadDevices()]);
    if (!timers) {
      timers = [setInterval(loadHall, 30000), setInterval(drawWindows, 30000),
        setInterval(loadDevices, DEVICE_POLL_MS)];
    }
  }

  const fail = (e) => HallManage.fail(e);

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

  async function loadDevices() {
    try {
      drawDevices((await Hall.api("GET", "/api/manage/devices")).devices);
    } catch (e) { fail(e); }
  }

  /** ok / no answer / a warning / an error text (docs/devices.md) → a word and a colour. */
  function health(text) {
    if (text === "ok") return ["ok", "正常"];
    if (text === "no answer") return ["bad", "无应答"];
    if (text === "paper near end") return ["warn", "纸将用完"];
    if (text === "paper out") return ["bad", "缺纸"];
    if (text === "cover open") return ["bad", "纸仓盖未关"];
    if (/^unused/.test(text)) return ["warn", "未启用：" + text.replace(/^unused:\s*/, "")];
    return ["bad", "故障：" + text];
  }

  function drawDevices(list) {
    $("md").replaceChildren(...list.map(function (d) {
      const [cls, word] = health(d.health || "");
      const where = d.window ? (Hall.config.windows[String(d.window)] || d.window + "号窗口")
        : d.kiosk ? "取号机 " + d.kiosk : "大厅";
      return Hall.h("tr", { class: cls === "bad" ? "alarm" : "", dataset: { device: d.name } },
        Hall.h("td", null, d.name === d.kind ? KINDS[d.kind] || d.name : d.name),
        Hall.h("td", null, KINDS[d.kind] || d.kind),
        Hall.h("td", null, where),
        Hall.h("td", null, Hall.h("span", { class: "hl hl-" + cls }, word)));
    }));
    if (!list.length) {
      $("md").replaceChildren(Hall.h("tr", null, Hall.h("td", { colspan: 4, class: "muted" }, "未配置设备")));
    }
    $("md-time").textContent = "（" + Hall.hhmm(new Date().toISOString()) + " 更新）";
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
        Hall.h("td", null, w.clerk || "—", ...staffing(w)),
        Hall.h("td", { class: "num" }, w.current || "—"),
        Hall.h("td", null, m === null ? "—" : m + " 分钟"));
    }));
  }

  /** A manager frees a window in use (the clerk is told why) or assigns the clerk of the
   * 办不成事 window, who cannot log in there otherwise (PATCH /api/manage/windows/{n}). */
  function staffing(w) {
    const out = [];
    const change = async function (body) {
      try {
        await Hall.api("PATCH", "/api/manage/windows/" + w.number, body);
        loadWindows();
      } catch (e) { fail(e); }
    };
    if (w.clerk) {
      out.push(" ", Hall.h("button", { type: "button", class: "secondary small",
        "aria-label": w.name + " 强制下线",
        onclick: () => confirm("确定让 " + w.name + " 的 " + w.clerk + " 强制下线？") &&
          change({ force_logout: true }) }, "强制下线"));
    }
    if (w.kind === "complaint") {
      out.push(" ", Hall.h("button", { type: "button", class: "secondary small",
        "aria-label": w.name + " 指派工作人员",
        onclick: function () {
          const name = prompt("指派到" + w.name + "的工作人员（用户名）", w.assigned || "");
          if (name !== null) change({ assign: name.trim() || null });
        } }, w.assigned ? "指派：" + w.assigned : "指派"));
    }
    return out;
  }

  function drawEvents() {
    $("me").replaceChildren(...events.map(function (ev) {
      const d = ev.data || {};
      const bits = [Hall.h("span", { class: "num" }, Hall.hhmm(ev.time) + " "),
        Hall.h("b", null, TYPES[ev.type] || ev.type), " "];
      if (ALARM_EVENTS.test(ev.type)) {  // what the alarm says, and who acknowledged it
        bits.push(d.message, ev.type === "alarm.acked" ? "（" + d.acked_by + "）" : "");
        return Hall.h("li", null, bits);
      }
      if (d.number) bits.push(Hall.h("span", { class: "num" }, d.number), " ");
      if (d.window_name) bits.push("→ " + d.window_name + " ");
      if (d.outcome_name) bits.push("（" + d.outcome_name + "）");
      if (d.reason) bits.push("（" + d.reason + "）");
      if (d.level_name) bits.push("（" + d.level_name + "）");
      if (d.status_name && !d.number) bits.push("#" + (d.id || d.rectification || d.complaint) +
        "（" + d.status_name + "）");
      return Hall.h("li", null, bits);
    }));
  }

  HallManage.start({
    ready,
    onSnapshot: (d) => mergeQueues(d.queues),
    onEvent,
    onOpen: loadWindows,
  });
})();
