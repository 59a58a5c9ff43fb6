"""The fake DingTalk against the real, unmodified dingtalk-stream SDK (through the echo bot) and raw HTTP."""

from __future__ import annotations

import asyncio
import json
import socket

import aiohttp
import pytest
from dingtalk_stream import ChatbotMessage

from simulator.server import FakeDingTalk, SimConversation, SimUser


async def _post(url: str, body, headers: dict | None = None) -> tuple[int, dict]:
    data = body if isinstance(body, (bytes, str)) else json.dumps(body, ensure_ascii=False)
    async with aiohttp.ClientSession() as s:
        async with s.post(url, data=data, headers={"Content-Type": "application/json", **(headers or {})}) as r:
            return r.status, await r.json(content_type=None)


async def _token(fake: FakeDingTalk) -> str:
    status, body = await _post(
        fake.base_url + "/v1.0/oauth2/accessToken", {"appKey": fake.client_id, "appSecret": fake.client_secret}
    )
    assert status == 200 and body["expireIn"] == 7200
    return body["accessToken"]


def _say(fake: FakeDingTalk, text: str, user: str = "op-zj-001", conv: str = "cid-admin-group", **kw) -> str:
    u = fake.user(user)
    c = fake.private(u) if conv == "p2p" else fake.group(conv)
    return fake.send_message(text, user=u, conversation=c, **kw)


# ----------------------------------------------------------------------------- defaults


def test_default_users_groups_and_private_chats(fake):
    assert [g.conversation_id for g in fake.groups] == ["cid-admin-group", "cid-trainer-group", "cid-reviewer-group"]
    assert fake.group("cid-trainer-group").title == "省级培训师省群"
    op = fake.user("op-zj-001")
    assert op.name == "王芳" and op.org == "省中心" and not op.external
    assert any(u.external for u in fake.users)
    p = fake.private(op)
    assert p == SimConversation("cid-p2p-op-zj-001", p.title, "private") and not p.is_group
    assert fake.conversation("cid-p2p-t-hz-001").kind == "private"
    assert fake.base_url == f"http://127.0.0.1:{fake.port}" and fake.port > 0
    with pytest.raises(KeyError):
        fake.user("nobody")


# ----------------------------------------------------------------------------- SDK round trips


async def test_text_message_is_echoed_through_the_session_webhook(fake, echo):
    msg_id = await asyncio.to_thread(_say, fake, "/帮助")
    rec = await fake.await_reply(msg_id)
    assert rec.kind == "webhook_reply" and rec.msg_id == msg_id and rec.conversation_id == "cid-admin-group"
    assert fake.text_of(rec) == "echo: /帮助"
    assert rec.payload["at"]["atUserIds"] == ["op-zj-001"]
    ack = await fake.awaits(lambda r: r.kind == "ack" and r.msg_id == msg_id)
    assert ack.payload["code"] == 200 and ack.data == {"response": "OK"}
    assert [r.msg_id for r in fake.replies_to(msg_id)] == [msg_id]


async def test_pushed_message_data_is_realistic(fake, echo):
    group_id = await asyncio.to_thread(_say, fake, "/我是谁 @李明", "op-zj-001", "cid-reviewer-group")
    p2p_id = await asyncio.to_thread(_say, fake, "你好", "t-hz-001", "p2p")
    ext_id = await asyncio.to_thread(_say, fake, "/帮助", "ext-001", "cid-trainer-group")
    for m in (group_id, p2p_id, ext_id):
        await fake.await_reply(m)
    msgs = {r.msg_id: r.payload for r in fake.records if r.kind == "message"}

    g = msgs[group_id]
    assert g["conversationType"] == "2" and g["conversationTitle"] == "省级资源审核员省群"
    assert g["text"]["content"] == " /我是谁 @李明"  # DingTalk keeps a space after the stripped @bot
    assert g["senderStaffId"] == "op-zj-001" and g["senderId"] == "$:LWCP_v1:$op-zj-001"
    assert g["senderNick"] == "王芳" and g["isInAtList"] is True and g["robotCode"] == fake.client_id
    assert g["sessionWebhookExpiredTime"] - g["createAt"] == 90 * 60 * 1000
    assert g["sessionWebhook"].startswith(fake.base_url + "/robot/sendBySession?session=")
    assert {"dingtalkId": "$:LWCP_v1:$t-hz-001", "staffId": "t-hz-001"} in g["atUsers"]
    parsed = ChatbotMessage.from_dict(g)
    assert parsed.conversation_type == "2" and parsed.message_id == group_id and parsed.sender_staff_id == "op-zj-001"

    p = msgs[p2p_id]
    assert p["conversationType"] == "1" and p["conversationId"] == "cid-p2p-t-hz-001"
    assert "conversationTitle" not in p and p["text"]["content"] == "你好"

    e = msgs[ext_id]
    assert "senderStaffId" not in e and e["senderNick"] == "赵老师"


