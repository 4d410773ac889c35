/* kiosk_checkin.js — 预约签到 on the kiosk: a booking's or a phone ticket's 8-character code on
 * the keypad, or its QR read by the kiosk's scanner. A scanner is a keyboard to the browser: it
 * types the QR's text (the URL of /a/{token}) and Enter, on the start screen or in the code
 * field alike; the token is cut from the URL here. The ticket is then shown (and printed by
 * the server, for a kiosk with a printer) as one taken at this kiosk.
 */
(function () {
  "use strict";
  const $ = (id) => document.getElementById(id);
  const cfg = Hall.config;
  const panel = $("checkin");
  const start = $("start");
  const input = $("ci-code");
  const msg = $("ci-msg");
  let busy = false;
  let idle = null;

  function arm() {
    clearTimeout(idle);
    idle = setTimeout(close, Math.max(60, (cfg.reset_seconds || 20) * 3) * 1000);
  }

  function open(text) {
    start.hidden = true;
    $("ticket").hidden = true;
    panel.hidden = false;
    Hall.say(msg, "");
    input.value = text || "";
    window.scrollTo(0, 0);
    input.focus();
    arm();
  }

  function close() {
    clearTimeout(idle);
    if (panel.hidden) return;
    panel.hidden = true;
    input.value = "";
    Hall.say(msg, "");
    start.hidden = false;
  }

  /** What was typed or scanned → a code (8 characters) or a token, or null. */
  function keyOf(text) {
    const t = String(text || "").trim();
    const url = /\/a\/([A-Za-z0-9_-]{8,64})/.exec(t);
    if (url) return url[1];
    const code = t.replace(/[\s-]/g, "").toUpperCase();
    if (/^[A-Z0-9]{8}$/.test(code)) return code;
    if (/^[A-Za-z0-9_-]{16,64}$/.test(t)) return t;
    return null;
  }

  async function submit() {
    if (busy) return;
    const key = keyOf(input.value);
    if (!key) {
      Hall.say(msg, "请输入 8 位签到码，或扫描手机上的签到二维码", "error");
      input.focus();
      arm();
      return;
    }
    const body = {};
    if (cfg.kiosk) body.kiosk = cfg.kiosk;
    await send(Hall.url("/api/appointments/" + encodeURIComponent(key) + "/check-in"), body,
      () => input.select());
  }

  async function send(path, body, onRefused) {
    busy = true;
    $("busy").hidden = false;
    try {
      const t = await Hall.api("POST", path, body);
      clearTimeout(idle);
      panel.hidden = true;
      input.value = "";
      Hall.kiosk.showTicket(t);
    } catch (e) {
      Hall.say(msg, e.message, "error");
      onRefused();
      arm();
    } finally {
      busy = false;
      $("busy").hidden = true;
    }
  }

  /** A card read while 预约签到 is open checks its holder in: kiosk.js hands the read here
   * (a token; the number never reaches the page). False when the panel is closed, so the
   * read goes to the ticket form as before. */
  Hall.kiosk.checkInWithCard = function (read) {
    if (panel.hidden || busy) return false;
    send(Hall.url("/api/appointments/id-check-in"), { id_read: read.read }, function () {});
    return true;
  };

  $("ci-open").addEventListener("click", () => open(""));
  $("ci-close").addEventListener("click", close);
  $("ci-form").addEventListener("submit", function (e) {
    e.preventDefault();
    submit();
  });
  document.querySelectorAll(".ci-key").forEach(function (b) {
    b.addEventListener("click", function () {
      const k = b.dataset.key;
      if (k === "back") input.value = input.value.slice(0, -1);
      else if (k === "clear") input.value = "";
      else if (input.value.replace(/[\s-]/g, "").length < 8) input.value += k;
      input.focus();
      arm();
    });
  });
  input.addEventListener("input", arm);

  /* The scanner anywhere on the kiosk: characters arriving without a field to type in are
   * gathered (into the code field when it is open); Enter checks in with them. A pause of
   * over a second starts afresh (a scanner types a whole code in well under that). */
  let typed = "";
  let lastKey = 0;
  document.addEventListener("keydown", function (e) {
    if (e.ctrlKey || e.altKey || e.metaKey) return;
    const target = e.target;
    if (target && (target.tagName === "INPUT" || target.tagName === "TEXTAREA")) return;
    const now = Date.now();
    if (now - lastKey > 1000) typed = "";
    lastKey = now;
    if (e.key === "Enter") {
      if (keyOf(typed)) {
        e.preventDefault(); // not a click on the focused button
        open(typed);
        submit();
      }
      typed = "";
    } else if (e.key.length === 1) {
      typed += e.key;
    }
  });
})();
