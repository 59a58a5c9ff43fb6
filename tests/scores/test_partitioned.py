"""Ingestion and the /积分 query run unchanged on PostgreSQL with score_events partitioned by scoring year
(docs/scaling.md): the same code, the same answers as on the plain table."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from sqlalchemy import text

from domain.scores import period_of
from handlers.scores.service import ScoresRuntime, ingest, score_summary
from storage.repositories.scores import BUCKET, ScoreRepository, TeacherRepository
from tests.scores.test_storage import NOW, TEACHERS, year_items
from tests.scores.util import SH

_COLUMNS = (
    "bucket integer NOT NULL, teacher_id integer NOT NULL, event_key varchar(160) NOT NULL, "
    "action varchar(48) NOT NULL, at_epoch bigint NOT NULL, detail text"
)


def _bucket(year: int) -> int:
    """The storage bucket (UTC week) in which scoring year ``year`` starts: partitions bound there."""
    return int(datetime(year, 1, 1, tzinfo=SH).timestamp()) // BUCKET


@pytest.fixture
async def partitioned_db(pg_url: str):
    from storage.db import Database

    db = Database(pg_url)
    try:
        async with db.unit_of_work() as uow:
            s = uow.session
            await s.execute(text("DROP TABLE score_events"))
            await s.execute(
                text(
                    f"CREATE TABLE score_events ({_COLUMNS}, CONSTRAINT pk_score_events "
                    "PRIMARY KEY (bucket, teacher_id, event_key)) PARTITION BY RANGE (bucket)"
                )
            )
            for year in (2025, 2026, 2027):
                await s.execute(
                    text(
                        f"CREATE TABLE score_events_{year} PARTITION OF score_events "
                        f"FOR VALUES FROM ({_bucket(year)}) TO ({_bucket(year + 1)})"
                    )
                )
            await s.execute(text("CREATE TABLE score_events_other PARTITION OF score_events DEFAULT"))
        yield db
    finally:
        await db.dispose()


async def test_ingest_and_score_query_on_a_partitioned_events_table(partitioned_db) -> None:
    db = partitioned_db
    async with db.unit_of_work() as uow:
        await uow.repo(TeacherRepository).upsert(TEACHERS, NOW)
    runtime = ScoresRuntime()
    items = year_items(31, 700)
    shuffled = items[::2] + items[1::2][::-1]  # partly out of order
    for i in range(0, len(shuffled), 120):
        rep = await ingest(db, runtime, shuffled[i : i + 120] + shuffled[max(0, i - 10) : i], NOW)  # with repeats
        assert not rep.rejected, rep.rejected
    async with db.unit_of_work() as uow:
        parts = dict(
            (
                await uow.session.execute(
                    text("SELECT tableoid::regclass::text, count(*) FROM score_events GROUP BY 1")
                )
            ).all()
        )
        repo = uow.repo(ScoreRepository)
        incremental = await repo.all_totals()
    assert sum(parts.values()) == len(items)
    assert parts.get("score_events_2026", 0) > 0 and parts.get("score_events_2025", 0) > 0
    async with db.unit_of_work() as uow:
        await uow.repo(ScoreRepository).rebuild_totals(runtime.engine)
        assert await uow.repo(ScoreRepository).all_totals() == incremental
    # /积分 reads the teacher's events across partitions: same as the engine over the whole delivery
    engine = runtime.engine
    period = period_of(engine.rules, "year", date(2026, 6, 1))
    for account in ("T00", "T03"):
        async with db.unit_of_work() as uow:
            teacher = await uow.repo(TeacherRepository).by_account(account)
            assert teacher is not None
            summary = await score_summary(uow, runtime, teacher, period, date(2026, 12, 31))
        mine = [it for it in items if it["account"] == account]
        from domain.scores.activity import parse_activity

        rows = [
            (a.epoch, a.key, a.action, a.detail)
            for a in (parse_activity(it, actions=engine.rules.actions, tz=SH, now=NOW) for it in mine)
        ]
        want = engine.evaluate(rows).summary(period, as_of=date(2026, 12, 31))
        assert summary.total == want.total > 0
        assert [ln.counted for ln in summary.lines] == [ln.counted for ln in want.lines]
        assert summary.total == incremental[(teacher.id, "y", date(2026, 1, 1))]