@pytest.mark.parametrize(
    ("msgtype", "text", "expect"),
    [
        ("picture", "", "echo: [picture]"),
        ("richText", "/帮助", "echo: /帮助"),
        ("file", "名单.xlsx", "echo: [file]"),
        ("audio", "帮助", "echo: [audio]"),
        ("video", "", "echo: [video]"),
        ("unknownMsgType", "", "echo: [unknownMsgType]"),
    ],
)
async def test_other_msgtypes_parse_in_the_sdk(fake, echo, msgtype, text, expect):
    msg_id = await asyncio.to_thread(_say, fake, text, "t-nb-001", "p2p", msgtype=msgtype)
    rec = await fake.await_reply(msg_id)
    assert fake.text_of(rec) == expect
    data = next(r.payload for r in fake.records if r.kind == "message" and r.msg_id == msg_id)
    assert data["msgtype"] == msgtype and isinstance(data["content"], dict)
    if msgtype == "audio":
        assert data["content"]["recognition"] == "帮助"


async def test_ping_is_acked_with_the_same_opaque(fake, echo):
    opaque = await asyncio.to_thread(fake.send_ping, "op-123")
    ack = await fake.awaits(lambda r: r.kind == "ack" and r.data.get("opaque") == opaque)
    assert opaque == "op-123" and ack.payload["code"] == 200


async def test_reconnects_after_close_and_after_disconnect(fake, echo):
    before = fake.connections
    assert await asyncio.to_thread(fake.close_socket) is True
    await fake.awaits(lambda r: r.kind == "connected" and fake.connections > before, 10)
    msg_id = await asyncio.to_thread(_say, fake, "after close")
    assert fake.text_of(await fake.await_reply(msg_id)) == "echo: after close"

    before = fake.connections
    await asyncio.to_thread(fake.send_disconnect)
    ack = await fake.awaits(lambda r: r.kind == "ack" and r.data.get("reason") == "persistent connection is timeout")
    assert ack.payload["message"] == "OK"
    await fake.awaits(lambda r: r.kind == "connected" and fake.connections > before, 10)
    await asyncio.to_thread(fake.wait_connected, 5)
    msg_id = await asyncio.to_thread(_say, fake, "after disconnect")
    assert fake.text_of(await fake.await_reply(msg_id)) == "echo: after disconnect"
    assert fake.connections == before + 1
    assert len([r for r in fake.records if r.kind == "open_connection"]) == fake.connections


async def test_redelivery_reuses_the_stream_message_id(fake, echo):
    await asyncio.to_thread(_say, fake, "一次", msg_id="m-dup")
    await asyncio.to_thread(_say, fake, "一次", msg_id="m-dup", redeliver_same_message_id=True)
    await fake.awaits(lambda r: len(fake.replies_to("m-dup")) == 2)
    await fake.awaits(lambda r: len([a for a in fake.records if a.kind == "ack" and a.msg_id == "m-dup"]) == 2)
    acks = [r for r in fake.records if r.kind == "ack" and r.msg_id == "m-dup"]
    assert acks[0].payload["headers"]["messageId"] == acks[1].payload["headers"]["messageId"]
    await asyncio.to_thread(_say, fake, "又一次", msg_id="m-dup")  # same msgId, new stream frame
    await fake.awaits(lambda r: len([a for a in fake.records if a.kind == "ack" and a.msg_id == "m-dup"]) == 3)
    acks = [r for r in fake.records if r.kind == "ack" and r.msg_id == "m-dup"]
    assert acks[2].payload["headers"]["messageId"] != acks[0].payload["headers"]["messageId"]


