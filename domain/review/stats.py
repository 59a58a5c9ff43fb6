"""Reviewer statistics, 好评率 and the ranking by use (pure: plain rows in, figures out).

Per reviewer and period (local dates, both ends included):
* assigned: tasks assigned in the period;
* done / passed / rejected: verdicts given in the period;
* on time: every task is judged once — when it was finished if that was by its due time, else at its
  due time (late: finished late, timed out or still open). Tasks judged in the period and not after
  ``as_of`` count; declined (不能审) and cancelled tasks do not. on-time % = on time / judged;
* 好评率: of the platform ratings of the resources the reviewer passed in the period, the share that
  is positive (rating ≥ 4 of 5, or a like; a dislike or a rating ≤ 3 is not), ratings up to ``as_of``.

The ranking by use sums clicks and downloads of the feedback rows in the period.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from domain.evaluation import ReviewStats

from .subjects import canonical_subject, default_subject_synonyms

LOCAL = ZoneInfo("Asia/Shanghai")
PASS, REJECT = "pass", "reject"
_VERDICTS = {"pass": PASS, "passed": PASS, "通过": PASS, "reject": REJECT, "rejected": REJECT, "退回": REJECT}
_NOT_JUDGED = frozenset({"declined", "cancelled"})
POSITIVE_RATING = 4


@dataclass(frozen=True)
class Period:
    start: date
    end: date  # included

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ValueError("period ends before it starts")

    @classmethod
    def month(cls, day: date) -> Period:
        return cls(day.replace(day=1), day.replace(day=calendar.monthrange(day.year, day.month)[1]))

    @classmethod
    def year(cls, day: date) -> Period:
        return cls(date(day.year, 1, 1), date(day.year, 12, 31))

    def contains(self, moment: datetime | None, tz: ZoneInfo = LOCAL) -> bool:
        return moment is not None and self.start <= local_day(moment, tz) <= self.end


def local_day(moment: datetime, tz: ZoneInfo = LOCAL) -> date:
    if moment.tzinfo is None:
        raise ValueError("aware datetimes only")
    return moment.astimezone(tz).date()


@dataclass(frozen=True)
class TaskRow:
    reviewer_id: str
    resource_id: str
    assigned_at: datetime
    due_at: datetime | None
    done_at: datetime | None  # when the verdict was given
    verdict: str | None  # "pass" / "reject" (also 通过 / 退回); None when none was given
    state: str | None = None  # domain.review.flow.TaskState value: open, done, declined, overdue, cancelled


@dataclass(frozen=True)
class FeedbackRow:
    resource_id: str
    at: datetime | None = None  # when the platform reported it (None: no date, never in a period)
    rating: int | None = None  # 1..5
    like: bool | None = None  # like (True) / dislike (False)
    clicks: int = 0
    downloads: int = 0

    @property
    def vote(self) -> bool | None:
        """True positive, False not, None no rating in this row (a rating wins over a like)."""
        if self.rating is not None:
            return self.rating >= POSITIVE_RATING
        return self.like


@dataclass(frozen=True)
class ReviewerStats:
    reviewer_id: str
    assigned: int = 0
    done: int = 0
    passed: int = 0
    rejected: int = 0
    declined: int = 0
    on_time: int = 0
    late: int = 0  # finished late, timed out or open past due
    rated: int = 0  # ratings of resources passed in the period
    positive: int = 0

    @property
    def judged(self) -> int:
        return self.on_time + self.late

    @property
    def on_time_rate(self) -> float | None:
        return self.on_time / self.judged if self.judged else None

    @property
    def good_rate(self) -> float | None:
        return self.positive / self.rated if self.rated else None

    def to_review_stats(self) -> ReviewStats:
        """domain.evaluation.ReviewStats: ``completed`` is the tasks judged for punctuality (a task that
        timed out counts as completed late), so its on_time_rate is this one's."""
        return ReviewStats(
            assigned=self.assigned,
            completed=self.judged,
            on_time=self.on_time,
            reviewed=self.passed + self.rejected,
            rated=self.rated,
            good=self.positive,
        )


def verdict_of(task: TaskRow) -> str | None:
    return _VERDICTS.get(str(task.verdict).strip().lower()) if task.verdict is not None else None


