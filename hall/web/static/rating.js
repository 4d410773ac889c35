/* rating.js — the 好差评 form, shared by the window tablet (/evaluate/{n}) and the citizen's
 * phone page (/t/{token}), so both ask the same question the same way.
 *
 * Voluntary by construction (docs/feedback.md): no level is selected until the person taps
 * one, the five levels look alike (same colour, same size, no "recommended"), reasons are
 * only those configured for the chosen level and none is ticked, and "提交" stays disabled
 * until a level is chosen. The page around it offers 跳过 (tablet) or simply nothing (phone).
 *
 * Hall.ratingForm({form, submit(body) → Promise, contact: bool, onSkip(), onActivity()})
 *   form: GET /api/ratings/form or GET /api/evaluate/{n} (levels, reasons).
 *   contact: offer the optional contact field after a 差评 (1, 2), for the call-back.
 * The four indicators of the form (整体满意度, 服务效率, 服务水平, 服务态度) are asked too, each
 * optional and blank ("不评价此项") until chosen; only the chosen ones are sent.
 * Returns {el}. A refusal of submit() is shown inside the form as the server's message.
 */
(function () {
  "use strict";
  const h = Hall.h;
  let made = 0;

  Hall.ratingForm = function (opts) {
    const id = "rf" + ++made;
    const levels = opts.form.levels || [];
    const reasonsOf = opts.form.reasons || {};
    let level = null;
    let busy = false;
    const touch = () => opts.onActivity && opts.onActivity();

    const msg = h("div", { class: "msg", role: "alert", hidden: true });
    const submit = h("button", { type: "submit", class: "rf-submit", disabled: true }, "提交评价");
    const reasonBox = h("div", { class: "rf-chips" });
    const reasons = h("fieldset", { class: "rf-reasons", hidden: true },
      h("legend", null, "原因（可多选，选填）"), reasonBox);
    const comment = h("textarea", { id: id + "-comment", name: "comment", rows: 2,
      maxlength: 500 });
    const contactInput = h("input", { id: id + "-contact", name: "contact", maxlength: 100,
      autocomplete: "tel", inputmode: "tel", "aria-describedby": id + "-contact-note" });
    const contact = opts.contact ? h("div", { class: "rf-field rf-contact", hidden: true },
      h("label", { for: id + "-contact" }, "联系方式（选填，便于回访）"), contactInput,
      h("p", { id: id + "-contact-note", class: "rf-note" },
        "仅用于工作人员回访和答复您，不会在任何公开页面显示。")) : null;

    const indicatorSelects = (opts.form.indicators || []).map(function (ind) {
      const select = h("select", { id: id + "-i-" + ind.key, name: ind.key },
        h("option", { value: "" }, "不评价此项"),
        ...levels.map((l) => h("option", { value: String(l.level) }, l.name + "（" + l.level + "分）")));
      return h("div", { class: "rf-ind" },
        h("label", { for: id + "-i-" + ind.key }, ind.name), select);
    });
    const indicators = indicatorSelects.length ? h("fieldset", { class: "rf-indicators" },
      h("legend", null, "分项评价（选填）"),
      h("div", { class: "rf-ind-grid" }, indicatorSelects)) : null;

    const levelButtons = levels.map(function (l) {
      const input = h("input", { type: "radio", name: id + "-level", value: String(l.level),
        id: id + "-l" + l.level });
      input.addEventListener("change", () => choose(l.level));
      return h("label", { class: "rf-level", for: id + "-l" + l.level, dataset: { level: l.level } },
        input,
        h("span", { class: "rf-face" },
          h("span", { class: "rf-stars", "aria-hidden": "true" }, "★".repeat(l.level)),
          h("span", { class: "rf-name" }, l.name)));
    });

    function choose(value) {
      level = value;
      submit.disabled = busy;
      const list = reasonsOf[String(value)] || [];
      reasonBox.replaceChildren(...list.map(function (r, i) {
        return h("label", { class: "rf-chip", for: id + "-r" + i },
          h("input", { type: "checkbox", id: id + "-r" + i, value: r }), h("span", null, r));
      }));
      reasons.hidden = !list.length;
      if (contact) contact.hidden = value > 2;
      Hall.say(msg, "");
    }

    const el = h("form", { class: "rating-form", novalidate: true },
      h("fieldset", { class: "rf-levels" },
        h("legend", null, "您对本次服务的评价"),
        h("div", { class: "rf-level-row" }, levelButtons)),
      reasons,
      indicators,
      h("div", { class: "rf-field" },
        h("label", { for: id + "-comment" }, "意见建议（选填）"), comment),
      contact,
      msg,
      h("div", { class: "rf-actions" }, submit,
        opts.onSkip ? h("button", { type: "button", class: "secondary rf-skip",
          onclick: function () { if (!busy) opts.onSkip(); } }, "跳过") : null));

    el.addEventListener("input", touch);
    el.addEventListener("click", touch);
    el.addEventListener("submit", async function (e) {
      e.preventDefault();
      if (busy || level === null) return;
      const body = { level: level,
        reasons: Array.from(reasonBox.querySelectorAll("input:checked"), (x) => x.value) };
      if (comment.value.trim()) body.comment = comment.value.trim();
      const chosen = {};
      el.querySelectorAll(".rf-ind select").forEach(function (sel) {
        if (sel.value) chosen[sel.name] = Number(sel.value);
      });
      if (Object.keys(chosen).length) body.indicators = chosen;
      if (contact && !contact.hidden && contactInput.value.trim()) {
        body.contact = contactInput.value.trim();
      }
      busy = true;
      submit.disabled = true;
      Hall.say(msg, "");
      try {
        await opts.submit(body);
      } catch (err) {
        Hall.say(msg, err.message, "error");
      } finally {
        busy = false;
        submit.disabled = level === null;
      }
    });
    return { el };
  };
})();
