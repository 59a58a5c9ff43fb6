"""The issue's bad input, and the other review commands, through the SDK and the fake DingTalk."""

from __future__ import annotations

import io
from datetime import date

import aiohttp
from openpyxl import load_workbook
from sqlalchemy import func, select

from domain.roster import Member, Role
from domain.territory import Territory
from storage.models.review import ReviewResource
from storage.repositories.roster import RosterRepository
from tests.review.conftest import HZ, NOW, OP, World, resource


async def _assign_two(w: World) -> None:
    _status, body = await w.post("/api/v1/resources", [resource("R1"), resource("R2")])
    assert body["accepted"] == 2, body
    assert "分配预览" in await w.say("/分配 预览", user=HZ)
    assert "已派发 2 项" in await w.confirm()


async def _count(w: World) -> int:
    async with w.bot.db.unit_of_work() as uow:
        return int(await uow.session.scalar(select(func.count()).select_from(ReviewResource)))


async def test_bad_input(world: World):
    w = world
    # an import row with missing fields: the row, the field and the fix; nothing written
    status, body = await w.post(
        "/api/v1/resources", [resource("R9", subject=""), resource("R8", stage="大学"), resource("R7", county="鄞州区")]
    )
    assert status == 200 and body["accepted"] == 0 and body["rejected_count"] == 3, body
    reasons = [r["reason"] for r in body["rejected"]]
    assert "第 1 行「学科」为空：必填，请补上学科" in reasons[0]
    assert "「学段」“大学”：应为 学前、小学、初中、高中、中职" in reasons[1]
    assert "「县区」“鄞州区”：不属于杭州市" in reasons[2]
    assert await _count(w) == 0
    status, body = await w.post("/api/v1/resources", b"not json")
    assert status == 400

    await _assign_two(w)
    t1 = (await w.tasks(1))[0]
    busy = {t.reviewer_id for t in await w.tasks(1) + await w.tasks(2)}
    other = next(sid for sid in ("t-hz-001", "t-hz-002", "city-nb-001") if sid not in busy)
    # unknown resource number, a verdict from someone not assigned, 退回 without a reason
    assert "没有编号为 99 的资源" in await w.say("/通过 99", user=t1.reviewer_id, conversation="p2p")
    assert "没有派给你" in await w.say("/通过 1", user=other, conversation="p2p")
    assert "请写明原因" in await w.say("/不通过 1", user=t1.reviewer_id, conversation="p2p")
    # a rejection button without a reason asks for one
    await w.sim.apress_card_button(t1.card_id, t1.reviewer_id, "reject:1")
    assert "/不通过 1" in await w.private(t1.reviewer_id, "请写明原因")
    # catalogue corrections with an unknown 学段 or 学科: refused, nothing half-written
    reply = await w.say("/修改编目 1 学科=化学 学段=大学", user=t1.reviewer_id, conversation="p2p")
    assert "学段“大学”不对" in reply and "没有修改" in reply, reply
    reply = await w.say("/修改编目 1 学科=火星学", user=t1.reviewer_id, conversation="p2p")
    assert "学科“火星学”不是已知学科" in reply
    async with w.bot.db.unit_of_work() as uow:
        assert (await uow.session.get(ReviewResource, 1)).subject == "数学"
    reply = await w.say("/修改编目 1 学段=初中 学科=化学 章节=第二章", user=t1.reviewer_id, conversation="p2p")
    assert "学科：数学 → 化学" in reply and "章节：第四单元 → 第二章" in reply, reply
    await w.sim.awaits(
        lambda r: (
            r.kind == "card_update"
            and r.payload.get("outTrackId") == t1.card_id
            and "初中·化学" in r.payload["cardParamMap"]["markdown"]
        ),
        timeout=10,
    )
    # a stale card after reassignment
    assert "改派" in await w.say("/不能审 1 身体原因", user=t1.reviewer_id, conversation="p2p")
    await w.sim.apress_card_button(t1.card_id, t1.reviewer_id, "pass:1", force=True)
    assert "已转给其他审核员" in await w.private(t1.reviewer_id, "已转给其他审核员")


