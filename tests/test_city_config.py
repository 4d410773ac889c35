"""A city's halls in one config file (issue 13.1): where each hall's data lives, how halls
inherit the city's defaults, and every mistake named by its full key — on the shipped
`config.city.toml` and through `python -m hall check-config`, as an administrator meets them."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from hall.city_config import CityConfig, load_deployment, merged, owns, parse_city
from hall.config import ConfigError, HallConfig
from hall.locate import hall_db, voice_dir

ROOT = Path(__file__).resolve().parent.parent
CITY = ROOT / "config.city.toml"


def test_each_hall_and_the_city_have_their_own_sqlite_file_beside_the_given_one() -> None:
    assert hall_db("var/hall.db", "qiaotou") == "var/hall-qiaotou.db"
    assert hall_db("/srv/hall/data.sqlite", "city") == "/srv/hall/data-city.sqlite"
    assert voice_dir("var/hall.db", "qiaotou") == Path("var/voice-qiaotou")


def test_on_postgresql_each_hall_is_a_schema_named_in_the_search_path() -> None:
    assert hall_db("postgresql://hall@db.example/zwfw", "dongcheng") == \
        "postgresql://hall@db.example/zwfw?search_path=hall_dongcheng"
    # other parameters stay; a search_path given is replaced, never doubled
    assert hall_db("postgresql://hall:pw@db:5432/zwfw?sslmode=require&search_path=x",
                   "city") == \
        "postgresql://hall:pw@db:5432/zwfw?sslmode=require&search_path=hall_city"
    assert hall_db("postgres://h/zwfw", "centre").endswith("?search_path=hall_centre")


@pytest.mark.parametrize("bad", ["", "Centre", "1hall", "a-b", "a b", "../x", "x" * 33])
def test_a_hall_id_that_could_escape_a_file_name_or_a_schema_is_refused(bad: str) -> None:
    with pytest.raises(ValueError):
        hall_db("var/hall.db", bad)


def test_the_shipped_city_config_has_three_levels_with_inherited_defaults() -> None:
    city = load_deployment(CITY)
    assert isinstance(city, CityConfig)
    assert [(s.id, s.level_name) for s in city.halls] == [
        ("centre", "市级政务服务中心"), ("dongcheng", "区县政务服务中心"),
        ("qiaotou", "乡镇（街道）便民服务中心")]
    centre, dongcheng, qiaotou = (s.config for s in city.halls)
    assert centre.hall.name == "示范市政务服务中心"
    # the city's catalogue where a hall has none of its own; the centre's own replaces it
    assert [q.id for q in qiaotou.queues] == ["yibao", "shebao", "huzheng", "zixun"]
    assert "budongchan" in [q.id for q in centre.queues] and "shebao" not in [
        q.id for q in centre.queues]
    # tables merge key by key: dongcheng's own waiting_alarm, the city's other thresholds
    assert (dongcheng.sla.waiting_alarm, dongcheng.sla.idle_minutes) == (8, 5)
    assert (centre.sla.waiting_alarm, qiaotou.hall.open.hour, centre.hall.open.hour) == (10, 9, 8)
    assert [w.name for w in qiaotou.windows] == ["综合受理窗口", "帮办代办窗口"]


def test_merging_is_key_by_key_for_tables_and_whole_for_lists() -> None:
    defaults = {"hall": {"open": "08:30", "skip": {"policy": "void", "recall_last": 3}},
                "queues": [{"id": "a"}, {"id": "b"}]}
    own = {"hall": {"skip": {"policy": "requeue"}}, "queues": [{"id": "c"}]}
    assert merged(defaults, own) == {
        "hall": {"open": "08:30", "skip": {"policy": "requeue", "recall_last": 3}},
        "queues": [{"id": "c"}]}
    assert owns(own, "queues[3].prefix") and owns(own, "hall.skip.policy")
    assert not owns(own, "hall.open") and not owns(own, "sla.waiting_alarm")


def _problems(text: str) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse_city(tomllib.loads(text))
    return caught.value.problems


HALL = """
[[halls]]
id = "{id}"
name = "{name}"
level = "{level}"
[[halls.windows]]
number = 1
name = "1号窗口"
queues = ["yibao"]
"""
CATALOGUE = """
[[queues]]
id = "yibao"
prefix = "A"
name = "医保"
[[services]]
id = "yibao-card"
name = "社会保障卡申领"
queue = "yibao"
"""


def _hall(hall_id: str, level: str = "township", name: str | None = None) -> str:
    return HALL.format(id=hall_id, name=name or f"{hall_id}便民服务中心", level=level)


def test_config_mistakes_name_the_hall_and_the_key() -> None:
    text = CATALOGUE + _hall("centre", "city") + _hall("dongcheng", "district") + """
