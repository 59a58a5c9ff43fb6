"""Roster end to end: chat messages through the fake DingTalk gateway into the real SDK and back."""

from __future__ import annotations

import asyncio
import io
from datetime import datetime

import aiohttp
import pytest
from openpyxl import load_workbook

from bot.clock import SHANGHAI, ManualClock
from storage.forms.roster_form import read_roster
from tests.roster.conftest import ADMIN_G, REVIEWER_G, TRAINER_G

OP, HZ, NB, LI, ZHANG, LIU = "op-zj-001", "city-hz-001", "city-nb-001", "t-hz-001", "t-hz-002", "t-nb-001"

REVIEWER_KV = "县=西湖区 姓名=张三 学段=小学 学科=语文 学校=学军小学 账号=ZhangSan 手机=13800138000 类型=其他"


def reviewer_row(county: str, name: str, n: int, **kw) -> str:
    cells = {
        "county": county,
        "name": name,
        "stage": "初中",
        "subject": "数学",
        "school": f"{county}第一中学",
        "account": f"Acc{n:03d}",
        "mobile": f"137{n:08d}",
        "title_post": "一级教师",
        "teacher_type": "其他",
    }
    cells.update(kw)
    return "\t".join(cells.values())


async def members(bot, **where):
    from domain.territory import Territory
    from storage.repositories.roster import RosterRepository

    async with bot.db.unit_of_work() as uow:
        return await uow.repo(RosterRepository).in_territory(
            Territory("浙江省", *where.get("path", ("杭州市",))), statuses=("pending", "active", "removed", "rejected")
        )


async def test_grant_chain_and_refusals(bound_bot, roster):
    assert "已授权：陈建国为杭州市的市级管理员" in await roster.say("/授权 @陈建国 杭州市")
    assert "杭州市的市级管理员" in await roster.private_to(HZ, "你已被授权")
    # City → its county; not another city's county; the province cannot skip a level.
    assert "县级管理员" in await roster.say("/授权 @李明 西湖", user=HZ)
    refused = await roster.say("/授权 @刘洋 鄞州区", user=HZ)
    assert "不能授权" in refused and "宁波市" in refused
    assert "只能由市级管理员授权" in await roster.say("/授权 @刘洋 鄞州区")
    # County → school of its county (a school name alone is enough).
    assert "学军小学的校级管理员" in await roster.say("/授权 @张丽 学军小学", user=LI)
    assert "不能授权" in await roster.say("/授权 @张丽 萧山区", user=LI)
    # Someone without any territory may not use /授权 at all.
    assert "没有使用 /授权 的权限" in await roster.say("/授权 @李明 杭州市", user=LIU)
    # An external user cannot be granted (no staff id).
    assert "无法授权" in await roster.say("/授权 @赵老师 滨江区", user=HZ)
    # Revocation: only from above.
    revoke_refused = await roster.say("/撤销 @陈建国 杭州市", user=LI)
    assert "不能撤销" in revoke_refused and "授权" not in revoke_refused
    assert "无法撤销「赵老师」" in await roster.say("/撤销 @赵老师", user=HZ)
    assert "杭州市西湖区：" in await roster.say("/名单 西湖区", user=LI)  # (his grants are cached now)
    assert "已撤销李明的权限：杭州市西湖区" in await roster.say("/撤销 @李明", user=HZ)
    assert "没有使用 /授权 的权限" in await roster.say("/授权 @张丽 学军小学", user=LI)  # at once
    assert "没有可撤销" in await roster.say("/撤销 @李明", user=HZ)
    async with bound_bot.db.unit_of_work() as uow:
        entries = await uow.audit.list(entity="territory_grant")
    assert {e.action for e in entries} == {"territory.grant", "territory.revoke"}


