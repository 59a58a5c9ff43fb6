"""Reads: one teacher's events for /积分, materialised totals, rankings and county shares for /排行."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.scores import Engine
from storage.models.scores import (
    TOTAL_MONTH_SLOTS,
    TOTAL_WEEK_SLOTS,
    ScoreCountyPoints,
    ScoreTeacher,
    ScoreTotal,
)

from .bulk import BUCKET, Bulk, month_column, week_column
from .ingest import row_order
from .values import CountyShare, RankRow


def slots_of(ys: date) -> dict[str, tuple[str, date]]:
    """Columns of a score_totals row of scoring year ``ys`` → (kind code, period start)."""
    slots = {"y": ("y", ys)}
    monday = ys - timedelta(days=ys.weekday())
    for k in range(TOTAL_WEEK_SLOTS):
        w = monday + timedelta(weeks=k)
        slots[week_column(w)] = ("w", w)
    mi = ys.year * 12 + ys.month - 1
    for k in range(TOTAL_MONTH_SLOTS):
        first = date((mi + k) // 12, (mi + k) % 12 + 1, 1)
        slots[month_column(first)] = ("m", first)
    return slots


def expand_row(row: Any, slots: dict[date, dict[str, tuple[str, date]]]) -> list[tuple[tuple[str, date], int]]:
    """A score_totals row → [((kind code, period start), points)] for its non-zero columns."""
    ys = row["year_start"]
    if isinstance(ys, str):
        ys = date.fromisoformat(ys)
    got = slots.get(ys)
    if got is None:
        got = slots[ys] = slots_of(ys)
    return [(key, row[c]) for c, key in got.items() if row[c]]


class ScoreQueries:
    """The read side of ScoreRepository."""

    session: AsyncSession
    bulk: Bulk

    async def events_for(self, teacher_id: int, engine: Engine, start: date, end: date) -> list[tuple]:
        """The teacher's rows needed to score days ``start``..``end`` exactly, in engine order."""
        clock = engine.clock
        lo = clock.day_start(engine.lookback(start).toordinal())
        hi = clock.day_start(end.toordinal() + 1)
        first, last = lo // BUCKET, (hi - 1) // BUCKET
        # through the driver (rows come back as plain tuples), one fixed statement whatever the number of
        # buckets, each bucket joined to the primary key by (bucket, teacher)
        if self.bulk.pg:
            sql = (
                "SELECT at_epoch, event_key, action, detail FROM score_events "
                "WHERE bucket = ANY($1::integer[]) AND teacher_id = $2 AND at_epoch >= $3 AND at_epoch < $4"
            )
            rows = await self.bulk.fetch(sql, list(range(first, last + 1)), teacher_id, lo, hi, read=True)
        else:
            sql = (
                "WITH RECURSIVE b(x) AS (SELECT $1 UNION ALL SELECT x + 1 FROM b WHERE x < $2) "
                "SELECT e.at_epoch, e.event_key, e.action, e.detail FROM b JOIN score_events e "
                "ON e.bucket = b.x AND e.teacher_id = $3 WHERE e.at_epoch >= $4 AND e.at_epoch < $5"
            )
            rows = await self.bulk.fetch(sql, first, last, teacher_id, lo, hi, read=True)
        rows.sort(key=row_order)
        return rows

    async def all_totals(self) -> dict[tuple[int, str, date], int]:
        """{(teacher, kind code w/m/y, period start): points}, non-zero only."""
        s = ScoreTotal.__table__
        out: dict[tuple[int, str, date], int] = {}
        slots: dict[date, dict[str, tuple[str, date]]] = {}
        for row in (await self.session.execute(select(s))).mappings().all():
            t = row["teacher_id"]
            for (k, st), pts in expand_row(row, slots):
                out[(t, k, st)] = out.get((t, k, st), 0) + pts
        return {k: p for k, p in out.items() if p}

    async def ranking(
        self, kind: str, start: date, *, city: str | None = None, county: str | None = None, limit: int = 10
    ) -> list[RankRow]:
        """Top teachers of a period (kind w/m/y, its start) in a territory; ties share a rank."""
        t, s = ScoreTeacher, ScoreTotal.__table__
        cols = (t.account, t.name, t.school, t.city, t.county)
        if kind == "y":
            col = s.c.y
            pts: Any = col
            stmt = (
                select(*cols, col.label("points"))
                .join(s, s.c.teacher_id == t.id)
                .where(s.c.year_start == start, col > 0)
            )
        else:
            if kind == "m":
                col = s.c[month_column(start)]
                end = date(start.year + start.month // 12, start.month % 12 + 1, 1) - timedelta(days=1)
            else:
                col = s.c[week_column(start)]
                end = start + timedelta(days=6)
            # the rows of every scoring year that can hold days of the period (one or two)
            pts = func.sum(col)
            stmt = (
                select(*cols, pts.label("points"))
                .join(s, s.c.teacher_id == t.id)
                .where(s.c.year_start > start - timedelta(days=366), s.c.year_start <= end, col > 0)
                .group_by(t.id, *cols)
            )
        if city:
            stmt = stmt.where(t.city == city)
        if county:
            stmt = stmt.where(t.county == county)
        rows = (await self.session.execute(stmt.order_by(pts.desc(), t.account).limit(limit))).all()
        out, rank, prev = [], 0, None
        for i, r in enumerate(rows, start=1):
            if r.points != prev:
                rank, prev = i, r.points
            out.append(RankRow(rank, r.account, r.name, r.school, r.city, r.county, r.points))
        return out

    async def county_shares(
        self, year_start: date, min_points: int, *, city: str | None = None, county: str | None = None
    ) -> list[CountyShare]:
        """Per county: teachers on the list, and those whose scoring-year points reach ``min_points``
        (from the per-county points counts, not from every teacher's totals)."""
        t, h = ScoreTeacher, ScoreCountyPoints
        total = select(t.city, t.county, func.count()).group_by(t.city, t.county)
        qual = (
            select(h.city, h.county, func.sum(h.teachers))
            .where(h.year_start == year_start, h.points >= min_points)
            .group_by(h.city, h.county)
        )
        if city:
            total, qual = total.where(t.city == city), qual.where(h.city == city)
        if county:
            total, qual = total.where(t.county == county), qual.where(h.county == county)
        totals = [(c, k, int(n)) for c, k, n in (await self.session.execute(total)).all()]
        if min_points <= 0:  # teachers without points count too
            return sorted((CountyShare(c, k, n, n) for c, k, n in totals), key=lambda x: (x.city, x.county))
        q = {(c, k): int(n or 0) for c, k, n in (await self.session.execute(qual)).all()}
        return sorted((CountyShare(c, k, n, q.get((c, k), 0)) for c, k, n in totals), key=lambda x: (x.city, x.county))
