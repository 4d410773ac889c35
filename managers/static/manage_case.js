/* manage_case.js — one 差评整改 or 办不成事 case (/manage/rectifications/{id},
 * /manage/complaints/{id}): its facts, its timeline, and one form per step the API allows now
 * (`actions` in the case JSON; the order of the loop is the server's, never the page's). A
 * step answers the case as it is after the step, which the page draws; a refusal is the
 * server's message. The contact shows masked; "显示完整联系方式" asks POST …/{id}/reveal,
 * which the server writes to the audit log. Another manager's step arrives on /ws and the
 * page reads the case again (a form being filled in is kept if its step is still allowed). */
(function () {
  "use strict";
  const $ = (id) => document.getElementById(id);
  const h = Hall.h;
  const M = HallManage;
  const cfg = Hall.config;
  const rect = cfg.kind === "rectification";
  const api = Hall.url((rect ? "/api/manage/rectifications/" : "/api/manage/complaints/") + cfg.id);
  const OVERDUE = { callback: "回访", fix: "整改", contact: "联系群众", answer: "答复" };
  let kase = null;
  let busy = false;

  const opts = (map) => Object.entries(map).map(([k, v]) => [k, v]);
  const list = (xs) => xs.map((x) => [x, x]);
  const note = (label, required) => ({ name: "note", type: "textarea",
    label: label || "备注", required: !!required });

  /** The fields of each step (docs/feedback.md); `show(form values, case)` hides the rest. */
  const FORMS = rect ? {
    assign: [{ name: "assignee", label: "负责人", required: true }, note()],
    callback: [{ name: "reached", type: "checkbox", label: "已联系上群众", checked: true },
      note("回访情况", true)],
    classify: [{ name: "classification", type: "select", label: "定性", required: true,
      options: opts(cfg.classifications) },
    { name: "deadline", type: "date", label: "整改期限（列入台账时必填）",
      show: (v) => v.classification === "ledger" },
    note("说明（申诉时必填）")],
    fix: [{ name: "measures", type: "textarea", label: "整改措施", required: true },
      { name: "upheld", type: "select", label: "申诉审核结果", required: true,
        options: [["true", "申诉成立"], ["false", "申诉不成立"]],
        show: (v, c) => c.classification === "appeal" }],
    feedback: [note("向群众反馈的内容", true)],
    review: [{ name: "view", type: "select", label: "群众对整改的评价", required: true,
      options: opts(cfg.views) }, note()],
    close: [note()],
    reopen: [note("群众不满意的原因", true)],
  } : {
    contact: [note("联系情况")],
    assess: [{ name: "class", type: "select", label: "研判分类", required: true,
      options: opts(cfg.classes) },
    cfg.categories.length
      ? { name: "category", type: "select", label: "问题类别", options: list(cfg.categories) }
      : { name: "category", label: "问题类别" },
    { name: "referral", type: "textarea", label: "转办 / 告知意见（不属于受理范围时必填）",
      show: (v) => v.class === "out_of_scope" },
    note()],
    assign: [{ name: "department", type: "select", label: "交办部门", required: true,
      options: list(cfg.departments) },
    { name: "chief", type: "checkbox", label: "交首席事务代表" },
    { name: "assignee", label: "承办人" }, note()],
    resolve: [note("办理结果", true)],
    answer: [note("答复内容", true)],
    follow_up: [{ name: "view", type: "select", label: "群众评价", required: true,
      options: opts(cfg.views) }, note()],
    archive: [note()],
  };

  // ------------------------------------------------------------------ drawing
  function fact(label, value) {
    return [h("dt", null, label), h("dd", null, value === null || value === undefined || value === ""
      ? "—" : value)];
  }

  function draw(c) {
    kase = c;
    document.title = (rect ? "差评整改 #" + c.id : "办不成事 " + c.reference) + " · 管理";
    const late = c.overdue ? h("span", { class: "tag-overdue" }, "已超期（" +
      c.overdue_steps.map((s) => OVERDUE[s] || s).join("、") + "）") : null;
    $("c-status").replaceChildren(...[h("span", { class: "st" }, c.status_name), late].filter(Boolean));
    const facts = rect ? [
      fact("编号", "#" + c.id), fact("评价", c.level + " " + c.level_name),
      fact("窗口", c.window_name), fact("工作人员", c.clerk), fact("事项", c.service_name),
      fact("号码", c.number),
      fact("原因", c.rating && c.rating.reasons.length ? c.rating.reasons.join("、") : null),
      fact("意见", c.rating && c.rating.comment),
      fact("评价时间", c.rating && M.dt(c.rating.rated_at)),
      fact("回访期限", M.day(c.callback_due) + (c.called_back_at ? "（" + M.dt(c.called_back_at) + " 已回访）" : "")),
      fact("整改期限", M.day(c.fix_due) + (c.fixed_at ? "（" + M.dt(c.fixed_at) + " 已整改）" : "")),
      fact("定性", c.classification_name), fact("负责人", c.assignee),
    ] : [
      fact("受理编号", c.reference), fact("来源", c.source_name), fact("受理时间", M.dt(c.opened_at)),
      fact("反映内容", c.description), fact("事项", c.service_name), fact("窗口", c.window_name),
      fact("号码", c.number), fact("联系期限", M.day(c.contact_due) + (c.contacted_at
        ? "（" + M.dt(c.contacted_at) + " 已联系）" : "")),
      fact("办结期限", M.day(c.due)), fact("分类", c.class_name), fact("类别", c.category),
      fact("交办", c.department ? c.department + (c.chief ? "（首席事务代表）" : "") : null),
      fact("承办人", c.assignee), fact("转办意见", c.referral),
    ];
    $("c-facts").replaceChildren(...facts.flat());
    $("c-contact-row").hidden = !c.contact;
    if (c.contact && !$("c-contact").dataset.revealed) $("c-contact").textContent = c.contact;
    $("timeline").replaceChildren(...c.timeline.map((t) => h("li", { dataset: { step: t.step } },
      h("b", null, t.step_name), " → ", t.status_name, " ",
      h("span", { class: "t-when" }, M.dt(t.time) + (t.user ? " · " + t.user : "")),
      t.note ? h("div", null, t.note) : null)));
    drawSteps(c);
  }

  function drawSteps(c) {
    const box = $("steps");
    const keep = new Map([...box.querySelectorAll("form")].map((f) => [f.dataset.action, f]));
    const forms = c.actions.map((a) => keep.get(a) || stepForm(a));
    forms.forEach((f) => refreshShown(f));
    box.replaceChildren(...(forms.length ? forms : [h("p", { class: "none" }, "本案件已办结，无需操作")]));
  }

  function field(action, f) {
    const id = "s-" + action + "-" + f.name;
    let input;
    if (f.type === "textarea") input = h("textarea", { id, name: f.name, rows: 3, maxlength: 1000 });
    else if (f.type === "select") {
      input = h("select", { id, name: f.name }, h("option", { value: "" }, "请选择"),
        ...f.options.map(([v, t]) => h("option", { value: v }, t)));
    } else if (f.type === "checkbox") {
      input = h("input", { id, name: f.name, type: "checkbox", checked: !!f.checked });
      return h("div", { class: "chk", dataset: { field: f.name } }, input, h("label", { for: id }, f.label));
    } else if (f.type === "date") { // typed as 年月日 (no mm/dd/yyyy picker), sent as 2026-01-31
      input = h("input", { id, name: f.name, type: "text", maxlength: 20, inputmode: "numeric",
        autocomplete: "off", placeholder: "如 2026年1月31日", dataset: { date: "" } });
    } else input = h("input", { id, name: f.name, type: f.type || "text", maxlength: 200 });
    if (f.required) input.setAttribute("aria-required", "true");
    return h("div", { class: "fld", dataset: { field: f.name } },
      h("label", { for: id }, f.label + (f.required ? "（必填）" : "")), input);
  }

  function values(form) {
    const out = {};
    for (const el of form.elements) {
      if (!el.name) continue;
      out[el.name] = el.type === "checkbox" ? el.checked : el.value.trim();
    }
    return out;
  }

  function refreshShown(form) {
    const v = values(form);
    for (const f of FORMS[form.dataset.action] || []) {
      if (!f.show) continue;
      const node = form.querySelector('[data-field="' + f.name + '"]');
      if (node) node.hidden = !f.show(v, kase || {});
    }
  }

  function stepForm(action) {
    const spec = FORMS[action] || [note()];
    const name = cfg.steps[action] || action;
    const form = h("form", { dataset: { action }, novalidate: true, "aria-label": name },
      h("h3", null, name), ...spec.map((f) => field(action, f)),
      h("button", { type: "submit", dataset: { submit: action } }, name));
    form.addEventListener("change", () => refreshShown(form));
    form.addEventListener("submit", async function (e) {
      e.preventDefault();
      if (busy) return;
      const body = {};
      const v = values(form);
      for (const f of spec) {
        const node = form.querySelector('[data-field="' + f.name + '"]');
        if (node && node.hidden) continue;
        let x = v[f.name];
        if (f.name === "upheld" && x !== "") x = x === "true";
        if (f.type === "date" && x) x = Hall.parseDay(x) || x;
        if (x === "" || x === undefined) continue;
        body[f.name] = x;
      }
      busy = true;
      form.querySelector("button[type=submit]").disabled = true;
      Hall.say($("step-msg"), "");
      try {
        const c = await Hall.api("POST", api + "/" + action, body);
        form.remove(); // done: a fresh form if the same step is offered again (reopen)
        draw(c);
        Hall.say($("step-msg"), name + "：已完成", "ok");
      } catch (err) {
        if (err.status === 401 || err.status === 403) M.fail(err);
        else Hall.say($("step-msg"), err.message, "error");
      } finally {
        busy = false;
        const b = form.querySelector("button[type=submit]");
        if (b) b.disabled = false;
      }
    });
    return form;
  }

  // ------------------------------------------------------------------ data
  async function load() {
    try {
      draw(await Hall.api("GET", api));
    } catch (e) {
      M.fail(e);
    }
  }
  const soon = M.debounce(load, 300);

  $("c-reveal").addEventListener("click", async function () {
    try {
      const r = await Hall.api("POST", api + "/reveal", {});
      $("c-contact").textContent = r.contact || "—";
      $("c-contact").dataset.revealed = "1";
      this.hidden = true;
      $("c-reveal-note").textContent = "已显示（已记入审计日志）";
    } catch (e) {
      M.fail(e);
    }
  });

  M.start({
    ready: load,
    onOpen: soon,
    onEvent: function (ev) {
      if (ev.type === cfg.kind + ".updated" && (ev.data || {}).id === cfg.id) soon();
    },
  });
})();
