/* device.js — enrolling a kiosk or a tablet (/device, issue 9).
 *
 * The installer types the 登记码 that `python -m hall device add` printed; the server keeps it
 * in this browser as an HttpOnly cookie (POST /api/devices/enrol), so the kiosk's tickets count
 * as that kiosk's and the tablet may rate its window. ?next=/kiosk goes there once enrolled
 * (a path of this hall: Hall.url adds the prefix).
 */
(function () {
  "use strict";
  const $ = (id) => document.getElementById(id);

  function current(d) {
    $("d-current").textContent = d ? "本设备已登记为：" + d.label : "本设备尚未登记";
  }

  function next() {
    const to = new URLSearchParams(location.search).get("next") || "";
    // only a path of this server: never send the browser elsewhere
    if (to.startsWith("/") && !to.startsWith("//")) location.assign(Hall.url(to));
  }

  $("d-form").addEventListener("submit", async function (ev) {
    ev.preventDefault();
    $("d-submit").disabled = true;
    try {
      const d = await Hall.api("POST", "/api/devices/enrol", { code: $("d-code").value });
      $("d-code").value = "";
      current(d);
      Hall.say($("d-msg"), "登记成功", "ok");
      next();
    } catch (e) {
      Hall.say($("d-msg"), e.message, "error");
    } finally {
      $("d-submit").disabled = false;
    }
  });

  Hall.api("GET", "/api/devices/me").then(current, function () { current(null); });
})();