def _judged_at(t: TaskRow) -> tuple[datetime | None, bool]:
    """When the task's punctuality is decided, and whether it was on time."""
    finished = t.done_at is not None and verdict_of(t) is not None
    if finished and (t.due_at is None or t.done_at <= t.due_at):  # type: ignore[operator]
        return t.done_at, True
    return t.due_at, False


def reviewer_stats(
    tasks: Iterable[TaskRow], feedback: Iterable[FeedbackRow], period: Period, as_of: datetime, tz: ZoneInfo = LOCAL
) -> dict[str, ReviewerStats]:
    """Figures per reviewer id (every reviewer with a task row appears)."""
    if as_of.tzinfo is None:
        raise ValueError("aware datetimes only")
    counts: dict[str, dict[str, int]] = {}
    passed_by: dict[str, set[str]] = {}
    for t in tasks:
        c = counts.setdefault(
            t.reviewer_id, dict.fromkeys(("assigned", "done", "passed", "rejected", "declined", "on_time", "late"), 0)
        )
        if period.contains(t.assigned_at, tz):
            c["assigned"] += 1
            if t.state == "declined":
                c["declined"] += 1
        v = verdict_of(t)
        if v is not None and t.done_at is not None and t.done_at <= as_of and period.contains(t.done_at, tz):
            c["done"] += 1
            c["passed" if v == PASS else "rejected"] += 1
            if v == PASS:
                passed_by.setdefault(t.reviewer_id, set()).add(t.resource_id)
        if t.state in _NOT_JUDGED:
            continue
        at, on_time = _judged_at(t)
        if at is not None and at <= as_of and period.contains(at, tz):
            c["on_time" if on_time else "late"] += 1
    votes = _votes(feedback, as_of)
    out = {}
    for rid, c in counts.items():
        rated = positive = 0
        for res in passed_by.get(rid, ()):
            good, total = votes.get(res, (0, 0))
            positive += good
            rated += total
        out[rid] = ReviewerStats(rid, rated=rated, positive=positive, **c)
    return out


def _votes(feedback: Iterable[FeedbackRow], as_of: datetime) -> dict[str, tuple[int, int]]:
    votes: dict[str, tuple[int, int]] = {}
    for f in feedback:
        v = f.vote
        if v is None or (f.at is not None and f.at > as_of):
            continue
        good, total = votes.get(f.resource_id, (0, 0))
        votes[f.resource_id] = (good + int(v), total + 1)
    return votes


# ── ranking by use ──
@dataclass(frozen=True)
class ResourceRow:
    resource_id: str
    title: str
    stage: str
    subject: str
    city: str


@dataclass(frozen=True)
class RankedResource:
    rank: int  # 1, 1, 3 for ties
    resource: ResourceRow
    clicks: int
    downloads: int

    @property
    def uses(self) -> int:
        return self.clicks + self.downloads


def rank_by_use(
    resources: Sequence[ResourceRow],
    feedback: Iterable[FeedbackRow],
    period: Period | None,
    *,
    subject: str | None = None,
    city: str | None = None,
    limit: int | None = 10,
    synonyms: Mapping[str, str] | None = None,
    tz: ZoneInfo = LOCAL,
) -> list[RankedResource]:
    """Resources with any use in the period, by clicks + downloads (then downloads, then id)."""
    syn = synonyms if synonyms is not None else default_subject_synonyms()
    want = canonical_subject(subject, syn) if subject else None
    chosen = {
        r.resource_id: r
        for r in resources
        if (want is None or canonical_subject(r.subject, syn) == want)
        and (city is None or r.city.strip() == city.strip())
    }
    sums: dict[str, list[int]] = {}
    for f in feedback:
        if f.resource_id not in chosen or (period is not None and not period.contains(f.at, tz)):
            continue
        s = sums.setdefault(f.resource_id, [0, 0])
        s[0] += max(0, f.clicks)
        s[1] += max(0, f.downloads)
    ordered = sorted(
        ((rid, c, d) for rid, (c, d) in sums.items() if c + d > 0), key=lambda x: (-(x[1] + x[2]), -x[2], x[0])
    )
    out: list[RankedResource] = []
    for i, (rid, c, d) in enumerate(ordered):
        if limit is not None and i >= limit:
            break
        rank = out[-1].rank if out and out[-1].uses == c + d else i + 1
        out.append(RankedResource(rank, chosen[rid], c, d))
    return out
