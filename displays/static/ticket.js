/* ticket.js — the citizen's phone page for one ticket (/t/{token}).
 *
 * The ticket itself comes from GET /api/tickets/{token}; public events from /ws only tell the
 * page WHEN to ask again (an event about its number or its queue), so the token never travels
 * over the shared event stream and the page shows what the server holds.
 */
(function () {
  "use strict";
  const $ = (id) => document.getElementById(id);
  const token = Hall.config.token;
  let ticket = null;
  let timer = null;
  let lastState = null;

  const LINES = {
    waiting: "等待叫号中",
    called: "轮到您了！",
    serving: "正在办理",
    held: "已挂起，请在窗口附近等候工作人员回呼",
    done: "已办结，感谢您的耐心",
    no_show: "已过号",
    missed: "号票已过期（当日有效）",
    cancelled: "号票已取消",
  };

  function draw(t) {
    ticket = t;
    $("t-view").hidden = false;
    $("t-number").textContent = t.number;
    $("t-queue").textContent = t.queue_name || "";
    $("t-service").textContent = t.service_name || "";
    $("t-state").textContent = LINES[t.state] || t.state_name || t.state;
    $("t-facts").hidden = t.state !== "waiting";
    $("t-position").textContent = t.position === null || t.position === undefined ? "—" : t.position;
    $("t-eta").textContent = Hall.minutes(t.eta_minutes);
    const call = $("t-call");
    const wname = t.window ? t.window.name || t.window.number + "号窗口" : "";
    if (t.window && t.state === "called") {
      call.textContent = "请到 " + wname + " 办理";
    } else if (t.window && (t.state === "serving" || t.state === "held")) {
      call.textContent = "办理窗口：" + wname;
    } else {
      call.textContent = "";
    }
    call.hidden = !call.textContent;
    if (t.state === "no_show") $("t-state").textContent = "已过号。" + (Hall.config.skip_rule || "");
    $("t-materials").replaceChildren(...(t.materials || []).map((m) => Hall.h("li", null, m)));
    $("t-nomat").hidden = !!(t.materials && t.materials.length);
    $("t-issued").textContent = Hall.hhmm(t.issued_at);
    if (t.state === "called" && lastState !== "called" && lastState !== null && navigator.vibrate) {
      navigator.vibrate([300, 150, 300]);
    }
    lastState = t.state;
    document.title = t.number + " · " + (LINES[t.state] || t.state);
  }

  async function refresh() {
    timer = null;
    try {
      draw(await Hall.api("GET", "/api/tickets/" + encodeURIComponent(token)));
      Hall.say($("t-msg"), "");
    } catch (e) {
      Hall.say($("t-msg"), e.message, "error");
    }
  }

  function soon() {
    if (!timer) timer = setTimeout(refresh, 150);
  }

  refresh();
  Hall.live({
    onOpen: soon, // after a lost connection, catch up at once
    onEvent: function (ev) {
      if (!ticket) return soon();
      const d = ev.data || {};
      if (d.number === ticket.number || ev.type === "hall.closed" ||
          (d.queues || []).some((q) => q.id === ticket.queue)) soon();
    },
  });
})();
