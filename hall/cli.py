"""`python -m hall serve | check-config | user add | device add | migrate` — the same on a
laptop, a hall server and in tests.

Issue 9.6: every command runs with umask 077, so whatever it creates (the database, its -wal
and -shm, the lock file, the voice WAVs) is the owner's only, whatever the shell's umask. A
`serve` that cannot start (port taken, config unreadable, database unusable, database owned by
another server) says why in Chinese on stderr and exits non-zero without holding the port.
"""

from __future__ import annotations

import argparse
import getpass
import os
import socket
import sys
from datetime import datetime
from typing import Any

from hall import city_cli
from hall.city_config import CityConfig
from hall.config import HallConfig, coverage_warning, load_config


def _load(path: str) -> HallConfig | None:
    return city_cli.reported(load_config, path)


def warnings(config: HallConfig) -> list[str]:
    """What is valid but will go wrong soon: a warning, not a mistake, so a hall with a good
    file keeps serving (the exit status stays 0) while someone types next year's holidays in."""
    today = datetime.now(config.hall.tz).date()
    warning = coverage_warning(config.workdays, today)
    return [f"警告 workdays: {warning} (升级 chinese-calendar，或在 [workdays] 填写 holidays、"
            f"makeup_days 和 covered_until)"] if warning else []


def notes(config: HallConfig) -> list[str]:
    """What check-config tells about a valid file that a hall may not expect: items without
    a handling norm raise no 办理超时 alarm (docs/alarms.md)."""
    bare = [s.name for s in config.services if s.norm_minutes is None]
    if not bare:
        return []
    return [f"提示 services: {'、'.join(bare)} 未设 norm_minutes（办理标准，分钟），"
            "办理这些事项不会发出办理超时告警"]


def cmd_check_config(args: argparse.Namespace) -> int:
    config = city_cli.load(args.config)
    if config is None:
        return 1
    if isinstance(config, CityConfig):  # several halls (hall/city_config.py)
        print("\n".join(city_cli.check_lines(args.config, config, warnings, notes)))
        return 0
    for line in [*warnings(config), *notes(config)]:
        print(line)
    print(f"{args.config}: ok — {len(config.queues)} queues, {len(config.services)} services, "
          f"{len(config.windows)} windows, {len(config.devices)} devices")
    return 0


EXIT_STARTUP = 3  # could not start: the message on stderr says why


def cmd_serve(args: argparse.Namespace) -> int:
    deployment = city_cli.load(args.config)
    if deployment is None:
        print("refusing to serve with a bad configuration", file=sys.stderr)
        return 1
    import uvicorn

    from hall.app import build_app, page_urls, public_base
    from hall.store import DatabaseInUse, lock_database
    from hall.store_pg import is_postgres

    try:
        # one process owns a database file for its whole life (released by the kernel on exit,
        # also on kill -9); the descriptor stays open until the process ends. On PostgreSQL
        # any number of processes share one database (hall/store_pg.py).
        for db in city_cli.databases(deployment, args.db):  # a city: every hall's and its own
            if not is_postgres(db):
                lock_database(db)
    except DatabaseInUse as exc:
        print(f"数据库文件 {exc.path} 正被另一个大厅服务进程 (pid {exc.pid}) 使用，拒绝启动。"
              "同一数据库文件只能由一个服务进程使用。", file=sys.stderr)
        return EXIT_STARTUP
    except OSError as exc:
        print(f"无法使用数据库文件 {args.db}：{exc.strerror or exc}", file=sys.stderr)
        return EXIT_STARTUP
    city = deployment if isinstance(deployment, CityConfig) else None
    if city is not None and args.no_hours:
        city = city_cli.without_hours(city)
    # one process, one listening socket: a city's server-wide settings are its first hall's
    config = city.halls[0].config if city is not None else deployment
    assert isinstance(config, HallConfig)
    try:
        listener = _listen(args.host, args.port, config.hall.send_buffer_bytes)
    except OSError as exc:
        print(f"无法监听 {args.host}:{args.port}：{exc.strerror or exc}（端口已被占用？）",
              file=sys.stderr)
        return EXIT_STARTUP

    if args.no_hours:
        from dataclasses import replace
        config = replace(config, hall=replace(config.hall, enforce_hours=False))
    public_url = config.hall.public_url or public_base(args.host, args.port)
    base = f"http://{args.host}:{args.port}"
    if city is not None:
        app = city_cli.serve_app(city, args.db, base, public_base(args.host, args.port),
                                 warnings)
    else:
        app = build_app(config, args.db, public_url=public_url)
        print(f"{config.hall.name} — serving on {base}", flush=True)
        for line in warnings(config):
            print(line, flush=True)
        for label, url in page_urls(base, config):
            print(f"  {label:28} {url}", flush=True)
    print(raise_open_files_limit(), flush=True)
    from hall.timeouts import deadline_protocol

    # stack-notes.md: per-message compression costs 2x memory and CPU per screen; the access
    # log costs a fifth of the throughput. Issue 9.5: the size of a client's WebSocket message
    # and the time to send a request are bounded (hall.timeouts).
    server = uvicorn.Server(uvicorn.Config(
        app, access_log=False, log_level="warning", ws_per_message_deflate=False,
        ws="websockets-sansio", backlog=4096, ws_max_size=config.hall.ws_max_message_bytes,
        http=deadline_protocol(config.hall.header_timeout_seconds,
                               config.hall.body_timeout_seconds)))
    try:
        server.run(sockets=[listener])
    except SystemExit:  # uvicorn's way of saying the app's start-up failed
        pass
    finally:
        listener.close()
    if not server.started:
        print(f"大厅服务启动失败（数据库 {args.db}），详见上方错误信息", file=sys.stderr)
        return EXIT_STARTUP
    return 0


