"""/积分, /排行, /我的账号, /报告 → /确认 → /考核, /推荐 → /导出 推荐表 through the simulator and the real SDK."""

from __future__ import annotations

import io
import re
from datetime import datetime, timedelta

import aiohttp
import pytest
from openpyxl import load_workbook

from bot.clock import ManualClock
from domain.roster import Member, Role
from domain.scores.activity import TeacherRow
from domain.territory import Territory
from handlers.scores.service import ingest, runtime_of
from storage.repositories.roster import RosterRepository
from storage.repositories.scores import TeacherRepository
from tests.scores.util import SH

ADMIN_G, TRAINER_G, REVIEWER_G = "cid-admin-group", "cid-trainer-group", "cid-reviewer-group"
OP, HZ, NB, LI, ZHANG, LIU = "op-zj-001", "city-hz-001", "city-nb-001", "t-hz-001", "t-hz-002", "t-nb-001"
NOW = datetime(2026, 3, 6, 10, 0, tzinfo=SH)  # a Friday


def plain(text: str) -> str:
    """Reply text without markdown escapes and bold marks."""
    return re.sub(r"(?<!\\)\*\*", "", text).replace("\\", "")


class Say:
    def __init__(self, chat, sim):
        self.chat, self.sim = chat, sim

    async def __call__(self, text: str, *, user: str = OP, conversation: str = ADMIN_G) -> str:
        if conversation == "p2p":
            conversation = f"cid-p2p-{user}"
        return plain(await self.chat.say(text, user=user, conversation=conversation))

    async def private_to(self, staff_id: str, contains: str, timeout: float = 10.0) -> str:
        return await self.chat.private_to(staff_id, contains, clean=plain, timeout=timeout)


def _member(role: Role, county: str | None, name: str, user_id: str, city: str = "杭州市", **values) -> Member:
    t = Territory("浙江省", city, county) if county else Territory("浙江省", city)
    base = {"county": county or "市本级", "name": name, "mobile": "13812345678"}
    if role is Role.ADMIN:
        base.update(org=f"{county}教育发展中心", title="高级教师", post="主任", person_type="区域平台管理员")
    elif role is Role.TRAINER:
        base.update(stage="小学", subject="语文", title_post="一级教师", former_member="否")
    else:
        base.update(
            stage="初中",
            subject="数学",
            school="鄞州中学",
            account="LiuYang",
            title_post="高级教师",
            teacher_type="其他",
        )
    base.update(values)
    return Member(role, t, base, user_id=user_id)


@pytest.fixture
async def sc(start_bot, chat, sim, database_url):
    """A bot on SQLite, then on PostgreSQL, with groups bound, two city operators, three roster members,
    a teacher list and some activity this week."""
    clock = ManualClock(NOW)
    bot = await start_bot(clock=clock, database_url=database_url, activity_api_token="tok-123", activity_max_bytes=4096)
    say = Say(chat, sim)
    for cid, role in ((ADMIN_G, "管理员群"), (TRAINER_G, "讲师群"), (REVIEWER_G, "审核员群")):
        assert "已把本群" in await say(f"/绑定 {role}", conversation=cid)
    assert "已授权" in await say("/授权 @陈建国 杭州市")
    assert "已授权" in await say("/授权 @林晓燕 宁波市")
    async with bot.db.unit_of_work() as uow:
        roster = uow.repo(RosterRepository)
        for m in (
            _member(Role.TRAINER, "西湖区", "李明", LI),
            _member(Role.ADMIN, "萧山区", "张丽", ZHANG),
            _member(Role.REVIEWER, "鄞州区", "刘洋", LIU, city="宁波市"),
        ):
            await roster.add(m, by="test", now=NOW)
        teachers = [
            TeacherRow("LiMing01", "李明", "西湖小学", "西湖区", "杭州市"),
            TeacherRow("ZhangLi", "张丽", "萧山中学", "萧山区", "杭州市"),
            TeacherRow("LiuYang", "刘洋", "鄞州中学", "鄞州区", "宁波市"),
            TeacherRow("zw-1", "张伟", "萧山一小", "萧山区", "杭州市"),
            TeacherRow("zw-2", "张伟", "萧山二小", "萧山区", "杭州市"),
            TeacherRow("Top01", "王强", "萧山三小", "萧山区", "杭州市"),
        ]
        await uow.repo(TeacherRepository).upsert(teachers, NOW)
    # 李明 this week: 6 uploads (5 count), logins Mon–Fri; 王强: a class (50) + a profile (20)
    items = [
        {"account": "LiMing01", "action": "resource_share", "time": (NOW - timedelta(hours=h)).isoformat()}
        for h in range(1, 7)
    ]
    items += [
        {"account": "LiMing01", "action": "login", "time": (NOW - timedelta(days=d)).isoformat()} for d in range(0, 5)
    ]
    items += [
        {
            "account": "LiMing01",
            "action": "class_teaching",
            "time": "2026-03-03T09:00:00+08:00",
            "detail": {"minutes": 14},
        }
    ]
    items += [
        {"account": "Top01", "action": "class_create", "time": "2026-02-02T09:00:00+08:00", "detail": {"students": 40}},
        {
            "account": "Top01",
            "action": "profile_update",
            "time": "2026-02-02T10:00:00+08:00",
            "detail": {"avatar": True, "contact": True, "school": True, "subject": True},
        },
    ]
    rep = await ingest(bot.db, runtime_of(bot.services), items, NOW)
    assert rep.accepted == len(items), rep.as_dict()
    say.bot = bot
    return say


