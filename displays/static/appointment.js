/* appointment.js — /a/{token}: a booking or a phone ticket as its holder sees it (the name
 * masked, the ID and phone never), with its check-in code and QR for the kiosk, 改约 and
 * 取消 for a booking, 我会晚到 and 取消 for a phone ticket, and the ticket once there is one.
 * Kept current from /ws: any event of its queue (or its number) refreshes it. */
(function () {
  "use strict";
  const $ = (id) => document.getElementById(id);
  const h = Hall.h;
  const token = Hall.config.token;
  const url = Hall.url("/api/appointments/" + encodeURIComponent(token));
  const msg = $("a-msg");
  let a = null;
  let timer = null;
  let busy = false;

  function fact(name, value) {
    return [h("dt", null, name), h("dd", null, value)];
  }

  function draw() {
    const phone = a.kind === "phone";
    $("a-lead").textContent = phone ? "手机取号" : "我的预约";
    $("a-title").textContent = phone ? "取号信息" : "预约信息";
    $("a-status").textContent = a.status_name;
    $("a-status").dataset.status = a.status;
    const facts = [fact("办理事项", a.service_name)];
    if (!phone) {
      facts.push(fact("预约时段", a.day_text + " " + a.weekday + " " + Hall.hhmm(a.start) + "-" +
        Hall.hhmm(a.end)));
      facts.push(fact("签到时间", Hall.hhmm(a.checkin_from) + " 至 " + Hall.hhmm(a.checkin_until)));
    } else {
      facts.push(fact("取号日期", a.day_text + " " + a.weekday));
    }
    if (a.name) facts.push(fact("办事人", a.name));
    $("a-facts").replaceChildren(...facts.flat());

    const t = a.ticket;
    $("a-ticket").hidden = !t;
    if (t) {
      $("a-number").textContent = t.number;
      const waiting = t.state === "waiting";
      $("a-wait").hidden = !waiting;
      $("a-position").textContent = t.position === null ? "—" : t.position;
      $("a-eta").textContent = Hall.minutes(t.eta_minutes);
      $("a-window").hidden = !t.window;
      $("a-window").textContent = t.window ? t.state_name + " · 请到 " + t.window.name : "";
      if (!waiting && !t.window) {
        $("a-window").hidden = false;
        $("a-window").textContent = t.state_name;
      }
      $("a-ticket-link").href = Hall.url("/t/" + encodeURIComponent(t.token));
    }

    const mayCheckIn = a.status === "booked";
    $("a-checkin").hidden = !mayCheckIn;
    if (mayCheckIn) {
      $("a-code").textContent = a.code;
      if (!$("a-qr").getAttribute("src")) $("a-qr").src = Hall.url("/a/" + encodeURIComponent(token) + "/qr.svg");
      $("a-how").textContent = phone
        ? "请在叫到您之前到大厅，在取号机点“预约签到”，输入签到码或扫描二维码；签到后才会叫号。"
        : "请于 " + a.day_text + " " + Hall.hhmm(a.checkin_from) + " 至 " + Hall.hhmm(a.checkin_until) +
          " 到大厅，在取号机点“预约签到”，输入签到码或扫描二维码。" + Hall.hhmm(a.priority_until) +
          " 前签到可优先叫号，之后按现场取号排队。";
      $("a-deadline").hidden = !(phone && a.checkin_deadline);
      if (phone && a.checkin_deadline) {
        $("a-deadline").textContent = "已轮到您的号：请于 " + Hall.hhmm(a.checkin_deadline) +
          " 前到取号机签到，否则按过号处理。";
      }
    }

    $("a-late").hidden = !(phone && (a.can_late || a.late_used) && t && t.state === "waiting");
    $("a-late-btn").disabled = !a.can_late;
    $("a-late-note").textContent = a.late_used
      ? "已使用“我会晚到”，每个号只能使用一次。"
      : "如果赶不及，可以把号向后移 " + a.late_places + " 位（只能使用一次）。";

    $("a-actions").hidden = !(a.can_cancel || a.can_change);
    $("a-change-open").hidden = !a.can_change;
    $("a-cancel").hidden = !a.can_cancel;
    $("a-cancel").textContent = phone ? "取消取号" : "取消预约";
    if (!a.can_change) $("a-change").hidden = true;
    $("a-view").hidden = false;
  }

  async function refresh() {
    timer = null;
    try {
      a = await Hall.api("GET", url);
      draw();
    } catch (e) {
      Hall.say(msg, e.message, "error");
    }
  }

  function soon() {
    if (!timer) timer = setTimeout(refresh, 200);
  }

  async function act(method, path, body, done) {
    if (busy) return;
    busy = true;
    try {
      const answer = await Hall.api(method, path, body);
      a = Object.assign({}, a, answer);
      draw();
      Hall.say(msg, done, "ok");
    } catch (e) {
      Hall.say(msg, e.message, "error");
    } finally {
      busy = false;
      msg.scrollIntoView({ block: "center" });
    }
  }

  $("a-late-btn").addEventListener("click", function () {
    act("POST", url + "/late", undefined, "已向后移，请尽快到大厅签到。").then(refresh);
  });

  const dialog = $("a-dialog");
  $("a-cancel").addEventListener("click", function () {
    $("a-dialog-title").textContent = a.kind === "phone" ? "确定要取消这个号吗？" : "确定要取消预约吗？";
    dialog.showModal();
  });
  $("a-dialog-no").addEventListener("click", () => dialog.close());
  $("a-dialog-yes").addEventListener("click", function () {
    dialog.close();
    act("DELETE", url, undefined, a.kind === "phone" ? "已取消取号。" : "已取消预约。");
  });

  // ---------------------------------------------------------------- 改约
  $("a-change-open").addEventListener("click", async function () {
    const open = $("a-change").hidden;
    $("a-change").hidden = !open;
    this.setAttribute("aria-expanded", String(open));
    if (!open) return;
    $("a-slots").replaceChildren();
    try {
      const days = (await Hall.api("GET", "/api/booking/days?service=" +
        encodeURIComponent(a.service))).days;
      $("a-days").replaceChildren(...days.map((d) => h("button", { type: "button",
        class: "b-item", disabled: !d.open || d.free <= 0, dataset: { date: d.date },
        onclick: () => pickDay(d) },
      h("span", { class: "b-item-name" }, d.date_text + " " + d.weekday),
      h("span", { class: "b-item-meta" }, d.open ? (d.free > 0 ? "可约 " + d.free + " 个" : "已约满") : "不可预约"))));
    } catch (e) {
      Hall.say(msg, e.message, "error");
    }
  });

  async function pickDay(d) {
    try {
      const answer = await Hall.api("GET", "/api/slots?service=" + encodeURIComponent(a.service) +
        "&date=" + d.date);
      const list = answer.slots.map((s) => h("button", { type: "button", class: "b-item",
        disabled: s.free <= 0 || s.start === a.start, dataset: { start: s.start },
        onclick: () => act("PATCH", url, { start: s.start }, "已改约到 " + d.date_text + " " +
          Hall.hhmm(s.start) + "-" + Hall.hhmm(s.end) + "，签到码不变。") },
      h("span", { class: "b-item-name num" }, Hall.hhmm(s.start) + "-" + Hall.hhmm(s.end)),
      h("span", { class: "b-item-meta" }, s.free > 0 ? "余 " + s.free + " 个" : "已约满")));
      if (!list.length) list.push(h("p", { class: "muted" }, answer.closed || "这一天已没有可预约的时段。"));
      $("a-slots").replaceChildren(h("h3", null, d.date_text + " 的时段"), ...list);
    } catch (e) {
      Hall.say(msg, e.message, "error");
    }
  }

  refresh();
  Hall.live({
    onOpen: soon,
    onEvent: function (ev) {
      if (!a || !a.ticket) return;
      const d = ev.data || {};
      if (d.number === a.ticket.number || ev.type === "hall.closed" ||
          (d.queues || []).some((q) => q.id === a.queue)) soon();
    },
  });
})();
