"""End to end: frames pushed through the fake gateway into the real SDK, replies read off the fake server."""

from __future__ import annotations

import asyncio

import pytest

from bot.commands import GroupRole, Router
from bot.replies import Reply

# A test-only feature: one reviewer-group command and one that always fails.
extra = Router("test-extra")


@extra.command("审核统计", alias="reviewstats", help="只在审核员群可用的测试命令", groups={GroupRole.REVIEWER})
async def _review_only(ctx, args):
    return Reply("input/empty", {})


@extra.command("爆炸", alias="explode", help="总是出错的测试命令")
async def _explode(ctx, args):
    raise RuntimeError("secret internal detail /etc/passwd")


@pytest.fixture
async def bot_x(start_bot, chat):
    bot = await start_bot(extra_routers=[extra])
    assert "审核员群" in await chat.say("/绑定 审核员群", conversation="cid-reviewer-group")
    assert "管理员群" in await chat.say("/bind admin", conversation="cid-admin-group")
    return bot


async def test_help_is_filtered_by_group(bot_x, chat):
    reviewer = await chat.say("/帮助", conversation="cid-reviewer-group", user="t-hz-001")
    admin = await chat.say("/help", conversation="cid-admin-group", user="t-hz-001")
    assert "/审核统计" in reviewer and "/帮助" in reviewer
    assert reviewer.index("**名单登记**") < reviewer.index("**其他**") < reviewer.index("/帮助")  # grouped
    assert "/审核统计" not in admin and "/帮助" in admin
    one = await chat.say("/帮助 审核统计", conversation="cid-admin-group", user="t-hz-001")
    assert "本群不能用" in one
    refused = await chat.say("/审核统计", conversation="cid-admin-group", user="t-hz-001")
    assert "只能在审核员群" in refused


async def test_help_shows_a_permission_change_at_once(bound_bot, chat):
    """/帮助 reuses the text it rendered for the same commands, so a grant and a revoke show at once."""

    def listed(reply: str) -> bool:
        return "/授权" in reply

    ask = {"conversation": "cid-admin-group", "user": "city-nb-001"}
    assert not listed(await chat.say("/帮助", **ask))
    assert "已授权" in await chat.say("/授权 @林晓燕 宁波市")
    assert listed(await chat.say("/帮助", **ask)) and listed(await chat.say("/帮助", **ask))
    assert not listed(await chat.say("/帮助", conversation="cid-admin-group", user="t-hz-001"))
    assert "撤销" in await chat.say("/撤销 @林晓燕")
    assert not listed(await chat.say("/帮助", **ask))


async def test_unknown_command_suggests(bot_x, chat):
    reply = await chat.say("/帮主", conversation="cid-admin-group")
    assert "没有 /帮主" in reply and "/帮助" in reply
    reply = await chat.say("/hlep", conversation="cid-admin-group")
    assert "/帮助" in reply


async def test_usage_error_names_the_argument(bot_x, chat):
    reply = await chat.say("/绑定 家长群", conversation="cid-admin-group")
    assert "「群类型」" in reply and "家长群" in reply and "/绑定" in reply


async def test_permission_refused(bot_x, chat):
    reply = await chat.say("/绑定 讲师群", conversation="cid-trainer-group", user="t-hz-001")
    assert "没有使用 /绑定 的权限" in reply


async def test_handler_error_gets_apology_and_bot_keeps_serving(bot_x, chat, caplog):
    reply = await chat.say("/爆炸", conversation="cid-admin-group")
    assert "抱歉" in reply and "错误编号" in reply
    assert "passwd" not in reply and "Traceback" not in reply and "RuntimeError" not in reply
    assert "secret internal detail" in caplog.text  # logged for the engineer, with the msgId
    assert "/帮助" in await chat.say("/帮助", conversation="cid-admin-group")


async def test_duplicate_msg_id_answered_once_even_across_restart(start_bot, chat, sim):
    bot = await start_bot()
    first = await chat.say("/我是谁", conversation="cid-admin-group", msg_id="dup-1")
    assert "王芳" in first
    await chat.send("/我是谁", conversation="cid-admin-group", msg_id="dup-1")
    marker = await chat.say("/帮助", conversation="cid-admin-group")  # later message answered
    assert marker
    await bot.dispatcher.drain()
    assert len(sim.replies_to("dup-1")) == 1
    await bot.stop()
    bot2 = await start_bot()  # same database file
    await chat.send("/我是谁", conversation="cid-admin-group", msg_id="dup-1")
    assert await chat.say("/帮助", conversation="cid-admin-group")
    await bot2.dispatcher.drain()
    assert len(sim.replies_to("dup-1")) == 1
    assert b'bot_messages_total{outcome="duplicate"} 1.0' in bot2.metrics.render()


async def test_a_stopped_bot_leaves_nothing_behind(sim, make_settings, chat):
    """The SDK's logger is global: a stopped transport's log filter (which held the whole bot) goes."""
    import gc
    import logging
    import weakref

    from bot.app import BotApp

    bot = BotApp(make_settings(sim))
    await bot.start()
    try:
        await asyncio.to_thread(sim.wait_connected, 10)
        assert "可用命令" in await chat.say("/帮助", conversation="cid-admin-group")
    finally:
        await bot.stop()
    assert logging.getLogger("bot.sdk").filters == []
    gone = weakref.ref(bot)
    del bot
    gc.collect()
    assert gone() is None


