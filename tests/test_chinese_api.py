"""Every error a person can be shown is Chinese (issue 8 item 9).

Pages put `error.message` in front of citizens, clerks and managers as it is, so the test walks
every refusal it can reach on a real server — missing and invalid fields on every JSON route,
wrong roles, bad dates, illegal states — and asserts no message holds an English word, a field
name or a state code. The rule is "no run of two ASCII letters": a ticket number (A001) or a
date (2026-01-31) is fine, `description`, `(serving)` or `YYYY-MM-DD` is not. Field names stay
available to machines in `error.field`.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import Any

import httpx

from tests.conftest import HallServer

ENGLISH = re.compile(r"[A-Za-z]{2,}")
ROOT = Path(__file__).resolve().parent.parent
REFUSALS = {"bad_request", "invalid", "not_found", "conflict", "forbidden", "unauthenticated",
            "HallError"}


class Collector:
    """Sends requests that must be refused and keeps every (request, message) pair."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, int, str, str]] = []

    def expect(self, response: httpx.Response, what: str) -> dict[str, Any]:
        assert 400 <= response.status_code < 500, (what, response.status_code, response.text)
        error = response.json()["error"]
        self.seen.append((what, response.status_code, error["code"], error["message"]))
        return error


def _walk(server: HallServer) -> Collector:
    c = Collector()
    anon = httpx.Client(base_url=server.url, timeout=10)
    clerk = server.clerk(1)
    server.add_user("boss", "manager")
    boss = server.login("boss", None)
    server.add_user("audit", "auditor")
    auditor = server.login("audit", None)

    # public: tickets
    c.expect(anon.post("/api/tickets", content=b""), "empty body")
    c.expect(anon.post("/api/tickets", content=b"{nope"), "malformed json")
    c.expect(anon.post("/api/tickets", json=[1]), "json not an object")
    c.expect(anon.post("/api/tickets", json={}), "missing service")
    c.expect(anon.post("/api/tickets", json={"service": 5}), "service not a string")
    c.expect(anon.post("/api/tickets", json={"service": "nope"}), "unknown service")
    for field, value in (("priority", "vip"), ("needs_help", "yes"), ("channel", "fax"),
                         ("kiosk", 3)):
        c.expect(anon.post("/api/tickets", json={"service": "yibao-card", field: value}),
                 f"ticket {field}")
    c.expect(anon.post("/api/tickets", json={"service": "yibao-card"},
                       headers={"Idempotency-Key": "k" * 300}), "idempotency key")
    c.expect(anon.get("/api/tickets/nosuchtoken"), "unknown token")
    c.expect(anon.get("/api/nowhere"), "unknown route")
    c.expect(anon.delete("/api/tickets"), "wrong method")

    # public: ratings and complaints
    ticket = server.issue()
    token = ticket["token"]
    rate = f"/api/tickets/{token}/rating"
    c.expect(anon.post(rate, json={"level": 5}), "rate before served")
    for body in ({}, {"level": "x"}, {"level": 9}, {"level": 5, "reasons": "x"},
                 {"level": 1, "reasons": ["nonsense"]}, {"level": 5, "indicators": 3},
                 {"level": 5, "indicators": {"speed": 4}},
                 {"level": 5, "indicators": {"efficiency": 9}}, {"level": 5, "comment": 7},
                 {"level": 5, "comment": "长" * 600}, {"level": 5, "invited": "yes"},
                 {"level": 5, "bogus": 1}):
        c.expect(anon.post(rate, json=body), f"rating {body}")
    for body in ({}, {"description": ""}, {"description": 5}, {"description": "x" * 2000},
                 {"description": "办不成", "service": "nope"},
                 {"description": "办不成", "window": "one"},
                 {"description": "办不成", "window": 99},
                 {"description": "办不成", "ticket": 5},
                 {"description": "办不成", "ticket": "nosuch"},
                 {"description": "办不成", "contact": 12}, {"description": "办不成", "x": 1}):
        c.expect(anon.post("/api/complaints", json=body), f"complaint {body}")
    c.expect(anon.post("/api/evaluate/1", json={}), "evaluate without number")
    c.expect(anon.post("/api/evaluate/1", json={"number": "A001", "level": 5}),
             "evaluate nothing pending")
    c.expect(anon.get("/api/evaluate/99"), "evaluate unknown window")

    # clerks: auth and roles
    for body in ({}, {"username": "x"}, {"username": "clerk1", "password": "wrong-pass"},
                 {"username": "clerk1", "password": "Tulip-7741-q"},
                 {"username": "clerk1", "password": "Tulip-7741-q", "window": "one"},
                 {"username": "clerk1", "password": "Tulip-7741-q", "window": 99},
                 {"username": "audit", "password": "Tulip-7741-q", "window": 1}):
        c.expect(anon.post("/api/login", json=body), f"login {body}")
    c.expect(anon.post("/api/windows/1/call"), "call without login")
    c.expect(anon.get("/api/me"), "me without login")
    c.expect(clerk.post("/api/windows/2/call"), "other window")
    c.expect(clerk.get("/api/windows/2"), "read other window")
    c.expect(clerk.get("/api/manage/stats"), "clerk on manager route")
    c.expect(boss.get("/api/manage/audit"), "manager on audit route")
    c.expect(auditor.get("/api/manage/ratings"), "auditor on manager route")

    # clerks: states and bodies
    for step in ("recall", "start", "skip", "hold", "resume"):
        c.expect(clerk.post(f"/api/windows/1/{step}"), f"{step} when idle")
    c.expect(clerk.post("/api/windows/1/finish", json={"outcome": "done"}), "finish when idle")
    c.expect(clerk.post("/api/windows/1/call", json={"number": 5}), "call number not a string")
    c.expect(clerk.post("/api/windows/1/call", json={"number": "??"}), "call bad number")
    c.expect(clerk.post("/api/windows/1/call", json={"number": "A999"}), "call unknown number")
    c.expect(clerk.post("/api/windows/1/callback", json={}), "callback without number")
    c.expect(clerk.post("/api/windows/1/callback", json={"number": "A001"}),
             "callback not held")
    assert clerk.post("/api/windows/1/call").status_code == 200
    c.expect(clerk.post("/api/windows/1/call"), "call while busy")
    c.expect(clerk.post("/api/windows/1/resume"), "resume when not paused")
    c.expect(clerk.post("/api/windows/1/finish", json={"outcome": "perfect"}), "bad outcome")
    c.expect(clerk.post("/api/windows/1/finish", json={"outcome": "done", "note": 3}),
             "note not text")
    c.expect(clerk.post("/api/windows/1/finish", json={"outcome": "rejected"}),
             "reject without reason")
    for body in ({}, {"queue": "nope"}, {"window": "two"}, {"window": 1},
                 {"queue": "yibao", "window": 2}):
        c.expect(clerk.post("/api/windows/1/transfer", json=body), f"transfer {body}")
    c.expect(clerk.post("/api/windows/1/complaint", json={"description": "办不成"}),
             "complaint at a normal window")
    assert clerk.post("/api/windows/1/start").status_code == 200
    c.expect(clerk.post("/api/windows/1/start"), "start while serving")
    c.expect(clerk.post("/api/windows/1/skip"), "skip while serving")
    assert clerk.post("/api/windows/1/pause", json={"reason": "x"}).status_code in (200, 409)

    # managers: lists, dates, cases
    for query in ("from=2026-13-01", "from=2026-05-02&to=2026-05-01", "by=weather",
                  "from=yesterday"):
        c.expect(boss.get(f"/api/manage/stats?{query}"), f"stats {query}")
    for query in ("from=2026-05-02&to=2026-05-01", "from=soon", "window=two", "level=9",
                  "channel=fax"):
        c.expect(boss.get(f"/api/manage/ratings?{query}"), f"ratings {query}")
    for plural in ("rectifications", "complaints"):
        for query in ("status=lost", "from=2026-05-02&to=2026-05-01", "to=never"):
            c.expect(boss.get(f"/api/manage/{plural}?{query}"), f"{plural} {query}")
        c.expect(boss.get(f"/api/manage/{plural}/999"), f"{plural} unknown case")
        c.expect(boss.post(f"/api/manage/{plural}/999/close", json={}), f"{plural} no case")
    c.expect(boss.get("/api/manage/events?limit=lots"), "events limit")
    c.expect(boss.get("/api/manage/figures?from=x"), "figures date")

    for body in ({}, {"force_logout": "yes"}, {"colour": "red"}, {"queues": ["nope"]},
                 {"queues": []}, {"order": "odd"}, {"closed": 1}):
        c.expect(boss.patch("/api/manage/windows/1", json=body), f"window change {body}")
    c.expect(boss.patch("/api/manage/windows/10", json={"queues": ["yibao"]}), "queue unserved")
    for body in ({}, {"name": "", "queues": ["yibao"]}, {"name": "临时", "queues": ["nope"]},
                 {"number": 1, "name": "临时", "queues": ["yibao"]}, {"name": "临时"},
                 {"number": "x", "name": "临时", "queues": ["yibao"]}, {"colour": "red"}):
        c.expect(boss.post("/api/manage/windows", json=body), f"temporary window {body}")
    for body in ({}, {"daily_cap": 0}, {"daily_cap": 100000}, {"daily_cap": "x"},
                 {"open_until_empty": "yes"}, {"colour": "red"}):
        c.expect(boss.patch("/api/manage/queues/yibao", json=body), f"queue change {body}")
    c.expect(boss.patch("/api/manage/queues/nope", json={"daily_cap": 5}), "unknown queue")
    for body in ({}, {"date": "soon"}, {"date": "2020-01-01"}, {"date": "2099-01-01", "note": 5}):
        c.expect(boss.post("/api/manage/open-days", json=body), f"open day {body}")
    c.expect(boss.post("/api/manage/deadlines/999/complete"), "unknown application")
    c.expect(boss.get("/api/manage/stats?per=decade"), "stats period")
    for query in ("by=queue", "per=decade", "from=2026-05-02&to=2026-05-01", "to=never"):
        c.expect(boss.get(f"/api/manage/productivity?{query}"), f"productivity {query}")
    c.expect(boss.get("/api/manage/charts/pie.svg"), "unknown chart")
    c.expect(boss.get("/api/manage/charts/trend.svg?from=soon"), "chart date")
    c.expect(boss.get("/api/manage/charts/trend.svg?from=1970-01-01&to=2999-12-31"),
             "chart over centuries")
    c.expect(clerk.get("/api/manage/charts/trend.svg"), "clerk on a chart")
    c.expect(boss.get("/api/manage/priority?from=x"), "priority date")
    c.expect(boss.get("/api/manage/priority?from=2026-05-02&to=2026-05-01"), "priority to<from")
    c.expect(anon.post("/api/devices/enrol", json={"code": "nope"}), "enrol wrong code")
    c.expect(anon.post("/api/devices/enrol", json={}), "enrol without code")
    for body in ({}, {"number": 5}, {"number": "A999", "reason": "vip"}):
        c.expect(clerk.post("/api/windows/1/priority", json=body), f"grant priority {body}")
    c.expect(anon.post(f"/api/tickets/{token}/fix-rating", json={}), "fix rating without a case")
    # alarms: acknowledging and the record
    c.expect(boss.post("/api/manage/alarms/999/ack", json={}), "ack unknown alarm")
    c.expect(clerk.post("/api/manage/alarms/1/ack", json={}), "ack as a clerk")
    for body in ({"note": 5}, {"note": "长" * 300}, {"colour": "red"}):
        c.expect(boss.post("/api/manage/alarms/1/ack", json=body), f"ack {body}")
    for query in ("kind=weather", "status=lost", "from=soon", "from=2026-05-02&to=2026-05-01"):
        c.expect(boss.get(f"/api/manage/alarms?history=1&{query}"), f"alarm history {query}")

    opened = anon.post("/api/complaints", json={"description": "材料要求不明确"})
    assert opened.status_code == 201, opened.text
    case = f"/api/manage/complaints/{opened.json()['id']}"
    c.expect(boss.post(case + "/fly", json={}), "unknown action")
    c.expect(boss.post(case + "/answer", json={}), "answer too early")
    for body in ({}, {"class": "huge"}, {"class": "out_of_scope"},
                 {"class": "simple", "category": "天气"}):
        c.expect(boss.post(case + "/assess", json=body), f"assess {body}")
    assert boss.post(case + "/assess", json={"class": "complex"}).status_code == 200
    c.expect(boss.post(case + "/answer", json={"note": "好"}), "answer before resolve")
    for body in ({}, {"department": "月球局"}, {"department": "税务局", "chief": "yes"}):
        c.expect(boss.post(case + "/assign", json=body), f"assign {body}")
    c.expect(boss.post(case + "/follow_up", json={"view": "happy"}), "follow up too early")

    # accounts and the audit log (issue 10.3, 10.6)
    server.add_user("root", "admin")
    root = server.login("root", None)
    for body in ({}, {"username": "x"}, {"username": "新 人", "role": "clerk"},
                 {"username": "sun", "role": "king"},
                 {"username": "sun", "role": "clerk", "password": "short"},
                 {"username": "sun", "role": "clerk", "password": "sun-2026-abc"},
                 {"username": "sun", "role": "clerk", "password": "Password123"},
                 {"username": "sun", "role": "clerk", "staff_no": "1"},
                 {"username": "sun", "role": "clerk", "staff_no": "x", "pin": "1234"},
                 {"username": "sun", "role": "clerk", "staff_no": "7", "pin": "12"},
                 {"username": "boss", "role": "clerk"}, {"username": "sun", "x": 1}):
        c.expect(root.post("/api/manage/users", json=body), f"add user {body}")
    for body in ({}, {"active": "no"}, {"role": "king"}, {"unlock": False},
                 {"reset_password": 1}, {"password": "x"}):
        c.expect(root.patch("/api/manage/users/boss", json=body), f"change user {body}")
    c.expect(root.patch("/api/manage/users/root", json={"active": False}), "last admin")
    c.expect(root.patch("/api/manage/users/root", json={"role": "clerk"}), "last admin role")
    c.expect(boss.post("/api/manage/users", json={"username": "sun"}), "manager adds")
    c.expect(boss.patch("/api/manage/users/clerk1", json={"unlock": True}), "manager unlocks")
    c.expect(auditor.get("/api/manage/users"), "auditor lists users")
    for body in ({}, {"old": "x"}, {"old": "x", "new": "short"}, {"x": 1},
                 {"old": "wrong-password", "new": "Better-pass-1"},
                 {"old": "Tulip-7741-q", "new": "Tulip-7741-q"}):
        c.expect(clerk.post("/api/password", json=body), f"change password {body}")
    c.expect(anon.post("/api/password", json={"old": "x", "new": "y"}), "password anonymous")
    for query in ("success=maybe", "from=soon", "before=x", "from=2026-05-02&to=2026-05-01",
                  "user=" + "u" * 200):
        c.expect(auditor.get(f"/api/manage/audit?{query}"), f"audit {query}")
    c.expect(boss.get("/api/manage/audit/chain"), "manager on the chain check")
    return c


