"""/基地校, /基地校排行, /基地校负责人, /基地校微课, /导出 基地校考核, the activity API hook and the
November assessment job, through the simulator and the real SDK, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import io
import json
import re
from datetime import datetime
from zoneinfo import ZoneInfo

import aiohttp
import pytest
from docx import Document
from openpyxl import load_workbook
from sqlalchemy import select

from bot.clock import ManualClock
from domain.base_schools import BaseSchool
from handlers.base_schools.feed import ingest_base_items
from storage.models.core import OutboxMessage
from storage.repositories.base_schools import BaseSchoolRepository

SH = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 30, 10, 0, tzinfo=SH)
ADMIN_G = "cid-admin-group"
OP, HZ, NB, LI = "op-zj-001", "city-hz-001", "city-nb-001", "t-hz-001"
SCHOOLS = [
    BaseSchool(
        2026,
        "杭州第十四中学",
        "杭州市",
        "拱墅区",
        "高中化学",
        "SP1",
        "王老师",
        teachers=10,
        premium_spaces=1,
        featured_spaces=3,
    ),
    BaseSchool(2026, "杭州学军中学", "杭州市", "西湖区", "高中物理", "SP2", "赵老师", teachers=5),
    BaseSchool(2026, "杭州高级中学", "杭州市", None, "高中语文", "SP4", "钱老师"),
    BaseSchool(2026, "宁波中学", "宁波市", None, "英语", "SP3", "林老师"),
]


def plain(text: str) -> str:
    return re.sub(r"(?<!\\)\*\*", "", text).replace("\\", "")


def _visits(n: int, month: int, days: range) -> list[dict]:
    return [
        {
            "action": "base.space_visit",
            "space_id": "SP1",
            "account": f"v{i:03d}",
            "time": f"2026-{month:02d}-{d:02d}T09:00:00+08:00",
        }
        for i in range(n)
        for d in days
    ]


@pytest.fixture
async def bs(start_bot, chat, sim, database_url):
    bot = await start_bot(
        clock=ManualClock(NOW), database_url=database_url, activity_api_token="tok-1", activity_max_bytes=5_000_000
    )

    async def say(text: str, *, user: str = OP, conversation: str = ADMIN_G) -> str:
        if conversation == "p2p":
            conversation = f"cid-p2p-{user}"
        return plain(await chat.say(text, user=user, conversation=conversation))

    assert "已把本群" in await say("/绑定 管理员群")
    assert "已授权" in await say("/授权 @陈建国 杭州市")
    assert "已授权" in await say("/授权 @林晓燕 宁波市")
    async with bot.db.unit_of_work() as uow:
        await uow.repo(BaseSchoolRepository).upsert(SCHOOLS, "浙江省", NOW)
    october = _visits(50, 10, range(1, 32, 2))
    teachers = [
        {
            "action": "base.teacher_space_opened",
            "space_id": "SP1",
            "account": f"t{i}",
            "time": "2026-09-01T08:00:00+08:00",
        }
        for i in range(10)
    ]
    teachers += [
        {"action": "base.teacher_space_active", "space_id": "SP1", "account": f"t{i}", "detail": {"month": "2026-11"}}
        for i in range(6)
    ]
    lessons = [
        {
            "action": "base.lesson_published",
            "space_id": "SP1",
            "time": "2026-10-08T08:00:00+08:00",
            "detail": {"lesson": f"第{i}课"},
        }
        for i in range(1, 19)
    ]
    report = await ingest_base_items(bot.db, october + teachers + lessons, NOW)
    assert report.rejected == []
    say.bot, say.chat, say.sim = bot, chat, sim
    return say


async def _post(bot, items: list) -> tuple[int, dict]:
    url = f"http://127.0.0.1:{bot.http_port}/api/v1/activity"
    async with (
        aiohttp.ClientSession() as s,
        s.post(url, data=json.dumps(items).encode(), headers={"Authorization": "Bearer tok-1"}) as r,
    ):
        return r.status, await r.json(content_type=None)


async def _november(bs) -> dict:
    nov = _visits(100, 11, range(1, 30, 2))
    other = {"account": "nobody", "action": "login", "time": "2026-11-29T08:00:00+08:00"}
    bad = [
        {"action": "base.space_visit", "space_id": "SP404", "account": "x", "time": "2026-11-29T08:00:00+08:00"},
        {"action": "base.space_visit", "space_id": "SP1", "time": "2026-11-29T08:00:00+08:00"},
    ]
    status, body = await _post(bs.bot, [other, *nov[:10], bad[0], *nov[10:], bad[1]])
    assert status == 200
    return body


async def test_activity_api_routes_base_items(bs):
    body = await _november(bs)
    assert body["received"] == 1503 and body["accepted"] == 1500
    reasons = {r["index"]: r["reason"] for r in body["rejected"]}
    assert sorted(reasons) == [0, 11, 1502]  # indices of the body, both kinds together
    assert "SP404" in reasons[11] and "不属于2026年的任何基地校" in reasons[11]
    assert "缺少账号" in reasons[1502]
    again = (await _post(bs.bot, _visits(1, 11, range(1, 3))))[1]
    assert again["duplicates"] == 1 and again["accepted"] == 1  # 1 Nov was stored, 2 Nov is new


async def test_school_figures_trend_and_territory(bs):
    await _november(bs)
    listing = await bs("/基地校 列表", user=HZ)
    assert "杭州第十四中学" in listing and "杭州学军中学" in listing and "宁波中学" not in listing
    assert "王＊＊" in listing and "王老师" not in listing  # lead names masked in a group
    assert "王老师" in await bs("/基地校 列表", user=HZ, conversation="p2p")
    assert "宁波中学" in await bs("/基地校 列表 宁波", user=OP)
    assert "只能查看本辖区（杭州市）" in await bs("/基地校 列表 宁波", user=HZ)
    assert "没有找到地区“火星”" in await bs("/基地校 列表 火星", user=HZ)
    figures = await bs("/基地校 杭州第十四中学", user=HZ)
    assert "杭州第十四中学（2026年11月）" in figures and "达标 6/6 项" in figures
    assert "✅ 学科空间活跃用户：100人（要求≥100人），较上月 ↑50" in figures
    assert "✅ 教师空间开通率：100%（要求≥100%），较上月 持平" in figures
    assert "✅ 活跃教师空间占比：60%（要求≥60%），较上月 ↑60个百分点" in figures
    assert "✅ 精品微课程课时：18课时" in figures
    assert "有效访问量（按用付费）：1500，较上月 ↑700" in figures
    assert "30 天内实名访问不少于 15 天" in figures
    assert "❌ 学科空间活跃用户：0人" in await bs("/基地校 杭州第十四中学 本年", user=HZ)
    assert "不在你的辖区" in await bs("/基地校 宁波中学", user=HZ)
    assert "没有找到基地校“火星中学”" in await bs("/基地校 火星中学", user=HZ)
    assert "时间“明年”看不懂" in await bs("/基地校 杭州第十四中学 明年", user=HZ)
    assert "多所基地校" in await bs("/基地校 杭州", user=HZ)
    assert "没有使用 /基地校 的权限" in await bs("/基地校", user=LI)


async def test_ranking_with_ties(bs):
    await _november(bs)
    city = await bs("/基地校排行 本月", user=HZ)
    assert "杭州市基地校动态排名（2026年11月）" in city and "宁波中学" not in city
    assert "1. 杭州第十四中学（杭州市）达标 6/6 项，活跃用户 100" in city
    assert "2. 杭州高级中学" in city and "2. 杭州学军中学" in city  # equal on every key: same rank
    province = await bs("/基地校排行 全省 本月", user=OP)
    assert province.count("2. ") == 3 and "宁波中学" in province
    assert "只能查看本辖区" in await bs("/基地校排行 宁波", user=HZ)
    assert "时间“下周”看不懂" in await bs("/基地校排行 杭州 下周", user=HZ)


async def test_lead_sees_own_school_and_reports_lessons(bs):
    await _november(bs)
    assert "没有使用 /基地校负责人 的权限" in await bs("/基地校负责人 杭州第十四中学 @李明", user=LI)
    assert "请 @负责人" in await bs("/基地校负责人 杭州第十四中学", user=HZ)
    assert "不在你的辖区" in await bs("/基地校负责人 宁波中学 @李明", user=HZ)
    assert "李明 现为 杭州第十四中学 的项目负责人" in await bs("/基地校负责人 杭州第十四中学 @李明", user=HZ)
    own = await bs("/基地校", user=LI)
    assert "杭州第十四中学（2026年11月）" in own and "达标 6/6 项" in own
    assert "不在你的辖区" in await bs("/基地校 宁波中学", user=LI)
    assert "课时数“二十”不对" in await bs("/基地校微课 二十", user=LI)
    assert "已发布 20 课时（要求≥18），已达标" in await bs("/基地校微课 20", user=LI)
    assert "精品微课程课时：20课时" in await bs("/基地校 本月", user=LI)
    rank = await bs("/基地校排行", user=LI)
    assert "杭州市基地校动态排名（2026年）" in rank
    assert "杭州市基地校动态排名" in await bs("/基地校排行 杭州 本月", user=LI)
    assert "只能查看本辖区" in await bs("/基地校排行 宁波", user=LI)
    listing = await bs("/基地校 列表", user=LI)
    assert "杭州第十四中学" in listing and "杭州学军中学" not in listing
    async with bs.bot.db.unit_of_work() as uow:
        entries = await uow.audit.list(entity="base_school")
    assert {e.action for e in entries} == {"base_schools.lead", "base_schools.lessons"}


async def test_export_and_november_job(bs):
    await _november(bs)
    assert "没有使用 /导出 的权限" in await bs("/导出 基地校考核", user=LI)
    assert "已单聊发给你" in await bs("/导出 基地校考核", user=HZ)
    text = plain(await bs.chat.private_to(HZ, "基地校考核表"))
    assert "杭州市基地校考核表（2026年）已生成" in text and "共 3 所" in text
    urls = [part.split(")")[0] for part in text.split("](")[1:]]
    async with aiohttp.ClientSession() as s:
        async with s.get(urls[0]) as r:
            ws = load_workbook(io.BytesIO(await r.read())).active
        async with s.get(urls[1]) as r:
            doc = Document(io.BytesIO(await r.read()))
    rows = [[c for c in row if c is not None] for row in ws.iter_rows(values_only=True)]
    flat = [str(c) for row in rows for c in row]
    assert "浙江省数字教育资源应用实践基地学校年度考核表" in flat
    header = next(r for r in rows if "排名" in r)
    assert header == [
        "排名",
        "学校",
        "设区市",
        "县(市、区)",
        "学科(专业)",
        "学科空间活跃用户",
        "教师空间开通率",
        "活跃教师空间占比",
        "精品微课程课时",
        "省级精品示范空间",
        "省级特色空间",
        "达标项数",
        "有效访问量",
    ]
    first = next(r for r in rows if "杭州第十四中学" in r)
    # the assessment year (1 Jan – 30 Nov): two months of visits are far from 167 days
    assert first[-13:] == [
        "1",
        "杭州第十四中学",
        "杭州市",
        "拱墅区",
        "高中化学",
        "0人 未达标",
        "100% 达标",
        "0% 未达标",
        "18课时 达标",
        "1个 达标",
        "3个 达标",
        "4/6",
        "2300",
    ]
    assert all("宁波中学" not in c for c in flat)
    assert any(r[-13:-11] == ["2", "杭州学军中学"] for r in rows) and any(
        r[-13:-11] == ["2", "杭州高级中学"] for r in rows
    )
    cells = [c.text for t in doc.tables for row in t.rows for c in row.cells]
    assert "杭州第十四中学" in cells and "0人 未达标" in cells and "2300" in cells
    assert any("年度考核表" in p.text for p in doc.paragraphs)
    # the job posts the provincial ranking to the admin group, once, without personal data; not before the day
    bs.bot.clock.set(datetime(2026, 11, 29, 9, 10, tzinfo=SH))
    assert (await bs.bot.scheduler.run_now("base_school_assessment"))["posted"] == 0
    bs.bot.clock.set(NOW)
    assert (await bs.bot.scheduler.run_now("base_school_assessment"))["posted"] == 1
    rec = await asyncio.to_thread(
        bs.sim.wait_for, lambda r: r.kind == "group_send" and "年度考核排名" in bs.sim.text_of(r), 10
    )
    posted = plain(bs.sim.text_of(rec))
    assert "2026年基地校年度考核排名" in posted and "1. 杭州第十四中学（杭州市）达标 4/6 项" in posted
    assert "宁波中学" in posted and "老师" not in posted and "v0" not in posted
    assert (await bs.bot.scheduler.run_now("base_school_assessment")).get("already") is True
    async with bs.bot.db.unit_of_work() as uow:
        rows_out = (
            await uow.session.scalars(select(OutboxMessage).where(OutboxMessage.purpose == "base-assessment:2026"))
        ).all()
        assert len(rows_out) == 1
        from handlers.base_schools import assessment_done

        assert await assessment_done(uow, 2026) and not await assessment_done(uow, 2025)


async def test_before_any_list(start_bot, chat):
    await start_bot(clock=ManualClock(NOW))
    assert "已把本群" in await chat.say("/绑定 管理员群")
    assert "还没有基地校名单" in plain(await chat.say("/基地校 列表"))
    assert "还没有基地校名单" in plain(await chat.say("/基地校排行 本月"))
    assert "没有使用 /基地校 的权限" in plain(await chat.say("/基地校", user=LI))
    assert "/基地校 只能在管理员群" in plain(await chat.say("/基地校", conversation="cid-trainer-group"))
