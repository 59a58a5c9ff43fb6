"""Issue 10, end to end through the real SDK and the fake gateway, asserting on what a person reads
(the chat page's markdown subset applied: ``sim.read_text``)."""

from __future__ import annotations

import asyncio
import io
import re
from datetime import datetime

import aiohttp
from docx import Document
from openpyxl import load_workbook

from bot.clock import SHANGHAI, ManualClock
from storage.forms.roster_form import read_roster
from tests.roster.conftest import ADMIN_G, REVIEWER_G, TRAINER_G
from tests.roster.test_chat import reviewer_row

OP, HZ, NB, LI, ZHANG = "op-zj-001", "city-hz-001", "city-nb-001", "t-hz-001", "t-hz-002"
GROUPS = (("cid-admin-group", "管理员群"), ("cid-trainer-group", "讲师群"), ("cid-reviewer-group", "审核员群"))


class Reader:
    """Say something and return what a person reads of the reply; the raw text too, for links."""

    def __init__(self, sim):
        self.sim = sim
        self.raw = ""

    async def say(self, text: str, *, user: str = OP, conversation: str = ADMIN_G) -> str:
        u = self.sim.user(user)
        conv = self.sim.private(u) if conversation == "p2p" else self.sim.group(conversation)
        msg_id = await asyncio.to_thread(self.sim.send_message, text, user=u, conversation=conv)
        record = await asyncio.to_thread(self.sim.wait_reply, msg_id, 10)
        self.raw = self.sim.text_of(record)
        return self.sim.read_text(record)

    async def private_to(self, staff_id: str, contains: str) -> str:
        def match(r):
            return (
                r.kind == "oto_send"
                and staff_id in (r.payload.get("userIds") or [])
                and contains in self.sim.read_text(r)
            )

        rec = await asyncio.to_thread(self.sim.wait_for, match, 10)
        self.raw = self.sim.text_of(rec)
        return self.sim.read_text(rec)

    def links(self) -> list[str]:
        return re.findall(r"\]\((http[^)]+)\)", self.raw)


async def _bot(start_bot, sim, clock: ManualClock | None = None):
    bot = await start_bot(clock=clock) if clock else await start_bot()
    r = Reader(sim)
    for cid, role in GROUPS:
        assert "已把本群" in await r.say(f"/绑定 {role}", conversation=cid)
    assert "已授权" in await r.say("/授权 @陈建国 杭州市")
    return bot, r


async def _download(url: str) -> bytes:
    async with aiohttp.ClientSession() as s, s.get(url) as resp:
        assert resp.status == 200
        return await resp.read()


async def test_guided_form_choices_back_and_confirmation(start_bot, sim):
    _, r = await _bot(start_bot, sim)
    say = lambda text: r.say(text, user=ZHANG, conversation=REVIEWER_G)  # noqa: E731
    assert "资源审核员登记（共9项）" in await say("/登记")
    assert "第2/9项" in await say("萧山区")
    back = await say("上一步")  # back one field, showing what was there
    assert "第1/9项" in back and "原来填的是：萧山区" in back
    await say("萧山")
    stage = await say("张丽")
    assert "请选择「学段」，回复编号" in stage and "1. 学前" in stage and "5. 中职" in stage
    assert "第4/9项" in await say("2")  # "2" picks the second: 小学
    for answer in ("语文", "萧山中学", "ZhangLi", "13900001111"):
        await say(answer)
    # Step 8 (职称/职务, optional) says once that it may be left empty.
    await say("上一步")
    asked = await say("13900001111")
    assert asked.count("无") == 1, asked
    teacher_type = await say("一级教师")
    assert "3. 其他" in teacher_type
    wrong = await say("大学")
    assert "「大学」不对" in wrong and wrong.count("以下之一") == 0 and "1. 各级平台资源审核员" in wrong
    summary = await say("3")
    assert "请核对资源审核员登记" in summary and "3. 学段：小学" in summary and "9. 教师类型：其他" in summary
    assert "7. 手机：139＊＊＊＊1111" in summary  # masked in the group
    assert "确认" in summary and "修改" in summary and "取消" in summary
    again = await say("修改 3")
    assert "原来填的是：小学" in again and "1. 学前" in again
    summary = await say("4")
    assert "3. 学段：高中" in summary and "请核对" in summary
    done = await say("确认")
    assert "已提交登记，等待市级管理员审批" in done and "张丽" in done
    assert "命令以 / 开头" in await say("还有吗")  # the dialogue is over


