/* complaint.js — the public 办不成事反映 page (/complaint).
 *
 * One request, POST /api/complaints; the server checks everything and its refusal is shown as
 * its own message (the form is `novalidate` on purpose: one source of truth, in Chinese). On
 * success the page shows the reference code, which is all a citizen needs to ask about the
 * case later, and the day by which it is assessed (研判) and the citizen contacted.
 */
(function () {
  "use strict";
  const $ = (id) => document.getElementById(id);
  let busy = false;


  $("c-form").addEventListener("submit", async function (e) {
    e.preventDefault();
    if (busy) return;
    const body = { description: $("c-desc").value.trim() };
    if ($("c-service").value) body.service = $("c-service").value;
    if ($("c-window").value) body.window = Number($("c-window").value);
    const contact = $("c-contact").value.trim();
    if (contact) body.contact = contact;
    busy = true;
    $("c-submit").disabled = true;
    Hall.say($("c-msg"), "");
    try {
      const r = await Hall.api("POST", "/api/complaints", body);
      $("c-ref").textContent = r.reference;
      $("c-due").textContent = "我们将于 " + Hall.dayText(r.due) + "前研判处理" +
        (contact ? "，并与您联系。" : "。");
      $("c-form").hidden = true;
      $("c-done").hidden = false;
      $("c-done").focus();
    } catch (err) {
      Hall.say($("c-msg"), err.message, "error");
      $("c-msg").scrollIntoView({ block: "center" });
    } finally {
      busy = false;
      $("c-submit").disabled = false;
    }
  });

  $("c-again").addEventListener("click", function () {
    $("c-form").reset();
    $("c-done").hidden = true;
    $("c-form").hidden = false;
    $("c-desc").focus();
  });
})();
