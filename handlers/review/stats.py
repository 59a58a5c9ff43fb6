"""Reviewer statistics for /考核 (the evaluation's ReviewStatsProvider) and the platform feedback
feed: ``POST /api/v1/resources/feedback`` and ``python3 run_bot.py reviews feedback FILE``
(resource external id, rating 1-5 or like/dislike, clicks, downloads)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web

from bot.clock import Clock
from bot.http import api_items, json_ok, with_bad_lines
from domain.evaluation import ReviewStats
from domain.review.flow import PASS, TaskState
from domain.review.stats import LOCAL, FeedbackRow, Period, TaskRow, reviewer_stats
from storage.db import Database
from storage.models.review import ReviewFeedback, ReviewTask
from storage.repositories.review import ReviewRepository

LIKE = {"like": True, "赞": True, "好评": True, "up": True, "dislike": False, "踩": False, "差评": False, "down": False}
END_OF_DAY = time(23, 59, 59)


def task_row(t: ReviewTask, tz: tzinfo) -> TaskRow:
    """A stored task as domain/review/stats.py reads it (due at the end of its due day)."""
    return TaskRow(
        reviewer_id=t.reviewer_id,
        resource_id=str(t.resource_id),
        assigned_at=t.assigned_at,
        due_at=datetime.combine(t.due_on, END_OF_DAY, tz),
        done_at=t.done_at,
        verdict=t.verdict if t.state == TaskState.DONE.value else None,
        state=t.state,
    )


def feedback_row(f: ReviewFeedback) -> FeedbackRow:
    return FeedbackRow(
        resource_id=str(f.resource_id),
        at=f.at,
        rating=round(f.rating) if f.rating is not None else None,
        like=f.positive,
        clicks=f.clicks,
        downloads=f.downloads,
    )


class DbReviewStats:
    """Reads in a unit of work of its own: /考核 calls it while its own holds a connection. SQLite's
    pool has one connection, so there it reads through a second engine on the same file."""

    def __init__(self, db: Database, clock: Clock):
        self.db = db
        self.clock = clock
        self._own: Database | None = None

    def _database(self) -> Database:
        if self.db.dialect != "sqlite":
            return self.db
        if self._own is None:
            self._own = Database(self.db.url)
        return self._own

    async def review_stats(self, member_id: str, start: date, end: date) -> ReviewStats | None:
        async with self._database().unit_of_work() as uow:
            repo = uow.repo(ReviewRepository)
            tasks = await repo.tasks_of_reviewer(member_id)
            if not tasks:
                return None
            feedback = await repo.feedback({t.resource_id for t in tasks if t.verdict == PASS})
        period = Period(start, end)
        tz = self.clock.tz if isinstance(self.clock.tz, ZoneInfo) else LOCAL
        as_of = min(self.clock.now(), datetime.combine(end, END_OF_DAY, tz))
        rows = reviewer_stats(
            [task_row(t, tz) for t in tasks], [feedback_row(f) for f in feedback], period, as_of=as_of, tz=tz
        )
        mine = rows.get(member_id)
        return mine.to_review_stats() if mine is not None and mine.assigned + mine.judged else None

    async def dispose(self) -> None:
        if self._own is not None:
            await self._own.dispose()


@dataclass
class FeedbackReport:
    received: int = 0
    accepted: int = 0
    rejected: list[tuple[int, str]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "received": self.received,
            "accepted": self.accepted,
            "duplicates": 0,
            "rejected_count": len(self.rejected),
            "rejected": [{"index": i, "reason": r} for i, r in self.rejected[:1000]],
        }


def _int(v: Any) -> int | None:
    try:
        n = int(str(v if v not in (None, "") else 0).strip())
    except ValueError:
        return None
    return n if n >= 0 else None


async def ingest_feedback(uow, items: list[Any], now: datetime, rows: list[int] | None = None) -> FeedbackReport:
    repo = uow.repo(ReviewRepository)
    report = FeedbackReport(received=len(items))
    known = await repo.by_external(
        str(i.get("resource_id") or i.get("资源编号") or i.get("external_id") or "")
        for i in items
        if isinstance(i, dict)
    )
    for i, raw in enumerate(items):
        n = rows[i] if rows else i + 1
        if not isinstance(raw, dict):
            report.rejected.append((i, f"第 {n} 项应是一个对象"))
            continue
        rid = str(raw.get("resource_id") or raw.get("资源编号") or raw.get("external_id") or "").strip()
        r = known.get(rid)
        if r is None:
            report.rejected.append((i, f"第 {n} 行「资源编号」“{rid}”不存在：请用提交时的外部编号"))
            continue
        rating_raw = raw.get("rating", raw.get("评分"))
        like_raw = raw.get("like", raw.get("评价"))
        rating: float | None = None
        positive: bool | None = None
        if rating_raw not in (None, ""):
            try:
                rating = float(rating_raw)
            except ValueError:
                rating = -1
            if not 0 <= rating <= 5:
                report.rejected.append((i, f"第 {n} 行「评分」“{rating_raw}”：应为 0 到 5 的数"))
                continue
        if like_raw not in (None, ""):
            positive = LIKE.get(str(like_raw).strip().lower())
            if positive is None:
                report.rejected.append((i, f"第 {n} 行「评价」“{like_raw}”：应为 like 或 dislike（赞 或 踩）"))
                continue
        clicks, downloads = _int(raw.get("clicks", raw.get("点击"))), _int(raw.get("downloads", raw.get("下载")))
        if clicks is None or downloads is None:
            report.rejected.append((i, f"第 {n} 行「点击/下载」：应为不小于 0 的整数"))
            continue
        repo.add_feedback(
            resource_id=r.id, at=now, rating=rating, positive=positive, clicks=clicks, downloads=downloads
        )
        report.accepted += 1
    await repo.flush()
    return report


async def feedback_api(request: web.Request) -> web.Response:
    got = await api_items(request)
    if isinstance(got, web.Response):
        return got
    bot, items, bad_lines = got
    async with bot.db.unit_of_work() as uow:
        report = await ingest_feedback(uow, items, bot.clock.now())
    report.rejected = with_bad_lines(report.rejected, bad_lines)
    return json_ok(report.as_dict())
