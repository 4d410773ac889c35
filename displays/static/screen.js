/* screen.js — the hall screen: latest call (flashing), recent calls, waiting per queue.
 *
 * Numbers and windows only (domain.md: no names on public screens). Each live call plays a
 * chime generated with WebAudio, then the announcement WAV when the event carries `audio`;
 * sounds go through one queue so two calls never talk over each other. Calls replayed after a
 * reconnection are shown; only calls less than two minutes old are announced again.
 */
(function () {
  "use strict";
  const $ = (id) => document.getElementById(id);
  const LIMIT = Hall.config.recent || 8;
  let calls = [];
  let flashTimer = null;
  const queues = {};

  Hall.clock($("clock"), true);

  // ------------------------------------------------------------------ sound
  const AC = window.AudioContext || window.webkitAudioContext;
  const ctx = AC ? new AC() : null;
  let chain = Promise.resolve();

  function checkSound() {
    // without --autoplay-policy=no-user-gesture-required, the browser wants one click first
    $("sound").hidden = !ctx || ctx.state === "running";
  }
  $("sound").addEventListener("click", function () {
    if (ctx) ctx.resume().then(checkSound);
  });
  if (ctx) ctx.onstatechange = checkSound;
  setTimeout(checkSound, 500);

  function chime() {
    if (!ctx || ctx.state !== "running") return Promise.resolve();
    const t0 = ctx.currentTime + 0.05;
    [[880, 0], [660, 0.45]].forEach(function ([freq, at]) {
      const osc = ctx.createOscillator();
      const gain = ctx.createGain();
      osc.type = "sine";
      osc.frequency.value = freq;
      gain.gain.setValueAtTime(0.0001, t0 + at);
      gain.gain.exponentialRampToValueAtTime(0.5, t0 + at + 0.03);
      gain.gain.exponentialRampToValueAtTime(0.0001, t0 + at + 0.9);
      osc.connect(gain).connect(ctx.destination);
      osc.start(t0 + at);
      osc.stop(t0 + at + 1);
    });
    return new Promise((r) => setTimeout(r, 1500));
  }

  function play(url) {
    return new Promise(function (resolve) {
      const a = new Audio(url);
      const done = () => resolve();
      a.onended = done;
      a.onerror = done;
      setTimeout(done, 20000); // a broken file never blocks the next call
      a.play().catch(done);
    });
  }

  function announce(call) {
    chain = chain.then(() => chime()).then(() => (call.audio ? play(call.audio) : null));
  }

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

  window.hallScreen = Hall.live({
    onSnapshot: function (data) {
      calls = (data.recent_calls || []).slice(0, LIMIT);
      if (data.hall && data.hall.notice) $("notice").textContent = data.hall.notice;
      drawCalls(false);
      mergeQueues(data.queues);
    },
    onEvent: function (ev) {
      const d = ev.data || {};
      mergeQueues(d.queues);
      if (ev.type !== "ticket.called") return;
      const call = { number: d.number, window: typeof d.window === "number" ? d.window : Hall.windowNumberOf(ev),
        window_name: d.window_name, time: ev.time, audio: d.audio };
      calls = [call].concat(calls.filter((c) => c.number !== call.number)).slice(0, LIMIT);
      drawCalls(true);
      if (Date.now() - Date.parse(ev.time) < 120000) announce(call);
    },
  });
})();
