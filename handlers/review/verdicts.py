"""Verdicts: /通过 N [评语], /不通过 N 原因, /修改编目 N 字段=值…, /不能审 N 原因 — typed, or a card
button (bot/dingtalk/cards.py turns the press into the same text). N is the resource number.

Only the assigned reviewer may give a verdict; a second one says it is already recorded; a task
that moved to someone else says so. Every verdict and correction goes to the audit log, and the
reviewer's card is updated to show it.
"""

from __future__ import annotations

from bot.commands import Arg, Args, Chat, positive_int
from bot.context import Context
from bot.errors import UserError
from bot.replies import Reply
from domain.review.calls import ReviewCall
from domain.review.flow import PASS, REJECT, VERDICT_NAMES, TaskState
from domain.review.intake import parse_corrections
from handlers.review.common import ENTITY, TASK, Env, router
from handlers.review.engine import assign_now, settle
from handlers.review.push import refresh_card
from storage.models.review import ReviewResource, ReviewTask
from storage.repositories.review import RESOURCE_FIELDS

FIELD_NAMES = {
    "stage": "学段",
    "subject": "学科",
    "edition": "教材版本",
    "chapter": "章节",
    "type": "资源类型",
    "title": "资源名称",
}
N_ARG = Arg("资源编号", "n", positive_int, help="任务卡片或 /任务 里的编号")


async def my_task(env: Env, n: int) -> tuple[ReviewResource, ReviewTask, ReviewCall]:
    repo = env.repo
    r = await repo.resource(n)
    if r is None:
        raise UserError("review/unknown_resource", n=n)
    mine = [t for t in await repo.tasks_of([n]) if t.reviewer_id == env.actor_id]
    call = await repo.call(r.call_id)
    assert call is not None
    for t in mine:
        if t.state == TaskState.OPEN.value:
            return r, t, call
    if any(t.state == TaskState.DONE.value for t in mine):
        done = next(t for t in reversed(mine) if t.state == TaskState.DONE.value)
        raise UserError("review/already", n=n, verdict=VERDICT_NAMES.get(done.verdict or "", "已审"))
    if any(t.state in (TaskState.DECLINED.value, TaskState.OVERDUE.value) for t in mine):
        raise UserError("review/moved", n=n)
    if any(t.state == TaskState.CANCELLED.value for t in mine):
        raise UserError("review/decided", n=n)
    raise UserError("review/not_assigned", n=n)


async def _record(env: Env, r: ReviewResource, t: ReviewTask, call: ReviewCall, verdict: str, note: str) -> str:
    t.state, t.verdict, t.reason, t.done_at = TaskState.DONE.value, verdict, note or None, env.now
    await env.audit(
        "review.verdict",
        TASK,
        str(t.id),
        after={"resource": r.id, "verdict": verdict, "level": t.level_index},
        reason=note or None,
        territory=f"{env.province}/{r.city}",
    )
    outcome = await settle(env, call, r)
    if t.card_id:
        await refresh_card(env, call, t.card_id)
    if outcome == "need_more":
        await assign_now(env, call, r, batch_key=f"third-{r.id}-{t.id}")
    elif outcome == "next" and call.levels[r.level_index].auto_assign:
        await assign_now(env, call, r, batch_key=f"level-{r.id}-{r.level_index}")
    return outcome


@router.command(
    "通过",
    chat=Chat.PRIVATE,
    alias="pass",
    help="审核通过（可附评语）",
    args=[N_ARG, Arg("评语", "note", required=False, greedy=True)],
    examples=("/通过 12", "/通过 12 编目准确"),
)
async def approve(ctx: Context, args: Args) -> Reply:
    env = Env.of(ctx)
    r, t, call = await my_task(env, args.value("n", int))
    outcome = await _record(env, r, t, call, PASS, args.optional("note", str) or "")
    return _saved(r, t, call, "通过", outcome)


def _saved(r: ReviewResource, t: ReviewTask, call: ReviewCall, verdict: str, outcome: str) -> Reply:
    return Reply(
        "review/verdict_saved",
        {"n": r.id, "title": r.title, "verdict": verdict, "outcome": outcome, "level": call.levels[t.level_index].name},
    )


