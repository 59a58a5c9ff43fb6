"""Reminders at T-3, T-1 (working days) and on the due day (09:00 on working days, once each) through the
reminders feature's one path (obligation review_tasks), and the daily automatic assignment of levels that
say so, by moving the injected clock and running the jobs."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from storage.models.reminders import ReminderDelivery
from storage.repositories.review import ReviewRepository
from tests.reminders.conftest import reminder_to
from tests.review.conftest import HZ, World, plain, resource
from tests.scores.util import SH


def at(day: int, hour: int = 9) -> datetime:
    return datetime(2026, 3, day, hour, 0, tzinfo=SH)


async def test_reminders_and_daily_assignment(world: World):
    w = world
    await w.post("/api/v1/resources", [resource("R1")])
    await w.say("/分配 预览", user=HZ)
    await w.confirm()
    [t] = await w.tasks(1)
    assert t.due_on.isoformat() == "2026-03-16"  # 5 working days after Monday 9 March
    job = w.bot.scheduler.run_now
    words = {11: "还有 3 个工作日截止", 13: "还有 1 个工作日截止", 16: "今天截止"}
    for day in (10, 11, 12, 13, 14, 16):
        w.clock.set(at(day))
        assert "reminded" not in await job("review_deadlines")  # the review job reminds nobody itself
        await job("reminders")
        await job("reminders")  # the same day again: nothing twice
        if day in words:
            text = plain((await reminder_to(w.sim, t.reviewer_id, words[day]))[1])
            assert "资源审核任务" in text and "您还有 1 条资源待审（#1）" in text and "3月16日截止" in text, text
    async with w.bot.db.unit_of_work() as uow:
        steps = (
            await uow.session.scalars(
                select(ReminderDelivery.step).where(
                    ReminderDelivery.obligation == "review_tasks", ReminderDelivery.person == t.reviewer_id
                )
            )
        ).all()
    assert sorted(steps) == ["T-1", "T-3", "T0"], steps

    # a level that assigns automatically: a waiting provincial resource is assigned by the job
    await w.say("/通过 1", user=t.reviewer_id, conversation="p2p")
    prov = [x for x in await w.tasks(1) if x.level_index == 1]
    assert len(prov) == 2  # assigned at once after the pass
    await w.post("/api/v1/resources", [resource("R2")])
    async with w.bot.db.unit_of_work() as uow:  # R2 waits at the provincial level
        r2 = await uow.repo(ReviewRepository).resource(2)
        r2.level_index = 1
    w.clock.set(at(17))
    result = await job("review_deadlines")
    assert result["assigned"] == 2, result
    assert len([x for x in await w.tasks(2) if x.level_index == 1]) == 2