async def test_register_one_line_in_the_role_group(hz_bot, roster):
    reply = await roster.say("/登记 " + REVIEWER_KV, user=HZ, conversation=REVIEWER_G)
    assert "已登记：张三（杭州市西湖区资源审核员）" in reply
    assert "138＊＊＊＊8000" in reply and "13800138000" not in reply  # masked in the group
    # The same line in the trainer group is a trainer registration: reviewer columns are refused.
    reply = await roster.say("/登记 " + REVIEWER_KV, user=HZ, conversation=TRAINER_G)
    assert "培训讲师登记未完成" in reply and "「账号」：培训讲师表没有这一项（属于资源审核员）" in reply
    # A row copied from Excel (tabs) in the admin group registers the county admin.
    row = "\t".join(["西湖区", "王强", "西湖区教育发展中心", "高级教师", "副主任", "13900000001", "平台管理员"])
    reply = await roster.say("/登记 " + row, user=HZ, conversation=ADMIN_G)
    assert "已登记：王强（杭州市西湖区体系管理员）" in reply
    [admin] = [m for m in await members(hz_bot) if m.name == "王强"]
    assert admin.values["person_type"] == "区域平台管理员" and admin.mobile == "13900000001"


async def test_bad_values_are_explained(hz_bot, roster):
    reply = await roster.say(
        "/登记 县=鹿城区 姓名=张三 学段=大学 学科=语文 学校=学军小学 账号=Z 手机=1380013800 类型=其他",
        user=HZ,
        conversation=REVIEWER_G,
    )
    assert "「县(市、区)」：“鹿城区”不对，应为杭州市下属的县(市、区)（“鹿城区”属于温州市）" in reply
    assert "「学段」：“大学”不对，应为以下之一：学前、小学、初中、高中、中职" in reply
    assert "「手机」：“1380013800”不对，应为11位手机号，以13–19开头" in reply
    assert await members(hz_bot) == []


async def test_quota_and_one_seat_per_person(hz_bot, roster):
    admin = "\t".join(["西湖区", "王强", "西湖区教育发展中心", "", "", "13900000001", "教师"])
    assert "已登记" in await roster.say("/登记 " + admin, user=HZ)
    other = "\t".join(["西湖区", "赵敏", "西湖区教育发展中心", "", "", "13900000002", "教师"])
    reply = await roster.say("/登记 " + other, user=HZ)
    assert "名额已满" in reply and "王强" in reply and "限1名" in reply
    same_phone = "\t".join(["萧山区", "王强", "萧山区教育局", "", "", "13900000001", "教师"])
    reply = await roster.say("/登记 " + same_phone, user=HZ)
    assert "此手机号已登记为杭州市西湖区体系管理员（王强）" in reply
    # Five reviewers fill 西湖区; the sixth is refused with the five names.
    rows = "\n".join(reviewer_row("西湖区", n, i) for i, n in enumerate(["甲一", "乙二", "丙三", "丁四", "戊五"], 1))
    assert "已登记 5 行" in await roster.say("/登记\n" + rows, user=HZ, conversation=REVIEWER_G)
    reply = await roster.say("/登记 " + reviewer_row("西湖区", "己六", 6), user=HZ, conversation=REVIEWER_G)
    assert "名额已满" in reply and "甲一、乙二、丙三、丁四、戊五" in reply
    # The platform account is unique and compared exactly (case-sensitive).
    reply = await roster.say(
        "/登记 " + reviewer_row("萧山区", "庚七", 7, account="Acc001"), user=HZ, conversation=REVIEWER_G
    )
    assert "平台账号已被杭州市西湖区的甲一使用" in reply
    assert "已登记" in await roster.say(
        "/登记 " + reviewer_row("萧山区", "庚七", 7, account="acc001"), user=HZ, conversation=REVIEWER_G
    )


