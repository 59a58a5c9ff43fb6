"""Obligations "N working days after an event": the events, read from the store, and their "done" queries.

An event source is ``async fn(uow, ob, around, env) -> [Event]``: the events whose ladder may be running
around the day ``around`` (those of the last :data:`WINDOW`); register one with ``@event_source("name")``
(``records_due=True`` when its events carry their own due day) and name it in annual_cycle.yaml's
``after: {event: name, workdays: N}``. An event concerns some people (``Event.people``) or every subject of
the obligation; :func:`subjects_at` keeps the subjects a due date's events concern, so only they are
reminded and counted.

Built in:
- ``review_assigned``: each review task's assignment (one event per task: its reviewer, its own due day,
  which its level's 期限 sets N working days after the assignment). ``review_tasks_finished``: the
  reviewer has no open task of that due day. This is the one path of the review deadline reminders:
  the review feature no longer sends T-3/T-1/due-day reminders of its own.
- ``call_opened``: an active call (征集活动) was opened (stored). ``call_resources_submitted``: the city
  has submitted at least one resource to every call whose window ends that day.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Awaitable, Callable
from datetime import date, timedelta

from sqlalchemy import select

from bot.clock import SHANGHAI
from domain.reminders.ladder import events_due, next_due, running_dues
from domain.reminders.model import AfterEvent, Event, Obligation
from domain.reminders.planner import Status, Subject
from domain.review.flow import TaskState
from domain.territory import Territory
from handlers.reminders.done import Env, _rows, done_query, subjects_for
from storage.db import UnitOfWork
from storage.models.review import ReviewCallRow, ReviewResource, ReviewTask

EventSource = Callable[[UnitOfWork, Obligation, date, Env], Awaitable[list[Event]]]
EVENT_SOURCES: dict[str, EventSource] = {}
RECORDS_DUE: dict[str, bool] = {}  # source name → its events carry their own due day
WINDOW = timedelta(days=90)


def event_source(name: str, *, records_due: bool = False) -> Callable[[EventSource], EventSource]:
    def register(fn: EventSource) -> EventSource:
        if name in EVENT_SOURCES:
            raise ValueError(f"event source {name!r} registered twice")
        EVENT_SOURCES[name] = fn
        RECORDS_DUE[name] = records_due
        return fn

    return register


async def events_of(uow: UnitOfWork, ob: Obligation, around: date, env: Env) -> list[Event] | None:
    """The events of an ``after:`` obligation around ``around`` (None for a dated obligation)."""
    if not isinstance(ob.due, AfterEvent):
        return None
    return await EVENT_SOURCES[ob.due.event](uow, ob, around, env)


def concerned(subjects: list[Subject], events: list[Event]) -> list[Subject]:
    """The subjects that ``events`` concern (all of them when one event concerns everybody)."""
    if any(e.people is None for e in events):
        return subjects
    people = {p for e in events for p in e.people or ()}
    return [s for s in subjects if people & set(s.people)]


async def subjects_at(
    uow: UnitOfWork, ob: Obligation, due: date, env: Env, events: list[Event] | None = None
) -> list[Subject]:
    """Who answers for ``ob`` due on ``due``: for an ``after:`` obligation, only those its events concern."""
    subjects = await subjects_for(uow, ob, env)
    if not isinstance(ob.due, AfterEvent):
        return subjects
    if events is None:
        events = await events_of(uow, ob, due, env) or []
    return concerned(subjects, events_due(ob, due, env.cal, events))


def _local_day(at) -> date:  # an aware UTC datetime from the store → the day in Shanghai
    return at.astimezone(SHANGHAI).date()


# --- a review assignment ------------------------------------------------------------------------


@event_source("review_assigned", records_due=True)
async def review_assigned(uow: UnitOfWork, ob: Obligation, around: date, env: Env) -> list[Event]:
    """One event per review task assigned in the window: its reviewer, its own due day."""
    since = around - WINDOW
    rows = await _rows(
        uow,
        select(ReviewTask.id, ReviewTask.reviewer_id, ReviewTask.assigned_at, ReviewTask.due_on).where(
            ReviewTask.due_on >= since
        ),
    )
    return [Event(_local_day(at), frozenset({reviewer}), due, str(tid)) for tid, reviewer, at, due in rows]


@done_query("review_tasks_finished")
async def review_tasks_finished(
    uow: UnitOfWork, ob: Obligation, due: date, subjects: list[Subject], env: Env
) -> dict[str, Status]:
    """A reviewer has decided (or handed back) every task due that day: "您还有 3 条资源待审"."""
    events = events_due(ob, due, env.cal, await events_of(uow, ob, due, env) or [])
    ids = [int(e.ref) for e in events]
    open_of: dict[str, list[int]] = defaultdict(list)
    for i in range(0, len(ids), 500):
        for reviewer, resource in await _rows(
            uow,
            select(ReviewTask.reviewer_id, ReviewTask.resource_id)
            .where(ReviewTask.id.in_(ids[i : i + 500]), ReviewTask.state == TaskState.OPEN.value)
            .order_by(ReviewTask.resource_id),
        ):
            open_of[reviewer].append(resource)
    out = {}
    for s in subjects:
        mine = [r for p in s.people for r in open_of.get(p, [])]
        shown = "、".join(f"#{r}" for r in mine[:5]) + ("等" if len(mine) > 5 else "")
        out[s.key] = Status(not mine, f"您还有 {len(mine)} 条资源待审（{shown}）" if mine else "")
    return out


# --- a call's opening -----------------------------------------------------------------------------


@event_source("call_opened")
async def call_opened(uow: UnitOfWork, ob: Obligation, around: date, env: Env) -> list[Event]:
    """Each active call stored in the window (its opening): it concerns every city."""
    rows = await _rows(
        uow, select(ReviewCallRow.id, ReviewCallRow.name, ReviewCallRow.created_at).where(ReviewCallRow.active)
    )
    since = around - WINDOW
    return [Event(_local_day(at), None, None, str(cid), name) for cid, name, at in rows if _local_day(at) >= since]


@done_query("call_resources_submitted")
async def call_resources_submitted(
    uow: UnitOfWork, ob: Obligation, due: date, subjects: list[Subject], env: Env
) -> dict[str, Status]:
    """A city has submitted at least one resource to every call whose submission window ends that day."""
    events = events_due(ob, due, env.cal, await events_of(uow, ob, due, env) or [])
    calls = {int(e.ref): e.label for e in events}
    cities: dict[int, set[str]] = defaultdict(set)
    if calls:
        for call_id, city in await _rows(
            uow,
            select(ReviewResource.call_id, ReviewResource.city)
            .where(ReviewResource.call_id.in_(list(calls)))
            .distinct(),
        ):
            cities[call_id].add(city)
    out = {}
    for s in subjects:
        city = Territory.from_path(s.key).city or ""
        missing = [name for cid, name in calls.items() if city not in cities[cid]]
        text = "还没有为" + "、".join(f"「{n}」" for n in missing) + "报送资源" if missing else ""
        out[s.key] = Status(not missing, text)
    return out


# --- the due dates now running --------------------------------------------------------------------


async def instances(uow: UnitOfWork, ob: Obligation, today: date, env: Env) -> list[tuple[date, list[Subject]]]:
    """The due dates of ``ob`` that matter today, each with who answers for it: a dated obligation's next
    due date; an ``after:`` obligation's due dates whose ladder is still running (nearest first)."""
    events = await events_of(uow, ob, today, env)
    subjects = await subjects_for(uow, ob, env)
    if events is None:
        due = next_due(ob, today, env.cal)
        return [] if due is None else [(due, subjects)]
    return [
        (due, concerned(subjects, events_due(ob, due, env.cal, events)))
        for due in running_dues(ob, today, env.cal, events)
    ]
