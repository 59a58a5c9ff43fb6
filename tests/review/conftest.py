"""Fixtures of the review tests: a bot on SQLite, then PostgreSQL, with groups bound, a city operator for
杭州市 and six reviewers of 小学·数学 (three in 杭州市)."""

from __future__ import annotations

import json
import re
from datetime import datetime

import aiohttp
import pytest
from sqlalchemy import select

from bot.clock import ManualClock
from domain.roster import Member, Role
from domain.territory import Territory
from storage.models.review import ReviewResource, ReviewTask
from storage.repositories.roster import RosterRepository
from tests.scores.util import SH

ADMIN_G, REVIEWER_G = "cid-admin-group", "cid-reviewer-group"
OP, HZ = "op-zj-001", "city-hz-001"
NOW = datetime(2026, 3, 9, 10, 0, tzinfo=SH)  # a Monday
TOKEN = "tok-rev"

# staff id, name, city, county, school
REVIEWERS = [
    ("t-hz-001", "李明", "杭州市", "西湖区", "西湖小学"),
    ("t-hz-002", "张丽", "杭州市", "萧山区", "萧山小学"),
    ("city-nb-001", "林晓燕", "杭州市", "拱墅区", "拱墅小学"),
    ("t-nb-001", "刘洋", "宁波市", "鄞州区", "鄞州小学"),
    ("t-wz-001", "陈静", "温州市", "瑞安市", "瑞安小学"),
    ("t-jh-001", "周强", "金华市", "义乌市", "义乌小学"),
]


def plain(text: str) -> str:
    return re.sub(r"(?<!\\)\*\*", "", text).replace("\\", "")


def resource(ext: str, **over) -> dict:
    base = {
        "external_id": ext,
        "title": f"分数的意义{ext}",
        "type": "微课",
        "category": "课程教学",
        "stage": "小学",
        "subject": "数学",
        "edition": "人教版",
        "chapter": "第四单元",
        "link": f"https://example.cn/r/{ext}",
        "submitter_account": "Sub01",
        "submitter_name": "王小明",
        "school": "上城小学",
        "county": "上城区",
        "city": "杭州市",
    }
    return base | over


class World:
    def __init__(self, bot, sim, chat, clock):
        self.bot, self.sim, self.chat, self.clock = bot, sim, chat, clock

    async def say(self, text: str, *, user: str = OP, conversation: str = ADMIN_G) -> str:
        if conversation == "p2p":
            conversation = f"cid-p2p-{user}"
        return plain(await self.chat.say(text, user=user, conversation=conversation))

    async def post(self, path: str, items, token: str = TOKEN) -> tuple[int, dict]:
        url = f"http://127.0.0.1:{self.bot.http_port}{path}"
        data = items if isinstance(items, bytes) else json.dumps(items, ensure_ascii=False).encode()
        async with (
            aiohttp.ClientSession() as s,
            s.post(url, data=data, headers={"Authorization": f"Bearer {token}"}) as resp,
        ):
            return resp.status, await resp.json()

    async def tasks(self, rid: int) -> list[ReviewTask]:
        async with self.bot.db.unit_of_work() as uow:
            return list(
                (
                    await uow.session.scalars(
                        select(ReviewTask).where(ReviewTask.resource_id == rid).order_by(ReviewTask.id)
                    )
                ).all()
            )

    async def status(self, rid: int) -> str:
        async with self.bot.db.unit_of_work() as uow:
            return (await uow.session.get(ReviewResource, rid)).status

    async def card_to(self, staff_id: str, card_id: str, since: int = 0):
        return await self.sim.awaits(
            lambda r: (
                r.kind == "card_deliver"
                and r.conversation_id == f"cid-p2p-{staff_id}"
                and r.payload.get("outTrackId") == card_id
            ),
            timeout=10,
            since=since,
        )

    async def confirm(self, user: str = HZ) -> str:
        """/分配 确认, then wait until every new task's card is delivered (the fake DingTalk counts a
        card in a 1:1 chat as the answer to the next message there)."""
        reply = await self.say("/分配 确认", user=user)
        async with self.bot.db.unit_of_work() as uow:
            open_tasks = (await uow.session.scalars(select(ReviewTask).where(ReviewTask.state == "open"))).all()
        for t in open_tasks:
            if self.sim.directory.user_or_none(t.reviewer_id) is not None:
                await self.card_to(t.reviewer_id, t.card_id)
        return reply

    async def private(self, staff_id: str, contains: str) -> str:
        return await self.chat.private_to(staff_id, contains, clean=plain)


@pytest.fixture
async def world(start_bot, chat, sim, database_url):
    clock = ManualClock(NOW)
    bot = await start_bot(clock=clock, database_url=database_url, activity_api_token=TOKEN)
    w = World(bot, sim, chat, clock)
    for cid, role in ((ADMIN_G, "管理员群"), (REVIEWER_G, "审核员群")):
        assert "已把本群" in await w.say(f"/绑定 {role}", conversation=cid)
    assert "已授权" in await w.say("/授权 @陈建国 杭州市")
    async with bot.db.unit_of_work() as uow:
        roster = uow.repo(RosterRepository)
        for i, (sid, name, city, county, school) in enumerate(REVIEWERS):
            values = {
                "county": county,
                "name": name,
                "mobile": f"1381234{i:04d}",
                "stage": "小学",
                "subject": "数学",
                "school": school,
                "account": f"acc{i}",
                "title_post": "高级教师",
                "teacher_type": "其他",
            }
            await roster.add(
                Member(Role.REVIEWER, Territory("浙江省", city, county), values, user_id=sid), by="test", now=NOW
            )
    return w
