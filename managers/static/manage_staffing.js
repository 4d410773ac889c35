/* manage_staffing.js — 窗口调度: which queues each window serves and in what order, temporary
 * windows (潮汐窗口), closing a window for the day, forcing a clerk out, daily caps, 延时服务
 * and the close-day button. Every change is one PATCH/POST; the page redraws from the answer
 * and from the live events (another manager's change shows here too). The forms check their
 * input themselves, in Chinese; the server checks again and its message is shown as it is.
 * Session, navigation and alarms: manage_common.js. */
(function () {
  "use strict";
  const $ = (id) => document.getElementById(id);
  const cfg = Hall.config;
  const QNAMES = cfg.queues || {};
  const QLIST = cfg.queue_list || [];
  const ORDERS = cfg.orders || {};
  const STATES = { closed: "未开窗", idle: "空闲", called: "已叫号", serving: "办理中", paused: "暂停" };
  let windows = [];
  let queues = [];
  const fail = (e) => HallManage.fail(e);
  const reload = HallManage.debounce(load, 250);

  async function load() {
    try {
      const [w, q] = await Promise.all([Hall.api("GET", "/api/manage/windows"),
        Hall.api("GET", "/api/manage/queues")]);
      windows = w.windows;
      queues = q.queues;
      drawWindows();
      drawQueues();
    } catch (e) { fail(e); }
  }

  function qname(id) {
    const q = QLIST.find((x) => x.id === id);
    return q ? q.prefix + " · " + q.name : QNAMES[id] || id;
  }

  async function patchWindow(w, body, done) {
    try {
      await Hall.api("PATCH", "/api/manage/windows/" + w.number, body);
      HallManage.say(done, "ok");
      await load();
    } catch (e) { fail(e); }
  }

  // ------------------------------------------------------------------ windows
  function queueEditor(w) {
    const list = w.queues.slice();
    const items = list.map(function (id, i) {
      const move = function (to) {
        const next = list.slice();
        next.splice(i, 1);
        next.splice(to, 0, id);
        patchWindow(w, { queues: next }, w.name + "的队列顺序已调整");
      };
      return Hall.h("li", { dataset: { queue: id } }, Hall.h("span", null, qname(id)),
        Hall.h("button", { type: "button", class: "secondary small", disabled: i === 0,
          "aria-label": w.name + " " + qname(id) + " 上移", onclick: () => move(i - 1) }, "↑"),
        Hall.h("button", { type: "button", class: "secondary small", disabled: i === list.length - 1,
          "aria-label": w.name + " " + qname(id) + " 下移", onclick: () => move(i + 1) }, "↓"),
        Hall.h("button", { type: "button", class: "secondary small", disabled: list.length === 1,
          "aria-label": w.name + " 移除 " + qname(id),
          onclick: () => patchWindow(w, { queues: list.filter((x) => x !== id) },
            w.name + "已不再办理" + qname(id)) }, "移除"));
    });
    const others = QLIST.filter((q) => !list.includes(q.id));
    const select = Hall.h("select", { "aria-label": w.name + " 要添加的队列", class: "add-q" },
      Hall.h("option", { value: "" }, "添加队列…"),
      ...others.map((q) => Hall.h("option", { value: q.id }, q.prefix + " · " + q.name)));
    const add = Hall.h("button", { type: "button", class: "secondary small",
      "aria-label": w.name + " 添加所选队列",
      onclick: function () {
        if (!select.value) {
          HallManage.say("请先选择要添加的队列", "error");
          select.focus();
          return;
        }
        patchWindow(w, { queues: list.concat([select.value]) },
          w.name + "已开始办理" + qname(select.value));
      } }, "添加");
    return [Hall.h("ol", { class: "qorder" }, items),
      others.length ? Hall.h("div", { class: "add-row" }, select, add) : null];
  }

  function orderSelect(w) {
    return Hall.h("select", { "aria-label": w.name + " 叫号顺序",
      onchange: (e) => patchWindow(w, { order: e.target.value }, w.name + "的叫号顺序已调整") },
    ...Object.entries(ORDERS).map(([k, v]) => Hall.h("option", { value: k, selected: k === w.order }, v)));
  }

  function actions(w) {
    const out = [];
    if (w.temporary) {
      out.push(Hall.h("button", { type: "button", class: "danger small", "aria-label": "撤销 " + w.name,
        onclick: () => confirm("确定撤销临时窗口“" + w.name + "”？") &&
          patchWindow(w, { closed: true }, "已撤销" + w.name) }, "撤销临时窗口"));
    } else if (w.closed_today) {
      out.push(Hall.h("button", { type: "button", class: "small", "aria-label": "恢复 " + w.name,
        onclick: () => patchWindow(w, { closed: false }, w.name + "已恢复服务") }, "恢复服务"));
    } else {
      out.push(Hall.h("button", { type: "button", class: "danger small",
        "aria-label": w.name + " 今日停止服务",
        onclick: () => confirm("确定让“" + w.name + "”今天停止服务？在岗人员将被退出登录。") &&
          patchWindow(w, { closed: true }, w.name + "今日已停止服务") }, "今日停止服务"));
    }
    if (w.clerk) {
      out.push(" ", Hall.h("button", { type: "button", class: "secondary small",
        "aria-label": w.name + " 强制下线",
        onclick: () => confirm("确定让 " + w.name + " 的 " + w.clerk + " 强制下线？") &&
          patchWindow(w, { force_logout: true }, w.name + "的工作人员已下线") }, "强制下线"));
    }
    return out;
  }

  function drawWindows() {
    $("sw").replaceChildren(...windows.map(function (w) {
      const tags = [];
      if (w.temporary) tags.push(Hall.h("span", { class: "tag tag-tmp" }, "临时"));
      if (w.closed_today) tags.push(Hall.h("span", { class: "tag tag-off" }, "今日停止服务"));
      return Hall.h("tr", { dataset: { window: w.number }, class: w.closed_today ? "off" : "" },
        Hall.h("th", { scope: "row" }, w.number + " · " + w.name, " ", ...tags),
        Hall.h("td", null, Hall.h("span", { class: "st st-" + w.state }, STATES[w.state] || w.state),
          w.clerk ? "（" + w.clerk + "）" : "", w.current ? " " + w.current : ""),
        Hall.h("td", null, ...queueEditor(w)),
        Hall.h("td", null, orderSelect(w)),
        Hall.h("td", { class: "acts" }, ...actions(w)));
    }));
  }

  // ------------------------------------------------------------------ queues
  // what a manager is typing survives a redraw (live events redraw the table at any moment)
  const typed = new Map();
  const problems = new Map(); // and so does what the page said about it

  function drawQueues() {
    const focused = document.activeElement && document.activeElement.id;
    $("sq").replaceChildren(...queues.map(function (q) {
      const id = "cap-" + q.id;
      const input = Hall.h("input", { id, inputmode: "numeric", autocomplete: "off", class: "cap",
        value: typed.has(q.id) ? typed.get(q.id) : String(q.daily_cap),
        "aria-describedby": id + "-hint", oninput: (e) => typed.set(q.id, e.target.value) });
      const save = async function () {
        const text = input.value.trim();
        const problem = !/^\d{1,6}$/.test(text) ? "每日上限请填写整数"
          : Number(text) > q.max_daily_cap ? "号码为 " + q.width + " 位，每日上限最多 " + q.max_daily_cap
            : Number(text) < Math.max(1, q.issued) ? "今天已发出 " + q.issued + " 个号，每日上限不能少于此数" : "";
        const note = $(id + "-problem");
        if (problem) problems.set(q.id, problem);
        else problems.delete(q.id);
        Hall.say(note, problem, "error");
        input.setAttribute("aria-invalid", problem ? "true" : "false");
        if (problem) {
          input.focus();
          return;
        }
        try {
          await Hall.api("PATCH", "/api/manage/queues/" + encodeURIComponent(q.id),
            { daily_cap: Number(text) });
          typed.delete(q.id);
          HallManage.say(q.name + "每日上限已改为 " + text, "ok");
          await load();
        } catch (e) {
          if (e.status === 401 || e.status === 403) fail(e);
          else {
            problems.set(q.id, e.message);
            Hall.say($(id + "-problem"), e.message, "error");
          }
        }
      };
      const toggle = Hall.h("input", { type: "checkbox", id: "ext-" + q.id, checked: q.open_until_empty,
        "aria-label": q.name + "延时服务",
        onchange: async function (e) {
          try {
            await Hall.api("PATCH", "/api/manage/queues/" + encodeURIComponent(q.id),
              { open_until_empty: e.target.checked });
            HallManage.say(q.name + (e.target.checked ? "已开启延时服务" : "已关闭延时服务"), "ok");
            await load();
          } catch (err) { fail(err); }
        } });
      return Hall.h("tr", { dataset: { queue: q.id } },
        Hall.h("th", { scope: "row" }, q.prefix + " · " + q.name),
        Hall.h("td", { class: "num" }, String(q.issued)),
        Hall.h("td", { class: "num" }, String(q.waiting)),
        Hall.h("td", null,
          Hall.h("label", { for: id, class: "visually-hidden" }, q.name + "每日上限"),
          input, " ",
          Hall.h("button", { type: "button", class: "secondary small", "aria-label": "保存" + q.name + "每日上限",
            onclick: save }, "保存"),
          Hall.h("p", { class: "muted hint", id: id + "-hint" },
            "配置为 " + q.config_daily_cap + "，最多 " + q.max_daily_cap),
          Hall.h("p", { class: "msg field-problem", id: id + "-problem", role: "alert",
            hidden: !problems.has(q.id), dataset: { kind: "error" } }, problems.get(q.id) || "")),
        Hall.h("td", null, Hall.h("label", { class: "chk", for: "ext-" + q.id }, toggle,
          q.open_until_empty ? "已开启" : "未开启")));
    }));
    if (focused && $(focused) && document.activeElement === document.body) $(focused).focus();
  }

  // ------------------------------------------------------------------ a temporary window
  function fieldProblem(el, text) {
    const id = el.id + "-problem";
    let note = $(id);
    if (!note) {
      note = Hall.h("p", { id, class: "msg field-problem", role: "alert" });
      el.insertAdjacentElement("afterend", note);
    }
    Hall.say(note, text, "error");
    el.setAttribute("aria-invalid", text ? "true" : "false");
    if (text) el.setAttribute("aria-describedby", id);
    return !text;
  }

  const FIELD_OF = { name: "nw-name", number: "nw-number", queues: "nw-queues", order: "nw-order" };

  $("nw-form").addEventListener("submit", async function (e) {
    e.preventDefault();
    const name = $("nw-name").value.trim();
    const numberText = $("nw-number").value.trim();
    const picked = [...document.querySelectorAll("#nw-queues input:checked")].map((x) => x.value);
    const okName = fieldProblem($("nw-name"), !name ? "请填写窗口名称"
      : name.length > 20 ? "窗口名称不能超过 20 个字" : "");
    const okNumber = fieldProblem($("nw-number"), numberText &&
      (!/^\d{1,3}$/.test(numberText) || Number(numberText) < 1) ? "窗口号应为 1 到 999 的整数" : "");
    const okQueues = fieldProblem($("nw-queues"), picked.length ? "" : "请至少选择一个队列");
    if (!okName || !okNumber || !okQueues) {
      (!okName ? $("nw-name") : !okNumber ? $("nw-number") : $("nw-queues").querySelector("input")).focus();
      return;
    }
    const body = { name, queues: picked, order: $("nw-order").value };
    if (numberText) body.number = Number(numberText);
    $("nw-submit").disabled = true;
    try {
      const w = await Hall.api("POST", "/api/manage/windows", body);
      Hall.say($("nw-msg"), "已开设 " + w.number + " 号窗口“" + w.name + "”，工作人员现在可以登录叫号", "ok");
      $("nw-form").reset();
      await load();
    } catch (err) {
      if (err.status === 401 || err.status === 403) fail(err);
      else if (err.field && FIELD_OF[err.field]) fieldProblem($(FIELD_OF[err.field]), err.message);
      else Hall.say($("nw-msg"), err.message, "error");
    } finally {
      $("nw-submit").disabled = false;
    }
  });
  // the order of ticking is the calling order: a box ticked later goes last
  $("nw-queues").addEventListener("change", function (e) {
    if (e.target.checked) $("nw-queues").appendChild(e.target.closest("label"));
    if (e.target.checked) fieldProblem($("nw-queues"), "");
  });

  // ------------------------------------------------------------------ close the day
  const dialog = $("dlg-close-day");
  $("cd-open").addEventListener("click", () => dialog.showModal());
  $("dcd-cancel").addEventListener("click", () => dialog.close());
  $("dcd-ok").addEventListener("click", async function () {
    dialog.close();
    try {
      const r = await Hall.api("POST", "/api/manage/close-day", {});
      Hall.say($("cd-msg"), "已日终清号，作废 " + r.missed + " 个号", "ok");
      await load();
    } catch (e) { fail(e); }
  });

  HallManage.start({
    ready: load,
    onEvent: function (ev) {
      if (/^(window|queue|hall)\./.test(ev.type) || ev.type === "ticket.issued") reload();
    },
    onOpen: load,
  });
})();