async def test_reconnects_after_close_and_disconnect(start_bot, chat, sim):
    await start_bot()
    before = sim.connections
    sim.close_socket()
    await asyncio.to_thread(sim.wait_for, lambda r: r.kind == "open_connection" and sim.connections > before, 15)
    await asyncio.to_thread(sim.wait_connected, 10)
    assert "可用命令" in await chat.say("/帮助", conversation="cid-admin-group")
    before = sim.connections
    sim.send_disconnect()
    await asyncio.to_thread(sim.wait_for, lambda r: r.kind == "open_connection" and sim.connections > before, 15)
    await asyncio.to_thread(sim.wait_connected, 10)
    assert "可用命令" in await chat.say("/帮助", conversation="cid-admin-group")


async def test_watchdog_forces_reconnect_when_silent(start_bot, chat, sim):
    bot = await start_bot(bot_watchdog_seconds=1.0)
    before = sim.connections
    await asyncio.to_thread(sim.wait_for, lambda r: r.kind == "open_connection" and sim.connections > before, 15)
    assert bot.transport.forced_reconnects >= 1
    await asyncio.to_thread(sim.wait_connected, 10)
    assert "可用命令" in await chat.say("/帮助", conversation="cid-admin-group")


@pytest.mark.parametrize(
    ("kind", "kwargs", "expect"),
    [
        ("empty", {"text": ""}, "/帮助"),
        ("only-mention", {"text": " \u3000"}, "/帮助"),
        ("picture", {"text": "", "msgtype": "picture"}, "图片"),
        ("file", {"text": "", "msgtype": "file"}, "文件"),
        ("richtext-command", {"text": "/帮助", "msgtype": "richText"}, "可用命令"),
        ("audio", {"text": "", "msgtype": "audio"}, "语音"),
        ("unknown", {"text": "", "msgtype": "unknownMsgType"}, "文字命令"),
        ("too-long", {"text": "/帮助 " + "长" * 6000}, "太长"),
        ("emoji", {"text": "😀😀 你好"}, "命令以 / 开头"),
        ("fullwidth", {"text": "／帮助　"}, "可用命令"),
        ("mixed-width-args", {"text": "／帮助　命令＝绑定"}, "/绑定"),
    ],
)
async def test_bad_input_always_gets_a_short_chinese_reply(start_bot, chat, sim, kind, kwargs, expect):
    await start_bot()
    text = kwargs.pop("text")
    reply = await chat.say(text, conversation="cid-admin-group", **kwargs)
    assert expect in reply, reply
    assert len(reply) < 600


async def test_expired_webhook_falls_back_to_openapi(start_bot, chat, sim):
    await start_bot()
    msg_id = await chat.send("/我是谁", conversation="cid-admin-group", webhook_expired=True)
    rec = await asyncio.to_thread(sim.wait_reply, msg_id, 10)
    assert rec.kind == "group_send" and "王芳" in sim.text_of(rec)
    msg_id = await chat.send("/我是谁", user="t-hz-001", conversation="cid-p2p-t-hz-001", webhook_expired=True)
    rec = await asyncio.to_thread(sim.wait_reply, msg_id, 10)
    assert rec.kind == "oto_send"


async def test_healthz_and_metrics(start_bot, chat, sim):
    import aiohttp

    bot = await start_bot()
    await chat.say("/帮助", conversation="cid-admin-group")
    async with aiohttp.ClientSession() as s:
        async with s.get(f"http://127.0.0.1:{bot.http_port}/healthz") as r:
            body = await r.json()
            assert r.status == 200 and body["database"] == "ok" and body["dingtalk"]["connected"] is True
        # the dispatcher counts the message after the webhook delivery, which chat.say may return before
        for _ in range(100):
            async with s.get(f"http://127.0.0.1:{bot.http_port}/metrics") as r:
                text = await r.text()
            if 'bot_messages_total{outcome="ok"}' in text:
                break
            await asyncio.sleep(0.05)
    assert 'bot_messages_total{outcome="ok"}' in text
    assert "bot_handling_seconds_bucket" in text and "bot_outbox_depth" in text and "bot_errors_total" in text


async def test_forgiving_input(bot_x, chat):
    helped = await chat.say("帮助", conversation="cid-admin-group", user="t-hz-001")  # no slash
    assert "/帮助" in helped and "没看懂" not in helped
    missing = await chat.say("/我的账号", conversation="cid-admin-group", user="t-hz-001")
    assert "缺少「平台账号」" in missing and "应为" not in missing and "例如：/我的账号 " in missing


async def test_unknown_command_in_an_unbound_group_says_where_it_works(bot_x, chat):
    reply = await chat.say("/审核统", conversation="cid-trainer-group", user="t-hz-001")  # not bound yet
    assert "没有 /审核统" in reply and "/审核统计" in reply and "审核员群" in reply
    assert "/绑定 管理员群" in reply
