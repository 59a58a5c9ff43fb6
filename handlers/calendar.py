"""The annual cycle: /日程 lists the deadlines and how far each obligation is done.

The reminders themselves are the reminders feature's job (handlers/reminders/)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from bot.commands import Args, Router
from bot.context import Context, ServiceKey, Services
from bot.replies import Reply
from domain.calendar import Deadline, load_cycle
from domain.reminders.workdays import WorkCalendar

router = Router("calendar")


ANNUAL_CYCLE = ServiceKey[list[Deadline]]("annual_cycle", lambda _services: load_cycle())
WORK_CALENDAR = ServiceKey[WorkCalendar](
    "calendar.workdays", lambda s: WorkCalendar.load(s.settings.reminder_holidays_dir or None)
)
"""Working days and 调休 (chinese-calendar plus the operator's holiday files): the one calendar of every feature."""


def work_calendar(services: Services) -> WorkCalendar:
    return services.use(WORK_CALENDAR)


def _cycle(services: Services) -> list[Deadline]:
    return services.use(ANNUAL_CYCLE)


@dataclass
class _Items:
    """/日程's lines of one day, per group role: they change only with the date (the cycle is static),
    and counting working days to each deadline costs ~30 ms (a day at a time through the holiday table)."""

    day: date | None = None
    by_role: dict[str | None, list[dict[str, Any]]] = field(default_factory=dict)


DEADLINE_ITEMS = ServiceKey[_Items]("calendar.items", lambda _services: _Items())


def _items(services: Services, today: date, role: str | None) -> list[dict[str, Any]]:
    memo = services.use(DEADLINE_ITEMS)
    if memo.day != today:
        memo.day, memo.by_role = today, {}
    items = memo.by_role.get(role)
    if items is None:
        items = []
        for d in _cycle(services):
            if role and role not in d.groups:
                continue
            due = d.next_due(today)
            items.append(
                {
                    "title": d.title,
                    "due": f"{due.month}月{due.day}日",
                    "days": (due - today).days,
                    "workdays": work_calendar(services).workdays_between(today, due),
                    "action": d.action,
                }
            )
        items.sort(key=lambda i: i["days"])
        memo.by_role[role] = items
    return items


@router.command("日程", alias="deadlines", extra_aliases=("截止",), help="查看年度工作的截止日期和剩余天数")
async def deadlines(ctx: Context, args: Args) -> Reply:
    role = ctx.group_role.value if ctx.group_role else None
    today = ctx.now().date()
    items = [dict(i) for i in _items(ctx.services, today, role)]
    from handlers.reminders.service import holiday_warning

    return Reply(
        "calendar/list",
        {"items": items, "progress": await _progress(ctx, role), "holidays": holiday_warning(ctx.services, today)},
    )


async def _progress(ctx: Context, role: str | None) -> list[dict]:
    """Each obligation with its next due date and how far it is done (the "done" queries now); an
    obligation "N working days after an event" sums the due dates still running (e.g. every reviewer with
    tasks of this round) and shows the nearest."""
    from domain.reminders.model import AfterEvent
    from domain.reminders.planner import progress
    from handlers.reminders.done import DONE_QUERIES
    from handlers.reminders.events import instances
    from handlers.reminders.service import due_text, env, obligations

    today = ctx.now().date()
    e = env(ctx.services)
    out = []
    for ob in await obligations(ctx.uow, ctx.services, ctx.now()):
        if ob.paused or (role and role not in ob.groups and ob.audience.role != role):
            continue
        running = await instances(ctx.uow, ob, today, e)
        done = total = 0
        for due, subjects in running:
            statuses = await DONE_QUERIES[ob.done](ctx.uow, ob, due, subjects, e) if subjects else {}
            d, t = progress(subjects, statuses)
            done, total = done + d, total + t
        if not running or (isinstance(ob.due, AfterEvent) and not total):
            continue  # an "after an event" obligation with nobody concerned now: nothing to show
        nearest = next((d for d, _ in running if d >= today), running[0][0])
        unit, done_unit = {"city": ("个市", "个"), "county": ("个县（市、区）", "个"), "member": ("人", "人")}[
            ob.audience.kind.value
        ]
        out.append(
            {
                "title": ob.title,
                "due": due_text(nearest),
                "done": done,
                "total": total,
                "unit": unit,
                "done_unit": done_unit,
            }
        )
    return out
