"""The daily reminder run: steps due today, the laggards by the "done" queries now, exactly once each.

Idempotent: every reminder is first recorded in the delivery ledger under (obligation, due, step,
person); only the keys that were new are sent, in the same unit of work as the outbox rows. A
re-run the same day (catch-up after a restart or a takeover) sends only what is still missing;
steps of earlier days are skipped and logged (the grace window is the same working day).
"""

from __future__ import annotations

import hashlib
import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from bot.proactive import enqueue_reply
from bot.replies import Reply
from domain.reminders import Obligation, RunInput, Step, plan_run, steps_on
from domain.reminders.ladder import events_due
from domain.reminders.model import Event
from domain.reminders.planner import (
    Key,
    Line,
    Plan,
    group_by_content,
    lines_by_person,
)
from handlers.reminders.cards import CARD_TEMPLATE, card_id, card_params, items_view
from handlers.reminders.done import DONE_QUERIES, Env, operators, subjects_for
from handlers.reminders.events import concerned, events_of
from handlers.reminders.service import calendar, due_text, env, obligations
from scheduler import JobContext
from storage.db import UnitOfWork
from storage.repositories.reminders import ReminderRepository

log = logging.getLogger("bot.reminders")


@dataclass
class Evaluated:
    """Subjects and "done" statuses per (obligation, due date) with a step today."""

    subjects: dict[tuple[str, date], list[Any]] = field(default_factory=dict)
    statuses: dict[tuple[str, date], dict[str, Any]] = field(default_factory=dict)


async def evaluate(
    uow: UnitOfWork, by_id: dict[str, Obligation], steps: list[Step], events: dict[str, list[Event]], e: Env
) -> Evaluated:
    out = Evaluated()
    everyone: dict[str, list[Any]] = {}
    for ob_id, due in dict.fromkeys((s.obligation, s.due) for s in steps):
        ob = by_id[ob_id]
        if ob_id not in everyone:
            everyone[ob_id] = await subjects_for(uow, ob, e)
        subjects = everyone[ob_id]
        if ob_id in events:
            subjects = concerned(subjects, events_due(ob, due, e.cal, events[ob_id]))
        out.subjects[(ob_id, due)] = subjects
        out.statuses[(ob_id, due)] = await DONE_QUERIES[ob.done](uow, ob, due, subjects, e) if subjects else {}
    return out


async def steps_today(uow: UnitOfWork, obs: list[Obligation], day: date, e: Env) -> tuple[list[Step], dict]:
    """The steps of ``day`` and the events of the ``after:`` obligations (read once)."""
    steps: list[Step] = []
    events: dict[str, list[Event]] = {}
    for ob in obs:
        if ob.paused or not e.cal.is_workday(day):
            continue
        evs = await events_of(uow, ob, day, e)
        if evs is not None:
            events[ob.id] = evs
        steps.extend(steps_on(ob, day, e.cal, evs))
    return steps, events


async def plan_today(
    uow: UnitOfWork,
    services: Any,
    now: datetime,
    steps: list[Step] | None = None,
) -> tuple[Plan, list[Step], dict[str, Obligation]]:
    """Steps due today and the plan for them (nothing written yet)."""
    today = now.date()
    obs = await obligations(uow, services, now)
    by_id = {ob.id: ob for ob in obs}
    e = env(services)
    if steps is None:
        steps, events = await steps_today(uow, obs, today, e)
    else:
        events = {}
        for ob_id in {s.obligation for s in steps}:
            evs = await events_of(uow, by_id[ob_id], today, e)
            if evs is not None:
                events[ob_id] = evs
    ev = await evaluate(uow, by_id, steps, events, e)
    repo = uow.repo(ReminderRepository)
    instances = [(s.obligation, s.due) for s in steps]
    city_ops, province_ops = await operators(uow, e.tree, list(services.settings.bot_superadmins))
    plan = plan_run(
        RunInput(
            steps=steps,
            obligations=by_id,
            subjects=ev.subjects,
            statuses=ev.statuses,
            acks=await repo.acks(instances),
            delivered=await repo.delivered_counts(instances),
            city_operators=city_ops,
            province_operators=province_ops,
        )
    )
    return plan, steps, by_id


def _lines_view(lines: list[Line]) -> list[dict[str, Any]]:
    return [{"title": ln.title, "due": due_text(ln.due), "label": ln.label, "missing": ln.missing} for ln in lines]


def _digest(key: str, *parts: Any) -> str:
    return hashlib.sha1(repr(parts).encode()).hexdigest()[:16] + ":" + key


