"""The annual cycle: /日程 lists the deadlines; a daily job reminds the groups."""
from __future__ import annotations

from typing import Any

from bot.commands import Args, Router
from bot.context import Context, ServiceKey, Services
from bot.replies import Reply
from domain.calendar import Deadline, load_cycle, workdays_between
from scheduler import JobContext, JobSpec

router = Router("calendar")


ANNUAL_CYCLE = ServiceKey[list[Deadline]]("annual_cycle", lambda _services: load_cycle())


def _cycle(services: Services) -> list[Deadline]:
    return services.use(ANNUAL_CYCLE)


@router.command("日程", alias="deadlines", extra_aliases=("截止",), help="查看年度工作的截止日期和剩余天数")
async def deadlines(ctx: Context, args: Args) -> Reply:
    today = ctx.now().date()
    role = ctx.group_role.value if ctx.group_role else None
    items: list[dict[str, Any]] = []
    for d in _cycle(ctx.services):
        if role and role not in d.groups:
            continue
        due = d.next_due(today)
        items.append({"title": d.title, "due": f"{due.month}月{due.day}日", "days": (due - today).days,
                      "workdays": workdays_between(today, due), "action": d.action})
    items.sort(key=lambda i: i["days"])
    return Reply("calendar/list", {"items": items})


async def send_reminders(job: JobContext) -> int:
    """Post today's reminders to the bound groups of each deadline's roles."""
    today = job.now().date()
    sent = 0
    for d in _cycle(job.services):
        left = d.reminder_due(today)
        if left is None:
            continue
        due = d.next_due(today)
        reminder = Reply("calendar/reminder", {
            "title": d.title, "due": f"{due.month}月{due.day}日", "workdays": left, "action": d.action})
        for role in d.groups:
            for binding in await job.uow.groups.for_role(role):
                await job.send_to_group(binding.conversation_id, reminder,
                                        purpose=f"reminder:{d.id}:{due.isoformat()}:{left}")
                sent += 1
    return sent


JOBS = [JobSpec("deadline_reminders", "工作日 9:00 发截止提醒", {"hour": 9, "minute": 0}, send_reminders)]
