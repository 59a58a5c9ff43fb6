"""Property-based fuzzing through the real SDK and the fake gateway (fixed seed): random Unicode,
control characters, broken arguments, pictures, files, rich text, from every kind of user in every
kind of chat. Each message gets exactly one reply, in Chinese, with no exception text.
``FUZZ_EXAMPLES`` raises the count (default 300)."""

from __future__ import annotations

import asyncio
import os
import re
import threading

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "300"))
CJK = re.compile(r"[\u4e00-\u9fff]")
LEAKS = re.compile(r"Traceback \(most recent|File \"/|Exception:|Error:|\{\{|\}\}|\bNone\b|\.md\.j2")
USERS = ["op-zj-001", "city-hz-001", "t-hz-001", "t-nb-001", "ext-001"]
CHATS = ["cid-admin-group", "cid-trainer-group", "cid-reviewer-group", "p2p"]
COMMANDS = [
    "登记",
    "名单",
    "授权",
    "撤销",
    "绑定",
    "帮助",
    "积分",
    "推荐",
    "批准",
    "驳回",
    "变更",
    "注销",
    "我的",
    "导出",
    "日程",
    "取消",
    "我是谁",
    "待审批",
    "help",
    "register",
]


@pytest.fixture
def threaded_bot(sim, make_settings):
    """A bot on its own loop in a thread (hypothesis drives a plain function)."""
    from bot.app import BotApp

    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="bot-loop", daemon=True)
    thread.start()
    bot = BotApp(make_settings(sim))
    asyncio.run_coroutine_threadsafe(bot.start(), loop).result(60)
    sim.wait_connected(10)
    for cid, role in (
        ("cid-admin-group", "管理员群"),
        ("cid-trainer-group", "讲师群"),
        ("cid-reviewer-group", "审核员群"),
    ):
        mid = sim.send_message(f"/绑定 {role}", user="op-zj-001", conversation=cid)
        assert "已把本群" in sim.text_of(sim.wait_reply(mid, 10))
    yield bot
    asyncio.run_coroutine_threadsafe(bot.stop(), loop).result(60)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(10)


noise = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=60)
texts = st.one_of(
    noise,
    st.builds(lambda c, a, sep: f"{sep}{c} {a}", st.sampled_from(COMMANDS), noise, st.sampled_from(["/", "／", "/ "])),
    st.builds(
        lambda c, kv: f"/{c} " + " ".join(f"{k}={v}" for k, v in kv),
        st.sampled_from(COMMANDS),
        st.lists(st.tuples(st.sampled_from(["县", "姓名", "手机", "账号", "学段", "原因", "x"]), noise), max_size=5),
    ),
    st.text(st.sampled_from("\x00\x01\x07\x1b\u200b\u202e\ufeff\n\t /@＠[]*_`#|<>&\\"), max_size=30),
)
messages = st.tuples(
    texts,
    st.sampled_from(["text", "text", "text", "richText", "picture", "file", "audio"]),
    st.sampled_from(USERS),
    st.sampled_from(CHATS),
)


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(msg=messages)
def test_every_message_gets_one_chinese_reply(threaded_bot, sim, msg):
    text, msgtype, user, chat = msg
    u = sim.user(user)
    conv = sim.private(u) if chat == "p2p" else sim.group(chat)
    msg_id = sim.send_message(text, user=u, conversation=conv, msgtype=msgtype)
    reply = sim.text_of(sim.wait_reply(msg_id, 15))
    assert CJK.search(reply), (msg, reply)
    assert not LEAKS.search(reply.replace(text, "")), (msg, reply)
    webhook = [r for r in sim.replies_to(msg_id) if r.kind == "webhook_reply"]
    assert len(webhook) <= 1, (msg, [sim.text_of(r) for r in webhook])
