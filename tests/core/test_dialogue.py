"""Guided dialogues: re-ask on bad input, survive a restart, /取消, expiry."""

from __future__ import annotations

from datetime import datetime

from bot.clock import SHANGHAI, ManualClock
from bot.commands import ArgError, Router, positive_int
from bot.replies import Reply

survey = Router("test-survey")


@survey.command("问卷", alias="survey", help="测试用的两步对话")
async def start(ctx, args):
    await ctx.start_dialogue("survey", {"step": "name"})
    return Reply("input/not_command", {"text": "请输入姓名"})


@survey.dialogue("survey")
async def step(ctx, args):
    data = ctx.dialogue.data
    answer = args.rest.strip()
    if data["step"] == "name":
        data.update(step="count", name=answer)
        await ctx.update_dialogue(data)
        return Reply("input/not_command", {"text": f"{answer}，请输入人数"})
    try:
        n = positive_int(answer)
    except ArgError as exc:
        return Reply("input/not_command", {"text": f"人数应为{exc.expected}，请重新输入"})
    await ctx.end_dialogue()
    await ctx.audit("survey.done", "survey", data["name"], after={"count": n})
    return Reply("input/not_command", {"text": f"完成 {data['name']} {n}"})


async def test_dialogue_reasks_and_survives_restart(start_bot, chat):
    clock = ManualClock(datetime(2026, 4, 1, 10, 0, tzinfo=SHANGHAI))
    bot = await start_bot(clock=clock, extra_routers=[survey])
    say = lambda text: chat.say(text, user="t-hz-001", conversation="cid-p2p-t-hz-001")  # noqa: E731
    assert "请输入姓名" in await say("/问卷")
    assert "请输入人数" in await say("张三")
    await bot.stop()
    bot = await start_bot(clock=clock, extra_routers=[survey])  # restart: state is in the database
    assert "人数应为一个整数" in await say("很多")
    assert "完成 张三 5" in await say("5")
    async with bot.db.unit_of_work() as uow:
        [entry] = await uow.audit.list(entity="survey")
        assert entry.after == {"count": 5} and entry.actor_id == "t-hz-001"
    assert "命令以 / 开头" in await say("6")  # dialogue over


async def test_cancel_and_expiry(start_bot, chat):
    clock = ManualClock(datetime(2026, 4, 1, 10, 0, tzinfo=SHANGHAI))
    await start_bot(clock=clock, extra_routers=[survey])
    say = lambda text: chat.say(text, user="t-hz-001", conversation="cid-p2p-t-hz-001")  # noqa: E731
    assert "请输入姓名" in await say("/问卷")
    assert "已取消" in await say("／取消")
    assert "不用取消" in await say("/取消")
    assert "请输入姓名" in await say("/问卷")
    clock.advance(minutes=31)
    assert "超过 30 分钟" in await say("李四")
    assert "命令以 / 开头" in await say("李四")


async def test_bare_cancel_and_confirm_inside_a_dialogue(start_bot, chat):
    await start_bot(extra_routers=[survey])
    say = lambda text: chat.say(text, user="t-hz-001", conversation="cid-p2p-t-hz-001")  # noqa: E731
    assert "请输入姓名" in await say("/问卷")
    assert "确认，请输入人数" in await say("/确认")  # /确认 without arguments answers the dialogue
    assert "已取消" in await say("取消")  # a bare 取消 ends it
    assert "没看懂" in await say("3")  # no dialogue any more
