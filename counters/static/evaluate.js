/* evaluate.js — the rating tablet at a window (/evaluate/{n}).
 *
 * It holds no state the server does not: on every (re)connection, and whenever /ws says a
 * ticket was finished or rated at this window, it asks GET /api/evaluate/{n} which ticket is
 * pending, and shows the form for that number (or 欢迎评价 when there is none). The rating
 * names the number it showed (POST /api/evaluate/{n} {"number"}), so a late tap never rates
 * the next citizen's ticket.
 *
 * Only an enrolled tablet may rate (issue 9.1): the page first asks GET /api/devices/me; a
 * browser that is not this window's tablet shows the enrolment form (登记码, printed by
 * `python -m hall device add tablet-N --window N`), which keeps the code in an HttpOnly cookie
 * (POST /api/devices/enrol). A rating refused with 401/403 (the device was withdrawn) brings
 * the form back.
 *
 * Voluntary: 跳过, or nobody touching the form for idle_seconds, says thanks and goes back to
 * idle; that ticket is then not offered again on this tablet (sessionStorage, so a reload does
 * not bring it back). Nothing is stored for a skip. After a rating the tablet says thanks and
 * never shows which level was chosen.
 */
(function () {
  "use strict";
  const $ = (id) => document.getElementById(id);
  const cfg = Hall.config;
  const win = cfg.window;
  const SKIPPED = "hall.evaluate." + win + ".skipped";
  let mode = "idle"; // idle | rate | thanks
  let shown = null; // key of the ticket on screen
  let idleTimer = null;
  let thanksTimer = null;
  let checkTimer = null;
  let asked = 0;
  let posting = false; // a rating on its way: its own ticket.rated must not reset the form

  const keyOf = (p) => p.number + "|" + p.finished_at;

  function show(which) {
    mode = which;
    $("enrol").hidden = which !== "enrol";
    $("idle").hidden = which !== "idle";
    $("rate").hidden = which !== "rate";
    $("thanks").hidden = which !== "thanks";
  }

  function idle() {
    clearTimeout(idleTimer);
    clearTimeout(thanksTimer);
    shown = null;
    $("e-form").replaceChildren();
    show("idle");
  }

  function thanks(text) {
    clearTimeout(idleTimer);
    shown = null;
    $("e-form").replaceChildren();
    $("thanks-text").textContent = text;
    show("thanks");
    thanksTimer = setTimeout(function () {
      idle();
      check();
    }, (cfg.thanks_seconds || 5) * 1000);
  }

  function skip(key) {
    try { sessionStorage.setItem(SKIPPED, key); } catch (e) { /* private mode: fine */ }
    thanks("感谢您的光临！");
  }

  function armIdle(key) {
    clearTimeout(idleTimer);
    idleTimer = setTimeout(() => skip(key), (cfg.idle_seconds || 60) * 1000);
  }

  function rate(info) {
    const p = info.pending;
    const key = keyOf(p);
    shown = key;
    $("e-number").textContent = p.number;
    $("e-service").textContent = p.service_name || "";
    const form = Hall.ratingForm({
      form: info,
      submit: async function (body) {
        posting = true;
        try {
          await Hall.api("POST", "/api/evaluate/" + win, Object.assign({ number: p.number }, body));
        } catch (e) {
          if (e.status === 401 || e.status === 403) { // not (or no longer) this window's tablet
            enrol(e.message);
            throw e;
          }
          // rated elsewhere, or no longer pending: say so, then back to idle
          if (e.status === 409) {
            clearTimeout(idleTimer);
            idleTimer = setTimeout(() => { idle(); check(); }, (cfg.thanks_seconds || 5) * 1000);
          }
          throw e;
        } finally {
          posting = false;
        }
        thanks("感谢您的评价！");
      },
      onSkip: () => skip(key),
      onActivity: () => armIdle(key),
    });
    $("e-form").replaceChildren(form.el);
    show("rate");
    armIdle(key);
  }

  async function check() {
    checkTimer = null;
    if (mode === "thanks" || posting) return; // asked again when the thanks are over
    const mine = ++asked;
    let info;
    try {
      info = await Hall.api("GET", "/api/evaluate/" + win);
    } catch (e) {
      return; // the connection banner says it; the next (re)connection asks again
    }
    if (mine !== asked || mode === "thanks" || mode === "enrol" || posting) return;
    const p = info.pending;
    let skipped = null;
    try { skipped = sessionStorage.getItem(SKIPPED); } catch (e) { /* fine */ }
    if (!p || keyOf(p) === skipped) {
      if (mode === "rate") idle(); // rated by another channel, or too old
      return;
    }
    if (mode === "rate" && shown === keyOf(p)) return; // already on screen: keep what is typed
    rate(info);
  }

  function soon() {
    if (!checkTimer) checkTimer = setTimeout(check, 100);
  }

  function enrol(message) {
    clearTimeout(idleTimer);
    clearTimeout(thanksTimer);
    shown = null;
    $("e-form").replaceChildren();
    Hall.say($("enrol-msg"), message || "", "error");
    show("enrol");
  }

  let living = false;
  function start() {
    idle();
    if (living) { soon(); return; }
    living = true;
    Hall.live({
      onOpen: soon,
      onEvent: function (ev) {
        if ((ev.type === "ticket.finished" || ev.type === "ticket.rated") &&
            Hall.windowNumberOf(ev) === win) soon();
      },
    });
  }

  function mineDevice(d) {
    return d && d.kind === "tablet" && d.window === win;
  }

  $("enrol-form").addEventListener("submit", async function (ev) {
    ev.preventDefault();
    const button = $("enrol-submit");
    button.disabled = true;
    try {
      const d = await Hall.api("POST", "/api/devices/enrol", { code: $("enrol-code").value });
      if (!mineDevice(d)) {
        Hall.say($("enrol-msg"), "该登记码属于" + d.label + "，不是" + cfg.name + "的评价器", "error");
        return;
      }
      $("enrol-code").value = "";
      Hall.say($("enrol-msg"), "", "ok");
      start();
    } catch (e) {
      Hall.say($("enrol-msg"), e.message, "error");
    } finally {
      button.disabled = false;
    }
  });

  (async function () {
    let d = null;
    try {
      d = await Hall.api("GET", "/api/devices/me");
    } catch (e) {
      if (e.status === 0) { // server unreachable: try again shortly
        setTimeout(() => location.reload(), 5000);
        return;
      }
    }
    if (mineDevice(d)) start();
    else enrol(d ? "本设备登记为" + d.label + "，不是" + cfg.name + "的评价器" : "");
  })();
})();
