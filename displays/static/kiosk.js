/* kiosk.js — touch-first ticket issuing.
 *
 * One tap = one intent = one random Idempotency-Key. Taps while the request is in flight belong
 * to the same intent and are ignored; a network failure is retried with the SAME key, so the
 * server answers with the same ticket instead of issuing a second one.
 */
(function () {
  "use strict";
  const cfg = Hall.config;
  const $ = (id) => document.getElementById(id);
  const start = $("start");
  const ticketView = $("ticket");
  const msg = $("kiosk-msg");
  const PRIORITY_NAMES = { elderly: "老年人", disabled: "残疾人", pregnant: "孕妇", military: "军人依法优先" };
  let intent = null;
  let countdown = null;
  let idleTimer = null;
  let shownAt = 0;

  Hall.clock($("clock"), true);

  function newKey() {
    const bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes); // works on plain-http intranets, unlike randomUUID
    return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  }

  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

  function choice() {
    const p = document.querySelector('input[name="priority"]:checked');
    return { priority: (p && p.value) || null, needs_help: $("needs-help").checked };
  }

  function resetOptions() {
    document.querySelector('input[name="priority"][value=""]').checked = true;
    $("needs-help").checked = false;
  }

  async function take(serviceId) {
    if (intent) return; // the second tap of a double tap: same intent, already on its way
    intent = { key: newKey(), service: serviceId };
    Hall.say(msg, "");
    $("busy").hidden = false;
    const body = Object.assign({ service: serviceId, channel: "kiosk" }, choice());
    if (cfg.kiosk) body.kiosk = cfg.kiosk;
    try {
      for (let attempt = 0; ; attempt++) {
        try {
          const t = await Hall.api("POST", "/api/tickets", body, { "Idempotency-Key": intent.key });
          showTicket(t);
          return;
        } catch (e) {
          // no answer at all: the ticket may exist; ask again with the same key
          if (e.status === 0 && attempt < 4) {
            await sleep(700 * (attempt + 1));
            continue;
          }
          throw e;
        }
      }
    } catch (e) {
      Hall.say(msg, e.message, "error");
      msg.scrollIntoView({ block: "center" });
      armIdle();
    } finally {
      $("busy").hidden = true;
      intent = null;
    }
  }

  function showTicket(t) {
    $("t-number").textContent = t.number;
    $("t-queue").textContent = t.queue_name || "";
    $("t-service").textContent = t.service_name || "";
    $("t-position").textContent = t.position === null || t.position === undefined ? "—" : t.position;
    $("t-eta").textContent = Hall.minutes(t.eta_minutes);
    $("t-issued").textContent = Hall.hhmm(t.issued_at);
    $("t-rule").textContent = "请留意叫号屏幕和语音。" + (cfg.skip_rule || "");
    const flags = [];
    if (t.priority) flags.push("绿色通道：" + (t.priority_name || PRIORITY_NAMES[t.priority] || t.priority));
    if (t.needs_help) flags.push("已登记帮办，工作人员将协助您");
    if (t.appointment_note) flags.push(t.appointment_note); // 预约签到 (kiosk_checkin.js)
    $("t-flags").textContent = flags.join(" · ");
    $("t-flags").hidden = !flags.length;
    const list = $("t-materials");
    list.replaceChildren(...(t.materials || []).map((m) => Hall.h("li", null, m)));
    $("t-nomat").hidden = !!(t.materials && t.materials.length);
    $("t-qr").src = "/t/" + encodeURIComponent(t.token) + "/qr.svg";
    start.hidden = true;
    ticketView.hidden = false;
    updateCue();
    shownAt = Date.now();
    window.scrollTo(0, 0);
    $("t-done").focus({ preventScroll: true });
    let left = cfg.reset_seconds || 20;
    $("t-count").textContent = left;
    clearInterval(countdown);
    countdown = setInterval(function () {
      left -= 1;
      $("t-count").textContent = Math.max(left, 0);
      if (left <= 0) backToStart();
    }, 1000);
  }

  /* More services below the fold (a 1280x800 kiosk cannot show all groups at touch size):
   * a cue at the bottom names the groups still hidden and scrolls on a tap; it goes away at
   * the end of the list. */
  function updateCue() {
    const below = start.hidden ? [] : Array.from(document.querySelectorAll(".group"))
      .filter((g) => g.getBoundingClientRect().bottom > window.innerHeight + 1);
    const atEnd = window.scrollY + window.innerHeight >= document.documentElement.scrollHeight - 2;
    $("more").hidden = !below.length || atEnd;
    const names = below.map((g) => g.querySelector(".qname").textContent);
    $("more-names").textContent = names.length
      ? "（" + names.slice(0, 4).join("、") + (names.length > 4 ? "等" : "") + "）" : "";
  }
  $("more").addEventListener("click", function () {
    window.scrollBy({ top: Math.round(window.innerHeight * 0.7), behavior: "smooth" });
  });
  window.addEventListener("scroll", updateCue, { passive: true });
  window.addEventListener("resize", updateCue);
  updateCue();

  function backToStart() {
    clearInterval(countdown);
    countdown = null;
    ticketView.hidden = true;
    start.hidden = false;
    resetOptions();
    Hall.say(msg, "");
    window.scrollTo(0, 0);
    updateCue();
  }

  /* someone chose 绿色通道 or saw a refusal and walked away: the next person starts clean */
  function armIdle() {
    clearTimeout(idleTimer);
    idleTimer = setTimeout(function () {
      if (!start.hidden && !intent) {
        resetOptions();
        Hall.say(msg, "");
      }
    }, (cfg.reset_seconds || 20) * 1000);
  }

  document.querySelectorAll("button.svc").forEach(function (b) {
    b.addEventListener("click", () => take(b.dataset.service));
  });
  start.addEventListener("change", armIdle);
  $("t-done").addEventListener("click", function () {
    if (Date.now() - shownAt < 800) return; // the tail of the tap that issued the ticket
    backToStart();
  });

  // kiosk_checkin.js shows the ticket of a check-in as a ticket taken here
  Hall.kiosk = { showTicket: showTicket, backToStart: backToStart };

  const queues = {};
  function paint() {
    document.querySelectorAll(".qstat").forEach(function (el) {
      const q = queues[el.dataset.queue];
      if (!q) return;
      el.querySelector(".w").textContent = q.waiting;
      el.querySelector(".e").textContent = q.waiting ? Hall.minutes(q.eta_minutes) : "无需等候";
    });
  }
  function merge(list) {
    (list || []).forEach((q) => (queues[q.id] = Object.assign(queues[q.id] || {}, q)));
    paint();
  }
  Hall.live({
    onSnapshot: (data) => merge(data.queues),
    onEvent: (ev) => merge(ev.data && ev.data.queues),
  });
})();
