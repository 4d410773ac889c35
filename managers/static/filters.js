/* filters.js — a list page's filter form kept in the address bar (a reload or a bookmark keeps
 * the filters), and URLs of this hall with a query. Shared by the hall's manager pages
 * (manage_common.js hands them on as HallManage's) and the city's audit page, which has no
 * hall session. */
(function () {
  "use strict";
  const F = {};
  /** "—" for what the API left empty. */
  F.dash = (v) => (v === null || v === undefined || v === "" ? "—" : String(v));

  /** The filter form ↔ the address bar: a reload or a bookmark keeps the filters. */
  F.read = function (form) {
    const out = {};
    for (const el of form.elements) {
      if (!el.name) continue;
      if (el.type === "checkbox") {
        if (el.checked) out[el.name] = "1";
      } else if (el.dataset.date !== undefined) {
        const day = Hall.parseDay(el.value); // typed as 年月日, sent as the API's 2026-01-31
        if (day) out[el.name] = day;
      } else if (el.value !== "") {
        out[el.name] = el.value;
      }
    }
    return out;
  };
  F.fill = function (form) {
    const q = new URLSearchParams(location.search);
    for (const el of form.elements) {
      if (!el.name || !q.has(el.name)) continue;
      if (el.type === "checkbox") el.checked = q.get(el.name) === "1";
      else if (el.dataset.date !== undefined) el.value = Hall.dayText(q.get(el.name));
      else el.value = q.get(el.name);
    }
  };
  F.keep = function (filters) {
    const qs = new URLSearchParams(filters).toString();
    history.replaceState(null, "", location.pathname + (qs ? "?" + qs : ""));
  };
  /**
   * Wire a filter form: fill it from the address bar, and on start and on every submit read
   * it, keep it in the address bar and hand it to `onFilters` (which sets the CSV links);
   * after a submit, `reload` fetches the list again.
   */
  F.bind = function (form, onFilters, reload) {
    function apply() {
      const filters = F.read(form);
      F.keep(filters);
      onFilters(filters);
    }
    F.fill(form);
    apply();
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      apply();
      reload();
    });
  };
  /** A URL of this hall (Hall.url: with its prefix) with a query string. */
  F.url = function (base, params) {
    const qs = new URLSearchParams(params || {}).toString();
    return Hall.url(base + (qs ? "?" + qs : ""));
  };

  window.HallFilters = F;
})();
