"""Deadlines, working days with 调休, and the reminder job writing to the outbox."""
from __future__ import annotations

import asyncio
from datetime import date, datetime

import pytest
from sqlalchemy import select

from bot.clock import SHANGHAI, ManualClock
from domain.calendar import CycleError, deadline, is_workday, load_cycle, workdays_between
from storage.models.core import OutboxMessage


def test_workdays_follow_holidays_and_adjusted_weekends():
    assert not is_workday(date(2026, 10, 1))        # National Day
    assert not is_workday(date(2026, 5, 1))         # Labour Day
    assert is_workday(date(2026, 4, 30))
    assert is_workday(date(2030, 1, 7)) and not is_workday(date(2030, 1, 6))   # no data: Mon–Fri
    assert workdays_between(date(2026, 4, 29), date(2026, 4, 30)) == 1
    assert workdays_between(date(2026, 4, 30), date(2026, 4, 30)) == 0


def test_roster_reminder_days():
    roster = deadline(load_cycle(), "roster")
    days = [d for d in range(1, 31) if roster.reminder_due(date(2026, 4, d)) is not None]
    assert days == [16, 27, 29, 30]
    assert roster.reminder_due(date(2026, 4, 26)) is None        # a Sunday: no reminder
    assert roster.next_due(date(2026, 5, 2)) == date(2027, 4, 30)


def test_bad_cycle_file():
    with pytest.raises(CycleError, match="第 1 个"):
        load_cycle("deadlines:\n  - {id: x, title: y, month: 2, day: 30}\n")
    with pytest.raises(CycleError, match="groups"):
        load_cycle("deadlines:\n  - {id: x, title: y, month: 2, day: 3, groups: [parents]}\n")


async def test_reminder_job_posts_to_bound_groups(start_bot, chat, sim):
    clock = ManualClock(datetime(2026, 4, 27, 9, 0, tzinfo=SHANGHAI))
    bot = await start_bot(clock=clock)
    assert "已把本群" in await chat.say("/绑定 审核员群", conversation="cid-reviewer-group")
    listing = await chat.say("/日程", conversation="cid-reviewer-group")
    assert "服务队伍名单报送" in listing and "3 天" in listing and "优秀工作者推荐" not in listing
    assert await bot.scheduler.run_now("deadline_reminders") == 1
    async with bot.db.unit_of_work() as uow:
        rows = (await uow.session.scalars(select(OutboxMessage).where(   # replies are in the outbox too
            OutboxMessage.purpose.not_in(("reply", "reply_private"))))).all()
    assert [r.conversation_id for r in rows] == ["cid-reviewer-group"]
    rec = await asyncio.to_thread(sim.wait_for, lambda r: r.kind == "group_send", 10)
    assert "还剩 **3 个工作日**" in sim.text_of(rec)
    clock.set(datetime(2026, 4, 28, 9, 0, tzinfo=SHANGHAI))
    assert await bot.scheduler.run_now("deadline_reminders") == 0
