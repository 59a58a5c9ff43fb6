"""Annual evaluation storage: /报告 evidence with the city operator's decision, and 附件3 recommendations."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.evaluation import CONFIRMED, REJECTED, SUBMITTED, Report
from storage.models.scores import EvalReport, Recommendation


@dataclass(frozen=True)
class StoredReport:
    id: int
    year: int
    user_id: str
    member_name: str
    role: str
    territory: str
    kind: str
    fields: dict[str, Any]
    status: str
    reason: str | None
    submitted_at: datetime
    decided_by: str | None

    @property
    def city(self) -> str | None:
        parts = self.territory.split("/")
        return parts[1] if len(parts) > 1 else None

    def as_report(self) -> Report:
        return Report(self.id, self.kind, self.fields, self.status, self.reason or "", None)


@dataclass(frozen=True)
class StoredRecommendation:
    id: int
    year: int
    user_id: str
    member_name: str
    role: str
    city: str
    territory: str
    note: str
    row: dict[str, Any]
    marked_by: str
    marked_at: datetime


def _report(r: EvalReport) -> StoredReport:
    return StoredReport(
        r.id,
        r.year,
        r.user_id,
        r.member_name,
        r.role,
        r.territory,
        r.kind,
        dict(r.fields),
        r.status,
        r.reason,
        r.submitted_at,
        r.decided_by,
    )


def _rec(r: Recommendation) -> StoredRecommendation:
    return StoredRecommendation(
        r.id,
        r.year,
        r.user_id,
        r.member_name,
        r.role,
        r.city,
        r.territory,
        r.note,
        dict(r.row),
        r.marked_by,
        r.marked_at,
    )


def _jsonable(fields: dict[str, Any]) -> dict[str, Any]:
    return {k: (v.isoformat() if isinstance(v, date) else v) for k, v in fields.items()}


class EvaluationRepository:
    def __init__(self, session: AsyncSession):
        self.session = session

    # -- reports --
    async def add_report(
        self,
        *,
        year: int,
        user_id: str,
        member_name: str,
        role: str,
        territory: str,
        kind: str,
        fields: dict[str, Any],
        now: datetime,
    ) -> StoredReport:
        row = EvalReport(
            year=year,
            user_id=user_id,
            member_name=member_name,
            role=role,
            territory=territory,
            kind=kind,
            fields=_jsonable(fields),
            status=SUBMITTED,
            submitted_at=now,
        )
        self.session.add(row)
        await self.session.flush()
        return _report(row)

    async def report(self, report_id: int) -> StoredReport | None:
        row = await self.session.get(EvalReport, report_id)
        return _report(row) if row else None

    async def decide(
        self,
        report_id: int,
        *,
        confirm: bool,
        by: str,
        now: datetime,
        reason: str | None = None,
    ) -> StoredReport | None:
        row = await self.session.get(EvalReport, report_id)
        if row is None:
            return None
        row.status = CONFIRMED if confirm else REJECTED
        row.reason = None if confirm else reason
        row.decided_by, row.decided_at = by, now
        await self.session.flush()
        return _report(row)

    async def reports_of(self, user_id: str, year: int, role: str | None = None) -> list[StoredReport]:
        q = select(EvalReport).where(EvalReport.user_id == user_id, EvalReport.year == year)
        if role:
            q = q.where(EvalReport.role == role)
        return [_report(r) for r in (await self.session.scalars(q.order_by(EvalReport.id))).all()]

    async def pending(self, cities: Sequence[str] | None, province: str, limit: int = 50) -> list[StoredReport]:
        """Submitted reports waiting for a decision, in the given cities (None: the whole province)."""
        q = select(EvalReport).where(EvalReport.status == SUBMITTED)
        if cities is None:
            q = q.where(EvalReport.territory.startswith(province))
        else:
            from sqlalchemy import or_

            if not cities:
                return []
            q = q.where(or_(*[EvalReport.territory.startswith(f"{province}/{c}") for c in cities]))
        return [_report(r) for r in (await self.session.scalars(q.order_by(EvalReport.id).limit(limit))).all()]

    # -- recommendations --
    async def active_recommendation(self, user_id: str, year: int, role: str) -> StoredRecommendation | None:
        row = (
            await self.session.scalars(
                select(Recommendation).where(
                    Recommendation.user_id == user_id,
                    Recommendation.year == year,
                    Recommendation.role == role,
                    Recommendation.withdrawn_at.is_(None),
                )
            )
        ).first()
        return _rec(row) if row else None

    async def recommend(
        self,
        *,
        year: int,
        user_id: str,
        member_name: str,
        role: str,
        city: str,
        territory: str,
        note: str,
        row: dict[str, Any],
        by: str,
        now: datetime,
    ) -> StoredRecommendation:
        rec = Recommendation(
            year=year,
            user_id=user_id,
            member_name=member_name,
            role=role,
            city=city,
            territory=territory,
            note=note,
            row=row,
            marked_by=by,
            marked_at=now,
        )
        self.session.add(rec)
        await self.session.flush()
        return _rec(rec)

    async def withdraw(self, rec_id: int, *, by: str, now: datetime) -> None:
        row = await self.session.get(Recommendation, rec_id)
        if row is not None:
            row.withdrawn_at, row.withdrawn_by = now, by
            await self.session.flush()

    async def recommendations(self, city: str, year: int) -> list[StoredRecommendation]:
        rows = (
            await self.session.scalars(
                select(Recommendation)
                .where(Recommendation.city == city, Recommendation.year == year, Recommendation.withdrawn_at.is_(None))
                .order_by(Recommendation.id)
            )
        ).all()
        return [_rec(r) for r in rows]
