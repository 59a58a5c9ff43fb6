#!/usr/bin/env python3
"""Roster benchmark: register the whole default province by pasted rows, then export every city.

Through the project's fake DingTalk server and the real dingtalk-stream SDK (bot and fake
gateway in this process, like the end-to-end tests):

  1. set-up (not timed): bind the three groups, /授权 one operator per city;
  2. registration: each city's operator pastes its rows (admins in the admin group, trainers in
     the trainer group, reviewers in the reviewer group; pastes stay under the 5,000-character
     message limit) — every city and county with full quotas (1 admin, 1 trainer, 5 reviewers),
     the 11 cities at once;
  3. export: /导出 名单 <城市> for each city (xlsx + docx + signed links), and the same files
     generated directly from the database, per format.

"bot time" is the time the bot spent handling the messages (sum over messages, measured around
the dispatcher); "wall" is from the first paste sent to the last reply received.
Targets: the province registered in < 5 s of bot time; each city's export < 1 s.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("NO_PROXY", "127.0.0.1,localhost")

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华建国志红文斌辉鹏宇"
LIMIT = 4500  # characters per paste (the bot refuses messages over 5,000)


def person(i: int) -> str:
    return SURNAMES[i % len(SURNAMES)] + GIVEN[(i // len(SURNAMES)) % len(GIVEN)] + GIVEN[(i // 7 + i) % len(GIVEN)]


def city_pastes(tree, city: str, start: int) -> tuple[dict[str, list[str]], int]:
    """Tab-separated rows per role for one city, as copied from 附件1; returns (pastes by group, people)."""
    rows: dict[str, list[str]] = {"admin": [], "trainer": [], "reviewer": []}
    i = start
    for county in ["市本级"] + [k.name for k in tree.counties_of(city)]:
        i += 1
        rows["admin"].append(
            "\t".join(
                [county, person(i), f"{city}{county}教育技术中心", "高级教师", "主任", f"138{i:08d}", "区域平台管理员"]
            )
        )
        i += 1
        rows["trainer"].append("\t".join([county, person(i), "小学", "语文", "高级教师", f"139{i:08d}", "否"]))
        for _ in range(5):
            i += 1
            rows["reviewer"].append(
                "\t".join(
                    [
                        county,
                        person(i),
                        "初中",
                        "数学",
                        f"{county}第一中学",
                        f"Zj{i:05d}",
                        f"137{i:08d}",
                        "一级教师",
                        "其他",
                    ]
                )
            )
    pastes: dict[str, list[str]] = {}
    for role, lines in rows.items():
        chunks, cur = [], []
        for line in lines:
            if cur and len("\n".join([*cur, line])) > LIMIT:
                chunks.append("/登记\n" + "\n".join(cur))
                cur = []
            cur.append(line)
        chunks.append("/登记\n" + "\n".join(cur))
        pastes[role] = chunks
    return pastes, i - start


class _Harness:
    """The bot and the fake DingTalk of one run: send a message and wait for the reply; time the bot's work."""

    def __init__(self, sim, bot) -> None:
        self.sim, self.bot = sim, bot
        self.spans: list[tuple[float, float]] = []
        original = bot.dispatcher.handle

        async def timed(msg):
            t0 = time.perf_counter()
            try:
                return await original(msg)
            finally:
                self.spans.append((t0, time.perf_counter()))

        bot.dispatcher.handle = timed

    async def quiet(self) -> None:
        """Wait until the bot is idle and forget the spans so far."""
        await self.bot.dispatcher.drain()
        self.spans.clear()

    def busy(self) -> dict[str, float]:
        """Time the bot was handling at least one message (union of spans), their sum, the longest."""
        spans = self.spans
        union, end = 0.0, float("-inf")
        for a, b in sorted(spans):
            if b > end:
                union += b - max(a, end)
                end = b
        return {
            "union": union,
            "sum": sum(b - a for a, b in spans),
            "max": max((b - a for a, b in spans), default=0.0),
            "messages": len(spans),
        }

    async def say(self, text: str, user: str, conversation: str, timeout: float = 60.0) -> str:
        sim = self.sim

        def go():
            u = sim.user(user)
            conv = sim.group(conversation) if "p2p" not in conversation else sim.private(u)
            mid = sim.send_message(text, user=u, conversation=conv)
            return sim.text_of(sim.wait_reply(mid, timeout))

        return await asyncio.to_thread(go)


