"""Refusals disclose nothing: a clash names the holder only to someone who may see that territory's
roster; everyone else is told it is taken and whom to ask. And the wording fixes of issue 9."""

from __future__ import annotations

from tests.roster.conftest import ADMIN_G, REVIEWER_G

OP, HZ, NB, LIU, EXT = "op-zj-001", "city-hz-001", "city-nb-001", "t-nb-001", "ext-001"
HOLDER = "县=西湖区 姓名=王小明 学段=小学 学科=语文 学校=学军小学 账号=WangXM 手机=13800138000 类型=其他"


def line(name: str, account: str, mobile: str) -> str:
    return (
        f"/登记 审核员 县=西湖区 姓名={name} 学段=小学 学科=语文 学校=学军小学 账号={account} 手机={mobile} 类型=其他"
    )


async def test_clashes_name_the_holder_only_to_who_may_see_him(hz_bot, roster):
    assert "已登记：王小明" in await roster.say("/登记 " + HOLDER, user=HZ, conversation=REVIEWER_G)
    for user in (LIU, EXT):  # a staff member without grant or seat; an outside member
        for conversation in (REVIEWER_G, "p2p"):
            same_mobile = await roster.say(line("刘洋", "LiuYang", "13800138000"), user=user, conversation=conversation)
            assert "此手机号已登记过资源审核员" in same_mobile and "杭州市的市级管理员" in same_mobile, same_mobile
            same_account = await roster.say(line("刘洋", "WangXM", "13900000077"), user=user, conversation=conversation)
            assert "此平台账号已被他人登记" in same_account, same_account
            for reply in (same_mobile, same_account):
                assert "王小明" not in reply and "西湖区的" not in reply, reply
    # The city's operator may see the roster of 西湖区: he is told who it is.
    told = await roster.say(line("赵六", "ZhaoLiu", "13800138000"), user=HZ, conversation=REVIEWER_G)
    assert "王小明" in told, told
    told = await roster.say(line("赵六", "WangXM", "13900000078"), user=HZ, conversation=REVIEWER_G)
    assert "王小明" in told, told
    # Ningbo's operator may not see Hangzhou's roster.
    other_city = await roster.say(line("赵六", "WangXM", "13900000079"), user=NB, conversation=REVIEWER_G)
    assert "王小明" not in other_city
    async with hz_bot.db.unit_of_work() as uow:
        from sqlalchemy import func, select

        from storage.models.roster import RosterMember

        assert await uow.session.scalar(select(func.count()).select_from(RosterMember)) == 1


async def test_wording_fixes(hz_bot, roster):
    await roster.private_to(NB, "你已被授权")  # (so it is not taken for the answer to a later 1:1 message)
    # /绑定 in a 1:1 chat: it works in a group (any group), not "in a bound group".
    where = await roster.say("/绑定 审核员群", conversation="p2p")
    assert "只能在群聊里用" in where and "已绑定" not in where, where
    # /推荐 of someone on the roster but outside the operator's territory says so.
    assert "已登记：陈静" in await roster.say(
        "/登记 县=瑞安市 姓名=陈静 学段=小学 学科=语文 学校=瑞安实验小学 账号=ChenJing 手机=13700000009 类型=其他",
        conversation=REVIEWER_G,
    )
    outside = await roster.say("/推荐 @陈静 表现突出", user=NB, conversation="p2p")
    assert "不在你管辖的范围（宁波市）内" in outside and "不在服务队伍名单中" not in outside, outside
    assert "不在服务队伍名单中" in await roster.say("/推荐 @无此人 表现突出", user=NB, conversation="p2p")
    assert ADMIN_G
