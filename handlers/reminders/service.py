"""Shared pieces of the reminder feature: the working-day calendar, the obligations with their numbers."""

from __future__ import annotations

import logging
from datetime import date, datetime

from bot.context import ServiceKey, Services
from domain.calendar import DEFAULT_CYCLE
from domain.reminders import (
    Audience,
    Obligation,
    OnDate,
    WorkCalendar,
    load_obligations,
)
from handlers.calendar import work_calendar
from handlers.evaluation import indicators
from handlers.reminders.done import DONE_QUERIES, Env
from handlers.reminders.events import RECORDS_DUE
from handlers.roster.common import config, regions
from storage.db import UnitOfWork
from storage.repositories.reminders import ReminderRepository, StoredItem

log = logging.getLogger("bot.reminders")

CYCLE_OBLIGATIONS = ServiceKey[list[Obligation]](
    "reminders.cycle",
    lambda _s: load_obligations(DEFAULT_CYCLE.read_text(encoding="utf-8"), set(DONE_QUERIES), RECORDS_DUE),
)


def calendar(services: Services) -> WorkCalendar:
    return work_calendar(services)


def env(services: Services) -> Env:
    return Env(regions(services), config(services).quotas, calendar(services), indicators(services))


def _from_item(item: StoredItem) -> Obligation:
    return Obligation(
        id=item.key,
        title=item.title,
        due=OnDate(item.due_date or date.min),
        audience=Audience.parse(item.audience),
        done=item.done_query,
        action=item.action,
        territory=item.territory,
        number=item.id,
        paused=item.paused,
    )


async def obligations(uow: UnitOfWork, services: Services, now: datetime) -> list[Obligation]:
    """Every obligation with its short number: the annual cycle's (synced to the store) and chat items."""
    cycle = services.use(CYCLE_OBLIGATIONS)
    repo = uow.repo(ReminderRepository)
    items = await repo.items()
    known = {i.key for i in items}
    if any(ob.id not in known for ob in cycle):
        await repo.sync_cycle([(ob.id, ob.title, ob.audience.label, ob.done) for ob in cycle], now)
        items = await repo.items()
    by_key = {i.key: i for i in items}
    out = [ob.with_number(by_key[ob.id].id, by_key[ob.id].paused) for ob in cycle]
    out.extend(_from_item(i) for i in items if i.source == "chat")
    return sorted(out, key=lambda o: o.number)


def find(obs: list[Obligation], number: int) -> Obligation | None:
    return next((o for o in obs if o.number == number), None)


def due_text(d: date) -> str:
    return f"{d.month}月{d.day}日"


def holiday_warning(services: Services, today: date) -> str:
    """Chinese words naming the coming years without holiday data (empty when all is known)."""
    years = calendar(services).missing_years(today)
    if not years:
        return ""
    ys = "、".join(f"{y} 年" for y in years)
    return (
        f"{ys}还没有节假日数据，暂按周一至周五算工作日；请在 domain/data/holidays/ 放入该年的假日文件"
        "或升级 chinese-calendar"
    )