async def test_own_score_after_linking_the_account(sc):
    assert "/我的账号" in await sc("/积分", user=LI, conversation=TRAINER_G)
    assert "大小写" in await sc("/我的账号 liming01", user=LI, conversation=TRAINER_G)
    assert "姓名与你的钉钉姓名不一致" in await sc("/我的账号 ZhangLi", user=LI, conversation=TRAINER_G)
    assert "已绑定平台账号" in await sc("/我的账号 LiMing01", user=LI, conversation=TRAINER_G)
    week = await sc("/积分 本周", user=LI, conversation=TRAINER_G)
    assert "李明的积分（本周 3月2日—3月8日）" in week and "合计 10 分" in week
    assert "资源建设：5 分｜本周 5/5 已满｜超出上限 1 次不计分" in week
    assert "空间登录：5 分" in week and "已连续登录 5 天" in week
    assert "互动授课：0 分｜本周 0/2｜1 次未达计分条件" in week
    assert "Li＊＊＊＊01" in week  # the account is masked in a group
    assert "LiMing01" in await sc("/score week", user=LI, conversation="p2p")
    year = await sc("/积分", user=LI, conversation=TRAINER_G)
    assert "2026年" in year and "合计 10 分" in year
    assert "合计 0 分" in await sc("/积分 2025", user=LI, conversation=TRAINER_G)
    assert "还没有开始" in await sc("/积分 2030", user=LI, conversation=TRAINER_G)
    assert "看不懂“明年”" in await sc("/积分 李明 明年", user=LI, conversation=TRAINER_G)


async def test_members_see_only_their_own(sc):
    await sc("/我的账号 LiMing01", user=LI, conversation=TRAINER_G)
    assert "只能查询本人" in await sc("/积分 王强", user=LI, conversation=TRAINER_G)
    assert "合计 10 分" in await sc("/积分 李明", user=LI, conversation=TRAINER_G)  # own name is fine
    assert "没有使用 /排行 的权限" in await sc("/排行", user=LI, conversation=TRAINER_G)


async def test_admins_query_their_territory(sc):
    # 张丽 is 萧山区's admin: teachers of 萧山区, not of 西湖区
    assert "王强的积分" in await sc("/积分 王强", user=ZHANG)
    assert "不在你管辖的地区" in await sc("/积分 李明", user=ZHANG)
    ambiguous = await sc("/积分 张伟", user=ZHANG)
    assert "已单聊发给你" in ambiguous
    choose = await sc.private_to(ZHANG, "有 2 位教师叫“张伟”")
    assert "zw-1" in choose and "zw-2" in choose and "/积分 账号" in choose
    assert "王强的积分" in await sc("/积分 Top01 本年", user=HZ)  # the city operator: whole city
    assert "没有找到" in await sc("/积分 top01", user=HZ)  # accounts are case-sensitive
    assert "张伟的积分" in await sc("/积分 zw-2", user=OP)