async def test_uncovered_is_explained(world: World):
    w = world
    async with w.bot.db.unit_of_work() as uow:
        roster = uow.repo(RosterRepository)
        base = {
            "county": "柯城区",
            "mobile": "13912340000",
            "stage": "初中",
            "school": "柯城中学",
            "title_post": "一级教师",
            "teacher_type": "其他",
        }
        await roster.add(
            Member(
                Role.REVIEWER,
                Territory("浙江省", "衢州市", "柯城区"),
                base | {"name": "吴婷", "subject": "化学", "account": "wuting"},
                user_id="t-ls-001",
            ),
            by="test",
            now=NOW,
        )
        await roster.add(
            Member(
                Role.REVIEWER,
                Territory("浙江省", "衢州市", "柯城区"),
                base | {"name": "钱多", "mobile": "13912340001", "account": "qd"},
                user_id="qz-001",
            ),
            by="test",
            now=NOW,
        )
    assert "已登记请假" in await w.say("/请假 2026-03-01 2026-03-31", user="t-ls-001", conversation="p2p")
    assert "结束日期" in await w.say("/请假 2026-03-09 2026-03-01", user="t-ls-001", conversation="p2p")
    _status, body = await w.post(
        "/api/v1/resources",
        [resource("Q1", stage="初中", subject="化学", city="衢州市", county="江山市", school="江山中学")],
    )
    assert body["accepted"] == 1
    preview = await w.say("/分配 预览 衢州市")
    assert "初中·化学（衢州市）：没有可用的审核员" in preview and "1人请假" in preview, preview
    assert "1人未登记学段或学科" in preview, preview
    assert "没有可派的任务" in await w.confirm(OP)


async def test_confirm_refuses_changed_data(world: World):
    w = world
    await w.post("/api/v1/resources", [resource("R1")])
    assert "派出 1 项" in await w.say("/分配 预览", user=HZ)
    await w.post("/api/v1/resources", [resource("R2")])  # the data changed since the preview
    reply = await w.confirm()
    assert "数据已变化" in reply and "派出 2 项" in reply, reply
    assert "已派发 2 项" in await w.confirm()
    assert "还没有预览" in await w.confirm()
    # a conflict declared by a reviewer keeps them off that submitter's work
    assert "已登记回避" in await w.say("/回避 Sub01", user="t-hz-001", conversation="p2p")
    assert "已在回避名单" in await w.say("/回避 Sub01", user="t-hz-001", conversation="p2p")
    await w.post("/api/v1/resources", [resource("R3")])
    await w.say("/分配 预览", user=HZ)
    await w.confirm()
    assert "t-hz-001" not in {t.reviewer_id for t in await w.tasks(3)}