async def test_expired_session_webhook_is_refused_and_openapi_answer_is_attributed(fake, echo):
    msg_id = await asyncio.to_thread(_say, fake, "晚了", "t-hz-001", "cid-trainer-group", webhook_expired=True)
    rej = await fake.awaits(lambda r: r.kind == "rejected" and r.msg_id == msg_id)
    assert rej.payload["api"] == "webhook" and rej.response["errcode"] == 300001
    assert fake.replies_to(msg_id) == []
    # The bot falls back to the OpenAPI: that group send answers the message.
    token = await _token(fake)
    status, _ = await _post(
        fake.base_url + "/v1.0/robot/groupMessages/send",
        {
            "msgParam": json.dumps({"title": "回复", "text": "**迟到的**回复"}),
            "msgKey": "sampleMarkdown",
            "openConversationId": "cid-trainer-group",
            "robotCode": fake.client_id,
        },
        {"x-acs-dingtalk-access-token": token},
    )
    assert status == 200
    rec = await fake.await_reply(msg_id)
    assert rec.kind == "group_send" and fake.text_of(rec) == "**迟到的**回复"


async def test_session_webhook_answers_json_errors(fake, echo):
    msg_id = await asyncio.to_thread(_say, fake, "x")
    await fake.await_reply(msg_id)
    url = next(r.payload["sessionWebhook"] for r in fake.records if r.kind == "message")
    assert await _post(url, b"not json") == (200, {"errcode": 40035, "errmsg": "缺少参数 json：请求体不是合法的 JSON"})
    status, body = await _post(url, {"msgtype": "markdown", "markdown": {"text": "no title"}})
    assert status == 200 and body["errcode"] != 0
    status, body = await _post(url, {"msgtype": "text", "text": {"content": "长" * 8000}})
    assert status == 200 and body["errcode"] == 460101
    status, body = await _post(
        fake.base_url + "/robot/sendBySession?session=nope", {"msgtype": "text", "text": {"content": "x"}}
    )
    assert status == 200 and body["errcode"] == 300001
    status, body = await _post(
        url,
        {
            "msgtype": "actionCard",
            "actionCard": {
                "title": "T",
                "text": "正文",
                "btns": [{"title": "同意", "actionURL": "https://e.example/a"}],
            },
        },
    )
    assert (status, body) == (200, {"errcode": 0, "errmsg": "ok"})
    assert fake.text_of(fake.replies_to(msg_id)[-1]) == "正文\n同意"


# ----------------------------------------------------------------------------- gateway


async def test_tickets_are_single_use_and_credentials_checked(fake):
    status, body = await _post(
        fake.base_url + "/v1.0/gateway/connections/open", {"clientId": fake.client_id, "clientSecret": "wrong"}
    )
    assert status == 401 and body["code"] == "InvalidAuthentication"
    status, body = await _post(
        fake.base_url + "/v1.0/gateway/connections/open",
        {
            "clientId": fake.client_id,
            "clientSecret": fake.client_secret,
            "subscriptions": [],
            "ua": "test",
            "localIp": "",
        },
    )
    assert status == 200 and body["endpoint"] == f"ws://127.0.0.1:{fake.port}/connect"
    url = f"{body['endpoint']}?ticket={body['ticket']}"
    async with aiohttp.ClientSession() as s:
        ws = await s.ws_connect(url)
        await asyncio.to_thread(fake.wait_connected, 5)
        await ws.close()
        for bad in (url, f"{body['endpoint']}?ticket=unknown"):
            with pytest.raises(aiohttp.WSServerHandshakeError) as info:
                await s.ws_connect(bad)
            assert info.value.status == 401
    reasons = [
        r.payload["error"]["message"] for r in fake.records if r.kind == "rejected" and r.payload["api"] == "connect"
    ]
    assert reasons == ["ticket already used", "unknown ticket"]
    assert fake.connections == 1


async def test_wrong_token_credentials_and_unknown_routes_answer_json(fake):
    status, body = await _post(fake.base_url + "/v1.0/oauth2/accessToken", {"appKey": fake.client_id, "appSecret": "x"})
    assert status == 400 and body["code"] == "invalidClientIdOrSecret"
    status, body = await _post(fake.base_url + "/v1.0/nothing/here", {})
    assert status == 404 and "fake DingTalk" in body["message"]


def test_no_bot_connected_send_message_fails_clearly():
    with FakeDingTalk(delivery_timeout=0.2) as fake:
        assert not fake.bot_connected
        with pytest.raises(RuntimeError, match="no bot connected"):
            fake.send_message("hi", user="op-zj-001", conversation="cid-admin-group")
        with pytest.raises(TimeoutError, match="no bot connected"):
            fake.wait_connected(0.1)
        port = fake.port
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=1).close()


def test_wait_for_timeout_lists_recent_records(fake):
    fake.throttle("group", "403")
    with pytest.raises(TimeoutError, match="most recent records"):
        fake.wait_for(lambda r: r.kind == "never", 0.05)


# ----------------------------------------------------------------------------- OpenAPI


