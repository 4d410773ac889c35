/* manage_accounts.js — /manage/accounts (账号管理, admins only): the accounts with their state,
 * the add form, and per account: reset the password, unlock, deactivate or reactivate, change
 * the role. Reset, deactivation and a role change end the person's sessions at once, so each
 * asks first in a dialog that says so. A temporary password (a reset, or a new account without
 * a typed one) is shown once, in the page only, and gone when closed or reloaded. Nothing else
 * here ever holds a password. A user.changed event (another admin at work) reads the list again.
 */
(function () {
  "use strict";
  const $ = (id) => document.getElementById(id);
  const M = HallManage;
  const cfg = Hall.config;
  const ROLE_NAMES = cfg.role_names || {};
  let me = null;
  let users = [];
  let asked = 0;

  // ------------------------------------------------------------------ the list
  function stateOf(u) {
    const tags = [Hall.h("span", { class: "st " + (u.active ? "st-serving" : "st-closed") },
      u.active ? "启用" : "已停用")];
    if (u.locked) {
      tags.push(Hall.h("span", { class: "st st-paused", title: "锁定至 " + M.dt(u.locked_until) },
        "已锁定"));
    }
    if (u.must_change) tags.push(Hall.h("span", { class: "st st-called" }, "须修改密码"));
    return tags;
  }

  function roleSelect(u) {
    const id = "role-" + u.username;
    const select = Hall.h("select", { id, class: "role-pick", dataset: { user: u.username } },
      ...(cfg.role_list || []).map((r) => Hall.h("option",
        { value: r.role, selected: r.role === u.role }, r.name)));
    return [Hall.h("label", { for: id, class: "visually-hidden" }, u.username + " 的新角色"), select,
      Hall.h("button", { type: "button", class: "secondary", dataset: { act: "role", user: u.username } },
        "变更角色")];
  }

  function actionsOf(u) {
    const act = (name, text, cls) => Hall.h("button", { type: "button", class: cls || "secondary",
      dataset: { act: name, user: u.username }, "aria-label": text + " " + u.username }, text);
    return Hall.h("div", { class: "acc-actions" },
      act("reset", "重置密码"),
      u.locked ? act("unlock", "解除锁定") : null,
      u.active ? act("deactivate", "停用", "danger") : act("activate", "启用"),
      ...roleSelect(u));
  }

  function rowOf(u) {
    return Hall.h("tr", { dataset: { user: u.username }, class: u.active ? "" : "inactive" },
      Hall.h("th", { scope: "row" }, u.username + (me && u.username === me.user.username ? "（本人）" : "")),
      Hall.h("td", null, u.role_name || ROLE_NAMES[u.role] || u.role),
      Hall.h("td", null, M.dash(u.staff_no)),
      Hall.h("td", { class: "acc-state" }, ...stateOf(u)),
      Hall.h("td", null, M.dt(u.last_login_at)),
      Hall.h("td", null, u.window ? (cfg.windows[String(u.window)] || u.window + "号窗口") : "—"),
      Hall.h("td", null, actionsOf(u)));
  }

  async function load() {
    const mine = ++asked;
    try {
      const rows = (await Hall.api("GET", "/api/manage/users")).users;
      if (mine !== asked) return;
      users = rows;
      $("list-count").textContent = "（共 " + rows.length + " 个，停用 " +
        rows.filter((u) => !u.active).length + " 个，锁定 " + rows.filter((u) => u.locked).length + " 个）";
      $("users").replaceChildren(...rows.map(rowOf));
    } catch (e) {
      M.fail(e);
    }
  }
  const soon = M.debounce(load, 300);

  // ------------------------------------------------------------------ confirm, then act
  function confirm(title, text, yes) {
    const dlg = $("confirm");
    $("cf-title").textContent = title;
    $("cf-text").textContent = text;
    $("cf-yes").textContent = yes;
    dlg.returnValue = "";
    dlg.showModal();
    $("cf-no").focus();
    return new Promise(function (resolve) {
      dlg.addEventListener("close", () => resolve(dlg.returnValue === "yes"), { once: true });
    });
  }

  function showTemporary(user, word) {
    $("temp-user").textContent = user;
    $("temp-word").textContent = word;
    $("temp").hidden = false;
    $("temp-done").focus();
  }
  $("temp-done").addEventListener("click", function () {
    $("temp-word").textContent = "";
    $("temp").hidden = true;
  });

  async function change(user, body, done) {
    try {
      const r = await Hall.api("PATCH", "/api/manage/users/" + encodeURIComponent(user), body);
      M.say(done, "ok");
      if (r.temporary_password) showTemporary(user, r.temporary_password);
      await load();
    } catch (e) {
      if (e.status === 401 || e.code === "password_change_required") M.fail(e);
      else M.say(e.message, "error");
    }
  }

  const ACTS = {
    reset: async function (user) {
      if (await confirm("重置 " + user + " 的密码",
        "将生成一个临时密码，只显示一次。" + user + " 正在使用的登录会立即退出，须用临时密码重新登录并改为自己的新密码。",
        "重置密码")) {
        await change(user, { reset_password: true }, "已重置 " + user + " 的密码");
      }
    },
    unlock: (user) => change(user, { unlock: true }, "已解除 " + user + " 的锁定"),
    deactivate: async function (user) {
      if (await confirm("停用 " + user,
        "停用后 " + user + " 不能再登录，正在使用的登录会立即退出（所在窗口关闭）。可以随时重新启用。",
        "停用")) {
        await change(user, { active: false }, "已停用 " + user);
      }
    },
    activate: (user) => change(user, { active: true }, "已启用 " + user),
    role: async function (user) {
      const u = users.find((x) => x.username === user);
      const pick = document.getElementById("role-" + user);
      const role = pick && pick.value;
      if (!u || !role || role === u.role) {
        M.say("请先在下拉框中选择一个不同的角色", "error");
        if (pick) pick.focus();
        return;
      }
      if (await confirm("变更 " + user + " 的角色",
        "将 " + user + " 的角色由“" + (ROLE_NAMES[u.role] || u.role) + "”改为“" +
        (ROLE_NAMES[role] || role) + "”。" + user + " 正在使用的登录会立即退出，须重新登录。",
        "变更角色")) {
        await change(user, { role }, "已将 " + user + " 的角色改为" + (ROLE_NAMES[role] || role));
      } else {
        pick.value = u.role;
      }
    },
  };

  $("users").addEventListener("click", function (e) {
    const b = e.target.closest("button[data-act]");
    if (b && ACTS[b.dataset.act]) ACTS[b.dataset.act](b.dataset.user);
  });

  // ------------------------------------------------------------------ add
  function checkPassword() {
    const el = $("a-pass");
    el.setCustomValidity(el.value ? HallPassword.problem(el.value, $("a-user").value.trim()) : "");
  }
  $("a-pass").addEventListener("input", checkPassword);
  $("a-user").addEventListener("input", checkPassword);
  function checkPair() {
    const staff = $("a-staff").value.trim();
    const pin = $("a-pin").value;
    $("a-pin").setCustomValidity(staff && !pin ? "填写工号时请同时填写呼叫器密码" : "");
    $("a-staff").setCustomValidity(pin && !staff ? "填写呼叫器密码时请同时填写工号" : "");
  }
  $("a-staff").addEventListener("input", checkPair);
  $("a-pin").addEventListener("input", checkPair);

  const FIELDS = { username: "a-user", role: "a-role", password: "a-pass", staff_no: "a-staff", pin: "a-pin" };
  $("add-form").addEventListener("submit", async function (e) {
    e.preventDefault(); // Hall.checkForm already refused a field that breaks a rule
    const body = { username: $("a-user").value.trim(), role: $("a-role").value };
    if ($("a-pass").value) body.password = $("a-pass").value;
    if ($("a-staff").value.trim()) {
      body.staff_no = $("a-staff").value.trim();
      body.pin = $("a-pin").value;
    }
    $("a-submit").disabled = true;
    try {
      const r = await Hall.api("POST", "/api/manage/users", body);
      $("add-form").reset();
      M.say("已添加用户 " + r.user.username + "（" + r.user.role_name + "）", "ok");
      if (r.temporary_password) showTemporary(r.user.username, r.temporary_password);
      await load();
    } catch (err) {
      if (err.status === 401 || err.code === "password_change_required") {
        M.fail(err);
      } else {
        M.say(err.message, "error");
        if (FIELDS[err.field]) $(FIELDS[err.field]).focus();
      }
    } finally {
      $("a-submit").disabled = false;
    }
  });

  M.start({
    ready: function (who) {
      me = who;
      return load();
    },
    onOpen: soon,
    onEvent: function (ev) {
      if (ev.type === "user.changed" || ev.type === "window.opened" || ev.type === "window.closed") soon();
    },
  });
})();