async def test_bulk_paste_reports_each_row(hz_bot, roster):
    paste = "\n".join(
        [
            "县(市、区)\t姓名\t学段\t学科\t学校名称\t平台账号\t手机\t职称/职务\t教师类型",  # header copied along: skipped
            reviewer_row("西湖区", "甲一", 1),
            reviewer_row("西湖区", "乙二", 2, mobile="12345"),
            "",
            reviewer_row("鄞州区", "丙三", 3),
            reviewer_row("萧山区", "丁四", 4, stage="普高", teacher_type="入围教师"),
            reviewer_row("萧山区", "戊五", 5, account="Acc001"),
        ]
    )
    reply = await roster.say("/登记\n" + paste, user=HZ, conversation=REVIEWER_G)
    assert "已登记 2 行，3 行有问题" in reply
    # Rows are the pasted data rows: the /登记 line, the header and the empty line are not counted.
    assert "第1行–1行" not in reply and "通过：第1、4行" in reply
    assert "第2行「手机」：“12345”不对，应为11位手机号，以13–19开头" in reply
    assert "第3行「县(市、区)」：“鄞州区”不对，应为杭州市下属的县(市、区)（“鄞州区”属于宁波市）" in reply
    assert "第5行「平台账号」" in reply
    saved = {m.name: m for m in await members(hz_bot)}
    assert set(saved) == {"甲一", "丁四"}
    assert saved["丁四"].values["stage"] == "高中"
    assert saved["丁四"].values["teacher_type"] == "在往届省级及以上各类数字资源征集活动中入围教师"


async def test_all_or_nothing(hz_bot, roster):
    paste = "\n".join([reviewer_row("西湖区", "甲一", 1), reviewer_row("西湖区", "乙二", 2, stage="大学")])
    reply = await roster.say("/登记 全部或不导\n" + paste, user=HZ, conversation=REVIEWER_G)
    assert "登记未保存：1 行有问题" in reply and "一行也没有保存" in reply and "第2行「学段」" in reply
    assert await members(hz_bot) == []
    paste = "\n".join([reviewer_row("西湖区", "甲一", 1), reviewer_row("西湖区", "乙二", 2)])
    assert "已登记 2 行" in await roster.say("/登记 全部或不导\n" + paste, user=HZ, conversation=REVIEWER_G)


async def test_territory_is_enforced(hz_bot, roster):
    # A city operator cannot register in another city, in chat or by paste.
    reply = await roster.say("/登记 " + REVIEWER_KV.replace("西湖区", "宁波市鄞州区"), user=HZ, conversation=REVIEWER_G)
    assert "不对" in reply and "宁波市" in reply
    # Someone without territory may not paste many rows.
    paste = "\n".join([reviewer_row("西湖区", "甲一", 1), reviewer_row("西湖区", "乙二", 2)])
    assert "批量登记需要管理员权限" in await roster.say("/登记\n" + paste, user=LI, conversation=REVIEWER_G)
    # Nor change or see the full data of others.
    await roster.say("/登记 " + REVIEWER_KV, user=HZ, conversation=REVIEWER_G)
    assert "不能变更编号 1" in await roster.say("/变更 1 手机=13900001111 原因=x", user=LIU, conversation=REVIEWER_G)
    assert "不能变更编号 1" in await roster.say("/变更 1 手机=13900001111 原因=x", user=NB, conversation=REVIEWER_G)
    reply = await roster.say("/名单 西湖区", user=NB, conversation="p2p")
    assert "张三" not in reply and "审核员：1/3–5名" in reply
    assert "不在你的管辖范围" in await roster.say("/变更记录 杭州市", user=NB)
    assert "不在你的管辖范围" in await roster.say("/导出 名单 杭州市", user=NB)


