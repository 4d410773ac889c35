/* password.js — the change-password form (password_change.html) of the pages people log in on.
 *
 * HallPassword.open({username, forced, onDone(me), onCancel()}) shows the form. `forced`: an
 * admin set this password (a new account, a reset) and the server opens nothing else until it
 * is changed, so the form has no 取消 and says why. The checks the page can make are made here,
 * in Chinese, beside the field (length, two kinds of character, not the username, typed twice
 * the same); the server checks them all again and the common-password list, and its refusal is
 * shown beside the field it names. POST /api/password answers like /api/me.
 */
(function () {
  "use strict";
  const $ = (id) => document.getElementById(id);
  const P = {};
  let current = null;

  function kinds(text) {
    const seen = new Set();
    for (const ch of text) {
      if (/[A-Z]/.test(ch)) seen.add("upper");
      else if (/[a-z]/.test(ch)) seen.add("lower");
      else if (/[0-9]/.test(ch)) seen.add("digit");
      else seen.add("symbol");
    }
    return seen.size;
  }

  /** The first rule `text` breaks (the server's rules, hall/passwords.py), or "". */
  P.problem = function (text, username) {
    const min = Number($("pw-form").dataset.min) || 10;
    if (text.length < min) return "密码至少 " + min + " 位";
    if (text.length > 128) return "密码不能超过 128 位";
    if (kinds(text) < 2) return "密码至少要包含大写字母、小写字母、数字、符号中的两类";
    const name = (username || "").toLowerCase();
    const low = text.toLowerCase();
    if (name && (low === name || (name.length >= 3 && low.includes(name)))) {
      return "密码不能与用户名相同，也不能包含用户名";
    }
    return "";
  };

  function checkFields() {
    const fresh = $("pw-new");
    const again = $("pw-again");
    fresh.setCustomValidity(fresh.value ? P.problem(fresh.value, current && current.username) : "");
    if (!fresh.validationMessage && fresh.value && fresh.value === $("pw-old").value) {
      fresh.setCustomValidity("新密码不能与当前密码相同");
    }
    again.setCustomValidity(again.value && again.value !== fresh.value ? "两次输入的新密码不一致" : "");
  }

  P.open = function (options) {
    current = options || {};
    $("pw-form").reset();
    checkFields();
    Hall.say($("pw-msg"), "");
    const why = $("pw-why");
    if (current.forced) {
      Hall.say(why, "您的密码是管理员设置的，需要改为只有您自己知道的新密码后才能继续使用。" +
        "“当前密码”请填写管理员告诉您的密码。", "info");
    } else {
      Hall.say(why, "");
    }
    $("pw-cancel").hidden = !!current.forced;
    $("pw").hidden = false;
    $("pw-old").focus();
  };
  P.close = function () {
    $("pw").hidden = true;
    $("pw-form").reset();
    current = null;
  };

  ["pw-old", "pw-new", "pw-again"].forEach((id) => $(id).addEventListener("input", checkFields));

  $("pw-cancel").addEventListener("click", function () {
    const done = current && current.onCancel;
    P.close();
    if (done) done();
  });

  $("pw-form").addEventListener("submit", async function (e) {
    e.preventDefault(); // Hall.checkForm has already refused a field that breaks a rule
    if (!current) return;
    $("pw-submit").disabled = true;
    try {
      const me = await Hall.api("POST", "/api/password", { old: $("pw-old").value, new: $("pw-new").value });
      const done = current.onDone;
      P.close();
      if (done) done(me);
    } catch (err) {
      const field = { old: "pw-old", new: "pw-new" }[err.field];
      Hall.say($("pw-msg"), err.message, "error");
      if (err.status === 401 && current.onLoggedOut) {
        const out = current.onLoggedOut;
        P.close();
        out(err);
      } else if (field) {
        $(field).focus();
      }
    } finally {
      $("pw-submit").disabled = false;
    }
  });

  window.HallPassword = P;
})();
