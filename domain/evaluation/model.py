"""The evaluation's vocabulary: indicator sets, evidence kinds, reports, review records and points shares."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Protocol

from domain.scores.rules import Condition

EVALUATION_DIR = Path(__file__).resolve().parent.parent / "data" / "evaluation"
ROLES = ("admin", "trainer", "reviewer")
ROLE_NAMES = {"admin": "体系管理员", "trainer": "培训讲师", "reviewer": "资源审核员"}
SOURCES = ("reported", "points", "review_stats")
SOURCE_LABELS = {"reported": "本人报告", "points": "积分统计", "review_stats": "审核记录"}
FIELD_TYPES = ("date", "int", "text", "url", "choice")
REVIEW_METRICS = ("reviewed", "completed", "on_time_rate", "good_rate", "errors", "assigned")
METRIC_LABELS = {
    "reviewed": "审核条数",
    "completed": "完成任务数",
    "on_time_rate": "按时完成率",
    "good_rate": "好评率",
    "errors": "差错条数",
    "assigned": "分配任务数",
}

ACHIEVED, NOT_ACHIEVED, PENDING = "达成", "未达成", "待提交"
SUBMITTED, CONFIRMED, REJECTED = "submitted", "confirmed", "rejected"

MAX_TEXT = 100


class EvaluationFileError(ValueError):
    """A bad indicator file; the message (Chinese) names the file and the place."""


class ReportError(ValueError):
    """A /报告 that cannot be accepted; ``reason`` is short Chinese telling what to fix."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


# ── data ──
@dataclass(frozen=True, slots=True)
class EvidenceField:
    name: str
    label: str
    type: str
    min: int | None = None
    choices: tuple[str, ...] = ()
    optional: bool = False


@dataclass(frozen=True, slots=True)
class EvidenceCheck:
    type: str  # relative_error
    value: str
    reference: str
    max: float
    label: str


@dataclass(frozen=True, slots=True)
class EvidenceKind:
    word: str  # the Chinese word after /报告 (培训)
    code: str
    title: str
    fields: tuple[EvidenceField, ...]
    checks: tuple[EvidenceCheck, ...] = ()

    @property
    def usage(self) -> str:
        parts = [f"[{f.label}]" if f.optional else f.label for f in self.fields]
        return f"/报告 {self.word} " + " ".join(parts)


@dataclass(frozen=True, slots=True)
class Requirement:
    kind: str  # evidence kind word
    count: int = 1
    where: tuple[tuple[str, str], ...] = ()
    distinct: str | None = None  # count distinct values of this field
    label: str = ""

    def matches(self, report: Report) -> bool:
        return report.kind == self.kind and all(str(report.fields.get(k)) == v for k, v in self.where)


@dataclass(frozen=True, slots=True)
class Indicator:
    id: str
    role: str
    number: int
    title: str
    text: str
    source: str
    requires: tuple[Requirement, ...] = ()
    checks: tuple[Condition, ...] = ()
    params: tuple[tuple[str, float], ...] = ()

    def param(self, name: str, default: float) -> float:
        return dict(self.params).get(name, default)

    @property
    def kinds(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(r.kind for r in self.requires))


@dataclass(frozen=True)
class IndicatorSet:
    year: int
    kinds: Mapping[str, EvidenceKind]
    roles: Mapping[str, tuple[Indicator, ...]]
    report_deadline: tuple[int, int] = (10, 31)
    source: str = ""

    def indicators(self, role: str) -> tuple[Indicator, ...]:
        return self.roles.get(role, ())

    def indicator(self, indicator_id: str) -> Indicator:
        for items in self.roles.values():
            for ind in items:
                if ind.id == indicator_id:
                    return ind
        raise KeyError(indicator_id)

    def kinds_for(self, role: str) -> tuple[EvidenceKind, ...]:
        words = dict.fromkeys(w for ind in self.indicators(role) for w in ind.kinds)
        return tuple(self.kinds[w] for w in words)

    def deadline(self, year: int) -> date:
        m, d = self.report_deadline
        return date(year, m, d)

    def points_indicator(self) -> Indicator | None:
        for ind in self.indicators("admin"):
            if ind.source == "points":
                return ind
        return None

    @property
    def min_points(self) -> int:
        ind = self.points_indicator()
        return int(ind.param("min_points", 60)) if ind else 60

    @property
    def target_share(self) -> float:
        ind = self.points_indicator()
        return float(ind.param("target_share", 0.4)) if ind else 0.4


@dataclass(frozen=True, slots=True)
class Report:
    id: int
    kind: str
    fields: Mapping
    status: str = SUBMITTED  # submitted / confirmed / rejected
    reason: str = ""  # rejection reason
    submitted_on: date | None = None


@dataclass(frozen=True, slots=True)
class ReviewStats:
    """Review records of one reviewer for a year (filled by the review-assignment work)."""

    assigned: int = 0
    completed: int = 0
    on_time: int = 0
    reviewed: int = 0  # resources with a verdict
    rated: int = 0  # passed resources with a user rating
    good: int = 0  # of which rated good
    errors: int = 0  # passed resources later found wrong (cataloguing or content)

    @property
    def on_time_rate(self) -> float | None:
        return self.on_time / self.completed if self.completed else None

    @property
    def good_rate(self) -> float | None:
        return self.good / self.rated if self.rated else None

    def metrics(self) -> dict:
        return {
            "assigned": self.assigned,
            "completed": self.completed,
            "reviewed": self.reviewed,
            "errors": self.errors,
            "on_time_rate": self.on_time_rate,
            "good_rate": self.good_rate,
        }


class ReviewStatsProvider(Protocol):
    """Implemented by the review-assignment work; None means no data (→ 待提交)."""

    async def review_stats(self, member_id: str, start: date, end: date) -> ReviewStats | None: ...


class NoReviewStats:
    async def review_stats(self, member_id: str, start: date, end: date) -> ReviewStats | None:
        return None


@dataclass(frozen=True, slots=True)
class PointsShare:
    """Admin indicator 6 for a territory: teachers reaching ``min_points`` among all teachers."""

    territory: str
    qualified: int
    total: int
    min_points: int = 60
    target: float = 0.4

    @property
    def share(self) -> float | None:
        return self.qualified / self.total if self.total else None


def share_reached(share: float | None, target: float) -> bool:
    """Whether a share of teachers at or above the points threshold reaches the target share
    (a rounding error never turns 40% of 40% into a miss); no teachers (``None``) never does."""
    return share is not None and share + 1e-12 >= target
