"""/请假 and /回避 (reviewers), /分配 预览 and /分配 确认 (operators of that territory).

The preview stores its plan with a fingerprint of the inputs (resources, reviewers, loads, leave,
conflicts); the confirmation commits exactly that plan, or refuses with a fresh preview when the
data changed since.
"""

from __future__ import annotations

import hashlib
from datetime import date
from typing import Any

from bot.commands import Arg, Args, Chat, iso_date, text
from bot.context import Context
from bot.errors import UserError
from bot.replies import Reply
from domain.review.calls import ReviewCall
from domain.review.flow import Status
from domain.review.matching import fingerprint
from handlers.permissions import REVIEW_OPERATOR, REVIEWER
from handlers.review.common import (
    OPERATOR_GROUPS,
    Env,
    Scope,
    operator_scope,
    pick_call,
    router,
)
from handlers.review.engine import LevelPlan, commit, demands, plan_levels
from handlers.roster.common import regions


@router.command(
    "请假",
    chat=Chat.PRIVATE,
    alias="leave",
    help="审核员请假：这段时间不派审核任务",
    args=[Arg("开始", "start", iso_date, help="如 2026-05-10"), Arg("结束", "end", iso_date)],
    permission=REVIEWER,
    examples=("/请假 2026-05-10 2026-05-15",),
)
async def leave(ctx: Context, args: Args) -> Reply:
    start, end = args.value("start", date), args.value("end", date)
    if end < start:
        raise UserError("review/leave_order", start=start.isoformat(), end=end.isoformat())
    env = Env.of(ctx)
    env.repo.add_leave(ctx.actor.id, start, end, ctx.now())
    await ctx.audit(
        "review.leave", "review_leave", ctx.actor.id, after={"start": start.isoformat(), "end": end.isoformat()}
    )
    return Reply("review/leave_saved", {"start": start.isoformat(), "end": end.isoformat()})


@router.command(
    "回避",
    chat=Chat.PRIVATE,
    alias="conflict",
    help="声明回避：不审某人（平台账号）、某校或某个资源的作品",
    args=[Arg("对象", "what", text, greedy=True, help="提交人的平台账号、学校名称或资源编号")],
    permission=REVIEWER,
    examples=("/回避 LiMing01", "/回避 西湖小学", "/回避 12"),
)
async def conflict(ctx: Context, args: Args) -> Reply:
    what = args.value("what", str).strip()
    env = Env.of(ctx)
    new = await env.repo.add_conflict(ctx.actor.id, what, ctx.now())
    if new:
        await ctx.audit("review.conflict", "review_conflict", ctx.actor.id, after={"value": what})
    return Reply("review/conflict_saved", {"what": what, "new": new})


# ── /分配 ──
def _words(rest: str, ctx: Context) -> tuple[str, str | None, str | None]:
    words = (rest or "").split()
    action = words.pop(0) if words and words[0] in ("预览", "确认", "preview", "confirm") else "预览"
    tree = regions(ctx.services)
    city = call = None
    for w in words:
        if city is None and (tree.city(w) or tree.city(w + "市")):
            city = w
        elif call is None:
            call = w
        else:
            raise UserError("review/assign_usage")
    return ("确认" if action in ("确认", "confirm") else "预览"), call, city


async def _plan(env: Env, call: ReviewCall, scope: Scope) -> tuple[list[LevelPlan], str, int]:
    levels = {i for i, lv in enumerate(call.levels) if scope.province or lv.pool != "province"}
    pool = [
        r
        for r in await env.repo.pool(
            call_id=call.id, city=scope.city, statuses=(Status.WAITING.value, Status.REVIEWING.value)
        )
        if r.level_index in levels
    ]
    by_level = await demands(env, call, pool)
    plans = await plan_levels(env, call, by_level)
    fp = hashlib.sha256(
        "|".join(f"{lp.level_index}:{fingerprint(lp.demands, lp.reviewers)}" for lp in plans).encode()
    ).hexdigest()[:40]
    return plans, fp, sum(len(lp.demands) for lp in plans)


def _preview_view(call: ReviewCall, scope: Scope, plans: list[LevelPlan], resources: int) -> dict[str, Any]:
    levels = []
    for lp in plans:
        p = lp.plan
        used = {a.reviewer_id for a in p.assignments}
        levels.append(
            {
                "name": call.levels[lp.level_index].name,
                "resources": len(lp.demands),
                "tasks": len(p.assignments),
                "reviewers": len(used),
                "pool": len(lp.reviewers),
                "max_load": p.max_load,
                "mean_load": f"{p.mean_load:.1f}",
                "uncovered": p.explain(lp.demands, lp.reviewers) if p.uncovered else [],
            }
        )
    return {"call": call.name, "city": scope.city or "全省", "resources": resources, "levels": levels}


@router.command(
    "分配",
    groups=OPERATOR_GROUPS,
    chat=Chat.ANY,
    alias="assign",
    help="分配审核任务：先 预览，再 确认（本地区的运营人员）",
    raw=True,
    permission=REVIEW_OPERATOR,
    examples=("/分配 预览", "/分配 预览 杭州市", "/分配 确认"),
)
async def assign(ctx: Context, args: Args) -> Reply:
    action, call_word, city_word = _words(args.rest or "", ctx)
    env = Env.of(ctx)
    repo = env.repo
    if action == "预览":
        scope = await operator_scope(ctx, city_word)
        call = await pick_call(repo, call_word)
        plans, fp, n = await _plan(env, call, scope)
        await repo.save_preview(
            ctx.actor.id,
            {"call": call.name, "city": scope.city, "province": scope.province},
            fp,
            [[int(a.resource_id), a.reviewer_id] for lp in plans for a in lp.plan.assignments],
            ctx.now(),
        )
        return Reply("review/preview", _preview_view(call, scope, plans, n) | {"fresh": False})
    stored = await repo.preview(ctx.actor.id)
    if stored is None:
        return Reply("review/no_preview", {})
    scope = Scope(stored.scope.get("city"), bool(stored.scope.get("province")))
    call = await pick_call(repo, stored.scope["call"])
    plans, fp, n = await _plan(env, call, scope)
    if fp != stored.fingerprint:
        await repo.save_preview(
            ctx.actor.id,
            stored.scope,
            fp,
            [[int(a.resource_id), a.reviewer_id] for lp in plans for a in lp.plan.assignments],
            ctx.now(),
        )
        return Reply("review/preview", _preview_view(call, scope, plans, n) | {"fresh": True})
    names = {p.id: p.name for lp in plans for p in lp.reviewers}
    pairs = [(int(rid), str(reviewer)) for rid, reviewer in stored.plan]
    if not pairs:
        await repo.drop_preview(ctx.actor.id)
        return Reply("review/nothing_to_assign", {"call": call.name})
    tasks = await commit(env, call, pairs, names, batch_key=f"plan-{fp[:20]}")
    await repo.drop_preview(ctx.actor.id)
    await ctx.audit("review.plan_commit", "review_plan", fp[:20], after={"tasks": len(tasks), **stored.scope})
    return Reply(
        "review/committed",
        {
            "call": call.name,
            "city": scope.city or "全省",
            "tasks": len(tasks),
            "reviewers": len({t.reviewer_id for t in tasks}),
        },
    )