async def _task_with_reason(env: Env, args: Args, command: str) -> tuple[ReviewResource, ReviewTask, ReviewCall, str]:
    """The sender's task N and the reason the command needs (refused, naming the command, when empty)."""
    n = args.value("n", int)
    reason = (args.optional("reason", str) or "").strip()
    r, t, call = await my_task(env, n)
    if not reason:
        raise UserError("review/reason_needed", n=n, command=command)
    return r, t, call, reason


@router.command(
    "不通过",
    chat=Chat.PRIVATE,
    alias="fail",
    help="审核不通过（退回），必须写明原因",
    args=[N_ARG, Arg("原因", "reason", required=False, greedy=True)],
    examples=("/不通过 12 章节与内容不符",),
)
async def reject(ctx: Context, args: Args) -> Reply:
    env = Env.of(ctx)
    r, t, call, reason = await _task_with_reason(env, args, "不通过")
    outcome = await _record(env, r, t, call, REJECT, reason)
    return _saved(r, t, call, "退回", outcome)


@router.command(
    "不能审",
    chat=Chat.PRIVATE,
    alias="cannot",
    help="不能审这个资源（写明原因），系统立即改派",
    args=[N_ARG, Arg("原因", "reason", required=False, greedy=True)],
    examples=("/不能审 12 与提交人同校",),
)
async def decline(ctx: Context, args: Args) -> Reply:
    env = Env.of(ctx)
    r, t, call, reason = await _task_with_reason(env, args, "不能审")
    t.state, t.reason, t.done_at = TaskState.DECLINED.value, reason, env.now
    await env.audit(
        "review.decline", TASK, str(t.id), after={"resource": r.id}, reason=reason, territory=f"{env.province}/{r.city}"
    )
    new, why = await reassign(env, call, r, t, batch_key=f"alt-{t.id}")
    if t.card_id:
        await refresh_card(env, call, t.card_id)
    return Reply("review/declined", {"n": r.id, "title": r.title, "moved": bool(new), "why": why})


async def reassign(
    env: Env, call: ReviewCall, r: ReviewResource, t: ReviewTask, batch_key: str
) -> tuple[list[ReviewTask], list[str]]:
    """An alternate for ``t`` at once; when nobody can take it, the city's operators are told why."""
    new, why = await assign_now(env, call, r, batch_key=batch_key)
    if new:
        t.moved_to = new[0].id
    else:
        await env.to_users(
            await env.city_operators(r.city),
            Reply("review/no_alternate", {"n": r.id, "title": r.title, "why": why or ["没有其他可用的审核员"]}),
            purpose="review.no_alternate",
        )
    return new, why


@router.command(
    "修改编目",
    chat=Chat.PRIVATE,
    alias="catalogue",
    help="更正资源的编目：学段、学科、教材版本、章节、资源类型",
    args=[N_ARG, Arg("更正", "changes", greedy=True, help="字段=值，如 学段=初中 学科=化学")],
    examples=("/修改编目 12 学段=初中 学科=化学 教材版本=人教版 章节=第二章",),
)
async def correct(ctx: Context, args: Args) -> Reply:
    env = Env.of(ctx)
    r, t, call = await my_task(env, args.value("n", int))
    values, problems = parse_corrections(args.value("changes", str), env.config)
    if problems:
        raise UserError("review/bad_correction", n=r.id, problems=problems)
    changed = []
    for key, new in values.items():
        col = RESOURCE_FIELDS[key]
        old = getattr(r, col)
        if old == new:
            continue
        setattr(r, col, new)
        env.repo.add_correction(
            resource_id=r.id, task_id=t.id, field=key, before=old, after=new, by=ctx.actor.id, at=ctx.now()
        )
        changed.append({"field": FIELD_NAMES[key], "before": old or "（空）", "after": new})
    if changed:
        r.updated_at = ctx.now()
        await env.audit(
            "review.correct",
            ENTITY,
            str(r.id),
            before={c["field"]: c["before"] for c in changed},
            after={c["field"]: c["after"] for c in changed},
            territory=f"{env.province}/{r.city}",
        )
        if t.card_id:
            await refresh_card(env, call, t.card_id)
    return Reply("review/corrected", {"n": r.id, "changes": changed})
