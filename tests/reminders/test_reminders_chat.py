"""Commands, bad input, exactly-once and the scheduler lease, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

from sqlalchemy import func, select

from bot.clock import SHANGHAI, ManualClock
from domain.roster import Role
from scheduler.lease import Lease
from simulator.cards import card_text
from storage.models.core import AuditEntry, OutboxMessage
from storage.models.reminders import ReminderDelivery
from tests.reminders.conftest import reminder_to, seed

MON = datetime(2026, 6, 1, 9, 0, tzinfo=SHANGHAI)  # a Monday


async def _count(db, model, *where) -> int:
    async with db.unit_of_work() as uow:
        return int(await uow.session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


async def test_one_off_item_bad_input_ack_done_and_urge(start_bot, chat, database_url):
    clock = ManualClock(MON)
    bot = await start_bot(clock=clock, database_url=database_url)
    await seed(
        bot.db,
        [(Role.ADMIN, "杭州市/西湖区", "t-hz-001"), (Role.ADMIN, "宁波市/鄞州区", "t-nb-001")],
        grants=[("city-hz-001", "杭州市")],
    )
    say = chat.say
    for text, words in (
        ("/提醒 新增 培训计划 2026-02-30 县级管理员", "截止日期"),
        ("/提醒 新增 培训计划 2026-05-01 县级管理员", "已经过去"),
        ("/提醒 新增 培训计划 2026-06-08 家长", "对象"),
        ("/提醒 新增 培训计划", "格式"),
        ("/提醒 暂停 99", "没有编号为 99"),
        ("/提醒 跳舞", "操作"),
    ):
        reply = await say(text, conversation="cid-p2p-op-zj-001")
        assert words in reply, (text, reply)
    reply = await say(
        "/提醒 新增 培训计划 2026-06-08 县级管理员 宁波市", user="city-hz-001", conversation="cid-p2p-city-hz-001"
    )
    assert "不在你管理的范围内" in reply, reply
    assert await _count(bot.db, AuditEntry, AuditEntry.action == "reminders.add") == 0  # nothing half-written
    reply = await say(
        "/提醒 新增 培训计划 2026-06-08 县级管理员 杭州市", user="city-hz-001", conversation="cid-p2p-city-hz-001"
    )
    assert "已添加提醒" in reply, reply
    number = int(reply.split("已添加提醒")[1].split()[0])
    # T-7 (Monday 1 June): only the 杭州 county admin is inside the item's territory.
    await bot.scheduler.run_now("reminders")
    _, text = await reminder_to(chat.sim, "t-hz-001", "培训计划")
    assert "/收到 编号" in text and "收到\n已完成" in text, text
    assert await _count(bot.db, ReminderDelivery, ReminderDelivery.person == "t-nb-001") == 0
    # Running again (a restart, a second instance) sends nothing new.
    before = await _count(bot.db, OutboxMessage)
    await bot.scheduler.run_now("reminders")
    assert await _count(bot.db, OutboxMessage) == before
    assert "不是发给你的" in await say(f"/收到 {number}", user="t-nb-001", conversation="cid-p2p-t-nb-001")
    assert "已收到" in await say(f"/收到 {number}", user="t-hz-001", conversation="cid-p2p-t-hz-001")
    # /催办: once per person per day, audited.
    reply = await say(f"/催办 {number}", user="city-hz-001", conversation="cid-p2p-city-hz-001")
    assert "已提醒 1 人" in reply, reply
    reply = await say(f"/催办 {number}", user="city-hz-001", conversation="cid-p2p-city-hz-001")
    assert "1 人今天已催办过" in reply and "已提醒 0 人" in reply, reply
    assert await _count(bot.db, AuditEntry, AuditEntry.action == "reminders.urge") == 2
    assert "谢谢" in await say(f"/已完成 {number}", user="t-hz-001", conversation="cid-p2p-t-hz-001")
    clock.set(MON + timedelta(days=7))  # the due day: done, so nothing
    await bot.scheduler.run_now("reminders")
    assert (
        await _count(bot.db, ReminderDelivery, ReminderDelivery.person == "t-hz-001", ReminderDelivery.step == "T0")
        == 0
    )
    assert "已暂停" in await say(f"/提醒 暂停 {number}", user="city-hz-001", conversation="cid-p2p-city-hz-001")
    stats = await say("/发送统计", conversation="cid-p2p-op-zj-001")
    assert "本月发送统计" in stats and "上限 10000 次" in stats


async def test_card_buttons_acknowledge_once_and_check_done_against_the_store(start_bot, chat, sim):
    """收到 / 已完成 pressed on the reminder card (through the real SDK and the fake's card callback)."""
    clock = ManualClock(datetime(2026, 4, 16, 9, 0, tzinfo=SHANGHAI))  # T-14 of the roster
    bot = await start_bot(clock=clock)
    await seed(bot.db, [(Role.ADMIN, "杭州市/西湖区", "t-hz-001")])
    await bot.scheduler.run_now("reminders")
    card, text = await reminder_to(sim, "t-hz-001", "本县名单补齐")
    assert "西湖区还缺" in text and "收到\n已完成" in text, text

    async def press(action: str, answer: str, *, force: bool = False) -> str:
        """Press, then the bot's 1:1 answer containing ``answer`` (the card update may come first)."""
        since = len(sim.records)
        await sim.apress_card_button(card, "t-hz-001", action, force=force)
        rec = await sim.awaits(
            lambda r: r.kind == "oto_send" and "t-hz-001" in r.payload["userIds"] and answer in sim.read_text(r),
            timeout=10,
            since=since,
        )
        return sim.read_text(rec)

    def rows(user: str | None = "t-hz-001") -> str:
        return card_text(sim.card_params(card, user))

    async def card_shows(words: str) -> None:
        await asyncio.to_thread(sim.wait_for, lambda r: r.kind == "card_update" and words in rows(), 10)

    await press("ack:2", "已收到")
    await card_shows("已收到：截止日前不再提醒")
    assert rows().endswith("\n已收到：截止日前不再提醒\n已完成")  # the 收到 button replaced by its status
    await press("ack:2", "之前已经收到过了", force=True)  # a stale card: recorded once
    assert await _count(bot.db, AuditEntry, AuditEntry.action == "reminders.ack") == 1
    assert "西湖区还缺" in await press("done:2", "还没有完成")
    await card_shows("还没有完成：西湖区还缺")
    # 西湖区 completes its roster; 已完成 (typed this time) is checked again and the card shows it.
    await seed(bot.db, [(Role.TRAINER, "杭州市/西湖区", None)] + [(Role.REVIEWER, "杭州市/西湖区", None)] * 3)
    assert "已核对完成" in await chat.say("/已完成 2", user="t-hz-001", conversation="cid-p2p-t-hz-001")
    await card_shows("已完成（已核对）")
    assert rows(None).endswith("\n收到\n已完成")  # everyone else's view of the card is unchanged


async def test_outbox_refuses_a_second_row_for_the_same_key(db):
    now = MON
    async with db.unit_of_work() as uow:
        first = await uow.outbox.enqueue(
            kind="users",
            user_ids=["a"],
            msg_key="sampleMarkdown",
            msg_param={"title": "t", "text": "x"},
            now=now,
            dedup_key="k1",
        )
        again = await uow.outbox.enqueue(
            kind="users",
            user_ids=["a"],
            msg_key="sampleMarkdown",
            msg_param={"title": "t", "text": "x"},
            now=now,
            dedup_key="k1",
        )
    assert len(first) == 1 and again == []
    assert await _count(db, OutboxMessage) == 1


async def test_lease_one_holder_and_takeover_after_expiry(db):
    clock = ManualClock(MON)
    a = Lease(db, ttl=30, clock=clock, holder="a")
    b = Lease(db, ttl=30, clock=clock, holder="b")
    assert await a.try_acquire() and not await b.try_acquire()
    clock.advance(seconds=20)
    assert await a.try_acquire() and not await b.try_acquire()  # renewed
    clock.advance(seconds=31)  # a died: no renewal
    results = await asyncio.gather(b.try_acquire(), b.try_acquire())
    assert all(results) and b.leader
    assert not await a.try_acquire() and not a.leader


async def test_only_the_leader_runs_jobs(start_bot, chat, database_url):
    clock = ManualClock(MON)
    one = await start_bot(clock=clock, database_url=database_url)
    two = await start_bot(clock=clock, database_url=database_url, wait_connected=False)
    assert one.scheduler.is_leader and not two.scheduler.is_leader
    await seed(one.db, [(Role.ADMIN, "杭州市/西湖区", "t-hz-001")])
    assert "已添加提醒" in await chat.say("/提醒 新增 培训计划 2026-06-08 县级管理员", conversation="cid-p2p-op-zj-001")
    await two.scheduler._fire("reminders")  # a follower's trigger does nothing
    assert await _count(two.db, ReminderDelivery) == 0
    await one.scheduler._fire("reminders")
    assert await _count(two.db, ReminderDelivery) == 1


async def test_healthz_names_the_year_without_holiday_data_and_the_leader(start_bot):
    import aiohttp

    bot = await start_bot(clock=ManualClock(datetime(2026, 12, 1, 10, 0, tzinfo=SHANGHAI)))
    async with aiohttp.ClientSession() as s, s.get(f"http://127.0.0.1:{bot.http_port}/healthz") as r:
        body = await r.json()
    assert body["holidays"]["missing_years"] == [2027] and "2027 年还没有节假日数据" in body["holidays"]["note"]
    assert body["scheduler"]["leader"] is True


async def test_over_the_monthly_cap_digests_wait_and_operators_are_told(start_bot, chat):
    clock = ManualClock(datetime(2026, 4, 16, 9, 0, tzinfo=SHANGHAI))  # T-14 of the roster
    bot = await start_bot(clock=clock, dingtalk_monthly_cap=0)
    await chat.say("/绑定 管理员群", conversation="cid-admin-group")
    await bot.scheduler.run_now("reminders")
    assert "快到上限" in await chat.private_to("op-zj-001", "调用量")
    assert await _count(bot.db, OutboxMessage, OutboxMessage.purpose == "reminder:digest") == 0
