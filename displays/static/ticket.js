/* ticket.js — the citizen's phone page for one ticket (/t/{token}).
 *
 * The ticket itself comes from GET /api/tickets/{token}; public events from /ws only tell the
 * page WHEN to ask again (an event about its number or its queue), so the token never travels
 * over the shared event stream and the page shows what the server holds.
 *
 * Once served (rating_open), the page offers the 好差评 form of rating.js (channel qr_page:
 * POST /api/tickets/{token}/rating); rated, it says 已评价，谢谢. At any time the citizen can
 * report a 办不成事 case for this ticket (POST /api/complaints with the token: service and
 * window come from the ticket) and gets its reference code.
 *
 * GET /api/tickets/{token}/follow-up tells the rest of the truth, read with the ticket: the
 * reason given for 不予受理, a 过号 requeued or voided, the 办不成事 case of this ticket
 * (reference and status: then no second form is offered) and the 差评整改 case, whose fix the
 * citizen may rate here (POST …/fix-rating). A rating given on the window tablet arrives as
 * the public `ticket.rated` (number and window, never the level): the page reads again and
 * says 已评价. Case steps are private events, so while a case is open the page also reads
 * again every minute.
 */
(function () {
  "use strict";
  const $ = (id) => document.getElementById(id);
  const token = Hall.config.token;
  // a YYYY-MM-DD deadline as people read it: 2026年12月3日
  let ticket = null;
  let timer = null;
  let lastState = null;
  let rateForm = null; // built once: a refresh must not wipe what the citizen is typing
  let justRated = false;
  let follow = null; // GET /api/tickets/{token}/follow-up
  let poll = null;

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
    // 限时办结: an accepted application's legal due date (YYYY-MM-DD, a hall date) as 年月日
    const due = /^(\d{4})-(\d{2})-(\d{2})$/.exec(t.due_date || "");
    $("t-due").textContent = due ? "已受理，法定办结时限：" + Number(due[1]) + "年" +
      Number(due[2]) + "月" + Number(due[3]) + "日前" : "";
    $("t-due").hidden = !due;
    const missed = follow && follow.missed;
    if (t.state === "no_show") {
      $("t-state").textContent = "您错过了叫号（过号），本号已作废。" + (Hall.config.skip_rule || "");
    } else if (missed && missed.requeued && t.state === "waiting") {
      $("t-state").textContent = "您错过了叫号（过号），已为您重新排队，请留意叫号";
    }
    const reason = $("t-reason");
    reason.textContent = follow && follow.reason ? "不予受理。理由：" + follow.reason : "";
    reason.hidden = !reason.textContent;
    $("t-materials").replaceChildren(...(t.materials || []).map((m) => Hall.h("li", null, m)));
    $("t-nomat").hidden = !!(t.materials && t.materials.length);
    $("t-issued").textContent = Hall.hhmm(t.issued_at);
    if (t.state === "called" && lastState !== "called" && lastState !== null && navigator.vibrate) {
      navigator.vibrate([300, 150, 300]);
    }
    lastState = t.state;
    document.title = t.number + " · " + (LINES[t.state] || t.state);
    drawRating(t);
    drawCases();
  }

  // ------------------------------------------------------------------ cases of this ticket
  function drawCases() {
    const cases = (follow && follow.complaints) || [];
    const c = cases[cases.length - 1];
    if (c) {
      $("t-bc-head").textContent = "已为您登记办不成事反映，受理编号";
      $("t-bc-ref").textContent = c.reference;
      $("t-bc-status").textContent = "当前状态：" + c.status_name;
      $("t-bc-due").textContent = c.due && !c.answer ? "处理期限：" + Hall.dayText(c.due) : "";
      $("t-bc-answer").textContent = c.answer ? "答复：" + c.answer : "";
      $("t-bc-answer").hidden = !c.answer;
      $("t-bc").hidden = true;
      $("t-bc-open").hidden = true; // the case is open: no second complaint for it
      $("t-bc-done").hidden = false;
    }
    const x = follow && follow.rectification;
    $("t-fix").hidden = !x;
    if (x) {
      $("t-fix-status").textContent = "您的评价已转入整改，当前状态：" + x.status_name;
      $("t-fix-feedback").textContent = x.feedback ? "整改情况：" + x.feedback : "";
      $("t-fix-feedback").hidden = !x.feedback;
      $("t-fix-review").hidden = !x.review_open;
      if (x.view_name && !x.review_open) {
        $("t-fix-status").textContent += "。您对整改的评价：" + x.view_name;
      }
    }
    const open = cases.some((k) => k.status !== "archived") || (x && x.status !== "closed");
    if (open && !poll) poll = setInterval(refresh, 60000);
    if (!open && poll) { clearInterval(poll); poll = null; }
  }

  $("t-fix-review").addEventListener("click", async function (e) {
    const view = e.target.dataset && e.target.dataset.view;
    if (!view) return;
    const buttons = this.querySelectorAll("button");
    buttons.forEach((b) => { b.disabled = true; });
    Hall.say($("t-fix-msg"), "");
    try {
      await Hall.api("POST", "/api/tickets/" + encodeURIComponent(token) + "/fix-rating", { view });
      await refresh();
    } catch (err) {
      Hall.say($("t-fix-msg"), err.message, "error");
    } finally {
      buttons.forEach((b) => { b.disabled = false; });
    }
  });

  // ------------------------------------------------------------------ 好差评
  function drawRating(t) {
    const rated = t.rated || justRated;
    $("t-rated").hidden = !rated;
    $("t-rate").hidden = rated || !t.rating_open;
    $("t-rate-closed").hidden = rated || t.rating_open || t.state !== "done";
    if (!rated && t.rating_open && !rateForm) buildRating();
  }

  async function buildRating() {
    rateForm = "loading";
    let form;
    try {
      form = await Hall.api("GET", "/api/ratings/form");
    } catch (e) {
      rateForm = null;
      Hall.say($("t-msg"), e.message, "error");
      return;
    }
    if (Hall.config.invited) $("t-rate-lead").textContent = "您收到了评价邀请。评价自愿，每次办事评价一次。";
    rateForm = Hall.ratingForm({
      form,
      contact: true,
      submit: async function (body) {
        if (Hall.config.invited) body.invited = true;
        const r = await Hall.api("POST", "/api/tickets/" + encodeURIComponent(token) + "/rating", body);
        justRated = true;
        $("t-rated-more").textContent = r.follow_up && body.contact
          ? "工作人员将于 " + Hall.dayText(r.follow_up.callback_due) + "前与您联系回访。" : "";
        $("t-rate-form").replaceChildren();
        if (ticket) drawRating(ticket);
        $("t-rated").focus();
      },
    });
    $("t-rate-form").replaceChildren(rateForm.el);
  }

  // ------------------------------------------------------------------ 办不成事
  $("t-bc-open").addEventListener("click", function () {
    const form = $("t-bc");
    form.hidden = !form.hidden;
    this.setAttribute("aria-expanded", String(!form.hidden));
    if (!form.hidden) $("t-bc-desc").focus();
  });
  $("t-bc").addEventListener("submit", async function (e) {
    e.preventDefault();
    const body = { description: $("t-bc-desc").value.trim(), ticket: token };
    const contact = $("t-bc-contact").value.trim();
    if (contact) body.contact = contact;
    $("t-bc-submit").disabled = true;
    Hall.say($("t-bc-msg"), "");
    try {
      const r = await Hall.api("POST", "/api/complaints", body);
      $("t-bc-ref").textContent = r.reference;
      $("t-bc-status").textContent = "当前状态：" + r.status_name;
      $("t-bc-due").textContent = "我们将在 " + Hall.dayText(r.due) + "前研判处理" +
        (contact ? "，并与您联系。" : "。");
      $("t-bc").hidden = true;
      $("t-bc-open").hidden = true;
      $("t-bc-done").hidden = false;
      $("t-bc-done").focus();
    } catch (err) {
      Hall.say($("t-bc-msg"), err.message, "error");
    } finally {
      $("t-bc-submit").disabled = false;
    }
  });

  async function refresh() {
    timer = null;
    try {
      const base = Hall.url("/api/tickets/" + encodeURIComponent(token));
      const [t, f] = await Promise.all([Hall.api("GET", base), Hall.api("GET", base + "/follow-up")]);
      follow = f;
      draw(t);
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
