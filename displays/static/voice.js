/* voice.js — the voice of a speaking screen ([voice] speak_on, docs/devices.md).
 *
 * Every screen loads it; it does nothing unless the server says this screen speaks
 * (Hall.config.speak): a hall may have ten TVs and one loudspeaker, and window screens are
 * silent unless configured. A speaking screen plays the `audio` URL of each call, in event
 * order, one at a time. What a URL holds is the server's plan (displays/voice_plan.py): the
 * announcement with its one chime, said twice or, when calls back up, once; or nothing at all
 * (204) for a repeat merged into a waiting one or a stale call. So the page adds no chime and
 * no rule of its own, and every speaker in the hall follows the same plan.
 */
(function () {
  "use strict";
  const speaks = !!Hall.config.speak;
  const button = document.getElementById("sound");
  let chain = Promise.resolve();

  if (speaks && button) {
    // Without --autoplay-policy=no-user-gesture-required the browser wants one click first;
    // an AudioContext tells whether sound is allowed (it is never used to make sound).
    const AC = window.AudioContext || window.webkitAudioContext;
    const ctx = AC ? new AC() : null;
    const check = function () { button.hidden = !ctx || ctx.state === "running"; };
    button.addEventListener("click", function () { if (ctx) ctx.resume().then(check); });
    if (ctx) ctx.onstatechange = check;
    setTimeout(check, 500);
  }

  function play(url) {
    return new Promise(function (resolve) {
      const a = new Audio(Hall.url(url)); // the event's URL is the hall app's: add the prefix
      const done = () => resolve();
      a.onended = done;
      a.onerror = done; // 204: nothing to say for this call
      setTimeout(done, 30000); // a broken file never blocks the next call
      a.play().catch(done);
    });
  }

  Hall.voice = {
    speaks: speaks,
    /** Queue one call's announcement (the event's `audio` URL). */
    say: function (url) {
      if (!speaks || !url) return;
      chain = chain.then(() => play(url));
    },
  };
})();
