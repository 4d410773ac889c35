/* window_screen.js — the screen above one window: the current number, 暂停服务 when paused
 * (or closed), 热情为您服务 when idle; flashes on each call of this window (domain.md, LED).
 * Silent unless `[voice] speak_on` lists the window; then it says this window's calls. */
(function () {
  "use strict";
  const $ = (id) => document.getElementById(id);
  const me = Hall.config.window;
  const name = Hall.config.name;

  function draw(w, flash) {
    const state = w ? w.state : "closed";
    const busy = (state === "called" || state === "serving") && w.current;
    $("wnum").hidden = !busy;
    $("wline").hidden = !busy;
    $("wstate").hidden = !!busy;
    document.body.dataset.state = state;
    if (busy) {
      $("wnum").textContent = w.current;
      $("wline").textContent = state === "called" ? "请 " + w.current + " 号到" + name + "办理"
        : "正在办理";
    } else {
      const paused = state === "paused" || state === "closed";
      $("wstate").textContent = paused ? "暂停服务" : "热情为您服务";
      $("wstate").classList.toggle("paused", paused);
    }
    if (flash) {
      const b = $("wbody");
      b.classList.remove("flash");
      void b.offsetWidth;
      b.classList.add("flash");
    }
  }

  Hall.live({
    onSnapshot: function (data) {
      draw((data.windows || []).find((w) => w.number === me), false);
    },
    onEvent: function (ev) {
      const w = Hall.windowOf(ev);
      if (!w || w.number !== me) return;
      draw(w, ev.type === "ticket.called");
      // only this window's calls, and only if this screen is configured to speak (voice.js)
      if (ev.type === "ticket.called") Hall.voice.say((ev.data || {}).audio);
    },
  });
})();
