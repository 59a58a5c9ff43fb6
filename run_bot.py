#!/usr/bin/env python3
"""Start the bot, or run one of its maintenance commands.

python run_bot.py                 start the bot (no DingTalk credentials: local simulator on SQLite)
python run_bot.py db upgrade      apply database migrations
python run_bot.py db backup PATH  back the database up (SQLite online backup, or pg_dump)
python run_bot.py db restore PATH restore it (into DATABASE_URL; then migrations)
python run_bot.py jobs run ID     run a scheduled job now
python run_bot.py <feature> …     feature commands (roster import/export, scores …)
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import os
import signal
import sys


def _setup_logging(level: str) -> None:
    logging.basicConfig(
        level=getattr(logging, level.upper(), logging.INFO), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    logging.getLogger("dingtalk_stream").setLevel(logging.WARNING)
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    # Alembic announces each plugin and each applied revision; storage.migrate logs one line instead.
    logging.getLogger("alembic").setLevel(logging.WARNING)


def load_settings_or_exit(**overrides):
    """Settings, checked before anything is touched (files, database URL); exit 2 with one line."""
    from bot.config import ConfigError, check_setup, load_settings

    try:
        settings = load_settings(**overrides)
        check_setup(settings)
        return settings
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None


async def _serve(args: argparse.Namespace) -> int:
    settings = load_settings_or_exit()
    # Three threads hand each message on (SDK stream → bot loop → SQLite driver): a shorter GIL
    # switch interval than the default 5 ms keeps those hand-offs from queueing behind each other.
    sys.setswitchinterval(0.0005)
    _setup_logging(settings.log_level)
    sim = None
    if settings.simulator_mode:
        from simulator.server import FakeDingTalk

        sim = FakeDingTalk(port=args.sim_port)
        sim.start_in_thread()
        superadmins = settings.bot_superadmins or [u.staff_id for u in sim.users if u.staff_id.startswith("op-")]
        settings = load_settings_or_exit(
            dingtalk_client_id=sim.client_id,
            dingtalk_client_secret=sim.client_secret,
            dingtalk_openapi_endpoint=sim.base_url,
            bot_superadmins=superadmins,
        )
    from bot.app import BotApp

    bot = BotApp(settings)
    bot.simulator_url = sim.base_url if sim else None
    if sim:
        from handlers.demo import DEMO_ENABLED

        bot.services.provide(DEMO_ENABLED, True)  # /演示数据 works in the local simulator only
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, stop.set)
        except NotImplementedError:  # pragma: no cover - Windows
            pass
    try:
        await bot.start()
    except OSError as exc:
        print(f"error: cannot start: {exc}", file=sys.stderr)
        await bot.stop()
        return 2
    # What start-up built (modules, metadata, templates, the region tree) lives as long as the process:
    # keep it out of the collector's passes. A full pass over it stopped the loop for up to 270 ms under
    # load, the largest single cause of the command mix's p99 (bench/dispatch.py --stages).
    gc.collect()
    gc.freeze()
    if sim:
        print(f"本地模拟器已启动（无需钉钉账号）。在浏览器打开聊天页：{sim.base_url}/", flush=True)
        print(f"Simulator chat page: {sim.base_url}/   bot HTTP: {settings.public_url}/healthz", flush=True)
    else:
        print(f"Bot running; health: {settings.public_url}/healthz", flush=True)
    await stop.wait()
    print("stopping…", flush=True)
    await bot.stop()
    if sim:
        sim.stop()
    return 0


async def _db_upgrade(args: argparse.Namespace) -> int:
    from storage.migrate import current_heads, upgrade

    settings = load_settings_or_exit()
    url = settings.resolved_database_url
    await upgrade(url)
    applied, heads = await current_heads(url)
    print(f"database at {', '.join(sorted(applied))} (heads: {', '.join(sorted(heads))})")
    return 0


async def _db_backup(args: argparse.Namespace) -> int:
    from storage.backup import BackupError, backup, restore

    settings = load_settings_or_exit()
    url = settings.resolved_database_url
    try:
        if args.db_cmd == "backup":
            backup(url, args.path)
            print(f"backup written to {args.path}")
        else:
            restore(url, args.path, force=args.force)
            from storage.migrate import upgrade

            await upgrade(url)  # a backup of an older version gets this version's migrations
            print(f"restored {args.path}")
    except BackupError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


async def _jobs_run(args: argparse.Namespace) -> int:
    from bot.app import BotApp

    settings = load_settings_or_exit()
    _setup_logging(settings.log_level)
    bot = BotApp(settings, connect=False, serve_http=False)
    await bot.start()
    scheduler, outbox = bot.scheduler, bot.outbox
    assert scheduler is not None and outbox is not None  # start() built them
    try:
        if args.job_id not in scheduler.jobs:
            print(f"unknown job {args.job_id}; known: {', '.join(sorted(scheduler.jobs))}", file=sys.stderr)
            return 2
        result = await scheduler.run_now(args.job_id)
        await outbox.flush_once()
        print(f"{args.job_id}: {result}")
    finally:
        await bot.stop()
    return 0


COMMANDS = ("run", "db", "jobs")  # the bot's own commands: the features' CLI commands come from FEATURES


def build_parser(features: bool = True) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="run_bot.py", description="DingTalk bot of the service team.")
    sub = p.add_subparsers(dest="cmd")
    run = sub.add_parser("run", help="start the bot (default)")
    run.add_argument(
        "--sim-port",
        type=int,
        default=int(os.environ.get("BOT_SIM_PORT", "8790")),
        help="port of the local simulator when no DingTalk credentials are set",
    )
    run.set_defaults(func=_serve)
    db = sub.add_parser("db", help="database maintenance")
    dbsub = db.add_subparsers(dest="db_cmd", required=True)
    dbsub.add_parser("upgrade", help="apply migrations").set_defaults(func=_db_upgrade)
    b = dbsub.add_parser("backup", help="copy the database to PATH (safe while the bot runs)")
    b.add_argument("path")
    b.set_defaults(func=_db_backup)
    r = dbsub.add_parser("restore", help="restore the database of DATABASE_URL from PATH")
    r.add_argument("path")
    r.add_argument("--force", action="store_true", help="overwrite an existing SQLite file")
    r.set_defaults(func=_db_backup)
    jobs = sub.add_parser("jobs", help="scheduled jobs")
    jsub = jobs.add_subparsers(dest="jobs_cmd", required=True)
    jr = jsub.add_parser("run", help="run a job now")
    jr.add_argument("job_id")
    jr.set_defaults(func=_jobs_run)
    if features:
        from handlers.features import FEATURES

        for f in FEATURES:
            if f.register_cli:
                f.register_cli(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    # The bot's own commands parse without importing every feature (~1 s): a bad setting is refused
    # before that; the bot imports them when it starts. Help and the features' commands need them all.
    parser = build_parser(features=bool(argv) and argv[0] not in COMMANDS)
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        args = parser.parse_args(["run", *(argv or [])])
    try:
        return asyncio.run(args.func(args)) or 0
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