async def test_calls_tasks_progress_and_reports(world: World):
    w = world
    listing = await w.say("/征集 列表")
    assert "2026年中小学优质数字资源征集" in listing and "省级评审：每个资源 2 人" in listing, listing
    assert "省级管理员" in await w.say("/征集 新建 名称=x 截止=2026-06-30", user=HZ)
    assert "缺少截止日期" in await w.say("/征集 新建 名称=2026年微课征集")
    reply = await w.say("/征集 新建 名称=2026年微课征集 截止=2026-06-30 级别=市级初审,省级评审 人数=1,3")
    assert "已新建征集活动：2026年微课征集" in reply and "省级评审（3 人）" in reply, reply
    _status, body = await w.post("/api/v1/resources", [resource("R1")])
    assert "有多个进行中的征集活动" in body["rejected"][0]["reason"]
    await w.post("/api/v1/resources", [resource("R1", call="2026年中小学优质数字资源征集")])
    # one resource in chat, by an operator of that territory only
    added = await w.say(
        "/提交资源 外部编号=R2 资源名称=小数 资源类型=课件 学段=小学 学科=数学 链接=https://e.cn/2 "
        "提交人=王五 提交人账号=ww 学校=上城小学 县区=上城区 设区市=杭州市 征集活动=2026年微课征集",
        user=HZ,
    )
    assert "已登记资源 #2" in added, added
    refused = await w.say(
        "/提交资源 外部编号=R3 资源名称=小数 资源类型=课件 学段=小学 学科=数学 链接=https://e.cn/3 "
        "提交人=王五 提交人账号=ww 学校=鄞州小学 县区=鄞州区 设区市=宁波市 征集活动=2026年微课征集",
        user=HZ,
    )
    assert "不在你管理的地区" in refused, refused
    await w.say("/分配 预览 2026年中小学优质数字资源征集", user=HZ)
    await w.confirm()
    t = (await w.tasks(1))[0]
    mine = await w.say("/任务", user=t.reviewer_id, conversation="p2p")
    assert "#1 分数的意义R1" in mine, mine
    await w.say("/通过 1 编目准确", user=t.reviewer_id, conversation="p2p")
    progress = await w.say("/进度 2026年中小学优质数字资源征集 杭州市", user=HZ)
    assert "杭州市·市级初审：提交 1，分配 1，完成 1" in progress, progress
    history = await w.say("/资源 1", user=HZ)
    assert "市级初审" in history and "通过（编目准确）" in history, history
    assert "不能查看" in await w.say("/资源 1", user="t-wz-001", conversation="p2p")

    # feedback → 好评率 in /考核 and the ranking by use
    _status, body = await w.post(
        "/api/v1/resources/feedback",
        [
            {"resource_id": "R1", "like": "like", "clicks": 30, "downloads": 5},
            {"resource_id": "R1", "rating": 5, "clicks": 10, "downloads": 1},
            {"resource_id": "nope", "clicks": 1, "downloads": 0},
            {"resource_id": "R1", "rating": 9},
        ],
    )
    assert body["accepted"] == 2 and body["rejected_count"] == 2, body
    top = await w.say("/资源排行 数学 杭州市 本月", user=HZ)
    assert "1. #1 分数的意义R1" in top and "点击 40，下载 6" in top, top
    stats = await w.bot.services.use(__import__("handlers.evaluation", fromlist=["x"]).REVIEW_STATS).review_stats(
        t.reviewer_id, date(2026, 1, 1), date(2026, 12, 31)
    )
    assert stats is not None and stats.completed == 1 and stats.on_time == 1 and stats.good_rate == 1.0
    evaluation = await w.say("/考核", user=t.reviewer_id, conversation="p2p")
    assert "完成任务数 1，按时完成率 100%，好评率 100%" in evaluation, evaluation

    # the city's report: xlsx and docx through signed links
    reply = await w.chat.say(
        "/导出 审核结果 2026年中小学优质数字资源征集 杭州市", user=HZ, conversation="cid-admin-group"
    )
    assert "已单聊发给你" in reply, reply
    text = await w.private(HZ, "审核结果")
    url = next(line.split("：", 1)[-1].strip() for line in text.splitlines() if ".xlsx" in line and "http" in line)
    url = url[url.index("http") :].split()[0].rstrip(")")
    async with aiohttp.ClientSession() as s, s.get(url) as resp:
        data = await resp.read()
    sheet = load_workbook(io.BytesIO(data)).worksheets[0]
    cells = [str(c.value) for row in sheet.iter_rows() for c in row if c.value is not None]
    assert "分数的意义R1" in cells and "上城小学" in cells


async def test_card_fallback_when_cards_fail(world: World):
    """DingTalk refuses the card (here: a person it does not know): the same tasks go as an action card
    with the text commands."""
    w = world
    async with w.bot.db.unit_of_work() as uow:
        await uow.repo(RosterRepository).add(
            Member(
                Role.REVIEWER,
                Territory("浙江省", "杭州市", "滨江区"),
                {
                    "county": "滨江区",
                    "name": "孙悟",
                    "mobile": "13912349999",
                    "stage": "小学",
                    "subject": "数学",
                    "school": "滨江小学",
                    "account": "sw",
                    "title_post": "一级教师",
                    "teacher_type": "其他",
                },
                user_id="ghost-hz",
            ),
            by="test",
            now=NOW,
        )
    await w.post("/api/v1/resources", [resource(f"R{i}") for i in range(1, 5)])
    await w.say("/分配 预览", user=HZ)
    assert "已派发 4 项" in await w.confirm()
    rec = await w.sim.awaits(
        lambda r: r.kind == "oto_send" and "ghost-hz" in (r.payload.get("userIds") or []), timeout=15
    )
    assert rec.payload["msgKey"] == "sampleActionCard"
    text = w.sim.text_of(rec)
    assert "审核任务 1 项" in text and "/通过 编号" in text, text


async def test_rejection_tells_the_city_operator(world: World):
    w = world
    await w.post("/api/v1/resources", [resource("R1")])
    await w.say("/分配 预览", user=HZ)
    await w.confirm()
    [t] = await w.tasks(1)
    reply = await w.say("/不通过 1 章节与内容不符", user=t.reviewer_id, conversation="p2p")
    assert "资源已退回" in reply, reply
    notice = await w.private(HZ, "被退回")
    assert "资源 #1 在市级初审被退回" in notice and "章节与内容不符" in notice, notice
    assert "已退回" in await w.say("/资源 1", user=HZ)
    async with w.bot.db.unit_of_work() as uow:
        entries = await uow.audit.list(entity="review_task", entity_id=str(t.id))
        [verdict] = [e for e in entries if e.action == "review.verdict"]
        assert verdict.reason == "章节与内容不符" and verdict.after["verdict"] == "reject"
