"""The per-county points counts behind /排行's county shares stay equal to a count over the totals:
after out-of-order batches, a rebuild and a teacher moving county."""

from __future__ import annotations

import random
from datetime import date

from sqlalchemy import text

from domain.scores.activity import TeacherRow
from handlers.scores.service import ScoresRuntime, ingest
from storage.repositories.scores import ScoreRepository, TeacherRepository
from tests.scores.test_storage import NOW, TEACHERS, _setup, year_items

_COUNT = (
    "SELECT s.year_start, t.city, t.county, s.y, count(*) FROM score_totals s "
    "JOIN score_teachers t ON t.id = s.teacher_id GROUP BY s.year_start, t.city, t.county, s.y"
)


async def _both(db) -> tuple[dict, dict]:
    async with db.unit_of_work() as uow:
        kept = {
            (str(ys), c, k, p): n
            for ys, c, k, p, n in (
                await uow.session.execute(
                    text("SELECT year_start, city, county, points, teachers FROM score_county_points")
                )
            ).all()
            if n
        }
        counted = {(str(ys), c, k, p): n for ys, c, k, p, n in (await uow.session.execute(text(_COUNT))).all()}
    return kept, counted


async def test_county_points_follow_every_change(db) -> None:
    await _setup(db)
    runtime = ScoresRuntime()
    items = year_items(53, 700)
    random.Random(4).shuffle(items)
    for i in range(0, len(items), 90):
        await ingest(db, runtime, items[i : i + 90], NOW)
    kept, counted = await _both(db)
    assert kept and kept == counted
    async with db.unit_of_work() as uow:
        shares = await uow.repo(ScoreRepository).county_shares(date(2026, 1, 1), 30)
    want: dict[tuple[str, str], int] = {}
    for (ys, city, county, points), n in counted.items():
        if ys == "2026-01-01" and points >= 30:
            want[(city, county)] = want.get((city, county), 0) + n
    assert {(s.city, s.county): s.qualified for s in shares if s.qualified} == want
    assert sum(s.total for s in shares) == len(TEACHERS)
    t = TEACHERS[0]
    async with db.unit_of_work() as uow:  # T00 moves from 西湖区 to 鄞州区
        await uow.repo(TeacherRepository).upsert([TeacherRow(t.account, t.name, t.school, "鄞州区", "宁波市")], NOW)
    kept, counted = await _both(db)
    assert kept == counted and any(k[2] == "鄞州区" for k in kept)
    async with db.unit_of_work() as uow:
        await uow.repo(ScoreRepository).rebuild_totals(runtime.engine, rows_per_pass=200)
    kept, counted = await _both(db)
    assert kept == counted
    async with db.unit_of_work() as uow:
        everyone = await uow.repo(ScoreRepository).county_shares(date(2026, 1, 1), 0)
    assert all(s.qualified == s.total for s in everyone)
