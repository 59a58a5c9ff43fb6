"""Working days: China's holidays and 调休 make-up days.

chinese-calendar knows the years the State Council has published. For a year it
does not know yet, an operator writes ``domain/data/holidays/<year>.yaml``
(or a directory given in the settings)::

    year: 2027
    holidays: [2027-01-01, 2027-02-06..2027-02-13]   # days off (ranges with ..)
    workdays: [2027-02-14]                            # weekend days that are working days (调休)

A year with neither counts Monday to Friday and is reported by :meth:`WorkCalendar.missing_years`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import yaml

DEFAULT_HOLIDAY_DIR = Path(__file__).resolve().parents[1] / "data" / "holidays"


class HolidayFileError(ValueError):
    """An operator holiday file that cannot be read (the message names the file and the line)."""


def _package_knows(year: int) -> bool:
    try:
        import chinese_calendar

        chinese_calendar.is_workday(date(year, 6, 1))
        return True
    except (NotImplementedError, ImportError):
        return False


def _days(value: Any, source: str) -> set[date]:
    out: set[date] = set()
    for item in value or []:
        text = str(item)
        try:
            if ".." in text:
                a, b = (date.fromisoformat(p.strip()) for p in text.split("..", 1))
                if b < a:
                    raise ValueError("end before start")
                out.update(a + timedelta(days=i) for i in range((b - a).days + 1))
            else:
                out.add(date.fromisoformat(text.strip()))
        except ValueError as exc:
            raise HolidayFileError(
                f"{source}：日期“{text}”有误（{exc}），请写成 2027-01-01 或 2027-02-06..2027-02-13"
            ) from None
    return out


@dataclass(frozen=True)
class YearOverride:
    year: int
    holidays: frozenset[date]
    workdays: frozenset[date]


def parse_holiday_file(text: str, source: str = "") -> YearOverride:
    try:
        raw = yaml.load(text, Loader=yaml.BaseLoader) or {}  # dates stay text: we name a bad one
    except yaml.YAMLError as exc:
        raise HolidayFileError(f"{source}：文件读不懂（{exc}），日期请写成 2027-01-01") from None
    if not isinstance(raw, dict) or "year" not in raw:
        raise HolidayFileError(f"{source}：需要 year、holidays、workdays 三项")
    try:
        year = int(raw["year"])
    except ValueError:
        raise HolidayFileError(f"{source}：year 应为年份，如 2027") from None
    holidays, workdays = _days(raw.get("holidays"), source), _days(raw.get("workdays"), source)
    wrong = sorted(d for d in holidays | workdays if d.year != year)
    if wrong:
        raise HolidayFileError(f"{source}：{wrong[0].isoformat()} 不在 {year} 年")
    both = holidays & workdays
    if both:
        raise HolidayFileError(f"{source}：{min(both).isoformat()} 同时写成了假日和工作日")
    return YearOverride(year, frozenset(holidays), frozenset(workdays))


def load_holiday_dir(directory: Path | str | None = None) -> dict[int, YearOverride]:
    path = Path(directory) if directory else DEFAULT_HOLIDAY_DIR
    out: dict[int, YearOverride] = {}
    if not path.is_dir():
        return out
    for f in sorted(path.glob("*.yaml")):
        o = parse_holiday_file(f.read_text(encoding="utf-8"), f.name)
        out[o.year] = o
    return out


@dataclass
class WorkCalendar:
    """Which days are working days; operator files win over the package."""

    overrides: dict[int, YearOverride] = field(default_factory=dict)
    _known: dict[int, bool] = field(default_factory=dict, repr=False)
    _cache: dict[date, bool] = field(default_factory=dict, repr=False)

    @classmethod
    def load(cls, directory: Path | str | None = None) -> WorkCalendar:
        return cls(load_holiday_dir(directory))

    def has_data(self, year: int) -> bool:
        if year in self.overrides:
            return True
        if year not in self._known:
            self._known[year] = _package_knows(year)
        return self._known[year]

    def missing_years(self, today: date, ahead: int = 1) -> list[int]:
        """This year and the next ``ahead`` years that have no holiday data."""
        return [y for y in range(today.year, today.year + ahead + 1) if not self.has_data(y)]

    def is_workday(self, day: date) -> bool:
        hit = self._cache.get(day)
        if hit is None:
            hit = self._cache[day] = self._compute(day)
        return hit

    def _compute(self, day: date) -> bool:
        o = self.overrides.get(day.year)
        if o is not None:
            if day in o.holidays:
                return False
            if day in o.workdays:
                return True
            return day.weekday() < 5
        if self.has_data(day.year):
            import chinese_calendar

            return bool(chinese_calendar.is_workday(day))
        return day.weekday() < 5

    def on_or_before(self, day: date) -> date:
        """``day`` if it is a working day, else the working day before it."""
        while not self.is_workday(day):
            day -= timedelta(days=1)
        return day

    def add_workdays(self, day: date, n: int) -> date:
        """The n-th working day after ``day`` (n ≥ 1)."""
        d = day
        left = n
        while left > 0:
            d += timedelta(days=1)
            if self.is_workday(d):
                left -= 1
        return d

    def workdays_before(self, day: date, n: int) -> date:
        """The n-th working day before ``day`` (n ≥ 1)."""
        d = day
        left = n
        while left > 0:
            d -= timedelta(days=1)
            if self.is_workday(d):
                left -= 1
        return d

    def workdays_between(self, start: date, end: date) -> int:
        """Working days after ``start`` up to and including ``end`` (0 if end <= start)."""
        n, d = 0, start
        while d < end:
            d += timedelta(days=1)
            if self.is_workday(d):
                n += 1
        return n

    def workdays(self, start: date, end: date) -> Iterable[date]:
        d = start
        while d <= end:
            if self.is_workday(d):
                yield d
            d += timedelta(days=1)
