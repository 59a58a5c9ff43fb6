"""Rule-set dataclasses: rules, conditions, caps, the streak, and the scoring year."""

from __future__ import annotations

import operator
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cached_property
from zoneinfo import ZoneInfo

PERIODS = ("day", "week", "month", "year")
PERIOD_NAMES = {"day": "天", "week": "周", "month": "月", "year": "年"}
KINDS = ("plain", "streak")
MATCHES = ("all", "any")

OPERATORS = {
    ">=": operator.ge,
    ">": operator.gt,
    "<=": operator.le,
    "<": operator.lt,
    "==": operator.eq,
    "!=": operator.ne,
}


@dataclass(frozen=True, slots=True)
class Condition:
    """``field op value`` on an event's detail. A missing field or an incomparable value fails."""

    field: str
    op: str
    value: int | float | str | bool

    def test(self, detail: dict | None) -> bool:
        if not detail:
            return False
        got = detail.get(self.field)
        if got is None:
            return False
        want = self.value
        if isinstance(want, bool):
            if isinstance(got, str):
                got = got.strip().lower() in ("true", "1", "yes", "y", "是")
            else:
                got = bool(got)
        elif isinstance(want, (int, float)):
            if isinstance(got, bool):
                return False
            if isinstance(got, str):
                try:
                    got = float(got)
                except ValueError:
                    return False
            elif not isinstance(got, (int, float)):
                return False
        else:
            got = str(got)
        try:
            return bool(OPERATORS[self.op](got, want))
        except TypeError:
            return False

    def __str__(self) -> str:
        v = self.value
        text = ("true" if v else "false") if isinstance(v, bool) else str(v)
        return f"{self.field} {self.op} {text}"


@dataclass(frozen=True, slots=True)
class Cap:
    count: int
    per: str  # one of PERIODS

    def label(self) -> str:
        return f"{self.count}次/{PERIOD_NAMES[self.per]}"


@dataclass(frozen=True, slots=True)
class Streak:
    """From day ``after_days + 1`` of an unbroken run of days on, a day earns ``points``."""

    after_days: int
    points: int


@dataclass(frozen=True, slots=True)
class Rule:
    code: str
    group: str
    name: str
    actions: tuple[str, ...]
    points: int
    caps: tuple[Cap, ...] = ()
    conditions: tuple[Condition, ...] = ()
    match: str = "all"
    kind: str = "plain"
    streak: Streak | None = None
    description: str = ""
    line: int | None = None  # where it was defined in its file (for messages), not part of identity

    def qualifies(self, detail: dict | None) -> bool:
        if not self.conditions:
            return True
        if self.match == "any":
            return any(c.test(detail) for c in self.conditions)
        return all(c.test(detail) for c in self.conditions)

    def points_label(self) -> str:
        if self.kind == "streak" and self.streak:
            return f"{self.points}分/天，连续超过{self.streak.after_days}天后{self.streak.points}分/天"
        return f"{self.points}分/次"


@dataclass(frozen=True)
class RuleSet:
    name: str
    rules: tuple[Rule, ...]
    timezone: str = "Asia/Shanghai"
    year_start: tuple[int, int] = (1, 1)  # (month, day) of the first day of a scoring year
    source: str = ""  # file it was loaded from, for messages

    @cached_property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @cached_property
    def by_code(self) -> dict[str, Rule]:
        return {r.code: r for r in self.rules}

    @cached_property
    def actions(self) -> frozenset[str]:
        return frozenset(a for r in self.rules for a in r.actions)

    def rule(self, code: str) -> Rule:
        return self.by_code[code]

    # ── scoring year ──
    def scoring_year(self, day: date) -> int:
        """The scoring year of a local date, labelled by the calendar year it starts in."""
        m, d = self.year_start
        return day.year if (day.month, day.day) >= (m, d) else day.year - 1

    def year_bounds(self, year: int) -> tuple[date, date]:
        """First and last local date of scoring year ``year``."""
        m, d = self.year_start
        start = date(year, m, d)
        return start, date(year + 1, m, d) - timedelta(days=1)

    def year_label(self, year: int) -> str:
        if self.year_start == (1, 1):
            return f"{year}年"
        return f"{year}-{year + 1}学年"


@dataclass(frozen=True, slots=True)
class RuleProblem:
    line: int | None
    reason: str

    def __str__(self) -> str:
        return f"第 {self.line} 行：{self.reason}" if self.line else self.reason


class RuleFileError(ValueError):
    """A rule file that cannot be used. ``problems`` lists (line, reason), reasons in Chinese."""

    def __init__(self, problems: list[RuleProblem], source: str = "") -> None:
        self.problems = sorted(problems, key=lambda p: p.line or 0)
        self.source = source
        head = f"{source}：" if source else ""
        shown = "；".join(str(p) for p in self.problems[:10])
        more = f"；另有 {len(self.problems) - 10} 处错误" if len(self.problems) > 10 else ""
        super().__init__(f"{head}规则文件有误，未加载。{shown}{more}")

    @property
    def line(self) -> int | None:
        return self.problems[0].line if self.problems else None

    @property
    def reason(self) -> str:
        return self.problems[0].reason if self.problems else ""


__all__ = [
    "KINDS",
    "MATCHES",
    "OPERATORS",
    "PERIODS",
    "PERIOD_NAMES",
    "Cap",
    "Condition",
    "Rule",
    "RuleFileError",
    "RuleProblem",
    "RuleSet",
    "Streak",
]
