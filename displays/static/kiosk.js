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

  async function take(serviceId, person) {
    if (intent) return; // the second tap of a double tap: same intent, already on its way
    intent = { key: newKey(), service: serviceId };
    const where = person ? idMsg : msg;
    Hall.say(where, "");
    $("busy").hidden = false;
    const body = Object.assign({ service: serviceId, channel: "kiosk" }, choice(), person || {});
    if (cfg.kiosk || reader.kiosk) body.kiosk = cfg.kiosk || reader.kiosk;
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
      Hall.say(where, e.message, "error");
      if (person) markField(e.field);
      where.scrollIntoView({ block: "center" });
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
    if (t.real_name) {
      flags.push("实名：" + t.real_name.name +
        (t.real_name.proxy_name ? "（代取人：" + t.real_name.proxy_name + "）" : ""));
    }
    $("t-flags").textContent = flags.join(" · ");
    $("t-flags").hidden = !flags.length;
    const list = $("t-materials");
    list.replaceChildren(...(t.materials || []).map((m) => Hall.h("li", null, m)));
    $("t-nomat").hidden = !!(t.materials && t.materials.length);
    $("t-qr").src = Hall.url("/t/" + encodeURIComponent(t.token) + "/qr.svg");
    start.hidden = true;
    idStep.hidden = true;
    clearPeople();
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
    idStep.hidden = true;
    start.hidden = false;
    resetOptions();
    clearPeople();
    Hall.say(msg, "");
    window.scrollTo(0, 0);
    updateCue();
  }

  /* someone chose 绿色通道 or saw a refusal and walked away: the next person starts clean */
  function armIdle() {
    clearTimeout(idleTimer);
    idleTimer = setTimeout(function () {
      if (!intent && ticketView.hidden) {
        // the ID step too: a card read or a typed number must not wait for the next person
        if (!idStep.hidden) backToStart();
        resetOptions();
        clearPeople();
        Hall.say(msg, "");
      }
    }, (idStep.hidden ? 1 : 3) * (cfg.reset_seconds || 20) * 1000);
  }

  document.querySelectorAll("button.svc").forEach(function (b) {
    b.addEventListener("click", function () {
      if (b.dataset.realName) openIdStep(b.dataset.service, b.dataset.name);
      else take(b.dataset.service);
    });
  });
  start.addEventListener("change", armIdle);
  $("t-done").addEventListener("click", function () {
    if (Date.now() - shownAt < 800) return; // the tail of the tap that issued the ticket
    backToStart();
  });

  /* ------------------------------------------------------------ 实名取号 (ID step)
   * A real-name service opens the ID step: the holder's card on the reader fills it (the
   * page gets a masked name and number and a token: the ID number never reaches this page),
   * or the holder types name and number. 代他人取号 adds the taker (the person at the kiosk),
   * read or typed the same way. A read arriving before a service is chosen is kept for the
   * holder. The reads come over /ws/kiosk, open only to an enrolled kiosk. */
  const idStep = $("idstep");
  const idMsg = $("id-msg");
  const proxyBox = $("id-proxy");
  const reader = { kiosk: null, health: null, ws: null };
  const reads = { holder: null, proxy: null };
  let idService = null;

  function idPrompt(who) {
    const label = who === "holder" ? "办事人" : "代取人";
    if (reader.health === "ok") return "请将" + label + "的身份证放在读卡区，或手动输入姓名和身份证号码";
    if (reader.health) return "读卡器暂时不能使用，请手动输入" + label + "的姓名和身份证号码";
    return "请输入" + label + "的姓名和身份证号码";
  }

  function paintPeople() {
    ["holder", "proxy"].forEach(function (who) {
      const r = reads[who];
      $(who + "-prompt").textContent = r ? "" : idPrompt(who);
      $(who + "-prompt").hidden = !!r;
      $(who + "-read").hidden = !r;
      $(who + "-typed").hidden = !!r;
      $(who + "-read-name").textContent = r ? r.name : "";
      $(who + "-read-id").textContent = r ? r.id_number : "";
    });
    $("proxy-part").hidden = !proxyBox.checked;
    $("id-elderly").hidden = !(reads.holder && reads.holder.elderly);
  }

  function clearPeople() {
    reads.holder = reads.proxy = null;
    idService = null;
    proxyBox.checked = false;
    ["holder-name", "holder-id", "proxy-name", "proxy-id"].forEach(function (id) {
      $(id).value = "";
      $(id).removeAttribute("aria-invalid");
    });
    Hall.say(idMsg, "");
    paintPeople();
  }

  function openIdStep(serviceId, name) {
    idService = serviceId;
    $("id-service").textContent = name || "";
    Hall.say(msg, "");
    Hall.say(idMsg, "");
    start.hidden = true;
    idStep.hidden = false;
    $("more").hidden = true;
    paintPeople();
    window.scrollTo(0, 0);
    if (!reads.holder) $("holder-name").focus({ preventScroll: true });
    armIdle();
  }

  const FIELDS = { name: "holder-name", id_number: "holder-id", id_read: "holder-id",
    proxy_name: "proxy-name", proxy_id_number: "proxy-id", proxy_id_read: "proxy-id" };
  function markField(field) {
    Object.values(FIELDS).forEach((id) => $(id).removeAttribute("aria-invalid"));
    const id = FIELDS[field];
    if (id && !$(id).closest("[hidden]")) {
      $(id).setAttribute("aria-invalid", "true");
      $(id).focus({ preventScroll: true });
    }
  }

  /* The page's own checks, in Chinese (the server checks again, with the check digit). */
  function personBody() {
    const body = {};
    const parts = proxyBox.checked ? ["holder", "proxy"] : ["holder"];
    for (const who of parts) {
      const pre = who === "holder" ? "" : "proxy_";
      const label = who === "holder" ? "办事人" : "代取人";
      if (reads[who]) {
        body[pre + "id_read"] = reads[who].read;
        continue;
      }
      const name = $(who + "-name").value.trim();
      const number = $(who + "-id").value.replace(/\s/g, "").toUpperCase();
      if (!name) return { problem: "请填写" + label + "姓名", field: pre + "name" };
      if (!/^\d{17}[\dX]$/.test(number)) {
        return { problem: label + "身份证号码应为 18 位（最后一位可以是 X）", field: pre + "id_number" };
      }
      body[pre + "name"] = name;
      body[pre + "id_number"] = number;
    }
    return { body };
  }

  $("id-form").addEventListener("submit", function (e) {
    e.preventDefault();
    const got = personBody();
    if (got.problem) {
      Hall.say(idMsg, got.problem, "error");
      markField(got.field);
      armIdle();
      return;
    }
    take(idService, got.body);
  });
  $("id-back").addEventListener("click", backToStart);
  proxyBox.addEventListener("change", function () {
    if (!proxyBox.checked) reads.proxy = null;
    paintPeople();
  });
  ["holder", "proxy"].forEach(function (who) {
    $(who + "-clear").addEventListener("click", function () {
      reads[who] = null;
      paintPeople();
      $(who + "-name").focus();
    });
  });
  idStep.addEventListener("input", armIdle);

  function onRead(m) {
    if (!ticketView.hidden) return; // the last person's ticket is still on screen
    // 预约签到 open: the card checks its holder in (kiosk_checkin.js)
    if (m.type === "idcard" && Hall.kiosk.checkInWithCard && Hall.kiosk.checkInWithCard(m)) return;
    if (m.type === "idcard_error") {
      Hall.say(idStep.hidden ? msg : idMsg, m.message, "error");
      return;
    }
    const read = { read: m.read, name: m.name, id_number: m.id_number, elderly: !!m.elderly };
    const who = !idStep.hidden && proxyBox.checked && reads.holder && !reads.proxy ? "proxy" : "holder";
    reads[who] = read;
    if (idStep.hidden) {
      Hall.say(msg, "已读取身份证：" + read.name + "。请选择要办理的事项", "info");
    } else {
      Hall.say(idMsg, "");
    }
    paintPeople();
    armIdle();
  }

  let readerDelay = 1000;
  function connectReader() {
    const ws = new WebSocket(Hall.wsUrl("/ws/kiosk"));
    reader.ws = ws;
    ws.onopen = function () { readerDelay = 1000; };
    ws.onmessage = function (ev) {
      let m;
      try { m = JSON.parse(ev.data); } catch (e) { return; }
      if (m.type === "hello") reader.kiosk = m.kiosk;
      if ("reader" in m && m.reader !== reader.health) {
        reader.health = m.reader;
        paintPeople();
      }
      if (m.type === "idcard" || m.type === "idcard_error") onRead(m);
    };
    ws.onclose = function () {
      reader.ws = null;
      setTimeout(connectReader, readerDelay);
      readerDelay = Math.min(readerDelay * 2, 10000);
    };
  }
  /* only an enrolled kiosk has a reader to hear from: ask once who this browser is */
  Hall.api("GET", "/api/devices/me").then(function (d) {
    if (d && d.kind === "kiosk") connectReader();
  }, function () { /* not enrolled: typed numbers only */ });
  paintPeople();

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
