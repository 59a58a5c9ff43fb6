"""Periods, each school's figures against the thresholds, the dynamic ranking (ties share a rank)
and the trend since last month. Pure: the counts come from storage."""

from __future__ import annotations

import calendar
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

from .config import Definitions, Indicator
from .schools import BaseSchool

_YM = re.compile(r"^(\d{4})(?:-|年|/|\.)(\d{1,2})月?$")
_Y = re.compile(r"^(\d{4})年?(?:度)?$")
_M = re.compile(r"^(\d{1,2})月$")
PERIOD_EXAMPLES = "本月、上月、本年、2026、2026-11"


@dataclass(frozen=True)
class Period:
    kind: str  # "month" | "year"
    start: date
    end: date  # last day of the period

    @property
    def label(self) -> str:
        return f"{self.start.year}年" if self.kind == "year" else f"{self.start.year}年{self.start.month}月"

    def as_of(self, today: date) -> date:
        return min(self.end, today)

    def days(self, today: date) -> int:
        """Days of the period counted so far (a period in progress counts up to today)."""
        return max(0, (self.as_of(today) - self.start).days + 1)

    def months(self, today: date) -> list[date]:
        out, d = [], self.start.replace(day=1)
        while d <= self.as_of(today):
            out.append(d)
            d = next_month(d)
        return out


def next_month(d: date) -> date:
    return date(d.year + (d.month == 12), d.month % 12 + 1, 1)


def month_period(year: int, month: int) -> Period:
    return Period("month", date(year, month, 1), date(year, month, calendar.monthrange(year, month)[1]))


def year_period(year: int, defs: Definitions) -> Period:
    start = date(year, *defs.year_start)
    return Period("year", start, date(year + 1, *defs.year_start) - timedelta(days=1))


def year_of(today: date, defs: Definitions) -> int:
    return today.year if today >= date(today.year, *defs.year_start) else today.year - 1


def parse_period(word: str, today: date, defs: Definitions) -> Period | None:
    """本月 上月 本年 今年 去年 2026 2026年 2026-11 2026年11月 11月; None if not a period word."""
    w = word.strip().replace(" ", "")
    if w in ("本月", "这个月", "当月"):
        return month_period(today.year, today.month)
    if w in ("上月", "上个月"):
        prev = today.replace(day=1) - timedelta(days=1)
        return month_period(prev.year, prev.month)
    if w in ("本年", "今年", "本年度", "全年"):
        return year_period(year_of(today, defs), defs)
    if w in ("去年", "上年"):
        return year_period(year_of(today, defs) - 1, defs)
    for rx in (_YM, _Y, _M):
        m = rx.match(w)
        if not m:
            continue
        if rx is _Y:
            y = int(m.group(1))
            return year_period(y, defs) if 2000 <= y <= 2100 else None
        y, mo = (int(m.group(1)), int(m.group(2))) if rx is _YM else (today.year, int(m.group(1)))
        return month_period(y, mo) if 1 <= mo <= 12 and 2000 <= y <= 2100 else None
    return None


def previous(p: Period, today: date, defs: Definitions) -> tuple[Period, date]:
    """What "since last month" compares with: (period, as-of day) one month earlier."""
    if p.kind == "month":
        prev = p.start - timedelta(days=1)
        return month_period(prev.year, prev.month), prev
    as_of = p.as_of(today).replace(day=1) - timedelta(days=1)
    return p, as_of


@dataclass(frozen=True)
class Counts:
    """What storage counts for one school over a period."""

    active_users: int = 0
    visitors: int = 0
    effective_visits: int = 0
    teacher_spaces: int = 0  # teacher spaces the feed knows of
    opened: int = 0
    active_teachers: int = 0
    lessons: int = 0


@dataclass(frozen=True)
class Check:
    indicator: Indicator
    value: float
    met: bool


@dataclass(frozen=True)
class SchoolFigures:
    school: BaseSchool
    counts: Counts
    teachers: int
    values: dict[str, float] = field(default_factory=dict)
    checks: tuple[Check, ...] = ()

    @property
    def met(self) -> int:
        return sum(c.met for c in self.checks)

    def key(self, name: str) -> float:
        if name == "met":
            return self.met
        if name in ("effective_visits", "visitors"):
            return getattr(self.counts, name)
        return self.values[name]


def figures(school: BaseSchool, counts: Counts, defs: Definitions) -> SchoolFigures:
    teachers = max(school.teachers or 0, counts.teacher_spaces)
    values = {
        "active_users": float(counts.active_users),
        "opening_rate": counts.opened / teachers if teachers else 0.0,
        "active_rate": counts.active_teachers / teachers if teachers else 0.0,
        "lessons": float(counts.lessons),
        "premium_spaces": float(school.premium_spaces),
        "featured_spaces": float(school.featured_spaces),
    }
    checks = tuple(Check(i, values[i.key], i.met(values[i.key])) for i in defs.indicators)
    return SchoolFigures(school, counts, teachers, values, checks)


@dataclass(frozen=True)
class Ranked:
    rank: int
    figures: SchoolFigures


def rank(items: Sequence[SchoolFigures], keys: Sequence[str]) -> list[Ranked]:
    """Competition ranking (1, 1, 3): larger first on each key in turn; equal on all keys → same rank."""

    def k(f: SchoolFigures) -> tuple[float, ...]:
        return tuple(round(f.key(name), 9) for name in keys)

    ordered = sorted(items, key=lambda f: (tuple(-x for x in k(f)), f.school.city, f.school.name))
    out: list[Ranked] = []
    for n, f in enumerate(ordered, start=1):
        if out and k(out[-1].figures) == k(f):
            out.append(Ranked(out[-1].rank, f))
        else:
            out.append(Ranked(n, f))
    return out


def trend(now: SchoolFigures, before: SchoolFigures | None, key: str) -> float | None:
    """Change of one indicator since the earlier figures (None when there is nothing to compare)."""
    if before is None:
        return None
    return now.key(key) - before.key(key)