async def test_group_send_checks_token_and_body(fake):
    url = fake.base_url + "/v1.0/robot/groupMessages/send"
    good = {
        "msgParam": json.dumps({"content": "截止提醒"}, ensure_ascii=False),
        "msgKey": "sampleText",
        "openConversationId": "cid-admin-group",
        "robotCode": fake.client_id,
    }
    assert (await _post(url, good))[0] == 401
    assert (await _post(url, good, {"x-acs-dingtalk-access-token": "forged"}))[0] == 401
    auth = {"x-acs-dingtalk-access-token": await _token(fake)}
    status, body = await _post(url, good, auth)
    assert status == 200 and body["processQueryKey"]
    bad_cases = [
        {**good, "msgParam": {"content": "an object, not a string"}},
        {**good, "msgKey": "sampleHtml"},
        {**good, "msgParam": json.dumps({"title": "only title"}), "msgKey": "sampleMarkdown"},
        {**good, "openConversationId": "cid-nope"},
        {k: v for k, v in good.items() if k != "openConversationId"},
        {**good, "robotCode": "other"},
        {**good, "msgParam": json.dumps({"content": "长" * 6000}, ensure_ascii=False)},
    ]
    for bad in bad_cases:
        status, body = await _post(url, bad, auth)
        assert status == 400 and body["code"].startswith(("invalidParameter", "invalid.")), (bad, body)
    sends = [r for r in fake.records if r.kind == "group_send"]
    assert len(sends) == 1 and sends[0].conversation_id == "cid-admin-group"
    assert fake.text_of(sends[0]) == "截止提醒"
    fake.expire_tokens()
    assert (await _post(url, good, auth))[0] == 401


async def test_batch_send_checks_user_ids(fake):
    url = fake.base_url + "/v1.0/robot/oToMessages/batchSend"
    auth = {"x-acs-dingtalk-access-token": await _token(fake)}
    base = {
        "robotCode": fake.client_id,
        "msgKey": "sampleActionCard",
        "msgParam": json.dumps(
            {
                "title": "审核任务",
                "text": "请审核 3 份资源",
                "singleTitle": "去审核",
                "singleURL": "https://example.invalid/t",
            },
            ensure_ascii=False,
        ),
    }
    for ids in ([], [f"u{i}" for i in range(21)], "t-hz-001", [1]):
        status, body = await _post(url, {**base, "userIds": ids}, auth)
        assert status == 400 and body["code"].startswith("invalidParameter"), (ids, body)
    status, body = await _post(url, {**base, "userIds": ["t-hz-001", "ext-001"]}, auth)
    assert status == 200 and body["processQueryKey"]
    assert body["invalidStaffIdList"] == ["ext-001"] and body["flowControlledStaffIdList"] == []
    rec = next(r for r in fake.records if r.kind == "oto_send")
    assert rec.payload["userIds"] == ["t-hz-001", "ext-001"] and fake.text_of(rec) == "请审核 3 份资源\n去审核"


async def test_throttle_injection(fake):
    auth = {"x-acs-dingtalk-access-token": await _token(fake)}
    group = {
        "msgParam": json.dumps({"content": "x"}),
        "msgKey": "sampleText",
        "openConversationId": "cid-reviewer-group",
        "robotCode": fake.client_id,
    }
    oto = {
        "msgParam": json.dumps({"content": "x"}),
        "msgKey": "sampleText",
        "robotCode": fake.client_id,
        "userIds": ["a1", "a2"],
    }
    fake.throttle("group", "403", times=2)
    fake.throttle("oto", "flow")
    fake.throttle("oto", "403")
    for _ in range(2):
        status, body = await _post(fake.base_url + "/v1.0/robot/groupMessages/send", group, auth)
        assert status == 403 and body["code"] == "Forbidden.AccessDenied.QpsLimitForAppkeyAndApi"
    assert (await _post(fake.base_url + "/v1.0/robot/groupMessages/send", group, auth))[0] == 200
    status, body = await _post(fake.base_url + "/v1.0/robot/oToMessages/batchSend", oto, auth)
    assert status == 200 and body["flowControlledStaffIdList"] == ["a1", "a2"]
    status, body = await _post(fake.base_url + "/v1.0/robot/oToMessages/batchSend", oto, auth)
    assert status == 403
    status, body = await _post(fake.base_url + "/v1.0/robot/oToMessages/batchSend", oto, auth)
    assert status == 200 and body["flowControlledStaffIdList"] == []
    kinds = [r.kind for r in fake.records if r.kind in ("group_send", "oto_send", "rejected")]
    assert kinds == ["rejected", "rejected", "group_send", "oto_send", "rejected", "oto_send"]
    with pytest.raises(ValueError):
        fake.throttle("group", "flow")


