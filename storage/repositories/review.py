"""Repository of the review tables. Flushes, never commits."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import and_, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.review.calls import ReviewCall, call_from_row
from domain.review.flow import Status, TaskState
from domain.review.intake import ResourceIn
from storage.models.review import (
    ReviewCallRow,
    ReviewConflict,
    ReviewCorrection,
    ReviewFeedback,
    ReviewLeave,
    ReviewPreview,
    ReviewResource,
    ReviewSend,
    ReviewTask,
)
from storage.repositories.core import insert_ignore

RESOURCE_FIELDS = {
    "title": "title",
    "type": "rtype",
    "category": "category",
    "stage": "stage",
    "subject": "subject",
    "edition": "edition",
    "chapter": "chapter",
    "link": "link",
    "submitter_account": "submitter_account",
    "submitter_name": "submitter_name",
    "school": "school",
    "county": "county",
    "city": "city",
}


def to_call(row: ReviewCallRow) -> ReviewCall:
    return call_from_row(row.name, row.deadline, row.categories, row.levels, id=row.id, active=row.active)


def resource_snapshot(r: ReviewResource) -> dict[str, Any]:
    return {k: getattr(r, col) for k, col in RESOURCE_FIELDS.items()} | {"external_id": r.external_id}


class ReviewRepository:
    def __init__(self, session: AsyncSession):
        self.session = session

    # -- calls -------------------------------------------------------------------------------
    async def calls(self) -> list[ReviewCall]:
        rows = (await self.session.scalars(select(ReviewCallRow).order_by(ReviewCallRow.id))).all()
        return [to_call(r) for r in rows]

    async def call(self, call_id: int) -> ReviewCall | None:
        row = await self.session.get(ReviewCallRow, call_id)
        return to_call(row) if row else None

    async def save_call(self, call: ReviewCall, now: datetime) -> tuple[ReviewCall | None, ReviewCall]:
        row = await self.session.scalar(select(ReviewCallRow).where(ReviewCallRow.name == call.name))
        before = to_call(row) if row else None
        values = {
            "deadline": call.deadline,
            "categories": list(call.categories),
            "levels": [lv.as_dict() for lv in call.levels],
            "active": call.active,
            "updated_at": now,
        }
        if row is None:
            row = ReviewCallRow(name=call.name, created_at=now, **values)
            self.session.add(row)
        else:
            for k, v in values.items():
                setattr(row, k, v)
        await self.session.flush()
        return before, to_call(row)

    # -- resources -----------------------------------------------------------------------------
    async def resource(self, rid: int) -> ReviewResource | None:
        return await self.session.get(ReviewResource, rid)

    async def by_external(self, ids: Iterable[str]) -> dict[str, ReviewResource]:
        ids = sorted(set(ids))
        out: dict[str, ReviewResource] = {}
        for i in range(0, len(ids), 500):
            rows = (
                await self.session.scalars(
                    select(ReviewResource).where(ReviewResource.external_id.in_(ids[i : i + 500]))
                )
            ).all()
            out.update({r.external_id: r for r in rows})
        return out

    def add_resource(self, item: ResourceIn, call_id: int, now: datetime) -> ReviewResource:
        row = ReviewResource(
            external_id=item.external_id,
            call_id=call_id,
            level_index=0,
            status=Status.WAITING.value,
            created_at=now,
            updated_at=now,
            **{col: getattr(item, k) for k, col in RESOURCE_FIELDS.items()},
        )
        self.session.add(row)
        return row

    @staticmethod
    def changes(row: ReviewResource, item: ResourceIn, call_id: int) -> dict[str, tuple[str, str]]:
        out = {
            k: (getattr(row, col), getattr(item, k))
            for k, col in RESOURCE_FIELDS.items()
            if getattr(row, col) != getattr(item, k)
        }
        if row.call_id != call_id:
            out["call"] = (str(row.call_id), str(call_id))
        return out

    @staticmethod
    def apply(row: ReviewResource, changes: dict[str, tuple[str, str]], call_id: int, now: datetime) -> None:
        for k, (_old, new) in changes.items():
            if k == "call":
                row.call_id = call_id
            else:
                setattr(row, RESOURCE_FIELDS[k], new)
        row.updated_at = now

    async def flush(self) -> None:
        await self.session.flush()

    async def pool(self, *, call_id: int | None, city: str | None, statuses: Sequence[str]) -> list[ReviewResource]:
        q = select(ReviewResource).where(ReviewResource.status.in_(list(statuses)))
        if call_id is not None:
            q = q.where(ReviewResource.call_id == call_id)
        if city is not None:
            q = q.where(ReviewResource.city == city)
        return list((await self.session.scalars(q.order_by(ReviewResource.id))).all())

    async def resources(self, *, call_id: int | None = None, city: str | None = None) -> list[ReviewResource]:
        q = select(ReviewResource)
        if call_id is not None:
            q = q.where(ReviewResource.call_id == call_id)
        if city is not None:
            q = q.where(ReviewResource.city == city)
        return list((await self.session.scalars(q.order_by(ReviewResource.id))).all())

    # -- tasks -------------------------------------------------------------------------------
    async def task(self, tid: int) -> ReviewTask | None:
        return await self.session.get(ReviewTask, tid)

    def add_task(self, **values: Any) -> ReviewTask:
        row = ReviewTask(state=TaskState.OPEN.value, **values)
        self.session.add(row)
        return row

    async def tasks_of(self, resource_ids: Iterable[int]) -> list[ReviewTask]:
        ids = sorted(set(resource_ids))
        out: list[ReviewTask] = []
        for i in range(0, len(ids), 500):
            out.extend(
                (
                    await self.session.scalars(
                        select(ReviewTask).where(ReviewTask.resource_id.in_(ids[i : i + 500])).order_by(ReviewTask.id)
                    )
                ).all()
            )
        return out

    async def open_tasks(self, reviewer_id: str | None = None) -> list[ReviewTask]:
        q = select(ReviewTask).where(ReviewTask.state == TaskState.OPEN.value)
        if reviewer_id is not None:
            q = q.where(ReviewTask.reviewer_id == reviewer_id)
        return list((await self.session.scalars(q.order_by(ReviewTask.due_on, ReviewTask.id))).all())

    async def tasks_of_reviewer(self, reviewer_id: str) -> list[ReviewTask]:
        return list(
            (
                await self.session.scalars(
                    select(ReviewTask).where(ReviewTask.reviewer_id == reviewer_id).order_by(ReviewTask.id)
                )
            ).all()
        )

    async def all_tasks(self, since: datetime | None = None) -> list[ReviewTask]:
        q = select(ReviewTask)
        if since is not None:
            q = q.where(ReviewTask.assigned_at >= since)
        return list((await self.session.scalars(q.order_by(ReviewTask.id))).all())

    async def open_loads(self) -> dict[str, int]:
        rows = await self.session.execute(
            select(ReviewTask.reviewer_id, func.count())
            .where(ReviewTask.state == TaskState.OPEN.value)
            .group_by(ReviewTask.reviewer_id)
        )
        return {r: int(n) for r, n in rows.all()}

    async def on_time_rates(self) -> dict[str, float]:
        rows = (
            await self.session.execute(
                select(ReviewTask.reviewer_id, ReviewTask.state, ReviewTask.done_at, ReviewTask.due_on).where(
                    ReviewTask.state.in_((TaskState.DONE.value, TaskState.OVERDUE.value))
                )
            )
        ).all()
        done: dict[str, list[int]] = {}
        for reviewer, state, done_at, due_on in rows:
            ok = state == TaskState.DONE.value and done_at is not None and done_at.date() <= due_on
            done.setdefault(reviewer, []).append(1 if ok else 0)
        return {r: sum(v) / len(v) for r, v in done.items()}

    async def task_by_card(self, card_id: str) -> list[ReviewTask]:
        return list(
            (
                await self.session.scalars(
                    select(ReviewTask).where(ReviewTask.card_id == card_id).order_by(ReviewTask.id)
                )
            ).all()
        )

    # -- corrections ---------------------------------------------------------------------------
    def add_correction(self, **values: Any) -> None:
        self.session.add(ReviewCorrection(**values))

    async def corrections(self, resource_id: int) -> list[ReviewCorrection]:
        return list(
            (
                await self.session.scalars(
                    select(ReviewCorrection)
                    .where(ReviewCorrection.resource_id == resource_id)
                    .order_by(ReviewCorrection.id)
                )
            ).all()
        )

    # -- leave and conflicts --------------------------------------------------------------------
    def add_leave(self, user_id: str, start: date, end: date, now: datetime) -> None:
        self.session.add(ReviewLeave(user_id=user_id, start=start, end=end, created_at=now))

    async def on_leave(self, day: date) -> set[str]:
        rows = await self.session.scalars(
            select(ReviewLeave.user_id).where(and_(ReviewLeave.start <= day, ReviewLeave.end >= day))
        )
        return set(rows.all())

    async def add_conflict(self, user_id: str, value: str, now: datetime) -> bool:
        res = await self.session.execute(
            insert_ignore(self.session, ReviewConflict, [{"user_id": user_id, "value": value, "created_at": now}])
        )
        return bool(getattr(res, "rowcount", 0))

    async def conflicts(self) -> dict[str, frozenset[str]]:
        out: dict[str, set[str]] = {}
        for r in (await self.session.scalars(select(ReviewConflict))).all():
            out.setdefault(r.user_id, set()).add(r.value)
        return {k: frozenset(v) for k, v in out.items()}

    # -- feedback ----------------------------------------------------------------------------------
    def add_feedback(self, **values: Any) -> None:
        self.session.add(ReviewFeedback(**values))

    async def feedback(self, resource_ids: Iterable[int] | None = None) -> list[ReviewFeedback]:
        q = select(ReviewFeedback)
        if resource_ids is not None:
            q = q.where(ReviewFeedback.resource_id.in_(sorted(set(resource_ids))))
        return list((await self.session.scalars(q.order_by(ReviewFeedback.id))).all())

    # -- previews --------------------------------------------------------------------------------
    async def save_preview(
        self, user_id: str, scope: dict[str, Any], fingerprint: str, plan: list[list[Any]], now: datetime
    ) -> None:
        row = await self.session.get(ReviewPreview, user_id)
        if row is None:
            self.session.add(
                ReviewPreview(user_id=user_id, scope=scope, fingerprint=fingerprint, plan=plan, created_at=now)
            )
        else:
            row.scope, row.fingerprint, row.plan, row.created_at = scope, fingerprint, plan, now
        await self.session.flush()

    async def preview(self, user_id: str) -> ReviewPreview | None:
        return await self.session.get(ReviewPreview, user_id)

    async def drop_preview(self, user_id: str) -> None:
        row = await self.session.get(ReviewPreview, user_id)
        if row is not None:
            await self.session.delete(row)

    # -- send keys -----------------------------------------------------------------------------------
    async def claim_send(self, key: str, now: datetime) -> bool:
        """True the first time ``key`` is claimed (in this unit of work's transaction)."""
        res = await self.session.execute(insert_ignore(self.session, ReviewSend, [{"key": key, "created_at": now}]))
        return bool(getattr(res, "rowcount", 0))

    async def claim_sends(self, keys: Sequence[str], now: datetime) -> set[str]:
        """The keys of ``keys`` claimed now (not claimed before), in one statement per 500."""
        out: set[str] = set()
        keys = list(dict.fromkeys(keys))
        for i in range(0, len(keys), 500):
            stmt = insert_ignore(self.session, ReviewSend, [{"key": k, "created_at": now} for k in keys[i : i + 500]])
            out.update((await self.session.execute(stmt.returning(ReviewSend.key))).scalars())
        return out