async def send_plan(
    job: JobContext,
    plan: Plan,
    today: date,
    now: datetime,
    *,
    purpose: str = "reminder",
) -> dict[str, int]:
    """Record the plan's keys in the ledger and write only the new ones to the outbox."""
    uow, renderer = job.uow, job.services.renderer
    repo = uow.repo(ReminderRepository)
    new = await repo.record(
        [k for k, _ in plan.personal] + [k for k, _ in plan.city] + [k for k, _ in plan.province], today, now
    )
    counts = {"people": 0, "rows": 0, "operators": 0, "groups": 0}
    keys = {(k.person, item): k for k, item in plan.personal if k in new}
    cards: list[tuple[Key, str]] = []
    for items, people in group_by_content(keys):
        reply = Reply("reminders/personal", {"items": items_view(items)})
        dedup = f"rem:{today}:" + _digest("", items, people)
        if not job.services.settings.reminder_cards:
            rows = await enqueue_reply(uow, renderer, reply, now=now, user_ids=people, purpose=purpose, dedup_key=dedup)
            counts["people"], counts["rows"] = counts["people"] + len(people), counts["rows"] + len(rows)
            continue
        rendered = renderer.reply(reply)
        params = card_params(renderer, items)
        fallback = {"msgKey": rendered.msg_key, "msgParam": rendered.msg_param}
        for n in range(0, len(people), 20):  # a card goes to at most 20 people
            chunk, key = people[n : n + 20], f"{dedup}#{n // 20}"
            track = card_id(key)
            card = {"template": CARD_TEMPLATE, "outTrackId": track, "params": params, "fallback": fallback}
            rows = await uow.outbox.enqueue(
                kind="card",
                user_ids=chunk,
                msg_key=CARD_TEMPLATE,
                msg_param=card,
                now=now,
                purpose=purpose,
                dedup_key=key,
            )
            cards.extend((keys[(p, i)], track) for p in chunk for i in items)
            counts["people"], counts["rows"] = counts["people"] + len(chunk), counts["rows"] + len(rows)
    await repo.set_cards(cards)
    for kind, pairs in (("city", plan.city), ("province", plan.province)):
        for op, lines in lines_by_person((k, ln) for k, ln in pairs if k in new).items():
            rows = await enqueue_reply(
                uow,
                renderer,
                Reply(f"reminders/{kind}_list", {"lines": _lines_view(lines)}),
                now=now,
                user_ids=[op],
                purpose=f"{purpose}:{kind}",
                dedup_key=f"rem{kind}:{today}:" + _digest(op, lines),
            )
            counts["operators"] += 1
            counts["rows"] += len(rows)
    if await _within_cap(job, now, counts["rows"]):
        counts["groups"] = await _digests(job, plan, today, now)
    return counts


async def _within_cap(job: JobContext, now: datetime, planned: int) -> bool:
    """The monthly API-call cap: personal reminders (already one per person per run) go first; the group
    digests are left out, and the operators told once a day, when they would pass it."""
    cap = job.services.settings.dingtalk_monthly_cap
    used = sum((await job.uow.outbox.calls_in(now.strftime("%Y-%m"))).values())
    if used + planned < cap:
        return True
    log.error("monthly DingTalk call cap: %d used + %d planned of %d; group digests left out", used, planned, cap)
    ops = list(job.services.settings.bot_superadmins)
    if ops:
        await enqueue_reply(
            job.uow,
            job.services.renderer,
            Reply("reminders/cap", {"used": used, "planned": planned, "cap": cap}),
            now=now,
            user_ids=ops,
            purpose="reminder:cap",
            dedup_key=f"remcap:{now.date()}",
        )
    return False


async def _digests(job: JobContext, plan: Plan, today: date, now: datetime) -> int:
    """At most one digest per group a day: the territories not done, no personal data."""
    n = 0
    for role, lines in plan.digests.items():
        if not lines:
            continue
        grouped: dict[tuple[str, str], list[str]] = defaultdict(list)
        for ln in lines:
            grouped[(ln.title, due_text(ln.due))].append(ln.label)
        view = [
            {"title": t, "due": d, "labels": "、".join(dict.fromkeys(labels)), "count": len(set(labels))}
            for (t, d), labels in grouped.items()
        ]
        for binding in await job.uow.groups.for_role(role):
            rows = await enqueue_reply(
                job.uow,
                job.services.renderer,
                Reply("reminders/digest", {"items": view}),
                now=now,
                conversation_id=binding.conversation_id,
                purpose="reminder:digest",
                dedup_key=f"remdigest:{today}:{binding.conversation_id}",
            )
            n += len(rows)
    return n


async def _log_missed(job: JobContext, today: date) -> int:
    """Steps of working days on which no run happened (downtime): skipped, and said so in the log."""
    repo = job.uow.repo(ReminderRepository)
    last = await repo.last_run_before(today)
    if last is None:
        return 0
    obs = await obligations(job.uow, job.services, job.now())
    e = env(job.services)
    missed = 0
    d = last + timedelta(days=1)
    while d < today:
        steps, _ = await steps_today(job.uow, obs, d, e)
        for s in steps:
            missed += 1
            log.warning(
                "reminder step %s of %s (due %s) on %s was missed while no instance ran: skipped "
                "(older than the grace window)",
                s.step,
                s.obligation,
                s.due,
                d,
            )
        d += timedelta(days=1)
    return missed


async def run_reminders(job: JobContext) -> dict[str, int]:
    """The daily job (09:00 on working days, and once more after a start-up or takeover)."""
    now = job.now()
    today = now.date()
    if not calendar(job.services).is_workday(today) or now.hour < job.services.settings.reminder_hour:
        return {"steps": 0}
    repo = job.uow.repo(ReminderRepository)
    missed = 0
    if await repo.mark_run(today, now, "job"):
        missed = await _log_missed(job, today)
    plan, steps, _ = await plan_today(job.uow, job.services, now)
    counts = await send_plan(job, plan, today, now) if steps else {}
    if steps:
        log.info(
            "reminders %s: %d steps, %d laggards, %d done, sent %s", today, len(steps), plan.laggards, plan.done, counts
        )
    return {"steps": len(steps), "missed": missed, **counts}
