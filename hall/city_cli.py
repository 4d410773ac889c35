"""The command line for a city config (`[[halls]]`, hall/city_config.py): which hall a command
acts on, the city's accounts, what `serve` owns and prints. `hall/cli.py` calls these where a
city differs from one hall, so a single-hall config runs exactly the code it always ran.

* `serve` builds the city app (hall/city_app.py), owns every hall's store and the city's,
  and prints the overview's URL and every hall's pages under /h/{id}.
* `user add NAME --role R --hall ID` adds an account to that hall's store (it logs in at
  /h/ID/… and sees that hall only); `--city` a city manager (manager or admin) to the city's.
* `device add|remove|list --hall ID` enrols devices of that hall.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable, Coroutine
from dataclasses import replace
from typing import Any, TypeVar

from starlette.applications import Starlette

from hall.city_config import CityConfig, load_deployment
from hall.config import ConfigError, HallConfig
from hall.locate import CITY, hall_db

T = TypeVar("T")

Lines = Callable[[HallConfig], list[str]]  # cli.warnings, cli.notes


def reported(loader: Callable[[str], T], path: str) -> T | None:
    """`loader(path)`, or None with its mistakes printed one per line."""
    try:
        return loader(path)
    except ConfigError as exc:
        for line in exc.problems:
            print(line, file=sys.stderr)
        return None


def load(path: str) -> HallConfig | CityConfig | None:
    """One hall's config or a city's; None (problems printed) when it has mistakes."""
    return reported(load_deployment, path)


def hall_target(args: argparse.Namespace) -> tuple[HallConfig, str] | None:
    """The hall a command acts on and its store: the config's only hall, or in a city config
    the one named by `--hall` (its store named from `--db`, hall/locate.py). None (said why)
    when the command does not say which hall, or names one the config does not have."""
    deployment = load(args.config)
    if deployment is None:
        return None
    hall_id = getattr(args, "hall", None)
    if isinstance(deployment, HallConfig):
        if hall_id:
            print(f"{args.config} 只有一个大厅，不用 --hall", file=sys.stderr)
            return None
        return deployment, args.db
    ids = "、".join(s.id for s in deployment.halls)
    if not hall_id:
        print(f"{args.config} 有多个大厅，请用 --hall 指定（{ids}）"
              + ("；城市管理账号用 --city" if hasattr(args, "city") else ""), file=sys.stderr)
        return None
    site = deployment.site(hall_id)
    if site is None:
        print(f"{args.config} 中没有大厅 {hall_id}（有：{ids}）", file=sys.stderr)
        return None
    return site.config, hall_db(args.db, site.id)


def user_add(args: argparse.Namespace, password: str) -> int:
    """`user add --city`: a city manager, in the city's store (hall/city_desk.py)."""
    deployment = load(args.config)
    if deployment is None:
        return 1
    if not isinstance(deployment, CityConfig):
        print(f"{args.config} 只有一个大厅，没有城市管理账号（--city 用于有多个大厅的配置）",
              file=sys.stderr)
        return 1
    if args.staff_no:
        print("城市管理账号不登录窗口，不用 --staff-no", file=sys.stderr)
        return 1
    from hall.city_desk import CityDesk

    async def run() -> bool:
        desk = await CityDesk.open(hall_db(args.db, CITY), deployment.tz)
        try:
            await desk.add_user(args.name, args.role, password)
        finally:
            await desk.close()
        return True

    if run_refusable(run()) is None:
        return 1
    print(f"user {args.name} ({args.role}) added to the city")
    return 0


def run_refusable(work: Coroutine[Any, Any, T]) -> T | None:
    """Run a command's `work` on a store: None when the hall refused it (its Chinese message
    printed on stderr), so every command reports a refusal alike."""
    from hall import errors

    try:
        return asyncio.run(work)
    except errors.HallError as exc:
        print(exc.message, file=sys.stderr)
        return None


def add_arguments(add: argparse.ArgumentParser, city: bool) -> None:
    """`--hall` (and for accounts `--city`) on a command that acts on one hall's store."""
    scope = add.add_mutually_exclusive_group() if city else add
    scope.add_argument("--hall", help="in a city config: the hall (its id) this is for")
    if city:
        scope.add_argument("--city", action="store_true",
                           help="in a city config: a city manager (manager or admin), who "
                           "sees the overview of every hall at /city")


def databases(deployment: HallConfig | CityConfig, db: str) -> list[str]:
    """Every store a server of this config owns: the hall's, or each hall's and the city's."""
    if isinstance(deployment, HallConfig):
        return [db]
    return [hall_db(db, s.id) for s in deployment.halls] + [hall_db(db, CITY)]


def without_hours(city: CityConfig) -> CityConfig:
    """`serve --no-hours` for every hall (demos and tests)."""
    return replace(city, halls=tuple(
        replace(s, config=replace(s.config, hall=replace(s.config.hall, enforce_hours=False)))
        for s in city.halls))


def check_lines(path: str, city: CityConfig, warnings: Lines, notes: Lines) -> list[str]:
    """What `check-config` prints for a good city file: each hall's warnings and notes, then
    one line naming the halls."""
    out = [f"halls[{i}] {site.id}: {line}" for i, site in enumerate(city.halls)
           for line in [*warnings(site.config), *notes(site.config)]]
    out.append(f"{path}: ok — {city.name}, {len(city.halls)} halls: " + "; ".join(
        f"{s.id} ({s.level_name}) {len(s.config.queues)} queues, {len(s.config.services)} "
        f"services, {len(s.config.windows)} windows, {len(s.config.devices)} devices"
        for s in city.halls))
    return out


def serve_app(city: CityConfig, db: str, base: str, public_url: str,
              warnings: Lines) -> Starlette:
    """The city app, having printed the overview's URL and every hall's pages."""
    from hall.city_app import build_city_app, city_page_urls

    app = build_city_app(city, db, public_url=city.public_url or public_url)
    print(f"{city.name} — {len(city.halls)} 个大厅 — serving on {base}", flush=True)
    print(f"  {'城市总览 city overview':28} {base}/city", flush=True)
    for site, (title, urls) in zip(city.halls, city_page_urls(base, city), strict=True):
        print(title, flush=True)
        for line in warnings(site.config):
            print(f"  {line}", flush=True)
        for label, url in urls:
            print(f"  {label:28} {url}", flush=True)
    return app
