"""Obligations "N working days after an event" wired to the store: a review assignment (each reviewer's
tasks, due on the task's own deadline) and a call's opening (each city submits within 15 working days).
The injected clock walks the days: the steps follow the event dates, a holiday shifts them, a finished
reviewer or a city that has submitted hears nothing, and /日程 shows the progress."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import select

from bot.clock import SHANGHAI, ManualClock
from domain.reminders import WorkCalendar
from domain.roster import Role
from storage.models.reminders import ReminderDelivery
from storage.models.review import ReviewCallRow, ReviewResource, ReviewTask
from tests.reminders.conftest import reminder_to, seed

CAL = WorkCalendar.load()
OPENED = datetime(2026, 4, 23, 8, 30, tzinfo=SHANGHAI)  # Thursday: the default call is stored at start-up


def at9(d: date) -> datetime:
    return datetime(d.year, d.month, d.day, 9, 0, tzinfo=SHANGHAI)


async def _tasks(db, plan: list[tuple[str, date, date, str]]) -> None:
    """plan: (reviewer, assigned on, due on, state); one resource of 宁波市 per task."""
    async with db.unit_of_work() as uow:
        call = (await uow.session.scalars(select(ReviewCallRow))).first()
        assert call is not None  # the review feature stored review.yaml's call at start-up
        for i, (reviewer, assigned, due, state) in enumerate(plan, start=1):
            r = ReviewResource(
                external_id=f"E{i}",
                call_id=call.id,
                title=f"资源{i}",
                rtype="微课",
                category="课程教学",
                stage="小学",
                subject="数学",
                edition="人教版",
                chapter="第一单元",
                link="https://example.cn/r",
                submitter_account="s",
                submitter_name="王小明",
                school="鄞州小学",
                county="鄞州区",
                city="宁波市",
                level_index=0,
                status="reviewing",
                created_at=OPENED,
                updated_at=OPENED,
            )
            uow.session.add(r)
            await uow.session.flush()
            uow.session.add(
                ReviewTask(
                    resource_id=r.id,
                    level_index=0,
                    reviewer_id=reviewer,
                    reviewer_name="审核员",
                    assigned_at=at9(assigned),
                    due_on=due,
                    state=state,
                )
            )


async def _steps(db, obligation: str) -> dict[str, list[tuple[str, date]]]:
    async with db.unit_of_work() as uow:
        rows = (
            await uow.session.scalars(select(ReminderDelivery).where(ReminderDelivery.obligation == obligation))
        ).all()
    out: dict[str, list[tuple[str, date]]] = {}
    for r in sorted(rows, key=lambda r: r.run_day):
        out.setdefault(r.person, []).append((r.step, r.run_day))
    return out


async def test_review_assignments_and_call_opening_drive_the_ladder(start_bot, chat):
    clock = ManualClock(OPENED)
    bot = await start_bot(clock=clock)
    await seed(
        bot.db,
        [
            (Role.REVIEWER, "杭州市/西湖区", "t-hz-001"),
            (Role.REVIEWER, "杭州市/萧山区", "t-hz-002"),
            (Role.REVIEWER, "宁波市/鄞州区", "t-nb-001"),
        ],
        grants=[("city-hz-001", "杭州市"), ("city-nb-001", "宁波市")],
    )
    add = CAL.add_workdays
    # 李明: three tasks assigned Monday 27 April (due 5 working days later: 7 May, over Labour Day);
    # 张丽: one assigned Wednesday 29 April (due Saturday 9 May, the make-up working day);
    # 刘洋: one assigned 27 April and already decided.
    mon, wed = date(2026, 4, 27), date(2026, 4, 29)
    assert add(mon, 5) == date(2026, 5, 7) and add(wed, 5) == date(2026, 5, 9)
    await _tasks(
        bot.db,
        [("t-hz-001", mon, add(mon, 5), "open")] * 3
        + [("t-hz-002", wed, add(wed, 5), "open"), ("t-nb-001", mon, add(mon, 5), "done")],
    )
    day = date(2026, 4, 23)
    while day <= date(2026, 5, 22):
        clock.set(at9(day))
        await bot.scheduler.run_now("reminders")
        if day == date(2026, 4, 29):
            _, text = await reminder_to(chat.sim, "t-hz-001", "资源审核任务")
            assert "您还有 3 条资源待审" in text and "5月7日截止" in text and "还有 3 个工作日截止" in text, text
            board = await chat.say("/日程", conversation="cid-p2p-op-zj-001")
            assert "资源审核任务：3 人中 1 人已完成" in board, board
            assert "征集资源报送：11 个市中 1 个已完成" in board, board
        day += timedelta(days=1)

    got = await _steps(bot.db, "review_tasks")
    # The steps follow each task's due day (3 and 1 working days before, the day, the day after), moved
    # by the Labour Day holiday (1–5 May): none falls in it.
    assert got["t-hz-001"] == [
        ("T-3", date(2026, 4, 29)),
        ("T-1", date(2026, 5, 6)),
        ("T0", date(2026, 5, 7)),
        ("T+1", date(2026, 5, 8)),
    ]
    assert got["t-hz-002"] == [
        ("T-3", date(2026, 5, 6)),
        ("T-1", date(2026, 5, 8)),
        ("T0", date(2026, 5, 9)),
        ("T+1", date(2026, 5, 11)),
    ]
    assert "t-nb-001" not in got  # finished: nothing
    # The call opened on 23 April: due 15 working days later (18 May); 宁波市 has submitted, 杭州市 not.
    due = add(date(2026, 4, 23), 15)
    assert due == date(2026, 5, 18)
    calls = await _steps(bot.db, "call_submission")
    assert "city-nb-001" not in calls
    assert [s for s, _ in calls["city-hz-001"]] == ["T-7", "T-1", "T0", "T+1", "T+2", "T+3"]
    assert calls["city-hz-001"][0][1] == date(2026, 5, 11) and all(CAL.is_workday(d) for _, d in calls["city-hz-001"])
    _, text = await reminder_to(chat.sim, "city-hz-001", "征集资源报送")
    assert "还没有为「2026年中小学优质数字资源征集」报送资源" in text, text
