/* screen.js — the hall screen: latest call (flashing), recent calls, waiting per queue.
 *
 * Numbers and windows only (domain.md: no names on public screens). A screen configured to
 * speak plays each call's `audio` through voice.js (the chime is in that WAV; the server
 * decides what each call's URL holds, including for calls replayed after a reconnection).
 */
(function () {
  "use strict";
  const $ = (id) => document.getElementById(id);
  const LIMIT = Hall.config.recent || 8;
  let calls = [];
  let flashTimer = null;
  const queues = {};

  Hall.clock($("clock"), true);

  // ------------------------------------------------------------------ drawing
  function drawCalls(flash) {
    const body = $("calls");
    body.replaceChildren(...calls.map(function (c, i) {
      return Hall.h("tr", { class: i === 0 ? "newest" + (flash ? " flash" : "") : "" },
        Hall.h("td", { class: "num" }, c.number),
        Hall.h("td", null, c.window_name || c.window + "号窗口"),
        Hall.h("td", { class: "num" }, Hall.hhmm(c.time)));
    }));
    const latest = calls[0];
    const text = $("latest-text");
    if (latest) {
      text.replaceChildren(Hall.h("span", { class: "num" }, latest.number), " 号 到 ",
        latest.window_name || latest.window + "号窗口");
    } else {
      text.replaceChildren(Hall.h("span", { class: "empty" }, "等待叫号"));
    }
    if (flash) {
      const box = $("latest");
      box.classList.remove("flash");
      void box.offsetWidth; // restart the animation on every new call
      box.classList.add("flash");
      clearTimeout(flashTimer);
      flashTimer = setTimeout(function () {
        box.classList.remove("flash");
        const row = body.querySelector("tr.flash");
        if (row) row.classList.remove("flash");
      }, 9000);
    }
  }

  function drawQueues() {
    document.querySelectorAll("#waiting tr").forEach(function (tr) {
      const q = queues[tr.dataset.queue];
      if (!q) return;
      tr.querySelector(".n").textContent = q.waiting;
      tr.querySelector(".e").textContent = q.waiting ? Hall.minutes(q.eta_minutes) : "—";
      tr.classList.toggle("alarm", q.waiting >= q.waiting_alarm ||
        q.longest_wait_minutes >= q.wait_alarm_minutes);
    });
  }

  function mergeQueues(list) {
    (list || []).forEach((q) => (queues[q.id] = Object.assign(queues[q.id] || {}, q)));
    drawQueues();
  }

  // ------------------------------------------------------------------ windows
  // The list comes whole with the snapshot and with every staffing event (a 潮汐窗口 opened
  // or closed, queues moved: `windows`); other window events carry the one window changed.
  let windows = [];
  const STATE_WORDS = { closed: "未开放", idle: "空闲", called: "叫号中", serving: "办理中",
    paused: "暂停服务" };

  function drawWindows() {
    $("windows").replaceChildren(...windows.map(function (w) {
      const prefixes = (w.queues || []).map((q) => (queues[q] && queues[q].prefix) || "").join(" ");
      const state = w.closed_today ? "今日停止服务"
        : (w.current ? w.current + " " : "") + (STATE_WORDS[w.state] || "");
      return Hall.h("li", { class: w.closed_today ? "off" : "", dataset: { window: w.number } },
        Hall.h("span", { class: "wn" }, w.name),
        w.temporary ? Hall.h("span", { class: "tmp" }, "临时") : null,
        Hall.h("span", { class: "wq" }, prefixes),
        Hall.h("span", { class: "ws" }, state));
    }));
  }

  function mergeWindows(d) {
    if (Array.isArray(d.windows)) {
      windows = d.windows;
    } else if (d.window_state && typeof d.window_state.number === "number") {
      const i = windows.findIndex((w) => w.number === d.window_state.number);
      if (i < 0) return;
      windows[i] = Object.assign({}, windows[i], d.window_state);
    } else {
      return;
    }
    drawWindows();
  }

  window.hallScreen = Hall.live({
    onSnapshot: function (data) {
      calls = (data.recent_calls || []).slice(0, LIMIT);
      if (data.hall && data.hall.notice) $("notice").textContent = data.hall.notice;
      drawCalls(false);
      mergeQueues(data.queues);
      mergeWindows(data);
    },
    onEvent: function (ev) {
      const d = ev.data || {};
      mergeQueues(d.queues);
      mergeWindows(d);
      if (ev.type !== "ticket.called") return;
      const call = { number: d.number, window: typeof d.window === "number" ? d.window : Hall.windowNumberOf(ev),
        window_name: d.window_name, time: ev.time, audio: d.audio };
      calls = [call].concat(calls.filter((c) => c.number !== call.number)).slice(0, LIMIT);
      drawCalls(true);
      Hall.voice.say(call.audio); // silent unless this screen speaks (voice.js)
    },
  });
})();
