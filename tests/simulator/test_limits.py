"""DingTalk's limits in the fake, switched on per instance: calls a second per API, flow control, counters."""

from __future__ import annotations

import asyncio
import json
import time

import aiohttp

from simulator.openapi import minimum_seconds
from simulator.server import THROTTLE_403, FakeDingTalk, SimUser

USERS = [SimUser(f"u{i:02d}", f"用户{i}") for i in range(40)] + [SimUser("x1", "外部", external=True)]


def oto(fake: FakeDingTalk, ids: list[str]) -> dict:
    return {
        "robotCode": fake.client_id,
        "msgKey": "sampleText",
        "userIds": ids,
        "msgParam": json.dumps({"content": "请完成审核"}, ensure_ascii=False),
    }


async def _token(s: aiohttp.ClientSession, fake: FakeDingTalk) -> dict[str, str]:
    async with s.post(
        fake.base_url + "/v1.0/oauth2/accessToken", json={"appKey": fake.client_id, "appSecret": fake.client_secret}
    ) as r:
        return {"x-acs-dingtalk-access-token": (await r.json())["accessToken"]}


async def _send(s: aiohttp.ClientSession, url: str, body: dict, auth: dict[str, str]) -> tuple[int, dict]:
    async with s.post(url, json=body, headers=auth) as r:
        return r.status, await r.json()


async def test_rate_limit_per_api_answers_qps_403_beyond_n_a_second():
    with FakeDingTalk(users=USERS, rate_limit=3) as fake:
        url = fake.base_url + "/v1.0/robot/oToMessages/batchSend"
        group_url = fake.base_url + "/v1.0/robot/groupMessages/send"
        async with aiohttp.ClientSession() as s:
            auth = await _token(s, fake)
            started = time.monotonic()
            answers = await asyncio.gather(*(_send(s, url, oto(fake, [f"u{i:02d}"]), auth) for i in range(10)))
            elapsed = time.monotonic() - started
            # Another API has its own budget.
            status, _ = await _send(
                s,
                group_url,
                {
                    "robotCode": fake.client_id,
                    "msgKey": "sampleText",
                    "openConversationId": "cid-admin-group",
                    "msgParam": json.dumps({"content": "x"}),
                },
                auth,
            )
        assert status == 200
        ok = [a for a in answers if a[0] == 200]
        refused = [a for a in answers if a[0] == 403]
        assert len(ok) + len(refused) == 10 and refused
        assert all({k: v for k, v in body.items() if k != "requestid"} == THROTTLE_403 for _, body in refused)
        assert len(ok) <= 3 * (int(elapsed) + 1)
        per_second = fake.calls_per_second()
        assert sum(per_second["oto"].values()) == len(ok) and max(per_second["oto"].values()) <= 3
        assert fake.call_counts() == {"oto": len(ok), "group": 1}
        assert fake.group_delivered_counts() == {"cid-admin-group": 1}
        assert fake.minimum_seconds() == minimum_seconds(len(ok), 3) == (len(ok) - 1) // 3
        assert sum(fake.delivered_counts().values()) == len(ok)
        rejected = [r for r in fake.records if r.kind == "rejected"]
        assert len(rejected) == len(refused) and all(r.payload["status"] == 403 for r in rejected)
        fake.rate_limit = None
        async with aiohttp.ClientSession() as s:
            auth = await _token(s, fake)
            answers = await asyncio.gather(*(_send(s, url, oto(fake, ["u01"]), auth) for _ in range(6)))
        assert {a[0] for a in answers} == {200}


async def test_flow_control_ratio_is_seeded_and_counted():
    picked = []
    for _ in range(2):
        with FakeDingTalk(users=USERS, flow_control_ratio=0.3, seed=7) as fake:
            url = fake.base_url + "/v1.0/robot/oToMessages/batchSend"
            async with aiohttp.ClientSession() as s:
                auth = await _token(s, fake)
                _, first = await _send(s, url, oto(fake, [f"u{i:02d}" for i in range(20)]), auth)
                _, second = await _send(s, url, oto(fake, [f"u{i:02d}" for i in range(20, 39)] + ["x1"]), auth)
            flow = first["flowControlledStaffIdList"] + second["flowControlledStaffIdList"]
            assert 0 < len(flow) < 39 and second["invalidStaffIdList"] == ["x1"] and "x1" not in flow
            counts = fake.delivered_counts()
            assert set(counts) == {f"u{i:02d}" for i in range(39)} - set(flow)
            assert set(counts.values()) == {1}
            picked.append(flow)
            fake.reset_counts()
            assert fake.delivered_counts() == {} and fake.calls_per_second() == {}
    assert picked[0] == picked[1]


def test_minimum_seconds():
    assert [minimum_seconds(n, 20) for n in (0, 1, 20, 21, 40, 41, 700)] == [0, 0, 0, 1, 1, 2, 34]
    assert minimum_seconds(700, None) == 0


async def test_batch_send_still_takes_at_most_20_users():
    with FakeDingTalk(users=USERS) as fake:
        async with aiohttp.ClientSession() as s:
            auth = await _token(s, fake)
            status, body = await _send(
                s,
                fake.base_url + "/v1.0/robot/oToMessages/batchSend",
                oto(fake, [f"u{i:02d}" for i in range(21)]),
                auth,
            )
        assert status == 400 and body["code"] == "invalidParameter.userIds.tooMany"
        assert fake.call_counts() == {} and fake.delivered_counts() == {}
