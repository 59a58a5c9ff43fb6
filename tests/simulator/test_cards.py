"""Interactive cards in the fake DingTalk: the card-instance OpenAPI over real HTTP, and button presses
through the stream to a real SDK ``CallbackHandler`` whose ACK updates the card."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp
import pytest

from simulator.server import FakeDingTalk
from tests.simulator.cardkit import BUTTONS, card_body, robot_space


class Api:
    def __init__(self, fake: FakeDingTalk, session: aiohttp.ClientSession, token: str):
        self.fake, self.session, self.token = fake, session, token

    async def call(self, method: str, path: str, body: Any, token: str | None = None) -> tuple[int, Any]:
        headers = {"x-acs-dingtalk-access-token": self.token if token is None else token}
        data = body if isinstance(body, str) else json.dumps(body, ensure_ascii=False)
        async with self.session.request(
            method, self.fake.base_url + path, data=data, headers={"Content-Type": "application/json", **headers}
        ) as r:
            return r.status, await r.json(content_type=None)


@pytest.fixture
async def api(fake):
    async with aiohttp.ClientSession() as s:
        async with s.post(
            fake.base_url + "/v1.0/oauth2/accessToken", json={"appKey": fake.client_id, "appSecret": fake.client_secret}
        ) as r:
            token = (await r.json())["accessToken"]
        yield Api(fake, s, token)


# ----------------------------------------------------------------------------- OpenAPI


async def test_create_then_deliver_to_a_user_and_a_group(fake, api):
    status, body = await api.call("POST", "/v1.0/card/instances", card_body(fake, "trk-1"))
    assert (status, body) == (200, {"success": True, "result": "trk-1"})
    created = fake.wait_for(lambda r: r.kind == "card_create")
    assert created.conversation_id is None and created.payload["outTrackId"] == "trk-1"
    status, body = await api.call(
        "POST",
        "/v1.0/card/instances/deliver",
        {
            "outTrackId": "trk-1",
            "userIdType": 1,
            "openSpaceId": "dtv1.card//IM_ROBOT.t-hz-001;dtv1.card//IM_GROUP.cid-reviewer-group",
            "imRobotOpenDeliverModel": {"spaceType": "IM_ROBOT"},
            "imGroupOpenDeliverModel": {"robotCode": fake.robot_code},
        },
    )
    assert status == 200 and body["success"] is True
    assert [(x["spaceType"], x["spaceId"], x["success"]) for x in body["result"]] == [
        ("IM_ROBOT", "t-hz-001", True),
        ("IM_GROUP", "cid-reviewer-group", True),
    ]
    delivered = [r for r in fake.records if r.kind == "card_deliver"]
    assert [r.conversation_id for r in delivered] == ["cid-p2p-t-hz-001", "cid-reviewer-group"]
    assert fake.text_of(delivered[0]) == (
        "审核任务（2 项）\n1. **初中·化学** 酸碱盐\n2. *小学·语文* 古诗\n通过 退回\n通过"
    )
    assert fake.read_text(delivered[0]) == "审核任务（2 项）\n1. 初中·化学 酸碱盐\n2. 小学·语文 古诗\n通过 退回\n通过"
    assert fake.card("trk-1").conversations == ["cid-p2p-t-hz-001", "cid-reviewer-group"]
    assert fake.delivered_counts() == {"t-hz-001": 1}
    assert fake.group_delivered_counts() == {"cid-reviewer-group": 1}
    assert fake.call_counts() == {"card_create": 1, "card_deliver": 1}


async def test_update_replaces_or_merges_and_private_data_is_per_user(fake, api):
    await api.call(
        "POST", "/v1.0/card/instances/createAndDeliver", {**card_body(fake, "trk-2"), **robot_space("t-hz-001")}
    )
    new_map = {"title": "审核任务（已完成）", "markdown": "全部审完"}
    status, body = await api.call(
        "PUT", "/v1.0/card/instances", {"outTrackId": "trk-2", "cardData": {"cardParamMap": new_map}}
    )
    assert (status, body) == (200, {"success": True, "result": True})
    assert fake.card_params("trk-2") == new_map  # replaced: the buttons are gone
    status, _ = await api.call(
        "PUT",
        "/v1.0/card/instances",
        {
            "outTrackId": "trk-2",
            "cardData": {"cardParamMap": {"status": "截止 12月5日"}},
            "cardUpdateOptions": {"updateCardDataByKey": True},
            "privateData": {"t-hz-001": {"cardParamMap": {"markdown": "你的 2 项已审完"}}},
        },
    )
    assert status == 200
    assert fake.card_params("trk-2") == {**new_map, "status": "截止 12月5日"}
    assert fake.card_params("trk-2", "t-hz-001")["markdown"] == "你的 2 项已审完"
    assert fake.card_params("trk-2", "t-hz-002")["markdown"] == "全部审完"
    updates = [r for r in fake.records if r.kind == "card_update"]
    assert len(updates) == 2 and all(u.conversation_id == "cid-p2p-t-hz-001" for u in updates)
    assert fake.read_text(updates[-1]) == "审核任务（已完成）\n全部审完\n截止 12月5日"


async def test_bad_card_calls_get_dingtalk_style_400_and_change_nothing(fake, api):
    good = card_body(fake, "trk-3")
    params = good["cardData"]["cardParamMap"]
    cases = [
        ("POST", "/v1.0/card/instances", {**good, "cardTemplateId": ""}, "cardTemplateId"),
        ("POST", "/v1.0/card/instances", {**good, "outTrackId": None}, "outTrackId"),
        ("POST", "/v1.0/card/instances", {**good, "cardData": {"cardParamMap": {"title": "只有标题"}}}, "markdown"),
        (
            "POST",
            "/v1.0/card/instances",
            {**good, "cardData": {"cardParamMap": {**params, "buttons": BUTTONS}}},
            "字符串",
        ),
        (
            "POST",
            "/v1.0/card/instances",
            {**good, "cardData": {"cardParamMap": {**params, "buttons": "[{"}}},
            "buttons",
        ),
        (
            "POST",
            "/v1.0/card/instances",
            {**good, "cardData": {"cardParamMap": {**params, "buttons": json.dumps([{"id": "x"}])}}},
            "text",
        ),
        ("POST", "/v1.0/card/instances", "not json", "JSON"),
        ("POST", "/v1.0/card/instances/deliver", {"outTrackId": "nope", **robot_space("t-hz-001")}, "不存在"),
        ("PUT", "/v1.0/card/instances", {"outTrackId": "nope", "cardData": {"cardParamMap": params}}, "不存在"),
        ("POST", "/v1.0/card/instances/createAndDeliver", {**good, **robot_space("nobody")}, "nobody"),
        ("POST", "/v1.0/card/instances/createAndDeliver", {**good, **robot_space("ext-001")}, "ext-001"),
        (
            "POST",
            "/v1.0/card/instances/createAndDeliver",
            {**good, "openSpaceId": "IM_ROBOT.t-hz-001", "imRobotOpenDeliverModel": {}},
            "dtv1.card//",
        ),
        (
            "POST",
            "/v1.0/card/instances/createAndDeliver",
            {**{k: v for k, v in good.items() if k != "imRobotOpenSpaceModel"}, **robot_space("t-hz-001")},
            "imRobotOpenSpaceModel",
        ),
        (
            "POST",
            "/v1.0/card/instances/createAndDeliver",
            {
                **good,
                "openSpaceId": "dtv1.card//IM_GROUP.cid-admin-group",
                "imGroupOpenDeliverModel": {"robotCode": "other"},
            },
            "robotCode",
        ),
        (
            "POST",
            "/v1.0/card/instances/createAndDeliver",
            {
                **good,
                "openSpaceId": "dtv1.card//IM_GROUP.cid-none",
                "imGroupOpenDeliverModel": {"robotCode": fake.robot_code},
            },
            "cid-none",
        ),
    ]
    for method, path, body, word in cases:
        status, answer = await api.call(method, path, body)
        assert status == 400 and answer["requestid"] and word in answer["message"], (path, body, answer)
        assert answer["code"].startswith(("invalidParameter.", "invalid.")), answer
    assert not [r for r in fake.records if r.kind.startswith("card_")]
    assert len([r for r in fake.records if r.kind == "rejected"]) == len(cases)
    with pytest.raises(KeyError):
        fake.card("trk-3")  # no half-created card
    assert (await api.call("POST", "/v1.0/card/instances", good, token="forged"))[0] == 401
    assert (await api.call("POST", "/v1.0/card/instances", good))[0] == 200
    status, answer = await api.call("POST", "/v1.0/card/instances", good)
    assert status == 400 and "已存在" in answer["message"]
    status, answer = await api.call("PUT", "/v1.0/card/instances", {"outTrackId": "trk-3"})
    assert status == 400 and answer["code"] == "invalidParameter.cardData.missing"
    assert fake.card_params("trk-3") == params


async def test_a_delivered_card_answers_the_users_open_message(fake, echo, api):
    msg_id = await fake.asend_message("/任务", user="t-hz-002", conversation="p2p", webhook_expired=True)
    await fake.awaits(lambda r: r.kind == "rejected" and r.msg_id == msg_id)  # the echo could not answer
    status, _ = await api.call(
        "POST", "/v1.0/card/instances/createAndDeliver", {**card_body(fake, "trk-4"), **robot_space("t-hz-002")}
    )
    assert status == 200
    reply = await fake.await_reply(msg_id)
    assert reply.kind == "card_deliver" and reply.conversation_id == "cid-p2p-t-hz-002"


# ----------------------------------------------------------------------------- presses through the SDK


async def test_press_reaches_the_sdk_handler_and_its_ack_updates_the_card(fake, api, card_bot):
    await api.call(
        "POST", "/v1.0/card/instances/createAndDeliver", {**card_body(fake, "trk-5"), **robot_space("t-hz-001")}
    )
    press = await fake.apress_card_button("trk-5", "t-hz-001", "pass-17")
    update = await fake.await_reply(press)
    assert update.kind == "card_update" and update.conversation_id == "cid-p2p-t-hz-001"
    msg, raw = card_bot.presses[0]
    assert msg.card_instance_id == "trk-5" and msg.user_id == "t-hz-001" and msg.corp_id == fake.corp_id
    assert msg.content == {"cardPrivateData": {"actionIds": ["pass-17"], "params": {"task": "17", "verdict": "pass"}}}
    assert msg.extension == {}
    assert raw["type"] == "actionCallback" and raw["spaceType"] == "IM_ROBOT" and raw["userIdType"] == 1
    assert raw["spaceId"] == "cid-p2p-t-hz-001" and isinstance(raw["content"], str)
    cb = next(r for r in fake.records if r.kind == "card_callback")
    assert cb.msg_id == press and cb.conversation_id == "cid-p2p-t-hz-001"
    ack = next(r for r in fake.records if r.kind == "ack" and r.msg_id == press)
    assert ack.payload["code"] == 200 and ack.data["response"]["cardData"]
    assert json.loads(fake.card_params("trk-5")["status"]) == {"17": "已通过（t-hz-001）"}
    assert fake.read_text(update).endswith("已通过（t-hz-001）\n通过")  # task 17 shows its verdict
    with pytest.raises(ValueError, match="shows no button 'reject-17'"):  # no longer on the card
        fake.press_card_button("trk-5", "t-hz-001", "reject-17")
    with pytest.raises(ValueError, match="not in a conversation"):  # someone else's 1:1 card
        fake.press_card_button("trk-5", "t-hz-002", "pass-18")
    body = {k: v for k, v in card_body(fake, "trk-5b").items() if k != "callbackType"}
    await api.call("POST", "/v1.0/card/instances/createAndDeliver", {**body, **robot_space("t-hz-001")})
    with pytest.raises(ValueError, match="callbackType"):
        fake.press_card_button("trk-5b", "t-hz-001", "pass-17")


async def test_stale_press_in_a_group_and_an_ack_without_card_data(fake, api, card_bot):
    await api.call(
        "POST",
        "/v1.0/card/instances/createAndDeliver",
        {
            **card_body(fake, "trk-6"),
            "openSpaceId": "dtv1.card//IM_GROUP.cid-reviewer-group",
            "imGroupOpenDeliverModel": {"robotCode": fake.robot_code},
        },
    )
    press = await fake.apress_card_button("trk-6", "t-nb-001", "noop-1", {"task": "17"}, force=True)
    await fake.awaits(lambda r: r.kind == "ack" and r.msg_id == press)
    assert card_bot.presses[0][1]["spaceType"] == "IM_GROUP"
    assert card_bot.presses[0][1]["spaceId"] == "cid-reviewer-group"
    assert [r.kind for r in fake.records if r.kind == "card_update"] == []  # "OK" changes nothing
    press = await fake.apress_card_button("trk-6", "t-nb-001", "reject-17")
    update = await fake.await_reply(press)
    assert update.conversation_id == "cid-reviewer-group"
    assert json.loads(fake.card_params("trk-6")["status"]) == {"17": "已退回（t-nb-001）"}


async def test_page_card_action_endpoint_presses_as_the_chosen_user(fake, api, card_bot):
    await api.call(
        "POST", "/v1.0/card/instances/createAndDeliver", {**card_body(fake, "trk-7"), **robot_space("t-hz-001")}
    )
    async with aiohttp.ClientSession() as s:
        async with s.post(
            fake.base_url + "/sim/api/card_action",
            json={"out_track_id": "trk-7", "staff_id": "t-hz-001", "conversation_id": "p2p", "action_id": "pass-18"},
        ) as r:
            assert r.status == 200
            press = (await r.json())["msg_id"]
        await fake.await_reply(press)
        async with s.post(
            fake.base_url + "/sim/api/card_action",
            json={"out_track_id": "trk-7", "staff_id": "t-hz-001", "conversation_id": "p2p", "action_id": "pass-18"},
        ) as r:
            assert r.status == 400 and "按钮" in (await r.json())["error"]
        async with s.get(
            fake.base_url + "/sim/api/messages",
            params={"conversation_id": "cid-p2p-t-hz-001", "since": "0", "staff_id": "t-hz-001"},
        ) as r:
            items = (await r.json())["items"]
    cards = [i for i in items if i["format"] == "card"]
    assert len(cards) == 1
    rows = cards[0]["card"]["rows"]
    assert [(row["task"], row["status"], [b["id"] for b in row["buttons"]]) for row in rows] == [
        ("17", "", ["pass-17", "reject-17"]),
        ("18", "已通过（t-hz-001）", []),
    ]
    assert "<strong>初中·化学</strong>" in cards[0]["card"]["html"]


def test_press_without_a_bot_fails_clearly():
    with FakeDingTalk(delivery_timeout=0.2) as fake:
        with pytest.raises(KeyError):
            fake.press_card_button("nope", "t-hz-001", "x")


async def test_press_runs_on_the_servers_loop_from_async_tests(fake, api, card_bot):
    await api.call(
        "POST", "/v1.0/card/instances/createAndDeliver", {**card_body(fake, "trk-8"), **robot_space("t-hz-001")}
    )
    presses = await asyncio.gather(
        *(fake.apress_card_button("trk-8", "t-hz-001", b, force=True) for b in ("noop-a", "noop-b"))
    )
    for p in presses:
        await fake.awaits(lambda r, p=p: r.kind == "ack" and r.msg_id == p)
    assert len(card_bot.presses) == 2
