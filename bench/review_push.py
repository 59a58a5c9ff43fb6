#!/usr/bin/env python3
"""Review push benchmark: a committed plan delivered as cards through the outbox and the fake DingTalk.

The push half of issue 7's benchmark (the solve half is bench/assign.py on branch ws-match):
N resources over 11 cities, 5 stages and ~20 subjects with a realistic skew (小学语文 and 数学 ten
times the 中职 subjects), R reviewers, 2 reviewers a resource, assigned by the bot's own code
(handlers/review/engine: the matcher, then tasks and one card per reviewer queued in the outbox, as
/分配 确认 does), then sent by the outbox worker to the fake DingTalk, which enforces ``--rate`` calls
a second per API. Measured: from the commit to the last card delivered; next to it the minimum those
limits allow for the calls made (simulator ``minimum_seconds``), duplicates (a reviewer who got more
than one card) and lost (a reviewer who got none).

    python3 bench/review_push.py                       # 10,000 resources, 500 reviewers, 20 calls/s
    python3 bench/review_push.py --resources 1000 --reviewers 60
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import random
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("NO_PROXY", "127.0.0.1,localhost")

SH = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 3, 9, 10, 0, tzinfo=SH)
SUBJECTS = {
    "小学": ["语文"] * 10 + ["数学"] * 10 + ["英语"] * 4 + ["科学", "音乐", "美术", "体育与健康"],
    "初中": ["语文", "数学", "英语"] * 3 + ["物理", "化学", "生物", "历史", "地理", "道德与法治"],
    "高中": ["语文", "数学", "英语", "物理", "化学", "生物", "历史", "地理", "思想政治", "信息技术"],
    "学前": ["综合实践"],
    "中职": ["专业课", "公共基础课"],
}
STAGE_WEIGHT = {"小学": 10, "初中": 6, "高中": 4, "学前": 1, "中职": 1}


def pick(rng: random.Random) -> tuple[str, str]:
    stage = rng.choices(list(STAGE_WEIGHT), weights=list(STAGE_WEIGHT.values()))[0]
    return stage, rng.choice(SUBJECTS[stage])


async def setup(bot, tree, n_resources: int, n_reviewers: int, rng: random.Random) -> None:
    from domain.review.calls import ReviewCall, ReviewLevel
    from domain.review.intake import ResourceIn
    from domain.roster import Member, Role
    from domain.territory import Territory
    from storage.repositories.review import ReviewRepository
    from storage.repositories.roster import RosterRepository

    cities = [c.name for c in tree.cities]
    call = ReviewCall(
        "基准征集",
        NOW.date().replace(month=12),
        ("课程教学",),
        (ReviewLevel("province", "省级评审", reviewers=2, due_workdays=5, pool="province"),),
    )
    async with bot.db.unit_of_work() as uow:
        repo = uow.repo(ReviewRepository)
        await repo.save_call(call, NOW)
        roster = uow.repo(RosterRepository)
        members = []
        for i in range(n_reviewers):
            city = cities[i % len(cities)]
            county = tree.counties_of(city)[i % len(tree.counties_of(city))].name
            stage, subject = pick(rng)
            members.append(
                Member(
                    Role.REVIEWER,
                    Territory(tree.province, city, county),
                    {
                        "county": county,
                        "name": f"审核员{i}",
                        "mobile": f"137{i:08d}",
                        "stage": stage,
                        "subject": subject,
                        "school": f"{county}第{i}中学",
                        "account": f"rv{i:05d}",
                        "title_post": "一级教师",
                        "teacher_type": "其他",
                    },
                    user_id=f"rv-{i:04d}",
                )
            )
        await roster.add_many(members, by="bench", now=NOW)
    [stored] = [c for c in await _calls(bot) if c.name == "基准征集"]
    async with bot.db.unit_of_work() as uow:
        repo = uow.repo(ReviewRepository)
        for i in range(n_resources):
            city = cities[i % len(cities)]
            county = tree.counties_of(city)[(i // 11) % len(tree.counties_of(city))].name
            stage, subject = pick(rng)
            repo.add_resource(
                ResourceIn(
                    f"B{i:06d}",
                    f"资源{i}",
                    "微课",
                    "课程教学",
                    stage,
                    subject,
                    "",
                    "",
                    f"https://e.cn/{i}",
                    stored.name,
                    f"sub{i}",
                    f"提交人{i}",
                    f"{county}小学",
                    county,
                    city,
                ),
                stored.id,
                NOW,
            )
        await repo.flush()


async def _calls(bot):
    from storage.repositories.review import ReviewRepository

    async with bot.db.unit_of_work() as uow:
        return await uow.repo(ReviewRepository).calls()


async def commit_plan(bot) -> tuple[int, int, float]:
    """What /分配 确认 does, province-wide: returns (tasks, reviewers with tasks, seconds)."""
    from domain.review.flow import Status
    from handlers.review.common import Env
    from handlers.review.engine import commit, demands, plan_levels

    started = time.perf_counter()
    async with bot.db.unit_of_work() as uow:
        env = Env(uow, bot.services, NOW, "bench", "基准")
        [call] = [c for c in await env.repo.calls() if c.name == "基准征集"]
        pool = await env.repo.pool(call_id=call.id, city=None, statuses=(Status.WAITING.value,))
        plans = await plan_levels(env, call, await demands(env, call, pool))
        pairs = [(int(a.resource_id), a.reviewer_id) for lp in plans for a in lp.plan.assignments]
        names = {p.id: p.name for lp in plans for p in lp.reviewers}
        tasks = await commit(env, call, pairs, names, batch_key="bench")
    bot.outbox.wake()
    return len(tasks), len({t.reviewer_id for t in tasks}), time.perf_counter() - started


async def main_async(args) -> int:
    from bot.app import BotApp
    from bot.config import load_settings
    from domain.regions import load_default_regions
    from simulator.server import FakeDingTalk, SimUser

    logging.basicConfig(level=logging.WARNING)
    tree = load_default_regions()
    users = [SimUser(f"rv-{i:04d}", f"审核员{i}") for i in range(args.reviewers)]
    sim = FakeDingTalk(users=users, rate_limit=args.rate)
    sim.start_in_thread()
    tmp = tempfile.mkdtemp(prefix="review-push-")
    url = args.database or f"sqlite+aiosqlite:///{tmp}/bench.sqlite3"
    settings = load_settings(
        database_url=url,
        bot_http_port=0,
        bot_data_dir=f"{tmp}/var",
        bot_link_secret="x",
        dingtalk_client_id=sim.client_id,
        dingtalk_client_secret=sim.client_secret,
        dingtalk_openapi_endpoint=sim.base_url,
    )
    bot = BotApp(settings)  # the system clock: the outbox's retries must come due
    await bot.start()
    try:
        await asyncio.to_thread(sim.wait_connected, 10)
        await setup(bot, tree, args.resources, args.reviewers, random.Random(7))
        sim.reset_counts()
        tasks, carded, solve_s = await commit_plan(bot)
        started = time.perf_counter()
        deadline = started + args.timeout
        while time.perf_counter() < deadline:
            got = sim.delivered_counts()
            if sum(1 for i in range(args.reviewers) if got.get(f"rv-{i:04d}", 0) >= 1) >= carded:
                break
            await asyncio.sleep(0.05)
        wall = time.perf_counter() - started
        got = sim.delivered_counts()
        minimum = sim.minimum_seconds()
        dup = sum(1 for v in got.values() if v > 1)
        lost = carded - sum(1 for i in range(args.reviewers) if got.get(f"rv-{i:04d}", 0) >= 1)
        print(
            f"resources {args.resources}, reviewers {args.reviewers}, tasks {tasks}, cards to {carded} reviewers; "
            f"plan+commit {solve_s:.2f} s (bot code path, {bot.db.dialect})"
        )
        print(f"calls accepted: {sim.call_counts()}")
        print(
            f"push wall {wall:.2f} s; minimum under {args.rate} calls/s per API {minimum:.2f} s; "
            f"ratio {wall / minimum if minimum else float('nan'):.3f} (target <= 1.1); "
            f"duplicates {dup}, lost {lost}"
        )
        return 0 if dup == 0 and lost == 0 else 1
    finally:
        await bot.stop()
        sim.stop()


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--resources", type=int, default=10_000)
    p.add_argument("--reviewers", type=int, default=500)
    p.add_argument("--rate", type=int, default=20, help="calls a second per API in the fake DingTalk")
    p.add_argument("--timeout", type=float, default=600)
    p.add_argument("--database", help="a database URL (default: a fresh SQLite file)")
    return asyncio.run(main_async(p.parse_args()))


if __name__ == "__main__":
    raise SystemExit(main())