def test_custom_users_and_groups():
    users = [SimUser("u1", "甲"), SimUser("x1", "乙", external=True)]
    groups = [SimConversation("cid-g", "测试群")]
    fake = FakeDingTalk(users=users, groups=groups)
    assert fake.users == users and fake.groups == groups and fake.private("u1").conversation_id == "cid-p2p-u1"


# ----------------------------------------------------------------------------- options, SDK failures, page API


def test_periodic_pings_reach_the_bot():
    from simulator.echo_bot import EchoBot

    with FakeDingTalk(ping_interval=0.05) as fake:
        with EchoBot().run_in_thread(fake.base_url, fake.client_id, fake.client_secret):
            fake.wait_connected(10)
            ack = fake.wait_for(lambda r: r.kind == "ack" and "opaque" in r.data, 5)
            assert ack.payload["code"] == 200


def test_sdk_with_wrong_secret_is_refused(fake):
    from simulator.echo_bot import EchoBot

    with EchoBot().run_in_thread(fake.base_url, fake.client_id, "wrong-secret"):
        rec = fake.wait_for(lambda r: r.kind == "rejected" and r.payload["api"] == "open_connection", 10)
        assert rec.payload["status"] == 401 and rec.payload["request"]["clientId"] == fake.client_id
    assert fake.connections == 0


async def test_page_api(fake):
    async with aiohttp.ClientSession() as s:
        async with s.get(fake.base_url + "/sim/api/state") as r:
            state = await r.json()
        assert state["connected"] is False and state["robot_name"]
        assert [c["conversation_id"] for c in state["conversations"]] == [
            "cid-admin-group",
            "cid-trainer-group",
            "cid-reviewer-group",
            "p2p",
        ]
        assert {"staff_id": "op-zj-001", "name": "王芳", "org": "省中心", "external": False} in state["users"]
        async with s.post(
            fake.base_url + "/sim/api/send",
            json={"staff_id": "op-zj-001", "conversation_id": "cid-admin-group", "text": "/帮助"},
        ) as r:
            assert r.status == 409 and "机器人未连接" in (await r.json())["error"]
        async with s.get(fake.base_url + "/sim/") as r:
            assert r.status == 200 and "钉钉机器人模拟器" in await r.text()


async def test_page_api_with_bot(fake, echo):
    async with aiohttp.ClientSession() as s:
        async with s.post(
            fake.base_url + "/sim/api/send", json={"staff_id": "t-wz-001", "conversation_id": "p2p", "text": "你好"}
        ) as r:
            sent = await r.json()
        assert sent["conversation_id"] == "cid-p2p-t-wz-001"
        await fake.await_reply(sent["msg_id"])
        async with s.get(
            fake.base_url + "/sim/api/messages", params={"conversation_id": "cid-p2p-t-wz-001", "since": "0"}
        ) as r:
            got = await r.json()
    assert [(i["role"], i["text"]) for i in got["items"]] == [("user", "你好"), ("bot", "echo: 你好")]
    assert got["connected"] is True and got["last_seq"] >= got["items"][-1]["seq"]


def test_a_webhook_reply_wins_over_a_proactive_send_guessed_for_the_same_message():
    """A notice the bot sent on its own just before the real answer is not taken for the answer; a
    proactive send stays the answer when no webhook reply follows."""
    import threading

    from simulator.records import GUESS_GRACE, RecordBook

    book = RecordBook()
    book.add("message", {}, conversation_id="cid-p2p-u1", msg_id="m1")
    notice = book.add("oto_send", {"n": "notice"}, conversation_id="cid-p2p-u1", msg_id=book.attribute(["cid-p2p-u1"]))
    assert notice.msg_id == "m1"  # guessed: the oldest unanswered message of that chat
    answer = threading.Timer(GUESS_GRACE / 3, lambda: book.add("webhook_reply", {"n": "answer"}, msg_id="m1"))
    answer.start()
    assert book.wait_reply("m1", 5).payload == {"n": "answer"}
    answer.join()

    book.add("message", {}, conversation_id="cid-p2p-u1", msg_id="m2")
    book.add("oto_send", {"n": "by openapi"}, conversation_id="cid-p2p-u1", msg_id=book.attribute(["cid-p2p-u1"]))
    assert book.wait_reply("m2", 5).payload == {"n": "by openapi"}