async def test_rank_with_county_shares(sc):
    city = await sc("/排行 杭州", user=HZ)
    assert "杭州市积分排行（2026年）" in city
    assert "1. 王强（萧山区）70 分" in city and "2. 李明（西湖区）10 分" in city
    assert "2026年积分≥60 分的教师占比（目标 40%）" in city
    assert "萧山区：1/4 人，25% 未达标" in city and "西湖区：0/1 人，0% 未达标" in city
    week = await sc("/排行 西湖区 本周", user=HZ)
    assert "杭州市西湖区积分排行（本周" in week and "1. 李明（西湖小学）10 分" in week and "占比" not in week
    assert "不在你的管辖范围" in await sc("/排行 宁波", user=HZ)
    province = await sc("/排行 全省", user=OP)
    assert "浙江省积分排行" in province and "杭州市 20%，0/2 个县区达标" in province
    assert "宁波市 0%" in province
    assert "萧山区积分排行" in await sc("/排行", user=ZHANG)
    assert "没有找到地区“火星”" in await sc("/排行 火星", user=OP)


async def test_report_confirm_and_checklist(sc):
    check = await sc("/考核", user=LI, conversation=TRAINER_G)
    assert "李明（杭州市西湖区 培训讲师）2026年度考核" in check and "待提交 4 项" in check
    assert "/报告 培训 日期 主题 人数" in check
    assert "不少于 2000" in await sc("/报告 文章 https://zjer.cn/a/1 1500", user=LI, conversation=TRAINER_G)
    assert "没有“安全”这类材料" in await sc("/报告 安全 无事故", user=LI, conversation=TRAINER_G)
    r1 = await sc("/报告 培训 2026-03-01 平台 应用培训 45", user=LI, conversation=TRAINER_G)
    assert "已提交考核材料 #1" in r1 and "已通知市级管理员" in r1
    note = await sc.private_to(HZ, "新的考核材料 #1")
    assert "培训：2026-03-01 平台 应用培训 45人" in note
    r2 = await sc("/报告 文章 https://zjer.cn/a/1 2300", user=LI, conversation=TRAINER_G)
    assert "#2" in r2
    pending = await sc("/待确认", user=HZ)
    assert "#1" in pending and "#2" in pending
    assert "不在你管辖的设区市" in await sc("/确认 1", user=NB)
    assert "没有使用 /确认 的权限" in await sc("/确认 1", user=LI, conversation=TRAINER_G)
    assert "已确认 李明 的材料 #1" in await sc("/确认 1", user=HZ)
    assert "已由市级确认" in await sc.private_to(LI, "#1")
    assert "已确认，不用再处理" in await sc("/确认 1", user=HZ)
    assert "「原因」" in await sc("/退回 2", user=HZ)
    assert "已退回" in await sc("/退回 2 链接打不开", user=HZ)
    assert "链接打不开" in await sc.private_to(LI, "被退回")
    check = await sc("/考核", user=LI, conversation=TRAINER_G)
    assert "✅ 达成 1. 线下培训讲座或会议交流1次以上（本人报告）" in check
    assert "❌ 未达成 4." in check and "被退回：链接打不开" in check
    # the city operator sees anyone of the city; another city's operator does not
    assert "达成 1 项" in await sc("/考核 @李明", user=HZ)
    assert "不在你管辖的地区" in await sc("/考核 @李明", user=NB)
    # an admin's indicator 6 comes from points; a reviewer's review indicators wait for the review records
    admin = await sc("/考核", user=ZHANG)
    assert "杭州市萧山区：年度积分≥60 的教师 1/4，占 25.0%（目标 40%）" in admin and "还差 1 人" in admin
    reviewer = await sc("/考核", user=LIU, conversation=REVIEWER_G)
    assert "暂无审核记录数据" in reviewer
    assert "你还不在服务队伍名单中" in await sc("/考核", user="t-wz-001")