def raise_open_files_limit() -> str:
    """Raise this process's open-files limit (RLIMIT_NOFILE) from its soft value to the hard
    one, and say so. Every screen, kiosk and pad holds a socket; at the usual soft limit of
    1024 uvicorn drops connections silently (stack-notes.md). The hard limit is what the
    system allows without privileges; a hall needing more raises it in its service unit."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and soft < hard:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
            return f"打开文件数上限：已由 {soft} 提高到 {hard}"
        except (ValueError, OSError):
            return f"打开文件数上限：仍为 {soft}，无法提高到 {hard}"
    return f"打开文件数上限：{soft}"


def _listen(host: str, port: int, send_buffer: int) -> socket.socket:
    """Our own listening socket, so accepted connections inherit its send buffer size."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if send_buffer:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, send_buffer)
    sock.bind((host, port))
    sock.listen(4096)
    sock.set_inheritable(True)
    return sock


def cmd_user_add(args: argparse.Namespace) -> int:
    """With `--staff-no`, a numeric PIN for the hardware caller pad follows the password
    (the next line of stdin with `--password-stdin`, else a prompt)."""
    pin = None
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\n")
        if args.staff_no:
            pin = sys.stdin.readline().rstrip("\n")
    else:
        password = getpass.getpass("密码 password: ")
        if getpass.getpass("再输一次 again: ") != password:
            print("passwords differ", file=sys.stderr)
            return 1
        if args.staff_no:
            pin = getpass.getpass("呼叫器密码 pad PIN (4-8 digits): ")
            if getpass.getpass("再输一次 again: ") != pin:
                print("PINs differ", file=sys.stderr)
                return 1
    if args.city:
        return city_cli.user_add(args, password)
    target = city_cli.hall_target(args)  # a city config: the hall of --hall
    if target is None:
        return 1
    config, db = target
    from hall.auth import Auth
    from hall.service import HallService

    async def run() -> bool:
        service = await HallService.open(config, db)
        try:
            await Auth(service).add_user(args.name, args.role, password,
                                         staff_no=args.staff_no, pin=pin)
        finally:
            await service.close()
        return True

    if city_cli.run_refusable(run()) is None:
        return 1
    print(f"user {args.name} ({args.role}) added")
    return 0


def cmd_device_add(args: argparse.Namespace) -> int:
    code = _with_credentials(args, lambda c: c.add(args.name, args.kind, args.window))
    if code is None:
        return 1
    print(f"设备 {args.name} 已登记。登记码（只显示这一次，请在该设备的 /device 页面输入）：")
    print(code)
    return 0


def cmd_device_remove(args: argparse.Namespace) -> int:
    if _with_credentials(args, lambda c: c.remove(args.name)) is None:
        return 1
    print(f"设备 {args.name} 已注销")
    return 0


def cmd_device_list(args: argparse.Namespace) -> int:
    rows = _with_credentials(args, lambda c: c.list())
    if rows is None:
        return 1
    for row in rows:
        window = f"{row['window']}号窗口" if row["window"] is not None else "-"
        print(f"{row['name']}\t{row['kind']}\t{window}")
    return 0


def _with_credentials(args: argparse.Namespace, fn: Any) -> Any:
    """Open the store, run `fn(Credentials)`, close; None (message printed) on a refusal."""
    target = city_cli.hall_target(args)  # a city config: the hall of --hall
    if target is None:
        return None
    config, db = target
    from hall.credentials import Credentials
    from hall.service import HallService

    async def run() -> Any:
        service = await HallService.open(config, db)
        try:
            result = await fn(Credentials(service))
            return [] if result is None else result
        finally:
            await service.close()

    return city_cli.run_refusable(run())


def asyncpg_errors() -> type[Exception]:
    import asyncpg
    return asyncpg.PostgresError