async def test_roster_views_have_one_definition_of_completion_and_a_gaps_view(start_bot, sim):
    _, r = await _bot(start_bot, sim)
    paste = "\n".join(reviewer_row("西湖区", n, i) for i, n in enumerate(["甲一", "乙二", "丙三"], 1))
    await r.say("/登记\n" + paste, user=HZ, conversation=REVIEWER_G)
    await r.say(
        "/登记 县=西湖区 姓名=丁四 学段=小学 学科=语文 职称/职务=一级教师 手机=13700000009 往届=否",
        user=HZ,
        conversation=TRAINER_G,
    )
    await r.say(
        "/登记 县=西湖区 姓名=戊五 单位=西湖区教育发展中心 职称=高级教师 职务=主任 手机=13700000010 "
        "人员类型=区域平台管理员",
        user=HZ,
        conversation=ADMIN_G,
    )
    province = await r.say("/名单 全省")
    assert "杭州市：已齐 1/14 个地区，已登记 5/70 人" in province and "%" not in province
    gaps = await r.say("/名单 缺额")
    assert "只列缺额" in gaps and "上城区：缺" in gaps and "西湖区" not in gaps
    city = await r.say("/名单 杭州市 缺额", user=HZ)
    assert "杭州市名单：已齐 1/14 个地区" in city and "上城区" in city and "西湖区" not in city
    full = await r.say("/名单 杭州市", user=HZ)
    assert "✅ 西湖区" in full and "/名单 杭州市 缺额 只看缺额" in full


async def test_checklist_after_the_deadline_says_it_passed_and_what_is_next(start_bot, sim):
    clock = ManualClock(datetime(2026, 12, 2, 9, 0, tzinfo=SHANGHAI))
    _, r = await _bot(start_bot, sim, clock)
    pending = await r.say(
        "/登记 县=西湖区 姓名=李明 学段=小学 学科=语文 职称/职务=一级教师 手机=13700000009 往届=否",
        user=LI,
        conversation=TRAINER_G,
    )
    assert "等待市级管理员审批" in pending
    assert "已批准" in await r.say("/批准 1", user=HZ)
    text = await r.say("/考核", user=LI, conversation=TRAINER_G)
    assert "年度考核" in text, text
    assert "已于 2026年10月31日 截止" in text and "2027年度的材料请在 2027年10月31日 前提交" in text
    assert "请在 10月31日 前提交材料" not in text and "提交：" not in text


async def test_usage_and_refusals_read_right(start_bot, sim):
    _, r = await _bot(start_bot, sim)
    await r.say("/授权 @林晓燕 宁波市")
    reply = await r.say("/报告", user=LI, conversation=TRAINER_G)
    assert "缺少「类型」" in reply and "应为缺少" not in reply and "例如：/报告 培训" in reply
    for command, arg in (("/推荐", "对象"), ("/退回", "编号")):
        reply = await r.say(command, user=HZ)
        assert f"缺少「{arg}」" in reply and "应为缺少" not in reply and "例如：" + command in reply
    await r.say("/登记 " + reviewer_row("西湖区", "张三", 1), user=HZ, conversation=REVIEWER_G)
    change = await r.say("/变更 1 学段=高三", user=HZ, conversation=REVIEWER_G)
    assert change.startswith("资源审核员变更未完成") and "登记未完成" not in change
    assert "示例：/变更 1 学段=学前 原因=…" in change
    assert "已变更" in await r.say("/变更 1 学段=高中 原因=调动", user=HZ, conversation=REVIEWER_G)
    refused = await r.say("/导出 名单 宁波市", user=HZ)
    assert "宁波市不在你的管辖范围内" in refused and "本人登记" not in refused and "/名单 杭州市" in refused


async def test_identity_grants_no_internal_id_and_revocation_notice(start_bot, sim):
    _, r = await _bot(start_bot, sim)
    who = await r.say("/我是谁", user=HZ)
    assert "管理权限：杭州市的市级管理员" in who
    ext = await r.say("/我是谁", user="ext-001", conversation=REVIEWER_G)
    assert "组织外成员" in ext and "$:" not in ext and "LWCP" not in ext
    assert "已授权" in await r.say("/授权 @李明 西湖区", user=HZ)
    assert "已撤销李明的权限" in await r.say("/撤销 @李明", user=HZ)
    notice = await r.private_to(LI, "已被撤销")
    assert "杭州市西湖区的县级管理员" in notice and "陈建国" in notice
    assert "管理权限：无" in await r.say("/我是谁", user=LI, conversation=REVIEWER_G)