async def test_self_registration_waits_for_the_city_operator(hz_bot, roster, sim):
    reply = await roster.say(
        "/登记 县=西湖区 姓名=李明 学段=小学 学科=科学 学校=学军小学 账号=LiMing 手机=13900001111 类型=审核员",
        user=LI,
        conversation=REVIEWER_G,
    )
    assert "等待市级管理员审批" in reply and "编号：1" in reply
    assert "李明（编号 1）" in await roster.private_to(HZ, "新的登记待审批")
    assert "已登记过资源审核员" in await roster.say(
        "/登记 县=萧山区 姓名=李明 学段=小学 学科=科学 学校=x小学 账号=LM2 手机=13900001112 类型=其他",
        user=LI,
        conversation=REVIEWER_G,
    )
    assert "/批准" not in await roster.say("/帮助", user=LI, conversation=ADMIN_G)
    assert "没有使用 /批准 的权限" in await roster.say("/批准 1", user=LI, conversation=ADMIN_G)
    listing = await roster.say("/待审批", user=HZ, conversation="p2p")
    assert "杭州市西湖区资源审核员　李明　13900001111" in listing
    assert "没有编号为 1 的记录" in await roster.say("/批准 1", user=NB)  # not 宁波's to approve
    status = await roster.say("/名单 西湖区", user=HZ, conversation="p2p")
    assert "审核员：0/3–5名" in status and "（待审批）" in status
    assert "已批准：李明" in await roster.say("/批准 1", user=HZ)
    assert "你已登记为 杭州市西湖区资源审核员" in await roster.private_to(LI, "你的登记已通过")
    assert "不是待审批状态" in await roster.say("/批准 1", user=HZ)
    mine = await roster.say("/我的", user=LI, conversation="p2p")
    assert "编号 1：杭州市西湖区资源审核员" in mine and "13900001111" in mine and "在册" in mine
    mine = await roster.say("/我的", user=LI, conversation=REVIEWER_G)
    assert "139＊＊＊＊1111" in mine and "13900001111" not in mine
    # Rejection with a reason.
    reply = await roster.say(
        "/登记 县=萧山区 姓名=张丽 学段=初中 学科=英语 学校=萧山中学 账号=ZhangLi 手机=13900002222 类型=其他",
        user=ZHANG,
        conversation=REVIEWER_G,
    )
    assert "等待市级管理员审批" in reply
    assert "已驳回：张丽（编号 2）" in await roster.say("/驳回 2 学校名称不全", user=HZ)
    assert "学校名称不全" in await roster.private_to(ZHANG, "你的登记被退回")
    async with hz_bot.db.unit_of_work() as uow:
        actions = [(e.action, e.actor_id, e.reason) for e in await uow.audit.list(entity="roster_member")]
    assert ("roster.reject", HZ, "学校名称不全") in actions and ("roster.approve", HZ, None) in actions


async def test_auto_approve_by_configuration(start_bot, chat, roster):
    await start_bot(roster_auto_approve=True)
    await roster.say("/绑定 审核员群", conversation=REVIEWER_G)
    reply = await roster.say(
        "/登记 县=西湖区 姓名=李明 学段=小学 学科=科学 学校=学军小学 账号=LiMing 手机=13900001111 类型=其他",
        user=LI,
        conversation=REVIEWER_G,
    )
    assert "已登记：李明" in reply


async def test_guided_dialogue_reasks_and_survives_a_restart(start_bot, roster):
    clock = ManualClock(datetime(2026, 4, 20, 9, 0, tzinfo=SHANGHAI))
    bot = await start_bot(clock=clock)
    await roster.say("/绑定 讲师群", conversation=TRAINER_G)
    say = lambda text: roster.say(text, user=LI, conversation=TRAINER_G)  # noqa: E731
    assert "培训讲师登记（共7项）" in await say("/登记")
    assert "第2/7项" in await say("西湖")
    reply = await say("李 明")
    assert "「学段」" in reply
    reply = await say("大学")
    assert "请重新填写「学段」" in reply and "「大学」不对" in reply
    assert "「学科」" in await say("小学段")
    await bot.stop()
    bot = await start_bot(clock=clock)  # restart: the dialogue is in the database
    assert "「职称/职务」" in await say("语文")
    assert "「手机」" in await say("无")
    assert "请重新填写「手机」" in await say("12345")
    assert "「是否为往届讲师团成员」" in await say("139 0000 1111")
    reply = await say("√")
    assert "请核对培训讲师登记" in reply and "7. 是否为往届讲师团成员：是" in reply
    reply = await say("确认")
    assert "等待市级管理员审批" in reply and "杭州市西湖区培训讲师" in reply
    [m] = await members(bot)
    assert m.values == {
        "county": "西湖区",
        "name": "李明",
        "stage": "小学",
        "subject": "语文",
        "title_post": "",
        "mobile": "13900001111",
        "former_member": "是",
    }
    assert m.user_id == LI
    assert "命令以 / 开头" in await say("还有吗")  # the dialogue is over


