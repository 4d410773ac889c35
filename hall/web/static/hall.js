/* hall.js — the small shared library of every hall page (no framework, nothing from the net).
 *
 * Hall.api: fetch JSON; a refusal becomes an ApiError carrying the server's Chinese message,
 *   so every page can show a person exactly what the core said.
 * Hall.live: a WebSocket client that reconnects by itself and resumes with ?since=<last seq>,
 *   so a screen whose link drops shows every call made meanwhile (the server replays them);
 *   on {"type":"resync"} it drops its seq and takes a fresh snapshot.
 * Hall.h: builds DOM nodes; text goes in as text, never as HTML.
 * Hall.url / Hall.wsUrl: the one place a page turns a path of the hall app ("/api/tickets")
 *   into a URL, with the hall's prefix (docs/url-prefix.md).
 */
(function () {
  "use strict";
  const Hall = {};
  const cfgNode = document.getElementById("page-config");
  Hall.config = cfgNode ? JSON.parse(cfgNode.textContent || "{}") : {};

  class ApiError extends Error {
    constructor(status, code, message, field) {
      super(message);
      this.status = status;
      this.code = code;
      this.field = field || null; // the input at fault (error.field), for a message beside it
    }
  }
  Hall.ApiError = ApiError;

  /* ---------------------------------------------------------------- the hall's prefix
   * One deployment may serve several halls, each at /h/{hall}/... (issue 13); a single hall is
   * served at the root. The server writes the prefix into <html data-base> ("" or "/h/demo",
   * hall/prefix.py) and every URL a page fetches, opens, links or plays is made here, so no
   * script writes the prefix itself. Paths are written as paths of the hall app ("/api/me",
   * "/t/" + token, an event's "/audio/x.wav"). A URL already under the prefix is left as it
   * is, so a helper's result (M.url) may be handed on to Hall.api; anything that is not a path
   * of this server ("//host", "https:", "data:", "#") is returned unchanged. */
  Hall.base = (document.documentElement.dataset.base || "").replace(/\/+$/, "");
  Hall.url = function (path) {
    const p = String(path);
    if (p.charAt(0) !== "/" || p.charAt(1) === "/") return p;
    if (Hall.base && (p === Hall.base || p.startsWith(Hall.base + "/"))) return p;
    return Hall.base + p;
  };
  /** ws(s)://host + the hall's prefix + path: a WebSocket of this hall. */
  Hall.wsUrl = function (path) {
    return (location.protocol === "https:" ? "wss:" : "ws:") + "//" + location.host + Hall.url(path);
  };

  /** Call the JSON API (`url`: a path of the hall app, Hall.url adds the prefix). Throws
   * ApiError(status 0, code "network") when the server is gone. */
  Hall.api = async function (method, url, body, headers) {
    const init = { method, credentials: "same-origin", cache: "no-store", headers: {} };
    if (body !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    Object.assign(init.headers, headers || {});
    let resp;
    try {
      resp = await fetch(Hall.url(url), init);
    } catch (e) {
      throw new ApiError(0, "network", "网络连接中断，请稍后再试");
    }
    let data = null;
    try {
      data = await resp.json();
    } catch (e) {
      data = null;
    }
    if (!resp.ok) {
      const err = data && data.error;
      throw new ApiError(resp.status, (err && err.code) || "http_" + resp.status,
        (err && err.message) || "服务器错误 (" + resp.status + ")，请稍后再试", err && err.field);
    }
    return data;
  };

  /** Show a message in a role=alert/status element; kind: error | ok | info. */
  Hall.say = function (el, text, kind) {
    if (!el) return;
    el.textContent = text || "";
    el.dataset.kind = kind || "error";
    el.hidden = !text;
  };

  /** h("div", {class: "x", onclick: fn}, "text", child) → element. Strings become text. */
  Hall.h = function (tag, attrs) {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
      else if (k === "class") el.className = v;
      else if (k === "dataset") Object.assign(el.dataset, v);
      else el.setAttribute(k, v === true ? "" : v);
    }
    for (let i = 2; i < arguments.length; i++) {
      const c = arguments[i];
      if (c === null || c === undefined || c === false) continue;
      if (Array.isArray(c)) c.forEach((x) => x && el.append(x));
      else el.append(c);
    }
    return el;
  };

  Hall.minutes = function (m) {
    if (m === null || m === undefined) return "—";
    if (m <= 0) return "即将办理";
    return "约 " + m + " 分钟";
  };

  Hall.sinceMinutes = function (iso) {
    if (!iso) return null;
    return Math.max(0, Math.floor((Date.now() - Date.parse(iso)) / 60000));
  };

  /* ---------------------------------------------------------------- hall time
   * Every clock and time a page prints is in the hall's time zone ([hall] timezone, given in
   * the page config by hall/web), never the device's: a TV or tablet left on UTC must still
   * read 14:11 at 14:11 hall time. The one formatter below is the only place pages turn an
   * instant into text. */
  Hall.timeZone = Hall.config.timezone || "Asia/Shanghai";
  const FIELDS = { year: "numeric", month: "numeric", day: "numeric", hour: "2-digit",
    minute: "2-digit", second: "2-digit", weekday: "short", hourCycle: "h23" };
  let hallFormat;
  try {
    hallFormat = new Intl.DateTimeFormat("en-US", Object.assign({ timeZone: Hall.timeZone }, FIELDS));
  } catch (e) { // an unknown zone name (the server checks it; never a blank page)
    hallFormat = new Intl.DateTimeFormat("en-US", FIELDS);
  }
  const WEEKDAYS = { Sun: 0, Mon: 1, Tue: 2, Wed: 3, Thu: 4, Fri: 5, Sat: 6 };
  const pad2 = (n) => String(n).padStart(2, "0");

  /** {year, month, day, hour, minute, second, weekday (0 = 日)} of an instant in hall time. */
  Hall.partsOf = function (when) {
    const d = when instanceof Date ? when : new Date(when);
    const out = {};
    hallFormat.formatToParts(d).forEach(function (p) {
      if (p.type === "weekday") out.weekday = WEEKDAYS[p.value];
      else if (p.type !== "literal") out[p.type] = Number(p.value);
    });
    out.hour %= 24; // some engines still say 24 at midnight despite h23
    return out;
  };

  /** "09:30" of an ISO time (or a Date), in hall time. */
  Hall.hhmm = function (iso) {
    if (!iso) return "";
    const p = Hall.partsOf(iso);
    return pad2(p.hour) + ":" + pad2(p.minute);
  };

  /** "2025年1月2日" of an ISO time (or a Date), in hall time. */
  Hall.date = function (iso) {
    if (!iso) return "";
    const p = Hall.partsOf(iso);
    return p.year + "年" + p.month + "月" + p.day + "日";
  };

  /** "2025年1月2日 09:30" of an ISO time (or a Date), in hall time. */
  Hall.dateTime = function (iso) {
    if (!iso) return "";
    return Hall.date(iso) + " " + Hall.hhmm(iso);
  };

  // ---------------------------------------------------------------- dates (年月日)
  /* One date format on every page: 2026年1月31日, times HH:MM. Instants go through
   * Hall.date / Hall.dateTime above (converted to hall time); a calendar day the server
   * writes as "2026-01-31" (a deadline, a due date) is no instant and is read as it is. */
  /** "2026-01-31…" → "2026年1月31日"; "" for nothing. */
  Hall.dayText = function (iso) {
    const m = /^(\d{4})-(\d{2})-(\d{2})/.exec(iso || "");
    return m ? Number(m[1]) + "年" + Number(m[2]) + "月" + Number(m[3]) + "日" : "";
  };
  /** What a person typed as a date → "2026-01-31", or null. Takes 2026年1月31日, 2026-1-31,
   * 2026/1/31, 2026.1.31 and 20260131; refuses a day that does not exist (2月30日). */
  Hall.parseDay = function (text) {
    const s = String(text || "").trim();
    const m = /^(\d{4})\s*(?:年|-|\/|\.)\s*(\d{1,2})\s*(?:月|-|\/|\.)\s*(\d{1,2})\s*日?$/.exec(s) ||
      /^(\d{4})(\d{2})(\d{2})$/.exec(s);
    if (!m) return null;
    const y = Number(m[1]), mo = Number(m[2]), d = Number(m[3]);
    const dt = new Date(Date.UTC(y, mo - 1, d));
    if (dt.getUTCFullYear() !== y || dt.getUTCMonth() !== mo - 1 || dt.getUTCDate() !== d) return null;
    return y + "-" + String(mo).padStart(2, "0") + "-" + String(d).padStart(2, "0");
  };

  // ---------------------------------------------------------------- form checks (中文)
  /* Every form on every hall page is checked by the page, in Chinese: the browser's own
   * bubbles speak the browser's language ("Please fill out this field."), so each form gets
   * `novalidate` (also forms built later, by a MutationObserver) and a capturing submit
   * listener refuses an invalid form before the page's own handler sees it, focusing the
   * first wrong field and saying why beside it. Inputs marked data-date take a 年月日 date.
   * A form already written `novalidate` has its own Chinese checks and is left to them. */
  function fieldLabel(el) {
    let text = "";
    if (el.id) {
      const lab = document.querySelector('label[for="' + el.id + '"]');
      if (lab) text = lab.textContent;
    }
    if (!text && el.closest("label")) text = el.closest("label").textContent;
    if (!text) text = el.getAttribute("aria-label") || el.dataset.label || "";
    text = text.replace(/[（(][^）)]*[）)]/g, "").replace(/[：:*\s]+$/g, "").trim();
    return text || "此项";
  }
  Hall.problemOf = function (el) {
    if (el.dataset && el.dataset.date !== undefined) {
      el.setCustomValidity(el.value.trim() && !Hall.parseDay(el.value)
        ? "日期应为 年月日，如 2026年1月31日" : "");
    }
    const v = el.validity;
    if (!v || v.valid) return "";
    const name = fieldLabel(el);
    if (v.customError) return el.validationMessage;
    if (v.valueMissing) return (el.tagName === "SELECT" ? "请选择" : "请填写") + name;
    if (v.tooLong) return name + "不能超过 " + el.maxLength + " 个字";
    if (v.tooShort) return name + "至少 " + el.minLength + " 个字";
    if (v.patternMismatch) return el.dataset.patternMsg || name + "格式不对";
    if (v.rangeUnderflow || v.rangeOverflow || v.stepMismatch) return name + "超出可填范围";
    return name + "格式不对";
  };
  function noteFor(el) {
    const id = (el.id || el.name || "f") + "-problem";
    let note = document.getElementById(id);
    if (!note) {
      note = Hall.h("p", { id, class: "msg field-problem", role: "alert" });
      el.insertAdjacentElement("afterend", note);
    }
    return note;
  }
  Hall.checkForm = function (form) {
    let first = null;
    for (const el of form.elements) {
      if (!el.willValidate && !(el.dataset && el.dataset.date !== undefined)) continue;
      const problem = Hall.problemOf(el);
      const old = document.getElementById((el.id || el.name || "f") + "-problem");
      if (problem) {
        const note = noteFor(el);
        Hall.say(note, problem, "error");
        el.setAttribute("aria-invalid", "true");
        el.setAttribute("aria-describedby", note.id);
        if (!first) first = el;
      } else {
        if (old) Hall.say(old, "", "error");
        el.removeAttribute("aria-invalid");
      }
    }
    if (first) first.focus();
    return !first;
  };
  function ownForms(root) {
    const forms = root.tagName === "FORM" ? [root] : root.querySelectorAll ? root.querySelectorAll("form") : [];
    for (const f of forms) {
      if (f.dataset.check) continue;
      // a form written `novalidate` checks itself (complaint, rating): leave it to its page
      f.dataset.check = f.noValidate ? "page" : "hall";
      f.noValidate = true;
    }
  }
  ownForms(document);
  new MutationObserver(function (changes) {
    for (const c of changes) for (const n of c.addedNodes) if (n.nodeType === 1) ownForms(n);
  }).observe(document.documentElement, { childList: true, subtree: true });
  document.addEventListener("submit", function (e) {
    if (e.target.dataset.check !== "page" && !Hall.checkForm(e.target)) {
      e.preventDefault();
      e.stopImmediatePropagation();
    }
  }, true);
  document.addEventListener("input", function (e) {
    const el = e.target;
    const note = el.id && document.getElementById(el.id + "-problem");
    if (note && !note.hidden && !Hall.problemOf(el)) {
      Hall.say(note, "", "error");
      el.removeAttribute("aria-invalid");
    }
  }, true);

  /** The public window state an event carries (core puts it in data.window_state). */
  Hall.windowOf = function (ev) {
    const d = (ev && ev.data) || {};
    if (d.window_state && typeof d.window_state === "object") return d.window_state;
    if (d.window && typeof d.window === "object") return d.window;
    return null;
  };

  /** The window number an event concerns, whatever shape it has. */
  Hall.windowNumberOf = function (ev) {
    const w = Hall.windowOf(ev);
    if (w) return w.number;
    const d = (ev && ev.data) || {};
    return typeof d.window === "number" ? d.window : null;
  };

  /** A clock in a node, in hall time: 2025年1月2日 星期四 09:30:05. */
  Hall.clock = function (el, withDate) {
    const days = "日一二三四五六";
    const tick = function () {
      const p = Hall.partsOf(new Date());
      const t = pad2(p.hour) + ":" + pad2(p.minute) + ":" + pad2(p.second);
      el.textContent = withDate
        ? p.year + "年" + p.month + "月" + p.day + "日 星期" + days[p.weekday] + " " + t
        : t;
    };
    tick();
    return setInterval(tick, 1000);
  };

  /**
   * Hall.live({onSnapshot(data, seq), onEvent(ev), onStatus(connected), onOpen(), path})
   * Keeps one WebSocket to /ws (or `path`: the manager pages use /ws/manage, which also
   * carries the private 好差评 and case events and needs the manager's session). The first connection takes a snapshot; every reconnection
   * asks for ?since=<last seq seen>, and the server replays exactly the missed events.
   */
  Hall.live = function (handlers) {
    const banner = document.getElementById("conn");
    const self = { seq: null, ws: null, connected: false, stopped: false, urls: [] };
    let delay = 500;
    let timer = null;

    function status(up) {
      self.connected = up;
      if (banner) banner.hidden = up;
      if (handlers.onStatus) handlers.onStatus(up);
    }

    function connect() {
      timer = null;
      if (self.stopped) return;
      const url = Hall.wsUrl(handlers.path || "/ws") + (self.seq !== null ? "?since=" + self.seq : "");
      self.urls.push(url);
      let ws;
      try {
        ws = new WebSocket(url);
      } catch (e) {
        schedule();
        return;
      }
      self.ws = ws;
      ws.onopen = function () {
        delay = 500;
        status(true);
        if (handlers.onOpen) handlers.onOpen();
      };
      ws.onmessage = function (m) {
        let msg;
        try {
          msg = JSON.parse(m.data);
        } catch (e) {
          return;
        }
        if (msg.type === "snapshot") {
          self.seq = msg.seq;
          if (handlers.onSnapshot) handlers.onSnapshot(msg.data, msg.seq);
        } else if (msg.type === "resync") {
          self.seq = null; // fall back to a fresh snapshot on the next connection
          ws.close();
        } else if (typeof msg.seq === "number") {
          if (self.seq !== null && msg.seq <= self.seq) return; // seen already
          self.seq = msg.seq;
          if (handlers.onEvent) handlers.onEvent(msg);
        }
      };
      ws.onclose = function () {
        if (self.ws !== ws) return;
        status(false);
        schedule();
      };
      ws.onerror = function () { /* onclose follows */ };
    }

    function schedule() {
      if (timer || self.stopped) return;
      timer = setTimeout(connect, delay);
      delay = Math.min(delay * 2, 5000);
    }

    /** Drop the connection now (it comes back by itself): used when the network returns. */
    self.reconnect = function () {
      if (self.ws) self.ws.close();
    };
    window.addEventListener("online", function () {
      if (!self.connected) {
        clearTimeout(timer);
        timer = null;
        delay = 500;
        connect();
      }
    });
    connect();
    return self;
  };

  window.Hall = Hall;
})();
