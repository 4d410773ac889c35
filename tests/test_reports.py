"""Manager figures: the pure arithmetic, and the endpoints on a real server."""

from __future__ import annotations

import json

import httpx

from hall.alarms import QueueFacts, Thresholds, WindowFacts, queue_conditions, window_conditions
from tests.conftest import HallServer


def test_alarms_name_the_queue_and_window() -> None:
    queues = [QueueFacts("A", "医保", 12, 0.0, 10, 15), QueueFacts("B", "社保", 0, None, 10, 15)]
    limits = Thresholds(idle_minutes=30, away_minutes=10, pause_minutes=30)

    def window(number: int, **facts: object) -> WindowFacts:
        base: dict[str, object] = dict(
            name=f"{number}号窗口", clerk="clerk", paused=False, pause_reason=None, since=0.0,
            current=None, started_at=None, service_name=None, norm_minutes=None,
            waiting_since=None, closed_today=False)
        return WindowFacts(number, **{**base, **facts})  # type: ignore[arg-type]

    windows = [window(1, paused=True, pause_reason="午休"),
               window(2, current="B003", started_at=0.0, service_name="退休", norm_minutes=10),
               window(3, waiting_since=0.0)]
    found = [(c.kind, c.key) for c in queue_conditions(queues, now=3600)
             + window_conditions(windows, 3600, limits)]
    assert found == [("queue_long", "A"), ("wait_long", "A"), ("pause_long", "1"),
                     ("handling_long", "2/B003"), ("window_idle", "3")]


def test_stats_and_alarms_endpoints(hall_server: HallServer) -> None:
    first = hall_server.issue("yibao-card")
    for _ in range(2):
        hall_server.issue("yibao-card")
    clerk = hall_server.clerk(1)
    clerk.post("/api/windows/1/call")
    clerk.post("/api/windows/1/start")
    clerk.post("/api/windows/1/finish", json={"outcome": "done"})
    hall_server.add_user("boss", "manager")
    boss = hall_server.login("boss", None)
    stats = boss.get("/api/manage/stats?by=window").json()["stats"]
    served = {s["window"]: s["served"] for s in stats}
    assert served[1] == 1 and served[None] == 0
    by_queue = boss.get("/api/manage/stats").json()["stats"]
    assert [(s["queue"], s["issued"]) for s in by_queue] == [("yibao", 3)]
    csv = boss.get("/api/manage/stats?format=csv&by=clerk")
    assert csv.status_code == 200 and "clerk1" in csv.text
    assert boss.get("/api/manage/stats?from=yesterday").status_code == 400
    assert boss.get("/api/manage/stats?by=mood").status_code == 422
    assert boss.get("/api/manage/stats?per=fortnight").status_code == 422
    # a 差评 shows among the alarms, by case id and window only
    served = httpx.get(f"{hall_server.url}/api/tickets/{first['token']}").json()
    assert served["state"] == "done"
    rated = httpx.post(f"{hall_server.url}/api/tickets/{first['token']}/rating",
                       json={"level": 1, "contact": "13812345678"})
    assert rated.status_code == 201, rated.text
    alarms = boss.get("/api/manage/alarms").json()["alarms"]
    new_case = [a for a in alarms if a["kind"] == "rectification_new"]
    assert len(new_case) == 1 and new_case[0]["window"] == 1
    assert "13812345678" not in json.dumps(alarms) and "5678" not in json.dumps(alarms)
    users = boss.get("/api/manage/users").json()["users"]
    assert {u["username"] for u in users} >= {"boss", "clerk1"}
    assert all("pwhash" not in u for u in users)
    assert httpx.get(hall_server.url + "/api/manage/stats").status_code == 401