async def test_dialogue_prefilled_cancel_and_expiry(start_bot, roster):
    clock = ManualClock(datetime(2026, 4, 20, 9, 0, tzinfo=SHANGHAI))
    await start_bot(clock=clock)
    await roster.say("/绑定 审核员群", conversation=REVIEWER_G)
    say = lambda text: roster.say(text, user=LI, conversation=REVIEWER_G)  # noqa: E731
    reply = await say("/登记 县=西湖区 姓名=李明 学段=小学")
    assert "「学科」" in reply  # asks only for what is missing
    assert "已取消" in await say("/取消")
    assert "「县(市、区)」" in await say("/登记")
    clock.advance(minutes=31)
    assert "超过 30 分钟" in await say("西湖区")


async def test_change_remove_and_the_change_log(hz_bot, roster):
    await roster.say("/登记 " + REVIEWER_KV, user=HZ, conversation=REVIEWER_G)
    reply = await roster.say("/变更 1 手机=139 0000 2222 学校=学军中学 原因=调动", user=HZ, conversation=REVIEWER_G)
    assert "已变更：张三" in reply and "138＊＊＊＊8000 → 139＊＊＊＊2222" in reply and "学军小学 → 学军中学" in reply
    reply = await roster.say("/变更 1 手机=13900002222", user=HZ, conversation="p2p")
    assert "没有变化" in reply
    reply = await roster.say("/变更 1 县=萧山区 原因=调到萧山", user=HZ, conversation="p2p")
    assert "杭州市西湖区 → 萧山区" not in reply and "西湖区 → 萧山区" in reply
    assert "注销需要写原因" in await roster.say("/注销 1", user=HZ)
    assert "已注销：张三" in await roster.say("/注销 1 调离本市", user=HZ)
    assert "没有编号为 1 的记录" in await roster.say("/变更 1 手机=13900003333", user=HZ)
    log = await roster.say("/变更记录", user=HZ)
    lines = [line for line in log.splitlines() if line.startswith("- ")]
    assert len(lines) == 4
    assert "注销" in lines[0] and "调离本市" in lines[0]
    assert "手机：138＊＊＊＊8000 → 139＊＊＊＊2222" in lines[2] and "原因：调动" in lines[2]
    assert "登记" in lines[3] and "陈建国" in lines[3]
    full = await roster.say("/变更记录 萧山区", user=HZ, conversation="p2p")
    assert "13800138000 → 13900002222" not in full  # that change happened in 西湖区
    async with hz_bot.db.unit_of_work() as uow:
        [upd] = [e for e in await uow.audit.list(entity="roster_member") if e.reason == "调动"]
    assert upd.before == {"school": "学军小学", "mobile": "13800138000"}
    assert upd.after == {"school": "学军中学", "mobile": "13900002222"}
    assert upd.actor_id == HZ and upd.actor_name == "陈建国" and upd.territory == "浙江省/杭州市/西湖区"
    # The freed seat and number can be taken again.
    assert "已登记" in await roster.say("/登记 " + REVIEWER_KV, user=HZ, conversation=REVIEWER_G)


async def test_person_links_to_the_record_an_admin_made(hz_bot, roster):
    await roster.say("/登记 " + REVIEWER_KV.replace("张三", "李明"), user=HZ, conversation=REVIEWER_G)
    assert "你还没有登记" in await roster.say("/我的", user=LI, conversation="p2p")
    reply = await roster.say("/登记 " + REVIEWER_KV.replace("张三", "李明"), user=LI, conversation=REVIEWER_G)
    assert "你已在名单中：杭州市西湖区资源审核员（编号 1）" in reply
    assert "13800138000" in await roster.say("/我的", user=LI, conversation="p2p")
    # A different name with that number is not the same person.
    reply = await roster.say("/登记 " + REVIEWER_KV, user=ZHANG, conversation=REVIEWER_G)
    assert "此手机号已登记" in reply