def test_every_error_message_is_chinese(hall_server: HallServer) -> None:
    collected = _walk(hall_server)
    assert len(collected.seen) > 100
    english = [(what, status, code, message) for what, status, code, message in collected.seen
               if ENGLISH.search(message)]
    assert not english, "\n".join(map(str, english))


def test_field_names_stay_for_machines(hall_server: HallServer) -> None:
    """The page that needs to know which input was wrong reads `field`, not the message."""
    r = httpx.post(hall_server.url + "/api/complaints", json={"description": ""}, timeout=10)
    assert r.status_code == 422
    error = r.json()["error"]
    assert error == {"code": "description_required", "field": "description",
                     "message": "请填写反映内容"}


def _message_literals(path: Path) -> list[tuple[int, str]]:
    """The literal text of the message argument of every refusal raised in a module (the
    parts of an f-string outside its {fields})."""
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not isinstance(node, ast.Call):
            continue
        name = getattr(node.func, "attr", None) or getattr(node.func, "id", None)
        if name not in REFUSALS:
            continue
        position = 2 if name == "HallError" else 0
        message = node.args[position] if len(node.args) > position else None
        for kw in node.keywords:
            if kw.arg == "message":
                message = kw.value
        parts = message.values if isinstance(message, ast.JoinedStr) else [message]
        text = "".join(p.value for p in parts
                       if isinstance(p, ast.Constant) and isinstance(p.value, str))
        out.append((node.lineno, text))
    return out


def test_no_refusal_in_the_source_is_written_in_english() -> None:
    """The paths the walk above cannot reach (a printer out of paper, a locked account) are
    held to the same rule by reading every refusal's message in the source."""
    files = [p for d in ("hall", "counters", "displays") for p in sorted((ROOT / d).glob("*.py"))]
    found = [(f"{p.relative_to(ROOT)}:{line}", text) for p in files
             for line, text in _message_literals(p) if ENGLISH.search(text)]
    assert len([p for p in files if _message_literals(p)]) >= 6  # the scan sees the modules
    assert not found, found
