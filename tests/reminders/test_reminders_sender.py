"""The sender within DingTalk's limits: pacing, flow-controlled retries, dead letters, the call counter."""

from __future__ import annotations

import asyncio

from sqlalchemy import select

from storage.models.core import OutboxMessage


async def _enqueue(bot, users: list[str], text: str, purpose: str = "test") -> None:
    async with bot.db.unit_of_work() as uow:
        await uow.outbox.enqueue(
            kind="users",
            user_ids=users,
            msg_key="sampleMarkdown",
            msg_param={"title": "通知", "text": text},
            now=bot.clock.now(),
            purpose=purpose,
        )
    bot.outbox.wake()


async def test_paced_sends_with_flow_control_reach_everyone_once(start_bot, sim):
    sim.rate_limit = 20
    sim.openapi.flow_control_ratio = 0.2
    bot = await start_bot()
    people = [f"x{i:03d}" for i in range(200)]
    await _enqueue(bot, people, "请查看通知")

    def everyone(_r=None) -> bool:
        got = sim.openapi.delivered_counts()
        return all(got.get(p) for p in people)

    await asyncio.to_thread(sim.wait_for, lambda r: everyone(), 30)
    got = sim.openapi.delivered_counts()
    assert {got[p] for p in people} == {1}
    assert not [r for r in sim.records if r.kind == "rejected"]  # no QpsLimit answer at all
    flow = sum(
        len((r.response or {}).get("flowControlledStaffIdList", [])) for r in sim.records if r.kind == "oto_send"
    )
    assert flow > 0  # some were refused, then sent again
    await bot.outbox.stop()  # every answer written
    async with bot.db.unit_of_work() as uow:
        calls = await uow.outbox.calls_in(bot.clock.now().strftime("%Y-%m"))
    assert calls["oToMessages/batchSend"] == sum(1 for r in sim.records if r.kind == "oto_send")


async def test_dead_letter_after_bounded_tries_tells_the_operators(start_bot, sim, chat):
    bot = await start_bot(outbox_max_attempts=2)
    sim.throttle("oto", "403", times=2)
    await _enqueue(bot, ["t-hz-001"], "请查看通知")
    text = await chat.private_to("op-zj-001", "仍未发出", timeout=20)
    assert "/发送统计" in text
    async with bot.db.unit_of_work() as uow:
        row = (await uow.session.scalars(select(OutboxMessage).where(OutboxMessage.purpose == "test"))).one()
    assert row.status == "failed" and row.attempts == 2
    assert "/重发失败" in text
    # the cause is gone (the throttle was for two calls): the operator resends, the person gets it once
    assert "省级管理员" in await chat.say("/重发失败", conversation="cid-p2p-t-hz-001", user="t-hz-001")
    said = await chat.say("/重发失败", conversation="cid-p2p-op-zj-001", user="op-zj-001")
    assert "已重新发送" in said and "1 条" in said
    await sim.awaits(lambda _r: sim.delivered_counts().get("t-hz-001") == 1, timeout=10)
    for _ in range(100):  # the worker marks the row sent just after DingTalk accepted it
        async with bot.db.unit_of_work() as uow:
            row = (await uow.session.scalars(select(OutboxMessage).where(OutboxMessage.purpose == "test"))).one()
            [entry] = await uow.audit.list(entity="outbox")
        if row.status == "sent":
            break
        await asyncio.sleep(0.05)
    assert row.status == "sent" and entry.after == {"count": 1} and entry.actor_id == "op-zj-001"
    again = await chat.say("/重发失败", conversation="cid-p2p-op-zj-001", user="op-zj-001")
    assert "没有发送失败的消息" in again
