"""Reviewer statistics for /考核 (the evaluation's ReviewStatsProvider) and the platform feedback
feed: ``POST /api/v1/resources/feedback`` and ``python3 run_bot.py reviews feedback FILE``
(resource external id, rating 1-5 or like/dislike, clicks, downloads)."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from aiohttp import web

from domain.evaluation import ReviewStats
from domain.review.flow import PASS, TaskState
from handlers.scores.commands import json_error, parse_body, read_api_body
from storage.db import Database
from storage.repositories.review import ReviewRepository

LIKE = {"like": True, "赞": True, "好评": True, "up": True, "dislike": False, "踩": False, "差评": False,
        "down": False}


def positive_of(feedback: list[Any]) -> bool | None:
    """A resource's rating: positive when most of its feedback is (likes, or ratings of 4 and 5)."""
    raw = [f.positive if f.positive is not None else (f.rating >= 4 if f.rating is not None else None)
           for f in feedback]
    votes = [bool(v) for v in raw if v is not None]
    if not votes:
        return None
    return sum(votes) * 2 > len(votes)


class DbReviewStats:
    """Reads in a unit of work of its own: /考核 calls it while its own holds a connection. SQLite's
    pool has one connection, so there it reads through a second engine on the same file."""

    def __init__(self, db: Database):
        self.db = db
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
            tasks = [t for t in await repo.tasks_of_reviewer(member_id)
                     if start <= t.assigned_at.date() <= end]
            if not tasks:
                return None
            done = [t for t in tasks if t.state == TaskState.DONE.value]
            overdue = [t for t in tasks if t.state == TaskState.OVERDUE.value]
            on_time = [t for t in done if t.done_at is not None and t.done_at.date() <= t.due_on]
            passed = {t.resource_id for t in done if t.verdict == PASS}
            by_res: dict[int, list[Any]] = {}
            for f in await repo.feedback(passed) if passed else []:
                by_res.setdefault(f.resource_id, []).append(f)
            rated = [positive_of(v) for v in by_res.values()]
            rated = [r for r in rated if r is not None]
            return ReviewStats(assigned=len(tasks), completed=len(done) + len(overdue), on_time=len(on_time),
                               reviewed=len(done), rated=len(rated), good=sum(1 for r in rated if r))

    async def dispose(self) -> None:
        if self._own is not None:
            await self._own.dispose()


@dataclass
class FeedbackReport:
    received: int = 0
    accepted: int = 0
    rejected: list[tuple[int, str]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"received": self.received, "accepted": self.accepted, "duplicates": 0,
                "rejected_count": len(self.rejected),
                "rejected": [{"index": i, "reason": r} for i, r in self.rejected[:1000]]}


def _int(v: Any) -> int | None:
    try:
        n = int(str(v if v not in (None, "") else 0).strip())
    except ValueError:
        return None
    return n if n >= 0 else None


async def ingest_feedback(uow, items: list[Any], now: datetime, rows: list[int] | None = None) -> FeedbackReport:
    repo = uow.repo(ReviewRepository)
    report = FeedbackReport(received=len(items))
    known = await repo.by_external(str(i.get("resource_id") or i.get("资源编号") or i.get("external_id") or "")
                                   for i in items if isinstance(i, dict))
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
        repo.add_feedback(resource_id=r.id, at=now, rating=rating, positive=positive, clicks=clicks,
                          downloads=downloads)
        report.accepted += 1
    await repo.flush()
    return report


async def feedback_api(request: web.Request) -> web.Response:
    from bot.http import get_bot
    bot = get_bot(request)
    body = await read_api_body(request, bot.settings.activity_api_token, bot.settings.activity_max_bytes)
    if isinstance(body, web.Response):
        return body
    try:
        items, bad_lines = parse_body(body)
    except ValueError as exc:
        return json_error(400, str(exc))
    bad_idx = {i for i, _r in bad_lines}
    async with bot.db.unit_of_work() as uow:
        report = await ingest_feedback(uow, [{} if i in bad_idx else it for i, it in enumerate(items)],
                                       bot.clock.now())
    report.rejected = sorted([r for r in report.rejected if r[0] not in bad_idx] + bad_lines)
    return web.json_response(report.as_dict(), dumps=lambda o: json.dumps(o, ensure_ascii=False))
