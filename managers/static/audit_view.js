/* audit_view.js — an audit log's page (audit_panels.html), for a hall's /manage/audit and the
 * city's /city/audit: the chain check (完整, or the first row edited or removed), the log newest
 * first with filters kept in the address bar, pages by keyset (the server's `next`; a stack of
 * the pages seen for 较新的记录), and the same filters as CSV. Names come from the server
 * (action_name, target_text…): the page only lays them out. Whose log and how a refusal is
 * shown is the page's: `HallAuditView({api, fail, say})` (`api`: the log's URL as Hall.url made
 * it) returns `ready`, which the page calls once its session is known. The filter helpers are
 * filters.js's. */
(function () {
  "use strict";
  const $ = (id) => document.getElementById(id);
  const PAGE = 100;

  window.HallAuditView = function (opts) {
    const F = HallFilters;
    const api = opts.api;
    let filters = {};
    let pages = [null]; // the `before` of each page seen; the last is the one shown
    let next = null;
    let asked = 0;

    async function checkChain() {
      const el = $("chain");
      el.className = "chain";
      el.textContent = "正在校验…";
      $("chain-head").textContent = "";
      $("chain-again").disabled = true;
      try {
        const s = await Hall.api("GET", api + "/chain");
        const parts = [];
        if (s.chain_ok) {
          parts.push("完整：共 " + s.rows + " 条记录。");
        } else {
          parts.push("校验失败：" + s.reason + "（第" + s.first_bad + "条）");
        }
        if (!s.guarded) parts.push("防止修改和删除的数据库触发器已被移除，请立即核查。");
        el.textContent = parts.join(" ");
        el.className = "chain hl " + (s.ok ? "hl-ok" : "hl-bad");
        el.dataset.ok = s.ok ? "1" : "0";
        el.dataset.firstBad = s.first_bad || "";
        // the chain cannot tell that its newest rows were cut off: the head, noted, can
        $("chain-head").textContent = s.chain_ok ? s.head : "—";
      } catch (e) {
        opts.fail(e);
      } finally {
        $("chain-again").disabled = false;
      }
    }

    function rowOf(r) {
      return Hall.h("tr", { class: r.success ? "" : "bad", dataset: { id: r.id } },
        Hall.h("td", { class: "num" }, String(r.id)),
        Hall.h("td", null, r.time_text),
        Hall.h("td", null, F.dash(r.user_name)),
        Hall.h("td", null, r.action_name),
        Hall.h("td", null, F.dash(r.target_text)),
        Hall.h("td", null, F.dash(r.source_name)),
        Hall.h("td", null, r.success ? "成功" : Hall.h("strong", null, "失败")),
        Hall.h("td", null, F.dash(r.detail_text)));
    }

    async function load() {
      const mine = ++asked;
      const before = pages[pages.length - 1];
      const query = Object.assign({ limit: PAGE }, filters, before ? { before } : {});
      try {
        const d = await Hall.api("GET", F.url(api, query));
        if (mine !== asked) return;
        next = d.next;
        $("rows").replaceChildren(...(d.audit.length ? d.audit.map(rowOf) : [Hall.h("tr", null,
          Hall.h("td", { colspan: 8, class: "muted" }, "没有符合条件的记录"))]));
        $("page-no").textContent = "（第 " + pages.length + " 页，每页 " + PAGE + " 条）";
        $("newer").disabled = pages.length < 2;
        $("older").disabled = next === null;
        opts.say("");
      } catch (e) {
        opts.fail(e);
      }
    }

    $("older").addEventListener("click", function () {
      if (next === null) return;
      pages.push(next);
      load();
    });
    $("newer").addEventListener("click", function () {
      if (pages.length < 2) return;
      pages.pop();
      load();
    });
    $("chain-again").addEventListener("click", checkChain);

    F.bind($("filters"), function (chosen) {
      filters = chosen;
      pages = [null];
      $("csv").href = F.url(api, Object.assign({ format: "csv" }, filters));
    }, load);
    return {
      ready: function () {
        checkChain();
        return load();
      },
    };
  };
})();
