"""Scores glue shared by the chat commands, the HTTP API, the CLI and the benchmark.

- ``ScoresRuntime``: the active rule set (from ``score_rulesets`` or the default table), its compiled
  engine and an account → teacher id cache, held once per process in ``services.extras``.
- ``ingest(db, runtime, items, now)``: one transaction per batch, returns an IngestReport.
- ``score_summary(...)`` / ``ranking(...)``: what /积分 and /排行 show.
"""

from __future__ import annotations

import asyncio
import gc
import time
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from bot.context import ServiceKey, Services
from domain.scores import Engine, Period, RuleSet, ScoreSummary, default_rules
from storage.db import Database, UnitOfWork
from storage.repositories.scores import (
    CountyShare,
    IngestReport,
    RankRow,
    RuleSetRepository,
    ScoreRepository,
    Teacher,
    WindowCache,
)

KIND_CODES = {"week": "w", "month": "m", "year": "y"}
INGEST_BATCH = 100_000


class ScoresRuntime:
    """Per process: the active rule set and its engine (reloaded when another one is activated)."""

    def __init__(self) -> None:
        self.version = -1
        self.engine = Engine(default_rules())
        self.teacher_ids: dict[str, int] = {}
        self.windows = WindowCache()
        self._lock = asyncio.Lock()
        self.ingest_lock = asyncio.Lock()
        self._checked = -1e9

    @property
    def rules(self) -> RuleSet:
        return self.engine.rules

    async def refresh(self, uow: UnitOfWork, *, max_age: float = 5.0) -> Engine:
        """Make sure the engine matches the active rule set in the database (one small query,
        at most every ``max_age`` seconds; ingestion always checks)."""
        now = time.monotonic()
        if now - self._checked < max_age and self.version >= 0:
            return self.engine
        repo = uow.repo(RuleSetRepository)
        vid = await repo.active_id()
        self._checked = now
        if vid != self.version:
            async with self._lock:
                if vid != self.version:
                    _vid, rules = await repo.active()
                    self.engine = Engine(rules)
                    self.version = vid
                    self.windows.clear()
        return self.engine


SCORES_RUNTIME = ServiceKey[ScoresRuntime]("scores.runtime", lambda _services: ScoresRuntime())


def runtime_of(services: Services) -> ScoresRuntime:
    return services.use(SCORES_RUNTIME)


async def ingest(
    db: Database, runtime: ScoresRuntime, items: Sequence[Any], now: datetime, batch: int = INGEST_BATCH
) -> IngestReport:
    """Validate, store and score items, ``batch`` per transaction. Valid items are kept."""
    report = IngestReport()
    async with runtime.ingest_lock:  # one batch at a time per process (the cache is shared)
        for start in range(0, len(items), batch):
            # A batch allocates many short-lived objects that refcounting frees; the cyclic
            # collector would walk the whole window cache again and again (≈30% of the time).
            gc_was = gc.isenabled()
            gc.disable()
            try:
                async with db.unit_of_work() as uow:
                    engine = await runtime.refresh(uow, max_age=0)
                    part, after_commit = await uow.repo(ScoreRepository).ingest(
                        items[start : start + batch],
                        engine,
                        now,
                        teacher_cache=runtime.teacher_ids,
                        cache=runtime.windows,
                    )
                after_commit()
            except BaseException:
                runtime.windows.clear()
                raise
            finally:
                if gc_was:
                    gc.enable()
            report.merge(part, offset=start)
            await asyncio.sleep(0)  # let other tasks (chat messages) run between batches
    return report


async def score_summary(
    uow: UnitOfWork, runtime: ScoresRuntime, teacher: Teacher, period: Period, today: date
) -> ScoreSummary:
    engine = await runtime.refresh(uow)
    rows = await uow.repo(ScoreRepository).events_for(teacher.id, engine, period.start, period.end)
    return engine.evaluate(rows, deduped=True).summary(period, as_of=min(today, period.end))


async def ranking(
    uow: UnitOfWork, runtime: ScoresRuntime, period: Period, *, city: str | None, county: str | None, limit: int = 10
) -> list[RankRow]:
    await runtime.refresh(uow)
    kind = KIND_CODES.get(period.kind, "y")
    return await uow.repo(ScoreRepository).ranking(kind, period.start, city=city, county=county, limit=limit)


async def county_shares(
    uow: UnitOfWork,
    runtime: ScoresRuntime,
    year_start: date,
    min_points: int,
    *,
    city: str | None,
    county: str | None = None,
) -> list[CountyShare]:
    await runtime.refresh(uow)
    return await uow.repo(ScoreRepository).county_shares(year_start, min_points, city=city, county=county)
