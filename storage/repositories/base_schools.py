"""Base schools: the yearly list, visits as monthly day masks, teacher spaces, lessons, assessments.

The active-user count of a period is one statement on both SQLite and PostgreSQL: per (space,
visitor) the days of the period are counted from the month masks (bits outside the period masked
off, a SWAR popcount in SQL), ``HAVING`` keeps visitors with at least one day, and the outer
``GROUP BY space_id`` counts those reaching the required days. Flush, never commit.
"""

from __future__ import annotations

import calendar
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from domain.base_schools import BaseItem, BaseSchool, Counts, Definitions, Period
from domain.base_schools.activity import ACTIVE, LESSON, OPENED, VISIT
from storage.models.base_schools import (
    BaseAssessment,
    BaseLesson,
    BaseLessonReport,
    BaseSchoolRow,
    BaseSpaceVisit,
    BaseTeacherActivity,
    BaseTeacherSpace,
)
from storage.repositories.core import dialect_insert

ALL_DAYS = (1 << 31) - 1
CHUNK = 4000


def month_key(d: date) -> int:
    return d.year * 100 + d.month


def day_mask(first: int, last: int) -> int:
    """Bits of days first..last (1-based) of a month."""
    return ((1 << last) - 1) & ~((1 << (first - 1)) - 1)


def popcount_sql(x: str) -> str:
    """SQL popcount of a non-negative 31-bit integer expression (64-bit arithmetic)."""
    v1 = f"(({x}) - ((({x}) >> 1) & 1431655765))"
    v2 = f"(({v1} & 858993459) + (({v1} >> 2) & 858993459))"
    return f"(((({v2} + ({v2} >> 4)) & 252645135) * 16843009) >> 24) & 255"


def period_masks(start: date, end: date) -> tuple[int, int, str, dict[str, int]]:
    """(first month key, last month key, SQL CASE of masks, params) for the days start..end."""
    m1, m2 = month_key(start), month_key(end)
    if m1 == m2:
        return m1, m2, "CAST(:mask_a AS BIGINT)", {"mask_a": day_mask(start.day, end.day)}
    last_a = calendar.monthrange(start.year, start.month)[1]
    case = (
        f"CASE month WHEN :m_a THEN CAST(:mask_a AS BIGINT) WHEN :m_b THEN CAST(:mask_b AS BIGINT) ELSE {ALL_DAYS} END"
    )
    return m1, m2, case, {"m_a": m1, "m_b": m2, "mask_a": day_mask(start.day, last_a), "mask_b": day_mask(1, end.day)}


@dataclass(frozen=True)
class VisitCounts:
    active_users: int
    visitors: int
    visit_days: int


def _to_school(r: BaseSchoolRow) -> BaseSchool:
    return BaseSchool(
        year=r.year,
        name=r.name,
        city=r.city,
        county=r.county,
        subject=r.subject,
        space_id=r.space_id,
        lead=r.lead,
        teachers=r.teachers,
        premium_spaces=r.premium_spaces,
        featured_spaces=r.featured_spaces,
        id=r.id,
        lead_user_id=r.lead_user_id,
    )


class BaseSchoolRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def _insert(self, model):
        return dialect_insert(self.session)(model)

    # ── the list ──
    async def upsert(self, schools: Sequence[BaseSchool], province: str, now: datetime) -> tuple[int, int, int]:
        """Add or update schools by (year, name); returns (added, updated, unchanged)."""
        added = updated = same = 0
        existing = (
            {
                (r.year, r.name): r
                for r in (
                    await self.session.scalars(
                        select(BaseSchoolRow).where(BaseSchoolRow.year.in_({s.year for s in schools}))
                    )
                ).all()
            }
            if schools
            else {}
        )
        for s in schools:
            values = {
                "city": s.city,
                "county": s.county,
                "subject": s.subject,
                "space_id": s.space_id,
                "lead": s.lead,
                "teachers": s.teachers,
                "premium_spaces": s.premium_spaces,
                "featured_spaces": s.featured_spaces,
                "territory": "/".join(p for p in (province, s.city, s.county) if p),
            }
            row = existing.get((s.year, s.name))
            if row is None:
                self.session.add(BaseSchoolRow(year=s.year, name=s.name, updated_at=now, **values))
                added += 1
            elif any(getattr(row, k) != v for k, v in values.items()):
                for k, v in values.items():
                    setattr(row, k, v)
                row.updated_at = now
                updated += 1
            else:
                same += 1
        await self.session.flush()
        return added, updated, same

    async def schools(self, year: int, *, city: str | None = None) -> list[BaseSchool]:
        q = select(BaseSchoolRow).where(BaseSchoolRow.year == year)
        if city:
            q = q.where(BaseSchoolRow.city == city)
        rows = (await self.session.scalars(q.order_by(BaseSchoolRow.city, BaseSchoolRow.name))).all()
        return [_to_school(r) for r in rows]

    async def latest_year(self, up_to: int) -> int | None:
        """The newest listed year not after ``up_to`` (the list of the current year, or the last one)."""
        return await self.session.scalar(select(func.max(BaseSchoolRow.year)).where(BaseSchoolRow.year <= up_to))

    async def led_by(self, user_id: str, year: int | None = None) -> list[BaseSchool]:
        q = select(BaseSchoolRow).where(BaseSchoolRow.lead_user_id == user_id)
        if year is not None:
            q = q.where(BaseSchoolRow.year == year)
        return [_to_school(r) for r in (await self.session.scalars(q.order_by(BaseSchoolRow.year.desc()))).all()]

    async def is_lead(self, user_id: str) -> bool:
        n = await self.session.scalar(
            select(func.count()).select_from(BaseSchoolRow).where(BaseSchoolRow.lead_user_id == user_id)
        )
        return bool(n)

    async def set_lead(self, school_id: int, user_id: str | None, name: str | None = None) -> None:
        values: dict[str, Any] = {"lead_user_id": user_id}
        if name:
            values["lead"] = name[:60]
        await self.session.execute(update(BaseSchoolRow).where(BaseSchoolRow.id == school_id).values(**values))

    async def listed_spaces(self, years: Iterable[int]) -> set[tuple[int, str]]:
        rows = await self.session.execute(
            select(BaseSchoolRow.year, BaseSchoolRow.space_id).where(BaseSchoolRow.year.in_(set(years)))
        )
        return {(y, s) for y, s in rows}

    # ── the feed ──
    async def store(self, items: Sequence[BaseItem]) -> tuple[int, int]:
        """Store valid items; returns (new, duplicates)."""
        new = dup = 0
        for action, fn in (
            (VISIT, self._visits),
            (OPENED, self._opened),
            (ACTIVE, self._active),
            (LESSON, self._lessons),
        ):
            part = [i for i in items if i.action == action]
            if part:
                n, d = await fn(part)
                new, dup = new + n, dup + d
        await self.session.flush()
        return new, dup

    async def _or_upsert(
        self, model, keys: tuple[str, ...], col: str, masks: dict[tuple, int], group: int, member: int
    ) -> int:
        """OR bit masks into rows; returns how many of the given bits were new. Existing masks are read
        per value of key ``group`` with an IN list on key ``member`` (one cached statement)."""
        table = model.__table__
        before: dict[tuple, int] = {}
        wanted: dict[Any, set] = defaultdict(set)
        for k in masks:
            wanted[k[group]].add(k[member])
        cols = [table.c[k] for k in keys]
        for g, members in wanted.items():
            ms = sorted(members)
            for i in range(0, len(ms), 5000):
                q = select(*cols, table.c[col]).where(
                    table.c[keys[group]] == g, table.c[keys[member]].in_(ms[i : i + 5000])
                )
                for row in await self.session.execute(q):
                    before[tuple(row[:-1])] = row[-1]
        fresh = sum((m & ~before.get(k, 0)).bit_count() for k, m in masks.items())
        stmt = self._insert(model)
        stmt = stmt.on_conflict_do_update(
            index_elements=list(keys), set_={col: table.c[col].op("|")(stmt.excluded[col])}
        )
        rows = [dict(zip(keys, k, strict=True), **{col: m}) for k, m in masks.items()]
        for i in range(0, len(rows), 50_000):
            await self.session.execute(stmt, rows[i : i + 50_000])  # executemany: compiled once
        return fresh

    async def _visits(self, items: Sequence[BaseItem]) -> tuple[int, int]:
        masks: dict[tuple, int] = defaultdict(int)
        for i in items:
            masks[(month_key(i.day), i.space_id, i.account)] |= 1 << (i.day.day - 1)
        fresh = await self._or_upsert(BaseSpaceVisit, ("month", "space_id", "visitor"), "days", masks, 0, 2)
        return fresh, len(items) - fresh

    async def _active(self, items: Sequence[BaseItem]) -> tuple[int, int]:
        masks: dict[tuple, int] = defaultdict(int)
        for i in items:
            masks[(i.space_id, i.account, i.day.year)] |= 1 << (i.day.month - 1)
        fresh = await self._or_upsert(BaseTeacherActivity, ("space_id", "account", "year"), "months", masks, 0, 1)
        return fresh, len(items) - fresh

    async def _opened(self, items: Sequence[BaseItem]) -> tuple[int, int]:
        state: dict[tuple[str, str], date | None] = {}
        for i in sorted(items, key=lambda i: i.day):
            k = (i.space_id, i.account or "")
            if not i.opened:
                state[k] = None
            elif state.get(k) is None:
                state[k] = i.day
        t = BaseTeacherSpace.__table__
        keep = text(
            "CASE WHEN excluded.opened_on IS NULL THEN NULL "
            "WHEN base_teacher_spaces.opened_on IS NULL THEN excluded.opened_on "
            "WHEN excluded.opened_on < base_teacher_spaces.opened_on THEN excluded.opened_on "
            "ELSE base_teacher_spaces.opened_on END"
        )
        rows = [{"space_id": k[0], "account": k[1], "opened_on": day} for k, day in state.items()]
        stmt = self._insert(BaseTeacherSpace)
        await self.session.execute(
            stmt.on_conflict_do_update(index_elements=[t.c.space_id, t.c.account], set_={"opened_on": keep}), rows
        )
        return len(items), 0

    async def _lessons(self, items: Sequence[BaseItem]) -> tuple[int, int]:
        rows = {(i.space_id, i.lesson): i.day for i in sorted(items, key=lambda i: i.day, reverse=True)}
        values = [{"space_id": s, "lesson": le, "published_on": d} for (s, le), d in rows.items()]
        fresh = 0
        for i in range(0, len(values), CHUNK):
            stmt = self._insert(BaseLesson).values(values[i : i + CHUNK]).on_conflict_do_nothing()
            fresh += len((await self.session.execute(stmt.returning(BaseLesson.lesson))).all())
        return fresh, len(items) - fresh

    async def report_lessons(self, school_id: int, lessons: int, day: date, by: str, now: datetime) -> None:
        self.session.add(
            BaseLessonReport(school_id=school_id, lessons=lessons, reported_on=day, reported_by=by, at=now)
        )
        await self.session.flush()

    # ── figures ──
    async def visit_counts(
        self, start: date, end: date, need: int, spaces: Sequence[str] | None = None
    ) -> dict[str, VisitCounts]:
        """Per space: visitors with ≥ ``need`` visit days in start..end, all visitors, visitor-days
        (one GROUP BY per (space, visitor) over the month rows, then per space)."""
        m1, m2, mask, masks = period_masks(start, end)
        params: dict[str, Any] = dict(masks)
        where = "month BETWEEN :m1 AND :m2"
        if spaces is not None:
            if not spaces:
                return {}
            names = [f"s{i}" for i in range(len(spaces))]
            where += f" AND space_id IN ({', '.join(':' + n for n in names)})"
            params |= dict(zip(names, spaces, strict=True))
        d = popcount_sql(f"CAST(days AS BIGINT) & {mask}")
        # one month: a row per (space, visitor) already; longer: add the months up per visitor first
        inner = (
            f"SELECT space_id, {d} AS d FROM base_space_visits WHERE {where}"
            if m1 == m2
            else f"SELECT space_id, visitor, SUM({d}) AS d FROM base_space_visits WHERE {where} "
            "GROUP BY space_id, visitor"
        )
        sql = (
            f"SELECT space_id, SUM(CASE WHEN d >= :need THEN 1 ELSE 0 END), "
            f"SUM(CASE WHEN d > 0 THEN 1 ELSE 0 END), SUM(d) FROM ({inner}) v GROUP BY space_id"
        )
        rows = await self.session.execute(text(sql), {"m1": m1, "m2": m2, "need": need, **params})
        return {s: VisitCounts(int(a), int(n), int(v)) for s, a, n, v in rows}

    async def ceiling(self, start: date, end: date) -> int:
        """The floor of any visit query: one plain aggregate over the same rows (for the benchmark)."""
        rows = await self.session.execute(
            text(
                "SELECT space_id, COUNT(*), SUM(days) FROM base_space_visits WHERE month BETWEEN :m1 AND :m2 "
                "GROUP BY space_id"
            ),
            {"m1": month_key(start), "m2": month_key(end)},
        )
        return len(rows.all())

    async def teacher_counts(
        self, spaces: Sequence[str], period: Period, today: date, defs: Definitions
    ) -> dict[str, tuple[int, int, int]]:
        """Per space: (teacher spaces known, opened by the as-of day, active over the period)."""
        as_of = period.as_of(today)
        out: dict[str, list[int]] = {s: [0, 0, 0] for s in spaces}
        rows = await self.session.execute(
            select(BaseTeacherSpace.space_id, BaseTeacherSpace.opened_on).where(BaseTeacherSpace.space_id.in_(spaces))
        )
        for s, opened in rows:
            out[s][0] += 1
            out[s][1] += opened is not None and opened <= as_of
        months = period.months(today)
        need = defs.required_months(len(months)) if months else 1
        wanted: dict[int, int] = defaultdict(int)
        for m in months:
            wanted[m.year] |= 1 << (m.month - 1)
        got: dict[tuple[str, str], int] = defaultdict(int)
        if wanted:
            acts = await self.session.execute(
                select(
                    BaseTeacherActivity.space_id,
                    BaseTeacherActivity.account,
                    BaseTeacherActivity.year,
                    BaseTeacherActivity.months,
                ).where(BaseTeacherActivity.space_id.in_(spaces), BaseTeacherActivity.year.in_(list(wanted)))
            )
            for s, acc, y, bits in acts:
                got[(s, acc)] += (bits & wanted[y]).bit_count()
        for (s, _acc), n in got.items():
            out[s][2] += n >= need
        return {s: (a, b, c) for s, (a, b, c) in out.items()}

    async def lesson_counts(self, schools: Sequence[BaseSchool], as_of: date) -> dict[str, int]:
        """Per space: lessons published by the as-of day (feed), or the latest report if larger."""
        spaces = [s.space_id for s in schools]
        rows = await self.session.execute(
            select(BaseLesson.space_id, func.count())
            .where(BaseLesson.space_id.in_(spaces), BaseLesson.published_on <= as_of)
            .group_by(BaseLesson.space_id)
        )
        out = {s: 0 for s in spaces} | {s: int(n) for s, n in rows}
        ids = {s.id: s.space_id for s in schools if s.id is not None}
        reports = await self.session.execute(
            select(BaseLessonReport.school_id, BaseLessonReport.lessons)
            .where(BaseLessonReport.school_id.in_(list(ids)), BaseLessonReport.reported_on <= as_of)
            .order_by(BaseLessonReport.reported_on, BaseLessonReport.id)
        )
        latest = {sid: n for sid, n in reports}
        for sid, n in latest.items():
            out[ids[sid]] = max(out[ids[sid]], n)
        return out

    async def counts(
        self, schools: Sequence[BaseSchool], period: Period, today: date, defs: Definitions, *, all_spaces: bool = False
    ) -> dict[str, Counts]:
        """Everything the figures need, per space id (a few statements for any number of schools)."""
        spaces = [s.space_id for s in schools]
        as_of = period.as_of(today)
        if as_of < period.start or not spaces:
            return {s: Counts() for s in spaces}
        need = defs.required_days(period.days(today))
        visits = await self.visit_counts(period.start, as_of, need, None if all_spaces else spaces)
        teachers = await self.teacher_counts(spaces, period, today, defs)
        lessons = await self.lesson_counts(schools, as_of)
        out = {}
        for s in spaces:
            v = visits.get(s, VisitCounts(0, 0, 0))
            t = teachers.get(s, (0, 0, 0))
            out[s] = Counts(v.active_users, v.visitors, v.visit_days, t[0], t[1], t[2], lessons.get(s, 0))
        return out

    # ── the assessment ──
    async def record_assessment(self, year: int, ranking: list[dict[str, Any]], now: datetime) -> bool:
        """Remember the year's assessment; False when it was already done."""
        res = await self.session.execute(
            self._insert(BaseAssessment)
            .values(year=year, done_at=now, ranking=ranking)
            .on_conflict_do_nothing()
            .returning(BaseAssessment.year)
        )
        return res.first() is not None

    async def assessment_done(self, year: int) -> bool:
        return await self.session.scalar(select(BaseAssessment.year).where(BaseAssessment.year == year)) is not None
