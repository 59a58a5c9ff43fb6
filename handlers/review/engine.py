"""Assignment glue: reviewers and demands from storage for the pure matcher
(domain/review/matching.py), committing a plan (tasks + one push per reviewer), finding an
alternate, and what a verdict sets in motion (next level, third reviewer, shelving, rejection)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date

from bot.replies import Reply
from domain.review.calls import ReviewCall, ReviewLevel
from domain.review.flow import Decision, Status, TaskState, after_decision, decide
from domain.review.matching import (
    Demand,
    MatchPolicy,
    Plan,
    ReviewerInfo,
    plan_assignments,
)
from domain.roster import Role
from domain.roster import Status as SeatStatus
from domain.territory import Territory
from handlers.calendar import work_calendar
from handlers.review.common import ENTITY, TASK, Env
from handlers.review.push import push_tasks
from storage.models.review import ReviewResource, ReviewTask
from storage.repositories.core import Auditor
from storage.repositories.roster import RosterRepository

ACTIVE_TASK = (TaskState.OPEN.value, TaskState.DONE.value)


def policy(env: Env) -> MatchPolicy:
    return MatchPolicy(province_exclusion=env.config.settings.province_exclusion)


async def reviewers(env: Env, level: ReviewLevel, day: date) -> list[ReviewerInfo]:
    """Every active roster reviewer with a DingTalk account, as the matcher sees them for ``day``."""
    members = await env.uow.repo(RosterRepository).in_territory(
        Territory(env.province), statuses=(SeatStatus.ACTIVE.value,), role=Role.REVIEWER
    )
    repo = env.repo
    leave, loads, rates, conflicts = (
        await repo.on_leave(day),
        await repo.open_loads(),
        await repo.on_time_rates(),
        await repo.conflicts(),
    )
    cfg = env.config
    out = []
    for m in members:
        if not m.user_id:
            continue
        v = m.values
        county = v.get("county") if v.get("county") not in (None, "", "市本级") else None
        out.append(
            ReviewerInfo(
                id=m.user_id,
                name=m.name,
                stage=cfg.stage(v.get("stage", "")) if v.get("stage") else None,
                subject=cfg.subject(v.get("subject", "")) if v.get("subject") else None,
                city=m.city or None,
                county=county,
                school=v.get("school") or None,
                account=m.account or None,
                level=_pool_level(level),
                on_leave=m.user_id in leave,
                load=loads.get(m.user_id, 0),
                cap=level.cap,
                on_time_rate=rates.get(m.user_id, 1.0),
                conflicts=conflicts.get(m.user_id, frozenset()),
            )
        )
    return out


def _pool_level(level: ReviewLevel) -> str:
    return level.pool  # school | county | city | province, as the matcher names its pools


@dataclass(frozen=True)
class LevelState:
    decision: Decision
    wanted: int
    active: int  # open or done tasks at the level


def level_state(env: Env, call: ReviewCall, r: ReviewResource, tasks: Sequence[ReviewTask]) -> LevelState:
    level = call.levels[r.level_index]
    here = [t for t in tasks if t.level_index == r.level_index and t.state in ACTIVE_TASK]
    verdicts = [t.verdict for t in here if t.state == TaskState.DONE.value and t.verdict]
    d = decide(verdicts, level.reviewers, third_on_disagreement=env.config.settings.third_reviewer_on_disagreement)
    return LevelState(d.decision, d.wanted, len(here))


def demand_of(call: ReviewCall, r: ReviewResource, tasks: Sequence[ReviewTask], needed: int) -> Demand:
    level = call.levels[r.level_index]
    return Demand(
        resource_id=str(r.id),
        title=r.title,
        stage=r.stage,
        subject=r.subject,
        level=_pool_level(level),
        city=r.city,
        county=r.county or None,
        school=r.school or None,
        submitter_account=r.submitter_account or None,
        needed=needed,
        excluded=frozenset(t.reviewer_id for t in tasks),
    )


async def demands(env: Env, call: ReviewCall, pool: Iterable[ReviewResource]) -> dict[int, list[Demand]]:
    """Open demand of the given resources, per level index."""
    resources = list(pool)
    tasks: dict[int, list[ReviewTask]] = defaultdict(list)
    for t in await env.repo.tasks_of(r.id for r in resources):
        tasks[t.resource_id].append(t)
    out: dict[int, list[Demand]] = defaultdict(list)
    for r in resources:
        st = level_state(env, call, r, tasks[r.id])
        if st.decision in (Decision.PENDING, Decision.NEED_MORE) and st.wanted > st.active:
            out[r.level_index].append(demand_of(call, r, tasks[r.id], st.wanted - st.active))
    return out


@dataclass
class LevelPlan:
    level_index: int
    demands: list[Demand]
    reviewers: list[ReviewerInfo]
    plan: Plan


async def plan_levels(env: Env, call: ReviewCall, by_level: dict[int, list[Demand]]) -> list[LevelPlan]:
    day = env.now.date()
    out: list[LevelPlan] = []
    extra: dict[str, int] = defaultdict(int)
    for index in sorted(by_level):
        level = call.levels[index]
        people = [_with_load(p, extra[p.id]) for p in await reviewers(env, level, day)]
        plan = plan_assignments(by_level[index], people, policy(env))
        for a in plan.assignments:
            extra[a.reviewer_id] += 1
        out.append(LevelPlan(index, by_level[index], people, plan))
    return out


def _with_load(p: ReviewerInfo, more: int) -> ReviewerInfo:
    if not more:
        return p
    from dataclasses import replace

    return replace(p, load=p.load + more)


async def commit(
    env: Env, call: ReviewCall, pairs: Sequence[tuple[int, str]], names: dict[str, str], batch_key: str
) -> list[ReviewTask]:
    """Create the tasks of ``pairs`` (resource id, reviewer id) and push them, one message per reviewer."""
    repo = env.repo
    created: list[ReviewTask] = []
    cal = work_calendar(env.services)
    due = [lv.due(env.now.date(), cal) for lv in call.levels]
    for rid, reviewer_id in pairs:
        r = await repo.resource(rid)
        if r is None:
            continue
        t = repo.add_task(
            resource_id=r.id,
            level_index=r.level_index,
            reviewer_id=reviewer_id,
            reviewer_name=names.get(reviewer_id, ""),
            assigned_at=env.now,
            due_on=due[r.level_index],
            batch_key=batch_key,
        )
        r.status, r.updated_at = Status.REVIEWING.value, env.now
        created.append(t)
    await repo.flush()
    await env.uow.audit.record_many(
        Auditor(env.actor_id, env.actor_name, env.now).entry(
            "review.assign",
            TASK,
            t.id,
            after={
                "resource": t.resource_id,
                "reviewer": t.reviewer_id,
                "level": t.level_index,
                "due": t.due_on.isoformat(),
            },
        )
        for t in created
    )
    await push_tasks(env, call, created, batch_key)
    return created


async def assign_now(
    env: Env, call: ReviewCall, r: ReviewResource, batch_key: str
) -> tuple[list[ReviewTask], list[str]]:
    """Assign whatever the resource's current level still needs (an alternate, a third reviewer, the
    next level's reviewers). Returns (new tasks, Chinese reasons when nobody could be found)."""
    by_level = await demands(env, call, [r])
    if not by_level:
        return [], []
    plans = await plan_levels(env, call, by_level)
    pairs = [(int(a.resource_id), a.reviewer_id) for lp in plans for a in lp.plan.assignments]
    names = {p.id: p.name for lp in plans for p in lp.reviewers}
    tasks = await commit(env, call, pairs, names, batch_key)
    reasons = (
        [line for lp in plans for line in lp.plan.explain(lp.demands, lp.reviewers)]
        if any(lp.plan.uncovered for lp in plans)
        else []
    )
    return tasks, reasons


