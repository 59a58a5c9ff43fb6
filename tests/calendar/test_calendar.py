"""Deadlines, working days with 调休, and the reminder job writing to the outbox."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from bot.clock import SHANGHAI, ManualClock
from domain.calendar import CycleError, deadline, load_cycle
from domain.reminders.workdays import WorkCalendar

CAL = WorkCalendar.load()
is_workday, workdays_between = CAL.is_workday, CAL.workdays_between


def test_workdays_follow_holidays_and_adjusted_weekends():
    assert not is_workday(date(2026, 10, 1))  # National Day
    assert not is_workday(date(2026, 5, 1))  # Labour Day
    assert is_workday(date(2026, 4, 30))
    assert is_workday(date(2030, 1, 7)) and not is_workday(date(2030, 1, 6))  # no data: Mon–Fri
    assert workdays_between(date(2026, 4, 29), date(2026, 4, 30)) == 1
    assert workdays_between(date(2026, 4, 30), date(2026, 4, 30)) == 0


def test_roster_next_due():
    roster = deadline(load_cycle(), "roster")
    assert roster.next_due(date(2026, 5, 2)) == date(2027, 4, 30)


def test_bad_cycle_file():
    with pytest.raises(CycleError, match="第 1 个"):
        load_cycle("deadlines:\n  - {id: x, title: y, month: 2, day: 30}\n")
    with pytest.raises(CycleError, match="groups"):
        load_cycle("deadlines:\n  - {id: x, title: y, month: 2, day: 3, groups: [parents]}\n")


async def test_deadlines_show_progress_and_missing_holiday_data(start_bot, chat):
    clock = ManualClock(datetime(2026, 12, 1, 9, 0, tzinfo=SHANGHAI))
    await start_bot(clock=clock)
    assert "已把本群" in await chat.say("/绑定 审核员群", conversation="cid-reviewer-group")
    listing = await chat.say("/日程", conversation="cid-reviewer-group")
    assert "服务队伍名单报送" in listing and "优秀工作者推荐" not in listing
    listing = await chat.say("/日程", conversation="cid-p2p-op-zj-001")
    assert "名单报送：11 个市中 0 个已完成" in listing
    assert "2027 年还没有节假日数据" in listing


async def test_deadline_lines_follow_the_day_and_the_group(start_bot, chat):
    """/日程's lines are kept per day and group role: the next day and another group read their own."""
    clock = ManualClock(datetime(2026, 4, 27, 9, 0, tzinfo=SHANGHAI))
    await start_bot(clock=clock)
    assert "已把本群" in await chat.say("/绑定 审核员群", conversation="cid-reviewer-group")
    listing = await chat.say("/日程", conversation="cid-reviewer-group")
    assert "服务队伍名单报送" in listing and "3 天" in listing and "优秀工作者推荐" not in listing
    admin = await chat.say("/日程", conversation="cid-admin-group")  # unbound: every deadline
    assert "服务队伍名单报送" in admin and "优秀工作者推荐" in admin
    clock.set(datetime(2026, 4, 28, 9, 0, tzinfo=SHANGHAI))
    assert "2 天" in await chat.say("/日程", conversation="cid-reviewer-group")