def cmd_audit_verify(args: argparse.Namespace) -> int:
    """Read-only: opens the file without migrating it, so verifying never changes the log."""
    import sqlite3
    from pathlib import Path

    from hall.audit import verify
    from hall.store_pg import is_postgres, read_once

    if is_postgres(args.db):
        try:
            verdict = read_once(args.db, verify)
        except (OSError, asyncpg_errors()) as exc:
            print(f"无法读取审计日志：{exc}", file=sys.stderr)
            return 2
    else:
        if not Path(args.db).exists():
            print(f"数据库文件不存在：{args.db}", file=sys.stderr)
            return 2
        conn = sqlite3.connect(f"file:{args.db}?mode=ro", uri=True)
        try:
            verdict = verify(conn)
        except sqlite3.Error as exc:
            print(f"无法读取审计日志：{exc}", file=sys.stderr)
            return 2
        finally:
            conn.close()
    if not verdict.ok:
        print(f"审计日志校验失败：{verdict.reason}（第{verdict.first_bad}条）", file=sys.stderr)
        return 1
    print(f"审计日志完整：共{verdict.rows}条，末条校验值 {verdict.head}")
    return 0


def main(argv: list[str] | None = None) -> int:
    os.umask(0o077)  # issue 9.6: nothing this program creates is readable by other users
    parser = argparse.ArgumentParser(prog="hall", description="政务服务大厅排队叫号系统")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="serve the hall")
    serve.add_argument("--config", default="config.toml")
    serve.add_argument("--db", default="var/hall.db")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--no-hours", action="store_true",
                       help="issue tickets outside opening hours (demo and tests)")
    serve.set_defaults(fn=cmd_serve)
    check = sub.add_parser("check-config", help="check a config file")
    check.add_argument("--config", default="config.toml")
    check.set_defaults(fn=cmd_check_config)
    user = sub.add_parser("user", help="manage accounts")
    user_sub = user.add_subparsers(dest="user_command", required=True)
    add = user_sub.add_parser("add", help="add an account")
    add.add_argument("name")
    add.add_argument("--role", required=True, choices=["clerk", "manager", "admin", "auditor"])
    add.add_argument("--db", default="var/hall.db")
    add.add_argument("--config", default="config.toml")
    add.add_argument("--password-stdin", action="store_true")
    add.add_argument("--staff-no", help="staff number for logging in on a caller pad "
                     "(a PIN is then read after the password)")
    city_cli.add_arguments(add, city=True)
    add.set_defaults(fn=cmd_user_add)
    device = sub.add_parser("device", help="enrol rating tablets and kiosks")
    device_sub = device.add_subparsers(dest="device_command", required=True)
    dadd = device_sub.add_parser("add", help="enrol a device; prints its enrolment code")
    dadd.add_argument("name")
    dadd.add_argument("--kind", default="tablet", choices=["tablet", "kiosk"])
    dadd.add_argument("--window", type=int, default=None)
    dadd.set_defaults(fn=cmd_device_add)
    dremove = device_sub.add_parser("remove", help="withdraw a device's credential")
    dremove.add_argument("name")
    dremove.set_defaults(fn=cmd_device_remove)
    dlist = device_sub.add_parser("list", help="list enrolled devices")
    dlist.set_defaults(fn=cmd_device_list)
    for p in (dadd, dremove, dlist):
        p.add_argument("--db", default="var/hall.db")
        p.add_argument("--config", default="config.toml")
        city_cli.add_arguments(p, city=False)
    audit = sub.add_parser("audit", help="the audit log")
    audit_sub = audit.add_subparsers(dest="audit_command", required=True)
    verify = audit_sub.add_parser("verify", help="check the hash chain; exit 1 naming the "
                                  "first row edited or removed")
    verify.add_argument("--db", default="var/hall.db")
    verify.set_defaults(fn=cmd_audit_verify)
    from hall.move_up import add_arguments as migrate_arguments

    migrate_arguments(sub.add_parser("migrate", help="copy a hall's history from its SQLite "
                                     "file to an empty PostgreSQL database (docs/moving-up.md)"))
    from hall.sim_cli import add_arguments as simulate_arguments

    simulate_arguments(sub.add_parser("simulate", help="simulate hall days, plan windows, "
                                      "or drive a demo hall live (docs/simulator.md)"))
    for p in (serve, add, dadd, dremove, dlist, verify):
        p.add_argument("--data-dir", default=None,
                       help="on PostgreSQL: where the hall's files live (sealing key, voice); "
                            "default var/")
    args = parser.parse_args(argv)
    if getattr(args, "data_dir", None):
        os.environ["HALL_DATA_DIR"] = args.data_dir  # read by hall.store_pg.data_dir
    return int(args.fn(args))


if __name__ == "__main__":
    sys.exit(main())