async def test_self_change_without_number(hz_bot, roster):
    await roster.say(
        "/登记 县=西湖区 姓名=李明 学段=小学 学科=科学 学校=学军小学 账号=LiMing 手机=13900001111 类型=其他",
        user=LI,
        conversation=REVIEWER_G,
    )
    reply = await roster.say("/变更 学科=数学 原因=改教数学", user=LI, conversation=REVIEWER_G)
    assert "学科：科学 → 数学" in reply
    assert "你还没有登记记录" in await roster.say("/变更 学科=数学", user=ZHANG, conversation=REVIEWER_G)
    assert "请写明要改的内容" in await roster.say("/变更", user=LI, conversation=REVIEWER_G)


async def test_views_mask_numbers_in_groups(hz_bot, roster):
    rows = "\n".join(reviewer_row("西湖区", n, i) for i, n in enumerate(["甲一", "乙二", "丙三"], 1))
    await roster.say("/登记\n" + rows, user=HZ, conversation=REVIEWER_G)
    group = await roster.say("/名单 西湖区", user=HZ, conversation=REVIEWER_G)
    assert "137＊＊＊＊0001" in group and "13700000001" not in group and "手机号已隐藏" in group
    private = await roster.say("/名单 西湖区", user=HZ, conversation="p2p")
    assert "13700000001" in private
    city = await roster.say("/名单", user=HZ, conversation=ADMIN_G)
    assert city.startswith("#### 杭州市名单") and "西湖区：管理员0/1名，讲师0/1名，审核员3/3–5名" in city
    province = await roster.say("/名单 全省", user=LI, conversation=ADMIN_G)
    assert "杭州市：已齐 0/14 个地区，已登记 3/70 人" in province and "宁波市：已齐 0/11" in province
    assert "未齐：" in province and "%" not in province
    assert "编号" not in province and "甲一" not in province


async def test_export_link_is_private_signed_and_downloads_the_form(hz_bot, roster, sim):
    rows = "\n".join(reviewer_row("西湖区", n, i) for i, n in enumerate(["甲一", "乙二", "丙三"], 1))
    await roster.say("/登记\n" + rows, user=HZ, conversation=REVIEWER_G)
    reply = await roster.say("/导出 名单", user=HZ, conversation=ADMIN_G)
    assert "已单聊发给你" in reply and "http" not in reply
    text = await roster.private_to(HZ, "附件1")
    urls = [part.split(")")[0] for part in text.split("](")[1:]]
    assert len(urls) == 2 and all("/files/" in u and "&s=" in u for u in urls)
    async with aiohttp.ClientSession() as s:
        async with s.get(urls[0]) as r:
            assert r.status == 200
            data = await r.read()
        async with s.get(urls[0].replace("&s=", "&s=0")) as r:
            assert r.status == 404
    form = read_roster(data, "a.xlsx")
    assert form.header["报送单位"] == "杭州市教育技术中心" and form.header["联系人姓名"] == "陈建国"
    assert [r.values["name"] for r in form.rows] == ["甲一", "乙二", "丙三"]
    assert next(r.values["mobile"] for r in form.rows) == "13700000001"  # exports carry full numbers
    assert "请写明城市" in await roster.say("/导出 名单", user=OP)
    assert "「种类」" in await roster.say("/导出 成绩单", user=HZ)
    # The change report exports like the roster.
    await roster.say("/变更 1 手机=13900002222 原因=换号", user=HZ)
    await roster.say("/导出 变更 杭州市", user=OP)
    text = await roster.private_to(OP, "人员调整情况表")
    url = text.split("](")[1].split(")")[0]
    async with aiohttp.ClientSession() as s:
        async with s.get(url) as r:
            ws = load_workbook(io.BytesIO(await r.read())).active
    cells = [str(c) for row in ws.iter_rows(values_only=True) for c in row if c]
    assert any("手机：13700000001→13900002222" in c for c in cells) and "换号" in cells


