"""Deadlines: 09:00 on working days, a task overdue after the grace (default 1 working day) goes to an
alternate, and the original reviewer and the city's operators are told. Levels that say so get their
new resources assigned automatically. Plus /任务, /进度 and /资源 N.

Reviewers are reminded of their open tasks by the reminders feature (obligation ``review_tasks`` in
annual_cycle.yaml: 3 and 1 working days before each task's due day, on it and the day after, with
收到 / 已完成), one path, so nobody is reminded twice of one task.
"""

from __future__ import annotations

from collections import defaultdict

from bot.commands import Arg, Args, Chat, positive_int
from bot.context import Context
from bot.errors import UserError
from bot.replies import Reply
from domain.review.flow import Status, TaskState
from handlers.calendar import work_calendar
from handlers.permissions import REVIEW_OPERATOR
from handlers.review.common import (
    OPERATOR_GROUPS,
    TASK,
    Env,
    call_in_scope,
    catalogue,
    router,
    task_view,
)
from handlers.review.engine import assign_now
from handlers.review.push import refresh_card
from handlers.review.verdicts import FIELD_NAMES, reassign
from scheduler import JobContext, JobSpec


async def daily(job: JobContext) -> dict[str, int]:
    env = Env(job.uow, job.services, job.now())
    today = env.now.date()
    if not work_calendar(job.services).is_workday(today):
        return {"reassigned": 0, "assigned": 0}
    reassigned = await _overdue(env)
    assigned = await _auto_assign(env)
    return {"reassigned": reassigned, "assigned": assigned}


async def _overdue(env: Env) -> int:
    today = env.now.date()
    grace = env.config.settings.overdue_grace_workdays
    cal = work_calendar(env.services)
    repo = env.repo
    moved = 0
    for t in await repo.open_tasks():
        if cal.add_workdays(t.due_on, grace) >= today:
            continue
        r = await repo.resource(t.resource_id)
        call = await repo.call(r.call_id) if r else None
        if r is None or call is None:
            continue
        t.state, t.done_at = TaskState.OVERDUE.value, env.now
        await env.audit(
            "review.overdue",
            TASK,
            str(t.id),
            after={"resource": r.id, "due": t.due_on.isoformat()},
            territory=f"{env.province}/{r.city}",
        )
        new, _why = await reassign(env, call, r, t, batch_key=f"overdue-{t.id}")
        if t.card_id:
            await refresh_card(env, call, t.card_id)
        view = {"n": r.id, "title": r.title, "due": f"{t.due_on.month}月{t.due_on.day}日", "moved": bool(new)}
        await env.to_users([t.reviewer_id], Reply("review/overdue_reviewer", view), purpose="review.overdue")
        await env.to_users(
            await env.city_operators(r.city),
            Reply("review/overdue_operator", view | {"reviewer": t.reviewer_name}),
            purpose="review.overdue",
        )
        moved += 1
    return moved


async def _auto_assign(env: Env) -> int:
    repo = env.repo
    total = 0
    for call in await repo.calls():
        if not call.active or not any(lv.auto_assign for lv in call.levels):
            continue
        pool = [
            r
            for r in await repo.pool(call_id=call.id, city=None, statuses=(Status.WAITING.value,))
            if call.levels[r.level_index].auto_assign
        ]
        for r in pool:
            tasks, _why = await assign_now(env, call, r, batch_key=f"auto-{env.now.date().isoformat()}-{r.id}")
            total += len(tasks)
    return total


JOBS = [JobSpec("review_deadlines", "审核任务：超时改派、自动分配（工作日 9:00）", {"hour": 9, "minute": 0}, daily)]


# ── /任务 ──
@router.command("任务", chat=Chat.PRIVATE, alias="tasks", help="我的待审任务")
async def my_tasks(ctx: Context, args: Args) -> Reply:
    env = Env.of(ctx)
    repo = env.repo
    views = []
    for t in await repo.open_tasks(ctx.actor.id):
        r = await repo.resource(t.resource_id)
        if r is not None:
            views.append(task_view(t, r, await repo.call(r.call_id)))
    return Reply("review/my_tasks", {"tasks": views}, private=True)


# ── /资源 N ──
@router.command(
    "资源",
    groups=OPERATOR_GROUPS,
    chat=Chat.ANY,
    alias="resource",
    help="一个资源的编目和审核经过",
    args=[Arg("资源编号", "n", positive_int)],
    examples=("/资源 12",),
)
async def resource(ctx: Context, args: Args) -> Reply:
    env = Env.of(ctx)
    repo = env.repo
    n = args.value("n", int)
    r = await repo.resource(n)
    if r is None:
        raise UserError("review/unknown_resource", n=n)
    tasks = await repo.tasks_of([n])
    mine = any(t.reviewer_id == ctx.actor.id for t in tasks)
    if not mine and not await REVIEW_OPERATOR.allows(ctx):
        raise UserError("review/not_yours", n=n)
    call = await repo.call(r.call_id)
    history = [
        {
            "level": call.levels[t.level_index].name if call else "",
            "state": TaskState(t.state).label,
            "verdict": {"pass": "通过", "reject": "退回"}.get(t.verdict or "", ""),
            "reason": t.reason or "",
            "reviewer": "本人" if t.reviewer_id == ctx.actor.id else f"审核员{i + 1}",
            "due": t.due_on.isoformat(),
        }
        for i, t in enumerate(tasks)
    ]
    fixes = [
        {"field": FIELD_NAMES.get(c.field, c.field), "before": c.before, "after": c.after}
        for c in await repo.corrections(n)
    ]
    return Reply(
        "review/resource",
        {
            "n": r.id,
            "title": r.title,
            "catalogue": catalogue(r),
            "link": r.link,
            "status": Status(r.status).label,
            "call": call.name if call else "",
            "level": call.levels[r.level_index].name if call else "",
            "history": history,
            "fixes": fixes,
        },
    )


# ── /进度 ──
@router.command(
    "进度",
    groups=OPERATOR_GROUPS,
    chat=Chat.ANY,
    alias="progress",
    help="审核进度：各市、各级的提交、分配、完成、超时、通过、退回",
    args=[Arg("征集活动或城市", "a", required=False), Arg("城市", "b", required=False)],
    permission=REVIEW_OPERATOR,
    examples=("/进度", "/进度 杭州市"),
)
async def progress(ctx: Context, args: Args) -> Reply:
    view = await call_in_scope(ctx, [w for w in (args.optional("a", str), args.optional("b", str)) if w])
    call, scope, resources, tasks = view.call, view.scope, view.resources, view.tasks
    today = ctx.now().date()
    rows: dict[tuple[str, int], dict[str, int]] = defaultdict(
        lambda: dict.fromkeys(("submitted", "assigned", "done", "overdue", "passed", "rejected"), 0)
    )
    by_res = {r.id: r for r in resources}
    for r in resources:
        rows[(r.city, 0)]["submitted"] += 1
    for t in tasks:
        r = by_res[t.resource_id]
        row = rows[(r.city, t.level_index)]
        row["assigned"] += 1
        if t.state == TaskState.DONE.value:
            row["done"] += 1
            row["passed" if t.verdict == "pass" else "rejected"] += 1
        elif t.state == TaskState.OVERDUE.value or (t.state == TaskState.OPEN.value and t.due_on < today):
            row["overdue"] += 1
    out = [{"city": city, "level": call.levels[i].name, **v} for (city, i), v in sorted(rows.items())]
    return Reply("review/progress", {"call": call.name, "city": scope.city or "全省", "rows": out})