async def test_recommend_and_export_the_form(sc):
    await sc("/报告 文章 https://zjer.cn/a/9 2600", user=LI, conversation=TRAINER_G)
    await sc("/确认 1", user=HZ)
    assert "已推荐 杭州市西湖区 培训讲师 李明" in await sc("/推荐 @李明 组织培训12场", user=HZ)
    assert "已在 2026 年推荐名单中" in await sc("/推荐 @李明", user=HZ)
    assert "已推荐" in await sc("/推荐 @张丽 数据更新及时", user=HZ)
    assert "不在你管辖的地区" in await sc("/推荐 @刘洋", user=HZ)
    assert "没有使用 /推荐 的权限" in await sc("/推荐 @李明", user=LI, conversation=TRAINER_G)
    reply = await sc("/导出 推荐表", user=HZ)
    assert "已单聊发给你" in reply
    text = await sc.private_to(HZ, "附件3")
    assert "10月31日前盖章" in text
    urls = [part.split(")")[0] for part in text.split("](")[1:]]
    assert len(urls) == 2
    async with aiohttp.ClientSession() as s:
        async with s.get(urls[0]) as r:
            assert r.status == 200
            ws = load_workbook(io.BytesIO(await r.read())).active
        async with s.get(urls[1]) as r:
            assert r.status == 200 and (await r.read())[:2] == b"PK"
    rows = [[c for c in row if c is not None] for row in ws.iter_rows(values_only=True)]
    flat = [str(c) for row in rows for c in row]
    assert "教育资源公共服务体系服务队伍优秀工作者设区市推荐表" in flat and "附件3" in flat
    assert "报送单位：（公章）杭州市教育技术中心" in flat or any("杭州市教育技术中心" in c for c in flat)
    admin_row = next(r for r in rows if "张丽" in r)
    assert admin_row[-7:] == ["萧山区", "张丽", "萧山区教育发展中心", "高级教师", "主任", "13812345678", "数据更新及时"]
    trainer_row = next(r for r in rows if "李明" in r)
    assert trainer_row[-7:] == ["西湖区", "李明", "小学", "语文", "一级教师", "13812345678", "https://zjer.cn/a/9"]
    assert "已撤回" in await sc("/撤回推荐 @张丽", user=HZ)
    assert "不在 2026 年推荐名单中" in await sc("/撤回推荐 @张丽", user=HZ)
    await sc("/导出 推荐表 杭州", user=OP)
    text = await sc.private_to(OP, "共 1 人")
    assert "杭州市优秀工作者推荐表" in text


async def _post(sc, body: bytes | str, *, token: str | None = "tok-123", ctype: str = "application/json"):
    headers = {"Content-Type": ctype}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    url = f"http://127.0.0.1:{sc.bot.http_port}/api/v1/activity"
    async with aiohttp.ClientSession() as s:
        async with s.post(url, data=body.encode() if isinstance(body, str) else body, headers=headers) as r:
            return r.status, await r.json(content_type=None)


async def test_activity_api(sc):
    good = (
        '[{"account": "LiMing01", "action": "article_publish", "time": "2026-03-05T08:00:00+08:00", "event_id": "A1"}]'
    )
    assert (await _post(sc, good, token=None))[0] == 401
    status, body = await _post(sc, good, token="wrong")
    assert status == 401 and "Bearer" in body["error"]
    status, body = await _post(sc, good)
    assert status == 200 and body["accepted"] == 1 and body["rejected"] == []
    status, body = await _post(sc, good)
    assert status == 200 and body["accepted"] == 0 and body["duplicates"] == 1
    status, body = await _post(sc, "[" + ",".join([good[1:-1]] * 60) + "]")
    assert status == 413 and "上限" in body["error"]
    status, body = await _post(sc, '[{"account": ')
    assert status == 400 and "JSON" in body["error"]
    status, body = await _post(sc, '{"account": "x"}')
    assert status == 200 and body["rejected"][0]["reason"].startswith("缺少动作代码")
    nd = "\n".join(
        [
            '{"account": "LiMing01", "action": "photo_post", "time": "2026-03-05T09:00:00+08:00"}',
            '{"account": "LiMing01", "action": ',
            '{"account": "Nobody", "action": "photo_post", "time": "2026-03-05T09:00:00+08:00"}',
            '{"account": "LiMing01", "action": "class_teaching", "time": "2026-03-05T10:00:00+08:00", "detail": {"minutes": 40}}',
        ]
    )
    status, body = await _post(sc, nd, ctype="application/x-ndjson")
    assert status == 200 and body["accepted"] == 2 and body["received"] == 4
    assert [r["index"] for r in body["rejected"]] == [1, 2]
    assert body["rejected"][0]["reason"] == "第 2 行不是有效的 JSON" and "Nobody" in body["rejected"][1]["reason"]
    await sc("/我的账号 LiMing01", user=LI, conversation=TRAINER_G)
    assert "合计 21 分" in await sc("/积分 本周", user=LI, conversation=TRAINER_G)  # 10 + 5 + 1 + 5
