"""Reminders at T-3, T-1 and on the due day (09:00 on working days, once each), and the daily automatic
assignment of levels that say so, by moving the injected clock and running the job."""

from __future__ import annotations

from datetime import datetime

from storage.repositories.review import ReviewRepository
from tests.review.conftest import HZ, World, resource
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
    words = {11: "还有 3 个工作日", 13: "还有 1 个工作日", 16: "今天到期"}
    for day, expected in ((10, 0), (11, 1), (12, 0), (13, 1), (14, 0), (16, 1)):
        w.clock.set(at(day))
        result = await job("review_deadlines")
        again = await job("review_deadlines")  # the same day again: nothing twice
        assert result["reminded"] == expected and again["reminded"] == 0, (day, result, again)
        if expected:
            assert "审核任务提醒" in await w.private(t.reviewer_id, words[day])
    # three distinct reminders (a send retried after a network timeout under load would repeat one)
    oto = {w.sim.text_of(r) for r in w.sim.records if r.kind == "oto_send" and "审核任务提醒" in w.sim.text_of(r)}
    assert len(oto) == 3, oto

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
