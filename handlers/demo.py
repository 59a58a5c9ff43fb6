"""A demo province for newcomers: ``python3 run_bot.py demo`` and, in the simulator, /演示数据.

Fills an EMPTY database (no roster, no teachers, no grants) with domain/demo.py's province:
every city's roster with a few gaps, the simulator's city operators granted their cities, the
three simulator groups bound, teachers and a term of platform activity — so /名单 全省, /积分,
/排行 and /考核 show real-looking figures within a minute. It refuses a database with data.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy import func, select

from bot.commands import Args, Chat, Router
from bot.context import Context, ServiceKey, Services
from bot.errors import UserError
from bot.proactive import enqueue_reply
from bot.replies import Reply
from domain.demo import DemoProvince, activity, build_province
from domain.roster.parsing import RawRow
from domain.scores.activity import TeacherRow
from domain.territory import Territory
from handlers.permissions import SUPERADMIN
from handlers.roster.common import config, regions, register_rows
from storage.db import Database, UnitOfWork
from storage.models.roster import RosterMember, TerritoryGrant
from storage.models.scores import ScoreTeacher
from storage.repositories.roster import GrantRepository, RosterRepository
from storage.repositories.scores import TeacherRepository

log = logging.getLogger("handlers.demo")
router = Router("demo", section="其他")

SIM_GROUPS = (
    ("cid-admin-group", "admin", "体系管理员省群"),
    ("cid-trainer-group", "trainer", "省级培训师省群"),
    ("cid-reviewer-group", "reviewer", "省级资源审核员省群"),
)
ACTOR = ("demo", "演示数据")
DEMO_ENABLED = ServiceKey[bool]("demo.enabled", lambda _services: False)
"""True only where run_bot.py started the local simulator (or a test says so)."""


@dataclass(frozen=True)
class DemoSummary:
    members: int
    refused: int
    teachers: int
    events: int


class NotEmpty(Exception):
    """The database already has roster, teacher or grant rows."""


async def _has_data(uow: UnitOfWork) -> bool:
    for model in (RosterMember, ScoreTeacher, TerritoryGrant):
        if await uow.session.scalar(select(func.count()).select_from(model)):
            return True
    return False


async def _seed_roster(
    uow: UnitOfWork, services: Services, demo: DemoProvince, now: datetime, *, bind_groups: bool
) -> tuple[int, int]:
    tree, cfg = regions(services), config(services)
    province = Territory(tree.province)
    saved = refused = 0
    for city in tree.cities:
        rows = [
            RawRow(row=i, role=s.role, values=dict(s.values), text="", mode="kv")
            for i, s in enumerate((s for s in demo.seats if s.city == city.name), start=1)
        ]
        report = await register_rows(
            uow,
            tree,
            cfg,
            rows,
            scope=[province],
            city=city.name,
            actor_id=ACTOR[0],
            actor_name=ACTOR[1],
            now=now,
            action="roster.import",
        )
        saved += len(report.saved)
        refused += len(report.rejected)
        for r in report.rejected:
            log.warning("demo row refused: %s", r.errors)
    repo = uow.repo(RosterRepository)
    for seat in (s for s in demo.seats if s.user_id):
        county = None if seat.values["county"] == "市本级" else seat.values["county"]
        for m in await repo.in_territory(Territory(tree.province, seat.city, county)):
            if m.name == seat.values["name"] and m.role is seat.role:
                await repo.save(replace(m, user_id=seat.user_id), now=now)
    grants = uow.repo(GrantRepository)
    for user_id, name, city_name in demo.operators:
        await grants.grant(user_id, name, Territory(tree.province, city_name), by=ACTOR[0], now=now)
    if bind_groups:
        for cid, role, title in SIM_GROUPS:
            if await uow.groups.get(cid) is None:
                await uow.groups.bind(cid, role, title, ACTOR[0], now)
    return saved, refused


async def seed_demo(
    db: Database, services: Services, now: datetime, *, bind_groups: bool, teachers_per_county: int = 20
) -> DemoSummary:
    """Fill an empty database; raises NotEmpty otherwise."""
    from handlers.scores.service import ingest, runtime_of

    demo = build_province(regions(services), teachers_per_county=teachers_per_county)
    async with db.unit_of_work() as uow:
        if await _has_data(uow):
            raise NotEmpty
        members, refused = await _seed_roster(uow, services, demo, now, bind_groups=bind_groups)
        await uow.repo(TeacherRepository).upsert(
            [TeacherRow(t.account, t.name, t.school, t.county, t.city) for t in demo.teachers], now
        )
    runtime = runtime_of(services)
    items = list(activity(demo, now.date(), runtime.rules.tz))
    report = await ingest(db, runtime, items, now)
    return DemoSummary(members, refused, len(demo.teachers), report.accepted)


# ── in the simulator ──
DEMO_TASKS = ServiceKey[set["asyncio.Task[None]"]]("demo.tasks", lambda _services: set())


@router.command(
    "演示数据",
    alias="demo",
    help="（仅模拟器）在空库里生成一个演示省份：名单、教师和一学期的平台数据",
    chat=Chat.ANY,
    permission=SUPERADMIN,
)
async def demo_command(ctx: Context, args: Args) -> Reply:
    if not ctx.services.use(DEMO_ENABLED):
        raise UserError("demo/not_simulator")
    if await _has_data(ctx.uow):
        raise UserError("demo/not_empty")
    db = ctx.uow.db
    if db is None:  # pragma: no cover - every dispatcher unit of work has one
        raise UserError("demo/not_empty")
    # Acknowledge first, then work: generating takes seconds; the result comes as a message of its own.
    task = asyncio.get_running_loop().create_task(
        _seed_and_tell(db, ctx.services, ctx.now(), ctx.message.conversation_id, ctx.actor.staff_id)
    )
    tasks = ctx.services.use(DEMO_TASKS)
    tasks.add(task)
    task.add_done_callback(tasks.discard)
    return Reply("demo/started", {})


async def _seed_and_tell(
    db: Database, services: Services, now: datetime, conversation_id: str, staff_id: str | None
) -> None:
    try:
        summary = await seed_demo(db, services, now, bind_groups=True)
        reply = Reply("demo/done", {"members": summary.members, "teachers": summary.teachers, "events": summary.events})
    except NotEmpty:
        reply = Reply("demo/not_empty", {})
    except Exception:
        log.exception("demo province failed")
        reply = Reply("demo/failed", {})
    async with db.unit_of_work() as uow:
        await enqueue_reply(
            uow,
            services.renderer,
            reply,
            now=services.clock.now(),
            user_ids=[staff_id] if staff_id else None,
            conversation_id=None if staff_id else conversation_id,
            purpose="demo",
        )
    services.on_outbox()


# ── CLI ──
def register_cli(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("demo", help="fill an EMPTY database with a demo province (roster, teachers, activity)")
    p.add_argument("--teachers-per-county", type=int, default=20, help="teachers of each county (default 20)")
    p.set_defaults(func=cli_demo)


async def cli_demo(args: argparse.Namespace) -> int:
    from bot.clock import SystemClock
    from bot.commands import Registry
    from bot.replies import Renderer
    from run_bot import load_settings_or_exit
    from storage.migrate import upgrade

    settings = load_settings_or_exit()
    await upgrade(settings.resolved_database_url)
    clock = SystemClock(settings.tz)
    services = Services(settings=settings, clock=clock, renderer=Renderer(), registry=Registry())
    db = Database(settings.resolved_database_url)
    try:
        summary = await seed_demo(
            db,
            services,
            clock.now(),
            bind_groups=settings.simulator_mode,
            teachers_per_county=max(1, args.teachers_per_county),
        )
    except NotEmpty:
        print("数据库里已有名单、教师或授权数据：演示数据只写入空库，未做任何改动。", file=sys.stderr)
        return 2
    finally:
        await db.dispose()
    print(
        f"演示省份已生成：名单 {summary.members} 人，教师 {summary.teachers} 人，平台数据 {summary.events} 条。"
        "启动机器人后可发 /名单 全省、/积分、/排行、/考核。"
    )
    return 0
