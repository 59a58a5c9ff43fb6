"""Reminders: obligations as data, a working-day ladder, only the laggards, acknowledgement and
escalation, exactly once through the outbox (see docs/reminders.md)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from handlers.reminders.commands import router
from handlers.reminders.job import run_reminders
from handlers.reminders.service import calendar, holiday_warning
from scheduler import JobSpec

if TYPE_CHECKING:
    from bot.app import BotApp

log = logging.getLogger("bot.reminders")

JOBS = [
    JobSpec("reminders", "工作日 9:00 提醒未完成的人，逾期上报", {"hour": 9, "minute": 0}, run_reminders, catch_up=True)
]


async def on_startup(bot: BotApp) -> None:
    warning = holiday_warning(bot.services, bot.clock.now().date())
    if warning:
        log.warning("holiday data: %s", warning)


def health(bot: BotApp) -> dict[str, Any]:
    today = bot.clock.now().date()
    missing = calendar(bot.services).missing_years(today)
    leader = bot.scheduler.is_leader if bot.scheduler else False
    return {
        "holidays": {"missing_years": missing, "note": holiday_warning(bot.services, today) or "ok"},
        "scheduler": {"leader": leader, "holder": bot.lease.holder if bot.lease else None},
    }


__all__ = ["JOBS", "health", "on_startup", "router"]
