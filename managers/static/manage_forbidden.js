/* manage_forbidden.js — the 403 page of a manager page: log out, then the page again (now with
 * its login form). */
(function () {
  "use strict";
  const $ = (id) => document.getElementById(id);
  $("nf-logout").addEventListener("click", async function () {
    try {
      await Hall.api("POST", "/api/logout", {});
    } catch (e) {
      if (e.status !== 401) {
        Hall.say($("nf-msg"), e.message, "error");
        return;
      }
    }
    location.reload();
  });
})();