async def test_score_periods_and_paste_rows(start_bot, sim):
    _, r = await _bot(start_bot, sim)
    for word in ("上周", "本月", "2025"):
        reply = await r.say(f"/积分 {word}", user=LI, conversation=REVIEWER_G)
        assert "没有找到账号或姓名" not in reply and "平台账号" in reply, (word, reply)
    paste = "\n".join([reviewer_row("西湖区", "甲一", 1, mobile="1371234567"), reviewer_row("西湖区", "乙二", 2)])
    report = await r.say("/登记\n" + paste, user=HZ, conversation=REVIEWER_G)
    assert "第1行「手机」" in report and "通过：第2行" in report  # the /登记 line is not row 1


async def test_submission_contact_headers_and_the_province_export(start_bot, sim):
    bot, r = await _bot(start_bot, sim)
    await r.say("/登记 " + reviewer_row("西湖区", "张三", 1), user=HZ, conversation=REVIEWER_G)
    bad = await r.say("/报送信息 联系人=陈建国 手机=123", user=HZ)
    assert "报送信息未保存" in bad and "「手机」“123”不对" in bad
    await r.say("/报送信息 联系人=陈建国 电话=0571-85000000 手机=13800138000", user=HZ)
    saved = await r.private_to(HZ, "报送信息已保存")
    assert "联系人电话：0571-85000000" in saved and "手机：13800138000" in saved
    async with bot.db.unit_of_work() as uow:
        [entry] = await uow.audit.list(entity="submission_contact")
    assert entry.after == {"contact": "陈建国", "phone": "0571-85000000", "mobile": "13800138000"}
    await r.say("/导出 名单", user=HZ)
    await r.private_to(HZ, "服务队伍汇总表（附件1）已生成")
    assert r.links(), r.raw
    form = read_roster(await _download(r.links()[0]), "a.xlsx")
    assert form.header["联系人姓名"] == "陈建国" and form.header["联系人电话"] == "0571-85000000"
    assert form.header["手机"] == "13800138000" and form.header["报送单位"] == "杭州市教育技术中心"
    # /推荐 by roster record number: 张三 never wrote to the bot.
    recommended = await r.say("/推荐 1 审核认真", user=HZ)
    assert "已推荐 杭州市西湖区 资源审核员 张三" in recommended
    await r.say("/导出 推荐表", user=HZ)
    await r.private_to(HZ, "推荐表（附件3，")
    cells = _cells(load_workbook(io.BytesIO(await _download(r.links()[0]))).active)
    assert any("0571-85000000" in c for c in cells) and any("13800138000" in c for c in cells)
    assert "张三" in cells
    # The province: one workbook (summary + a sheet per city) and one printable docx.
    assert "已单聊发给你" in await r.say("/导出 名单 全省")
    await r.private_to(OP, "含汇总表和各市分表")
    xlsx_url, docx_url = r.links()
    wb = load_workbook(io.BytesIO(await _download(xlsx_url)))
    assert wb.sheetnames[0] == "汇总" and "杭州市" in wb.sheetnames and "丽水市" in wb.sheetnames
    assert len(wb.sheetnames) == 12
    summary = {row[0]: row for row in wb["汇总"].iter_rows(min_row=3, values_only=True)}
    assert summary["杭州市"][1:6] == (14, 0, 70, 1, 69) and summary["杭州市"][6] == "已齐 0/14 个地区"
    assert "张三" in _cells(wb["杭州市"]) and "张三" not in _cells(wb["宁波市"])
    doc = Document(io.BytesIO(await _download(docx_url)))
    text = "\n".join(p.text for p in doc.paragraphs)
    assert "杭州市教育技术中心" in text and "丽水市教育技术中心" in text and "0571-85000000" in text
    refused = await r.say("/导出 名单 全省", user=HZ)
    assert "不在你的管辖范围内" in refused


def _cells(ws) -> list[str]:
    return [str(c) for row in ws.iter_rows(values_only=True) for c in row if c not in (None, "")]
