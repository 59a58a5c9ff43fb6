"""Scores storage: teachers and rule sets, the bulk writer, the per-teacher state cache, ingestion,
queries. Repositories flush, never commit; bulk paths use the driver on the session's own transaction.

| module | what |
|---|---|
| ``values`` | Teacher, IngestReport, RankRow, CountyShare |
| ``teachers`` | TeacherRepository (list import, lookups, account links), RuleSetRepository |
| ``bulk`` | Bulk: staging by COPY / executemany, insert-what-is-new, set-based totals upserts |
| ``state`` | StateCache: each teacher's cap/streak state between batches (one process) |
| ``ingest`` | one batch: validate, store what is new, score it, totals; rebuild_totals |
| ``queries`` | /积分 events, totals, rankings, county shares |
| ``repository`` | ScoreRepository: the facade the handlers use |
"""

from __future__ import annotations

from .bulk import BUCKET
from .repository import ScoreRepository
from .state import StateCache
from .teachers import RuleSetRepository, TeacherRepository
from .values import CountyShare, IngestReport, RankRow, Teacher

WindowCache = StateCache  # the name handlers/scores/service.py knows it by

__all__ = [
    "BUCKET",
    "CountyShare",
    "IngestReport",
    "RankRow",
    "RuleSetRepository",
    "ScoreRepository",
    "StateCache",
    "Teacher",
    "TeacherRepository",
    "WindowCache",
]
