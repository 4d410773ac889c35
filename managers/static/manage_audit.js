/* manage_audit.js — /manage/audit (审计日志: the auditor and the admin): the hall's own log in
 * audit_view.js's page, behind the manager pages' session (manage_common.js). */
(function () {
  "use strict";
  const M = HallManage;
  const view = HallAuditView({ api: Hall.url("/api/manage/audit"), fail: M.fail, say: M.say });
  M.start({ ready: view.ready });
})();
