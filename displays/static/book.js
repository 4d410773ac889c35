/* book.js — /book on a phone: 预约办理 (service → day → slot → person → confirm → code + QR)
 * and 现在取号 (service → ID and phone → ticket + code + QR). One step shown at a time; the
 * server checks everything again (limits, capacity) and its Chinese refusal is shown as it is.
 */
(function () {
  "use strict";
  const $ = (id) => document.getElementById(id);
  const h = Hall.h;
  const msg = $("b-msg");
  const steps = ["s-service", "s-day", "s-slot", "s-person", "s-confirm", "s-done", "s-phone",
    "s-phone-done"];
  const state = { mode: "book", service: null, day: null, slot: null, person: null, busy: false };
  let info = null;

  function show(id) {
    steps.forEach((s) => ($(s).hidden = s !== id));
    Hall.say(msg, "");
    const head = $(id).querySelector("h2");
    window.scrollTo(0, 0);
    if (head) {
      head.tabIndex = -1;
      head.focus({ preventScroll: true });
    }
  }

  function fail(e) {
    Hall.say(msg, e.message, "error");
    msg.scrollIntoView({ block: "center" });
  }

  function slotText(slot) {
    return Hall.hhmm(slot.start) + "-" + Hall.hhmm(slot.end);
  }

  function serviceButton(s, onPick) {
    return h("button", { type: "button", class: "b-item", dataset: { service: s.id },
      onclick: () => onPick(s) },
      h("span", { class: "b-item-name" }, s.name),
      h("span", { class: "b-item-meta" }, s.queue_name));
  }

  function setMode(mode) {
    state.mode = mode;
    $("mode-book").setAttribute("aria-pressed", String(mode === "book"));
    $("mode-phone").setAttribute("aria-pressed", String(mode === "phone"));
    show(mode === "book" ? "s-service" : "s-phone");
  }

  async function load() {
    try {
      info = await Hall.api("GET", "/api/booking");
    } catch (e) {
      return fail(e);
    }
    $("b-services").replaceChildren(...info.services.map((s) => serviceButton(s, pickService)));
    if (!info.services.length) {
      $("b-services").append(h("p", { class: "muted" }, "暂无可预约的事项，请到大厅取号办理。"));
    }
    if (info.phone.enabled) {
      $("mode-phone").hidden = false;
      $("p-services").replaceChildren(...info.phone.services.map((s) => serviceButton(s, pickPhone)));
      if (!info.phone.open) {
        $("p-services").prepend(h("p", { class: "msg", dataset: { kind: "info" } },
          (info.phone.reason || "现在不能手机取号") + "。可以改为预约办理。"));
        $("p-services").querySelectorAll("button").forEach((b) => (b.disabled = true));
      }
    }
    if (location.hash === "#now" && info.phone.enabled) setMode("phone");
  }

  // ---------------------------------------------------------------- 预约办理

  async function pickService(s) {
    state.service = s;
    $("s-day-service").textContent = "办理事项：" + s.name;
    let days;
    try {
      days = (await Hall.api("GET", "/api/booking/days?service=" + encodeURIComponent(s.id))).days;
    } catch (e) {
      return fail(e);
    }
    $("b-days").replaceChildren(...days.map(function (d) {
      const label = d.open ? (d.free > 0 ? "可约 " + d.free + " 个" : "已约满") : "不可预约";
      return h("button", { type: "button", class: "b-item", disabled: !d.open || d.free <= 0,
        dataset: { date: d.date }, title: d.closed || null, onclick: () => pickDay(d) },
        h("span", { class: "b-item-name" }, d.date_text + " " + d.weekday),
        h("span", { class: "b-item-meta" }, label));
    }));
    show("s-day");
  }

  async function pickDay(d) {
    state.day = d;
    $("s-slot-day").textContent = state.service.name + " · " + d.date_text + " " + d.weekday;
    let answer;
    try {
      answer = await Hall.api("GET", "/api/slots?service=" + encodeURIComponent(state.service.id) +
        "&date=" + d.date);
    } catch (e) {
      return fail(e);
    }
    const list = answer.slots.map(function (slot) {
      return h("button", { type: "button", class: "b-item", disabled: slot.free <= 0,
        dataset: { start: slot.start }, onclick: () => pickSlot(slot) },
        h("span", { class: "b-item-name num" }, slotText(slot)),
        h("span", { class: "b-item-meta" }, slot.free > 0 ? "余 " + slot.free + " 个" : "已约满"));
    });
    if (!list.length) list.push(h("p", { class: "muted" }, answer.closed || "这一天已没有可预约的时段。"));
    $("b-slots").replaceChildren(...list);
    show("s-slot");
  }

  function pickSlot(slot) {
    state.slot = slot;
    $("f-name-row").hidden = false;
    $("f-name").required = true;
    $("s-person-no").textContent = "4";
    $("f-next").textContent = "下一步";
    $("s-person-back").dataset.to = "s-slot";
    $("s-person-chosen").textContent = state.service.name + " · " + state.day.date_text + " " +
      slotText(slot);
    show("s-person");
  }

  function personOf() {
    return { name: $("f-name").value.trim(), id_number: $("f-id").value.replace(/\s/g, ""),
      phone: $("f-phone").value.replace(/[\s-]/g, "") };
  }

  function masked(name) {
    if (!name) return "";
    if (name.length <= 2) return name[0] + "*";
    return name[0] + "*".repeat(name.length - 2) + name[name.length - 1];
  }

  $("b-form").addEventListener("submit", function (e) {
    e.preventDefault(); // hall.js has checked the fields (in Chinese) before this runs
    state.person = personOf();
    if (state.mode === "phone") return takePhone();
    const id = state.person.id_number;
    $("b-summary").replaceChildren(
      h("dt", null, "办理事项"), h("dd", null, state.service.name),
      h("dt", null, "预约时段"), h("dd", null, state.day.date_text + " " + state.day.weekday + " " +
        slotText(state.slot)),
      h("dt", null, "办事人"), h("dd", null, masked(state.person.name)),
      h("dt", null, "身份证号码"), h("dd", null, id.slice(0, 3) + "*".repeat(Math.max(0, id.length - 7)) + id.slice(-4)),
      h("dt", null, "手机号码"), h("dd", null, state.person.phone.slice(0, 3) + "****" + state.person.phone.slice(-4)));
    show("s-confirm");
  });

  $("b-confirm").addEventListener("click", async function () {
    if (state.busy) return;
    state.busy = true;
    this.disabled = true;
    try {
      const a = await Hall.api("POST", "/api/appointments", Object.assign(
        { service: state.service.id, start: state.slot.start }, state.person));
      done(a);
    } catch (e) {
      fail(e);
    } finally {
      state.busy = false;
      this.disabled = false;
    }
  });

  function done(a) {
    $("d-what").textContent = a.service_name + " · " + a.day_text + " " + a.weekday + " " +
      Hall.hhmm(a.start) + "-" + Hall.hhmm(a.end) + " · 办事人 " + (a.name || "");
    $("d-code").textContent = a.code;
    $("d-qr").src = Hall.url("/a/" + encodeURIComponent(a.token) + "/qr.svg");
    $("d-how").textContent = "请于 " + Hall.hhmm(a.checkin_from) + " 至 " + Hall.hhmm(a.checkin_until) +
      " 到大厅，在取号机点“预约签到”，输入签到码或扫描上方二维码取号。预约时段开始后 " +
      info.grace_minutes + " 分钟内签到可优先叫号，之后按现场取号排队。";
    $("d-link").href = Hall.url("/a/" + encodeURIComponent(a.token));
    show("s-done");
  }

  // ---------------------------------------------------------------- 现在取号

  function pickPhone(s) {
    state.service = s;
    $("f-name-row").hidden = true;
    $("f-name").required = false;
    $("s-person-no").textContent = "2";
    $("f-next").textContent = "取号";
    $("s-person-back").dataset.to = "s-phone";
    $("s-person-chosen").textContent = "现在取号 · " + s.name;
    show("s-person");
  }

  async function takePhone() {
    if (state.busy) return;
    state.busy = true;
    $("f-next").disabled = true;
    try {
      const t = await Hall.api("POST", "/api/phone-tickets", { service: state.service.id,
        id_number: state.person.id_number, phone: state.person.phone });
      $("p-number").textContent = t.number;
      $("p-what").textContent = t.queue_name + " · " + t.service_name;
      $("p-position").textContent = t.position === null ? "—" : t.position;
      $("p-eta").textContent = Hall.minutes(t.eta_minutes);
      $("p-code").textContent = t.code;
      $("p-qr").src = Hall.url("/a/" + encodeURIComponent(t.appointment_token) + "/qr.svg");
      $("p-how").textContent = "请在叫到您之前到大厅，在取号机点“预约签到”输入签到码或扫码签到；签到后才会叫号。" +
        "轮到您时若尚未签到，须在 " + t.checkin_minutes + " 分钟内签到，否则按过号处理。";
      $("p-link").href = Hall.url("/a/" + encodeURIComponent(t.appointment_token));
      show("s-phone-done");
    } catch (e) {
      fail(e);
    } finally {
      state.busy = false;
      $("f-next").disabled = false;
    }
  }

  document.querySelectorAll(".b-back").forEach(function (b) {
    b.addEventListener("click", () => show(b.dataset.to));
  });
  $("mode-book").addEventListener("click", () => setMode("book"));
  $("mode-phone").addEventListener("click", () => setMode("phone"));
  load();
})();