@pytest.mark.parametrize("conversation", [ADMIN_G, "p2p"])
async def test_whole_form_paste_by_the_city_operator(hz_bot, roster, conversation):
    from tests.roster.test_parsing import FORM_PASTE

    reply = await roster.say("/登记\n" + FORM_PASTE, user=HZ, conversation=conversation)
    assert "已登记 4 行，1 行有问题" in reply and "「手机」" in reply
    got = sorted((m.role.value, m.name) for m in await members(hz_bot))
    assert got == [("admin", "李明"), ("admin", "王芳"), ("reviewer", "刘洋"), ("trainer", "张丽")]


async def test_role_needed_in_private_chat(hz_bot, roster):
    assert "请说明登记的角色" in await roster.say("/登记 " + REVIEWER_KV, user=HZ, conversation="p2p")
    assert "已登记" in await roster.say("/登记 审核员 " + REVIEWER_KV, user=HZ, conversation="p2p")


async def test_concurrent_registrations_respect_the_quota(hz_bot, roster, sim):
    """Two operators' admins for one county at the same moment: exactly one wins."""
    await roster.say("/授权 @李明 西湖区", user=HZ)
    rows = [
        "\t".join(["西湖区", n, "西湖区教育发展中心", "", "", m, "教师"])
        for n, m in (("王强", "13900000001"), ("赵敏", "13900000002"))
    ]
    replies = await asyncio.gather(roster.say("/登记 " + rows[0], user=HZ), roster.say("/登记 " + rows[1], user=LI))
    assert sum(r.startswith("#### 已登记：") for r in replies) == 1 and sum("名额已满" in r for r in replies) == 1


async def test_another_province_from_configuration(start_bot, roster, tmp_path, monkeypatch):
    """An operator replaces the region tree and the quotas; ambiguous names make the bot ask which one."""
    (tmp_path / "js.csv").write_text(
        "province,city,county\n江苏省,南京市,玄武区\n江苏省,南京市,鼓楼区\n江苏省,徐州市,鼓楼区\n江苏省,徐州市,沛县\n",
        encoding="utf-8",
    )
    (tmp_path / "roster.yaml").write_text("regions: js.csv\nquotas:\n  county: {reviewer: 1-2}\n", encoding="utf-8")
    monkeypatch.setenv("ROSTER_CONFIG", str(tmp_path / "roster.yaml"))
    await start_bot()
    await roster.say("/绑定 审核员群", conversation=REVIEWER_G)
    assert "有多个同名地区" in await roster.say("/名单 鼓楼", user=LI, conversation=REVIEWER_G)
    assert "徐州市鼓楼区" in await roster.say("/名单 徐州鼓楼", user=LI, conversation=REVIEWER_G)
    reply = await roster.say(
        "/登记 县=鼓楼区 姓名=李明 学段=小学 学科=科学 学校=一小 账号=LM 手机=13900001111 类型=其他",
        user=LI,
        conversation=REVIEWER_G,
    )
    assert "写明所在城市，以下之一：南京市鼓楼区、徐州市鼓楼区" in reply
    reply = await roster.say(
        "/登记 县=徐州市鼓楼区 姓名=李明 学段=小学 学科=科学 学校=一小 账号=LM 手机=13900001111 类型=其他",
        user=LI,
        conversation=REVIEWER_G,
    )
    assert "徐州市鼓楼区资源审核员" in reply
    assert "江苏省名单完成情况" in await roster.say("/名单 全省", user=LI, conversation=REVIEWER_G)
    assert "已授权" in await roster.say("/授权 @陈建国 南京", conversation=REVIEWER_G)
    rows = "\n".join(reviewer_row("玄武区", n, i) for i, n in enumerate(["甲一", "乙二", "丙三"], 1))
    reply = await roster.say("/登记\n" + rows, user=HZ, conversation=REVIEWER_G)
    assert "已登记 2 行，1 行有问题" in reply and "限1–2名" in reply


async def test_roster_commands_need_a_bound_group_or_a_private_chat(start_bot, roster):
    await start_bot()
    reply = await roster.say("/登记", user=LI, conversation=REVIEWER_G)  # the group is not bound yet
    assert "/登记" in reply and "只能在" in reply
    assert "浙江省名单完成情况" in await roster.say("/名单", user=LI, conversation="p2p")
