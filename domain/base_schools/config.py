"""Definitions and thresholds of the base-school assessment, as data (domain/data/base_schools.yaml).

Defaults come from seed 003: 100 active users, teacher spaces 100% opened and 60% active,
18 micro-course lessons, one provincial premium space and three featured spaces; an active user
visits on average once every 2 days (= on at least half of the period's days).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import yaml

from domain.yamltext import safe_load

DEFAULT_FILE = Path(__file__).resolve().parent.parent / "data" / "base_schools.yaml"
INDICATOR_KEYS = ("active_users", "opening_rate", "active_rate", "lessons", "premium_spaces", "featured_spaces")
RANK_KEYS = ("met", *INDICATOR_KEYS, "effective_visits", "visitors")


class ConfigError(ValueError):
    """The definitions file is unusable; the message is Chinese."""


@dataclass(frozen=True)
class Indicator:
    key: str
    label: str
    min: float
    unit: str

    @property
    def is_rate(self) -> bool:
        return self.unit == "%"

    def met(self, value: float) -> bool:
        return value + 1e-9 >= self.min

    def show(self, value: float) -> str:
        if self.is_rate:
            return f"{value * 100:.0f}%"
        return f"{value:g}{self.unit}"


@dataclass(frozen=True)
class Definitions:
    day_share: float = 0.5
    month_share: float = 0.5
    indicators: tuple[Indicator, ...] = ()
    ranking: tuple[str, ...] = ("met", "active_users", "effective_visits")
    assessment_month: int = 11
    assessment_day: int = 30
    year_start: tuple[int, int] = (1, 1)

    def required_days(self, days: int) -> int:
        """Visit days an active user needs in a period of ``days`` days (at least 1)."""
        return max(1, math.ceil(days * self.day_share - 1e-9))

    def required_months(self, months: int) -> int:
        return max(1, math.ceil(months * self.month_share - 1e-9))

    def indicator(self, key: str) -> Indicator:
        return next(i for i in self.indicators if i.key == key)

    def assessment_date(self, year: int) -> date:
        return date(year, self.assessment_month, self.assessment_day)

    def assessment_year(self, year: int) -> tuple[date, date]:
        """(first day, assessment day) of the assessment year ``year``."""
        end = self.assessment_date(year)
        start = date(year, *self.year_start)
        if start > end:
            start = date(year - 1, *self.year_start)
        return start, end


def _share(value: object, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < float(value) <= 1:
        raise ConfigError(f"{what} 应为 0 到 1 之间的小数，如 0.5")
    return float(value)


def parse_definitions(data: object) -> Definitions:
    if not isinstance(data, dict):
        raise ConfigError("基地校定义文件应为键值结构")
    inds = []
    for n, raw in enumerate(data.get("indicators") or [], start=1):
        if not isinstance(raw, dict) or raw.get("key") not in INDICATOR_KEYS:
            raise ConfigError(f"第 {n} 项指标的 key 应为 {'、'.join(INDICATOR_KEYS)} 之一")
        value = raw.get("min")
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            raise ConfigError(f"指标 {raw['key']} 的 min 应为非负数")
        inds.append(
            Indicator(str(raw["key"]), str(raw.get("label") or raw["key"]), float(value), str(raw.get("unit") or ""))
        )
    if len({i.key for i in inds}) != len(inds) or not inds:
        raise ConfigError("indicators 不能为空，每项指标只能出现一次")
    ranking = tuple(data.get("ranking") or ("met", "active_users", "effective_visits"))
    bad = [k for k in ranking if k not in RANK_KEYS]
    if bad:
        raise ConfigError(f"ranking 中的 {bad[0]} 不认识，可用：{'、'.join(RANK_KEYS)}")
    a = data.get("assessment") or {}
    try:
        month, day = int(a.get("month", 11)), int(a.get("day", 30))
        ys = tuple(int(x) for x in a.get("year_start", (1, 1)))
        date(2024, month, day)
        date(2024, *ys)
    except (TypeError, ValueError):
        raise ConfigError("assessment 的 month/day/year_start 不是有效日期") from None
    return Definitions(
        day_share=_share((data.get("active_user") or {}).get("min_share_of_days", 0.5), "min_share_of_days"),
        month_share=_share((data.get("teacher_space") or {}).get("min_share_of_months", 0.5), "min_share_of_months"),
        indicators=tuple(inds),
        ranking=ranking,
        assessment_month=month,
        assessment_day=day,
        year_start=(ys[0], ys[1]),
    )


def load_definitions(path: str | Path | None = None) -> Definitions:
    p = Path(path) if path else DEFAULT_FILE
    try:
        data = safe_load(p.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"读不到基地校定义文件 {p}：{exc}") from None
    return parse_definitions(data)