async def _register(h: _Harness, args, tree, operators, db_url: str) -> bool:
    """Every city's operator pastes its roster at once (or one city after another); prints the figures."""
    from domain.territory import Territory
    from storage.repositories.roster import RosterRepository

    for cid, role in (
        ("cid-admin-group", "管理员群"),
        ("cid-trainer-group", "讲师群"),
        ("cid-reviewer-group", "审核员群"),
    ):
        assert "已把本群" in await h.say(f"/绑定 {role}", "op-zj-001", cid)
    for city, u in operators.items():
        reply = await h.say(f"/授权 @{u.name} {city}", "op-zj-001", "cid-admin-group")
        assert "已授权" in reply, reply
    plans, start, people = {}, 0, 0
    for c in tree.cities:
        plans[c.name], n = city_pastes(tree, c.name, start)
        start += n
        people += n
    groups = {"admin": "cid-admin-group", "trainer": "cid-trainer-group", "reviewer": "cid-reviewer-group"}
    messages = sum(len(v) for p in plans.values() for v in p.values())

    async def city_run(city: str) -> list[str]:
        out = []
        for role, chunks in plans[city].items():
            for text in chunks:
                out.append(await h.say(text, operators[city].staff_id, groups[role]))
        return out

    await h.quiet()
    t0 = time.perf_counter()
    if args.sequential:
        replies = [await city_run(c.name) for c in tree.cities]
    else:
        replies = await asyncio.gather(*(city_run(c.name) for c in tree.cities))
    wall = time.perf_counter() - t0
    await h.bot.dispatcher.drain()
    reg_busy = h.busy()
    problems = [r for rs in replies for r in rs if "有问题" in r or "已登记" not in r]
    async with h.bot.db.unit_of_work() as uow:
        stored = len(await uow.repo(RosterRepository).in_territory(Territory(tree.province)))
    province = await h.say("/名单 全省", "op-zj-001", "cid-admin-group")

    how = "one after another" if args.sequential else "at once"
    print(
        f"registration: {people} people in {messages} pastes from {len(tree.cities)} cities {how} "
        f"({'SQLite' if db_url.startswith('sqlite') else 'PostgreSQL'})"
    )
    print(
        f"  bot time {reg_busy['union']:.2f} s (target < 5 s) = time with at least one paste in hand; "
        f"sum over the {reg_busy['messages']} pastes {reg_busy['sum']:.2f} s "
        f"{'' if args.sequential else '(they overlap: 11 cities at once)'}, "
        f"slowest paste {reg_busy['max']:.2f} s"
    )
    print(
        f"  wall {wall:.2f} s from the first paste sent to the last reply; stored {stored}; "
        f"rows refused {len(problems)}"
    )
    print(f"  /名单 全省: {'all cities 100%' if province.count('100%') == len(tree.cities) else province[:200]}")
    return stored == people and not problems


async def _export(h: _Harness, tree) -> None:
    """/导出 名单 for each city through the chat, and the two writers alone; prints the figures."""
    from domain.territory import Territory
    from handlers.roster.common import config
    from handlers.roster.export import roster_header
    from storage.forms.roster_form import roster_form_spec, write_roster_docx, write_roster_xlsx
    from storage.repositories.roster import RosterRepository

    print(
        f"{'city':8} {'people':>6} {'chat s':>7} {'xlsx s':>7} {'docx s':>7}   (chat: /导出 名单, both files + links)"
    )
    worst = 0.0
    for c in tree.cities:
        await h.quiet()
        reply = await h.say(f"/导出 名单 {c.name}", "op-zj-001", "cid-admin-group")
        await h.bot.dispatcher.drain()
        chat_s = h.busy()["union"]
        assert "单聊" in reply, reply
        async with h.bot.db.unit_of_work() as uow:
            members = await uow.repo(RosterRepository).in_territory(
                Territory(tree.province, c.name), statuses=("active",)
            )
        header = roster_header(c.name, "运营员", "2026-04-28")
        spec = roster_form_spec(rules=config(h.bot.services).quotas)
        t1 = time.perf_counter()
        write_roster_xlsx(members, header, tree=tree, spec=spec)
        t2 = time.perf_counter()
        write_roster_docx(members, header, tree=tree, spec=spec)
        t3 = time.perf_counter()
        worst = max(worst, chat_s)
        print(f"{c.name:8} {len(members):6d} {chat_s:7.3f} {t2 - t1:7.3f} {t3 - t2:7.3f}")
    print(f"slowest city export through chat: {worst:.3f} s (target < 1 s)")


async def main_async(args) -> int:
    from bench.throwaway import create_pg, drop_pg
    from bot.app import BotApp
    from bot.config import load_settings
    from domain.regions import load_default_regions
    from simulator.server import DEFAULT_USERS, FakeDingTalk, SimUser

    tree = load_default_regions()
    operators = {
        c.name: SimUser(f"city-op-{i:02d}", f"{c.stem}运营员", org=f"{c.name}教育技术中心")
        for i, c in enumerate(tree.cities, start=1)
    }
    sim = FakeDingTalk(users=[DEFAULT_USERS[0], *operators.values()])
    sim.start_in_thread()
    tmp = tempfile.TemporaryDirectory()
    db_url = f"sqlite+aiosqlite:///{Path(tmp.name) / 'bench.sqlite3'}"
    pg_name = None
    if args.pg:
        pg_name, db_url = await create_pg(args.pg, "roster_bench")
    settings = load_settings(
        database_url=db_url,
        bot_http_port=0,
        bot_data_dir=str(Path(tmp.name) / "var"),
        bot_link_secret="bench",
        bot_superadmins=["op-zj-001"],
        bot_handler_timeout=60.0,
        dingtalk_client_id=sim.client_id,
        dingtalk_client_secret=sim.client_secret,
        dingtalk_openapi_endpoint=sim.base_url,
        log_level="WARNING",
    )
    bot = BotApp(settings)
    await bot.start()
    h = _Harness(sim, bot)
    try:
        await asyncio.to_thread(sim.wait_connected, 15)
        ok = await _register(h, args, tree, operators, db_url)
        await _export(h, tree)
        return 0 if ok else 1
    finally:
        await bot.stop()
        sim.stop()
        tmp.cleanup()
        if pg_name:
            await drop_pg(args.pg, pg_name)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument(
        "--pg",
        default="",
        metavar="URL",
        help="use a throwaway database on this PostgreSQL server (postgresql+asyncpg://user@host/db; "
        "db is only used to connect); default: a fresh SQLite file",
    )
    ap.add_argument("--sequential", action="store_true", help="the cities one after another instead of at once")
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("dingtalk_stream").setLevel(logging.ERROR)
    logging.getLogger("bot.sdk").setLevel(logging.CRITICAL)  # the SDK's noise when the bench disconnects
    return asyncio.run(main_async(args))


if __name__ == "__main__":
    sys.exit(main())