[[halls]]
id = "qiaotou"
name = "桥头镇便民服务中心"
level = "township"
[[halls.windows]]
number = 2
name = "2号窗口"
queues = ["yibao"]
[[halls.windows]]
number = 2
name = "又一个2号窗口"
queues = ["nope"]
"""
    assert _problems(text) == [
        "halls[2].windows[1].number: duplicate window number 2",
        "halls[2].windows[1].queues: unknown queue 'nope'",
    ]


def test_identity_level_and_city_only_keys_are_checked() -> None:
    text = CATALOGUE + """
[hall]
name = "示范市"
[[windows]]
number = 1
name = "1号窗口"
queues = ["yibao"]
""" + _hall("city") + _hall("Town") + _hall("dup", "county") + _hall("dup") + """
[[halls]]
id = "noname"
level = "village"
[[halls.windows]]
number = 1
name = "1号窗口"
queues = ["yibao"]
"""
    problems = _problems(text)
    assert problems[:2] == [
        "windows: belongs inside each [[halls]] entry (a city's windows are each one hall's)",
        "hall.name: in a city config each hall has its own name (halls[N].name); the city's "
        "is city.name"]
    assert 'halls[0].id: "city" is the city\'s own; choose another id' in problems
    assert any(p.startswith("halls[1].id: use 1 to 32 lower-case letters") for p in problems)
    assert "halls[2].level: must be one of city, district, township, village, got 'county'" \
        in problems
    assert "halls[3].id: duplicate hall id 'dup'" in problems
    assert "halls[4].name: missing" in problems


def test_a_mistake_in_an_inherited_default_says_where_it_came_from() -> None:
    text = CATALOGUE + "[sla]\nwaiting_alarm = 0\n" + _hall("centre", "city") + """
[halls.sla]
waiting_alarm = 5
idle_minutes = -1
""" + _hall("qiaotou")
    assert _problems(text) == [
        "halls[0].sla.idle_minutes: must be greater than 0, got -1",
        "halls[1].sla.waiting_alarm: must be greater than 0, got 0 "
        "(inherited from the top-level sla.waiting_alarm)",
    ]


def test_a_config_without_halls_is_one_hall_as_before() -> None:
    assert isinstance(load_deployment(ROOT / "config.toml"), HallConfig)


def _check_config(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "hall", "check-config", "--config", str(path)],
                          cwd=ROOT, capture_output=True, text=True, timeout=60)


def test_check_config_accepts_the_sample_city_and_lists_its_halls() -> None:
    result = _check_config(CITY)
    assert result.returncode == 0, result.stderr
    last = result.stdout.strip().splitlines()[-1]
    assert "ok — 示范市, 3 halls" in last
    assert "qiaotou (乡镇（街道）便民服务中心) 4 queues, 4 services, 2 windows" in last


def test_check_config_names_each_mistake_of_a_city_file(tmp_path: Path) -> None:
    bad = tmp_path / "city.toml"
    bad.write_text(CITY.read_text(encoding="utf-8").replace(
        'name = "3号窗口"\nkind = "comprehensive"\nqueues = ["huzheng"]',
        'name = "3号窗口"\nkind = "comprehensive"\nqueues = ["huzheng", "budongchan"]'),
        encoding="utf-8")
    result = _check_config(bad)
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        "halls[1].windows[2].queues: unknown queue 'budongchan'"]
