"""Proactive sends through the outbox against the fake DingTalk OpenAPI."""

from __future__ import annotations

import asyncio

from sqlalchemy import select

from storage.models.core import OutboxMessage


async def _rows(bot):
    async with bot.db.unit_of_work() as uow:
        return list((await uow.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))).all())


async def _wait_all_sent(bot, timeout=15.0):
    async def loop():
        while True:
            rows = await _rows(bot)
            if rows and all(r.status == "sent" for r in rows):
                return rows
            bot.outbox.wake()
            await asyncio.sleep(0.05)  # polling the DB, not waiting for time to pass

    return await asyncio.wait_for(loop(), timeout)


async def test_group_and_batch_sends_are_recorded_then_sent(start_bot, sim):
    bot = await start_bot()
    users = [f"u{i:02d}" for i in range(25)]
    async with bot.db.unit_of_work() as uow:
        await uow.outbox.enqueue(
            kind="group",
            conversation_id="cid-reviewer-group",
            msg_key="sampleMarkdown",
            msg_param={"title": "提醒", "text": "请在 4 月 30 日前完成登记"},
            now=bot.clock.now(),
        )
        await uow.outbox.enqueue(
            kind="users",
            user_ids=users,
            msg_key="sampleText",
            msg_param={"content": "审核任务已分配"},
            now=bot.clock.now(),
        )
    bot.outbox.wake()
    rows = await _wait_all_sent(bot)
    assert len(rows) == 3 and all(r.sent_at for r in rows)
    oto = [r for r in sim.records if r.kind == "oto_send"]
    assert sorted(len(r.payload["userIds"]) for r in oto) == [5, 20]
    group = [r for r in sim.records if r.kind == "group_send"]
    assert group[0].payload["openConversationId"] == "cid-reviewer-group"
    assert "4 月 30 日" in sim.text_of(group[0])
    assert len([r for r in sim.records if r.kind == "token"]) == 1  # token cached


async def test_throttling_is_retried_not_dropped(start_bot, sim):
    bot = await start_bot()
    sim.throttle("group", "403", times=1)
    sim.throttle("oto", "flow", times=1)
    async with bot.db.unit_of_work() as uow:
        await uow.outbox.enqueue(
            kind="group",
            conversation_id="cid-admin-group",
            msg_key="sampleText",
            msg_param={"content": "截止提醒"},
            now=bot.clock.now(),
        )
        await uow.outbox.enqueue(
            kind="users",
            user_ids=["a1", "a2"],
            msg_key="sampleText",
            msg_param={"content": "截止提醒"},
            now=bot.clock.now(),
        )
    bot.outbox.wake()
    rows = await _wait_all_sent(bot)
    assert all(r.attempts == 2 for r in rows), [(r.kind, r.attempts) for r in rows]
    accepted_group = [r for r in sim.records if r.kind == "group_send"]
    assert len(accepted_group) == 1  # the 403 answer is recorded as rejected, not as a send
    oto = [r for r in sim.records if r.kind == "oto_send"]
    assert [r.payload["userIds"] for r in oto] == [["a1", "a2"], ["a1", "a2"]]
    text = bot.metrics.render().decode()
    assert 'bot_sends_total{result="throttled"} 2.0' in text