async def settle(env: Env, call: ReviewCall, r: ReviewResource) -> str:
    """After a verdict: decide the level and move the resource. Returns what happened:
    pending | need_more | next | shelved | rejected."""
    tasks = await env.repo.tasks_of([r.id])
    st = level_state(env, call, r, tasks)
    if st.decision is Decision.PENDING:
        return "pending"
    if st.decision is Decision.NEED_MORE:
        return "need_more"
    for t in tasks:  # the level decided: reviews still open at this level are no longer needed
        if t.level_index == r.level_index and t.state == TaskState.OPEN.value:
            t.state = TaskState.CANCELLED.value
    move = after_decision(st.decision, r.level_index, len(call.levels))
    assert move is not None
    level_before = r.level_index
    before: dict[str, object] = {"status": r.status, "level": level_before}
    r.status, r.level_index, r.updated_at = move.status.value, move.level_index, env.now
    await env.audit(
        "review.move",
        ENTITY,
        str(r.id),
        before=before,
        after={"status": r.status, "level": r.level_index},
        territory=f"{env.province}/{r.city}",
    )
    if move.status is Status.REJECTED:
        reasons = [t.reason for t in tasks if t.level_index == level_before and t.verdict == "reject" and t.reason]
        await env.to_users(
            await env.city_operators(r.city),
            Reply(
                "review/rejected_notice",
                {
                    "n": r.id,
                    "title": r.title,
                    "level": call.levels[level_before].name,
                    "reasons": reasons,
                    "submitter": r.submitter_name,
                    "school": r.school,
                },
            ),
            purpose="review.rejected",
        )
        return "rejected"
    if move.status is Status.SHELVED:
        return "shelved"
    return "next"
