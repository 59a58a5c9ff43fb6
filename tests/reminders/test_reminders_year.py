"""A whole year of time travel through the real bot: the job at 09:00 every day with the injected clock."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import select

from bot.clock import SHANGHAI, ManualClock
from domain.reminders import WorkCalendar, ladder_days
from domain.reminders.model import Ladder
from domain.roster import Role
from storage.models.core import OutboxMessage
from storage.models.reminders import ReminderDelivery
from tests.reminders.conftest import reminder_to, seed

CAL = WorkCalendar.load()
XIHU, XIAOSHAN = "杭州市/西湖区", "杭州市/萧山区"


def _complete(where: str, admin: str | None) -> list:
    return [(Role.ADMIN, where, admin), (Role.TRAINER, where, None)] + [(Role.REVIEWER, where, None)] * 3


async def test_a_year_of_reminders(start_bot, chat, sim):
    clock = ManualClock(datetime(2026, 1, 1, 8, 0, tzinfo=SHANGHAI))
    bot = await start_bot(clock=clock)
    await chat.say("/绑定 管理员群", conversation="cid-admin-group")
    # 西湖区 lacks a trainer and reviewers; 萧山区 is complete. Both county admins are linked to DingTalk.
    await seed(
        bot.db, [(Role.ADMIN, XIHU, "t-hz-001"), *_complete(XIAOSHAN, "t-hz-002")], grants=[("city-hz-001", "杭州市")]
    )
    acked = False
    day = date(2026, 1, 1)
    while day.year == 2026:
        clock.set(datetime(day.year, day.month, day.day, 9, 0, tzinfo=SHANGHAI))
        await bot.scheduler.run_now("reminders")
        if day == date(2026, 4, 16):  # T-14 of the roster reached 李明: he acknowledges
            assert "截止提醒" in (await reminder_to(sim, "t-hz-001", "本县名单补齐"))[1]
            reply = await chat.say("/收到 2", user="t-hz-001", conversation="cid-p2p-t-hz-001")
            assert "已收到" in reply, reply
            acked = True
        day += timedelta(days=1)
    assert acked
    async with bot.db.unit_of_work() as uow:
        rows = (await uow.session.scalars(select(ReminderDelivery))).all()
    got: dict[tuple[str, str], list[tuple[str, date]]] = {}
    for r in rows:
        got.setdefault((r.obligation, r.person), []).append((r.step, r.run_day))
        assert CAL.is_workday(r.run_day), r
    for v in got.values():
        v.sort(key=lambda s: s[1])
    ladder = ladder_days(date(2026, 4, 30), Ladder(), CAL)
    days = dict(ladder)
    # The county ladder: T-14, then silence after 收到 until the due day, then every step to the end.
    assert got[("roster_county", "t-hz-001")] == [("T-14", days["T-14"])] + [
        (s, d) for s, d in ladder if s in ("T0", "T+1", "T+2", "T+3")
    ]
    assert ("roster_county", "t-hz-002") not in got  # 萧山区 is complete: nothing
    # The city centre was never acknowledged: every step, and its own escalation goes to the province.
    assert [s for s, _ in got[("roster", "city-hz-001")]] == ["T-14", "T-7", "T-3", "T-1", "T0", "T+1", "T+2", "T+3"]
    assert [d for _, d in got[("roster", "op-zj-001")]] == [days["ESC"]]
    # The county laggard was overdue: his city operator got one list; semester reports unanswered after two
    # steps reached the city operator too.
    assert [s for s, _ in got[("roster_county", "city-hz-001")]] == ["CITY-LATE"]
    assert "CITY-UNACK" in [s for s, _ in got[("semester_spring", "city-hz-001")]]
    # No step on the Labour Day holiday, one on the make-up Saturday.
    run_days = {r.run_day for r in rows}
    assert not any(date(2026, 5, d) in run_days for d in range(1, 6)) and date(2026, 5, 9) in run_days
    async with bot.db.unit_of_work() as uow:
        digests = (
            await uow.session.scalars(select(OutboxMessage).where(OutboxMessage.purpose == "reminder:digest"))
        ).all()
    assert digests and all("t-hz" not in str(d.msg_param) and "李明" not in str(d.msg_param) for d in digests)
    text = await chat.private_to("op-zj-001", "逾期上报")
    assert "杭州市" in text
