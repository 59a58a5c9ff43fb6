"""Local days, Monday–Sunday weeks, months and scoring years as plain integers.

A local day is its ``date.toordinal()``; a week is ``(ordinal - 1) // 7`` (ordinal 1 =
0001-01-01 was a Monday, so weeks run Monday–Sunday); a month is ``year * 12 + month - 1``;
a year is the scoring year (labelled by the calendar year it starts in).

Converting an instant to its local day is the hot path of the engine, so it works on epoch
seconds and caches the UTC offset per 15-minute slot (every real time-zone transition falls on a
quarter hour), instead of building a datetime per event.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from .rules import RuleSet

EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
_SLOT = 900


def _offset(at: datetime) -> timedelta:
    """The UTC offset of an aware datetime (never None for one built with a tzinfo)."""
    off = at.utcoffset()
    assert off is not None
    return off


class LocalClock:
    """Epoch seconds → local day ordinal for one time zone (offsets cached per 15-minute slot)."""

    __slots__ = ("_offsets", "fixed", "tz")

    def __init__(self, tz: ZoneInfo | str) -> None:
        self.tz = ZoneInfo(tz) if isinstance(tz, str) else tz
        self._offsets: dict[int, int] = {}
        self.fixed = None
        if getattr(self.tz, "key", None) in (
            "Asia/Shanghai",
            "Asia/Chongqing",
            "Asia/Harbin",
            "PRC",
            "UTC",
            "Etc/UTC",
            "Asia/Hong_Kong",
            "Asia/Taipei",
            "Asia/Urumqi",
        ):
            # no transitions since 1992: a constant offset for every instant the bot will see
            self.fixed = int(_offset(datetime(2000, 1, 1, tzinfo=self.tz)).total_seconds())

    def offset(self, epoch: int) -> int:
        slot = epoch // _SLOT
        off = self._offsets.get(slot)
        if off is None:
            off = int(_offset(datetime.fromtimestamp(slot * _SLOT, self.tz)).total_seconds())
            self._offsets[slot] = off
        return off

    def day(self, epoch: int) -> int:
        if self.fixed is not None and epoch >= 725_846_400:  # 1993-01-01
            return (epoch + self.fixed) // 86400 + EPOCH_ORDINAL
        return (epoch + self.offset(epoch)) // 86400 + EPOCH_ORDINAL

    def day_start(self, ordinal: int) -> int:
        """Epoch seconds of local midnight starting day ``ordinal``."""
        if self.fixed is not None and ordinal >= 727564:  # 1993-01-01
            return (ordinal - EPOCH_ORDINAL) * 86400 - self.fixed
        d = date.fromordinal(ordinal)
        return int(datetime(d.year, d.month, d.day, tzinfo=self.tz).timestamp())


def to_epoch(at: datetime) -> int:
    """Aware datetime → whole epoch seconds (floor). Naive datetimes are refused."""
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError("aware datetime required")
    return int((at - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(seconds=1))


def local_date(at: datetime, tz: ZoneInfo) -> date:
    if at.tzinfo is None:
        raise ValueError("aware datetime required")
    return at.astimezone(tz).date()


def week_index(ordinal: int) -> int:
    return (ordinal - 1) // 7


def month_index(day: date) -> int:
    return day.year * 12 + day.month - 1


def monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


@dataclass(frozen=True, slots=True)
class Period:
    """A closed range of local dates with a kind (day/week/month/year/custom) and a Chinese label."""

    kind: str
    start: date
    end: date
    label: str

    def contains(self, day: date) -> bool:
        return self.start <= day <= self.end

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1


def period_of(rules: RuleSet, kind: str, day: date) -> Period:
    """The day/week/month/scoring-year period that contains ``day``."""
    if kind == "day":
        return Period("day", day, day, f"{day.month}月{day.day}日")
    if kind == "week":
        start = monday(day)
        end = start + timedelta(days=6)
        return Period("week", start, end, f"{start.month}月{start.day}日—{end.month}月{end.day}日")
    if kind == "month":
        start = day.replace(day=1)
        nxt = date(day.year + (day.month == 12), day.month % 12 + 1, 1)
        return Period("month", start, nxt - timedelta(days=1), f"{day.year}年{day.month}月")
    if kind == "year":
        y = rules.scoring_year(day)
        start, end = rules.year_bounds(y)
        return Period("year", start, end, rules.year_label(y))
    raise ValueError(kind)


def year_period(rules: RuleSet, year: int) -> Period:
    start, end = rules.year_bounds(year)
    return Period("year", start, end, rules.year_label(year))


RELATIVE_WORDS = {
    "本周": "week",
    "这周": "week",
    "本星期": "week",
    "week": "week",
    "本月": "month",
    "这个月": "month",
    "month": "month",
    "本年": "year",
    "今年": "year",
    "本学年": "year",
    "year": "year",
    "今天": "day",
    "今日": "day",
    "today": "day",
}


PREVIOUS_WORDS = {
    "上周": "week",
    "上星期": "week",
    "上个星期": "week",
    "上月": "month",
    "上个月": "month",
    "去年": "year",
    "上一年": "year",
    "上学年": "year",
    "昨天": "day",
    "昨日": "day",
}


def _a_day_before(rules: RuleSet, kind: str, today: date) -> date:
    """A day of the period before the one containing ``today``."""
    return period_of(rules, kind, today).start - timedelta(days=1)


def parse_period(word: str | None, rules: RuleSet, today: date) -> Period | None:
    """本周/本月/本年/今天 or 上周/上月/去年/昨天 relative to ``today``, or a 4-digit scoring year (2026).
    None if not a period."""
    if word is None or not word.strip():
        return period_of(rules, "year", today)
    w = word.strip()
    kind = RELATIVE_WORDS.get(w.lower() if w.isascii() else w)
    if kind:
        return period_of(rules, kind, today)
    kind = PREVIOUS_WORDS.get(w)
    if kind:
        return period_of(rules, kind, _a_day_before(rules, kind, today))
    y = w[:-1] if w.endswith(("年", "学年")) else w
    y = y[:-1] if y.endswith("学") else y
    if len(y) == 4 and y.isdigit() and 2000 <= int(y) <= 2100:
        return year_period(rules, int(y))
    return None


__all__ = [
    "EPOCH_ORDINAL",
    "LocalClock",
    "Period",
    "local_date",
    "monday",
    "month_index",
    "parse_period",
    "period_of",
    "to_epoch",
    "week_index",
    "year_period",
]
