"""Ingestion into SQLite and PostgreSQL: idempotent, order-independent, equal to a full recompute."""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta
from pathlib import Path

from domain.scores import Engine
from domain.scores.activity import TeacherRow
from handlers.scores.service import ScoresRuntime, ingest
from storage.repositories.scores import RuleSetRepository, ScoreRepository, TeacherRepository
from tests.scores.util import DEFAULT_TABLE, SH

NOW = datetime(2027, 1, 10, 12, tzinfo=SH)
DEFAULT_YAML = (Path(__file__).resolve().parents[2] / "domain/data/points_rules_default.yaml").read_text("utf-8")
TEACHERS = [
    TeacherRow(f"T{i:02d}", f"教师{i}", "第一小学", county, city)
    for i, (county, city) in enumerate(
        [
            ("西湖区", "杭州市"),
            ("西湖区", "杭州市"),
            ("萧山区", "杭州市"),
            ("鄞州区", "宁波市"),
            ("瑞安市", "温州市"),
            ("西湖区", "杭州市"),
        ]
    )
]


def year_items(seed: int, n: int = 900, *, with_ids: bool = True) -> list[dict]:
    """A random year (Dec 2025 – Jan 2027) across the default table, some without qualifying detail."""
    rnd = random.Random(seed)
    out = []
    for i in range(n):
        code = rnd.choice(list(DEFAULT_TABLE))
        _g, _n, action, _p, _c, _per, ok, bad = DEFAULT_TABLE[code]
        when = datetime(2025, 12, 20, tzinfo=SH) + timedelta(seconds=rnd.randrange(0, 385 * 86400))
        item = {"account": f"T{rnd.randrange(len(TEACHERS)):02d}", "action": action, "time": when.isoformat()}
        detail = ok if rnd.random() < 0.85 else bad
        if detail:
            item["detail"] = detail
        if with_ids and i % 3:
            item["event_id"] = f"ev-{seed}-{i}"
        out.append(item)
    return out


async def _setup(db):
    async with db.unit_of_work() as uow:
        assert await uow.repo(TeacherRepository).upsert(TEACHERS, NOW) == (len(TEACHERS), 0, 0)


async def _totals(db):
    async with db.unit_of_work() as uow:
        return await uow.repo(ScoreRepository).all_totals()


async def _rebuilt(db, engine):
    async with db.unit_of_work() as uow:
        await uow.repo(ScoreRepository).rebuild_totals(engine, rows_per_pass=300)
    return await _totals(db)


async def test_teachers_are_case_sensitive_and_upserted(db):
    await _setup(db)
    async with db.unit_of_work() as uow:
        repo = uow.repo(TeacherRepository)
        assert (await repo.by_account("T01")).name == "教师1"
        assert await repo.by_account("t01") is None
        changed = [
            TeacherRow("T01", "教师1", "第二小学", "西湖区", "杭州市"),
            TeacherRow("t01", "小写", "", "西湖区", "杭州市"),
        ]
        assert await repo.upsert(changed, NOW) == (1, 1, 0)
        assert [t.account for t in await repo.find("教师1")] == ["T01"]
        assert [t.name for t in await repo.find("t01")] == ["小写"]
        assert len(await repo.find("教师0", city="宁波市")) == 0


async def test_batches_duplicates_and_order_give_the_full_recompute(db):
    await _setup(db)
    runtime = ScoresRuntime()
    items = year_items(1)
    noisy = items + random.Random(2).sample(items, 200)  # redelivered
    random.Random(3).shuffle(noisy)  # out of order
    total_rep = None
    for i in range(0, len(noisy), 137):
        rep = await ingest(db, runtime, noisy[i : i + 137], NOW)
        assert not rep.rejected, rep.rejected
        if i == 548:
            runtime.windows.clear()  # e.g. another instance wrote meanwhile
        total_rep = (total_rep or 0) + rep.accepted
    assert total_rep == len(items)
    incremental = await _totals(db)
    assert incremental and incremental == await _rebuilt(db, runtime.engine)
    # the same year delivered in time order into a fresh state gives the same totals
    again = await ingest(db, ScoresRuntime(), sorted(items, key=lambda x: x["time"]), NOW)
    assert again.accepted == 0 and again.duplicates == len(items)
    assert await _totals(db) == incremental


async def test_in_order_equals_reverse_order(db, tmp_path):
    from storage.db import Database
    from storage.migrate import upgrade

    await _setup(db)
    items = year_items(7, 600)
    forward = sorted(items, key=lambda x: x["time"])
    for i in range(0, len(forward), 50):
        await ingest(db, ScoresRuntime(), forward[i : i + 50], NOW)
    other_url = f"sqlite+aiosqlite:///{tmp_path / 'other.sqlite3'}"
    await upgrade(other_url)
    other = Database(other_url)
    try:
        await _setup(other)
        runtime = ScoresRuntime()
        backward = forward[::-1]
        for i in range(0, len(backward), 50):
            await ingest(other, runtime, backward[i : i + 50], NOW)
        assert await _totals(other) == await _totals(db)
    finally:
        await other.dispose()


async def test_rejections_are_reported_and_valid_items_kept(db):
    await _setup(db)
    runtime = ScoresRuntime()
    items = [
        {"account": "T00", "action": "resource_share", "time": "2026-03-02T09:00:00+08:00", "event_id": "a"},
        {"account": "T00", "action": "resource_share", "time": "2026-03-02T10:00:00+08:00", "event_id": "a"},
        {"account": "NOBODY", "action": "login", "time": "2026-03-02T09:00:00+08:00"},
        {"account": "T00", "action": "dance", "time": "2026-03-02T09:00:00+08:00"},
        {"account": "T00", "action": "login", "time": "2030-03-02T09:00:00+08:00"},
        {"account": "T00", "action": "login", "time": "2026-03-02T09:00:00+08:00"},
        {"account": "T00", "action": "login", "time": "2026-03-02T09:00:00+08:00"},
    ]
    rep = await ingest(db, runtime, items, NOW)
    assert (rep.received, rep.accepted, rep.duplicates) == (7, 2, 1)
    reasons = dict(rep.rejected)
    assert set(reasons) == {1, 2, 3, 4}
    assert "内容不同" in reasons[1] and "不在教师名单" in reasons[2] and "dance" in reasons[3]
    assert "晚于当前时间" in reasons[4]
    # later: the same id with other content is refused, the identical one is a duplicate
    rep = await ingest(db, runtime, [dict(items[0], detail={"x": 1})], NOW)
    assert rep.accepted == 0 and rep.duplicates == 0 and "以先收到的为准" in rep.rejected[0][1]
    rep = await ingest(db, runtime, [items[0]], NOW)
    assert rep.accepted == 0 and rep.duplicates == 1 and not rep.rejected
    totals = await _totals(db)
    tid = 1
    assert totals[(tid, "w", date(2026, 3, 2))] == 2  # one upload + one login


async def test_rule_file_change_and_rebuild(db):
    await _setup(db)
    runtime = ScoresRuntime()
    items = [
        {"account": "T00", "action": "resource_share", "time": f"2026-03-0{d}T09:00:00+08:00"} for d in range(2, 9)
    ]
    await ingest(db, runtime, items, NOW)
    assert (await _totals(db))[(1, "y", date(2026, 1, 1))] == 5
    text = DEFAULT_YAML.replace(
        "    actions: [resource_share]\n    points: 1\n    caps:\n      - {count: 5, per: week}",
        "    actions: [resource_share]\n    points: 3\n    caps:\n      - {count: 6, per: week}",
    )
    async with db.unit_of_work() as uow:
        _id, rules = await uow.repo(RuleSetRepository).load(text, "henan-2026.yaml", "cli", NOW)
        await uow.repo(ScoreRepository).rebuild_totals(Engine(rules))
    assert (await _totals(db))[(1, "y", date(2026, 1, 1))] == 18
    # the runtime notices the new active rule set and keeps ingesting with it
    await ingest(
        db, runtime, [{"account": "T00", "action": "resource_share", "time": "2026-03-10T09:00:00+08:00"}], NOW
    )
    assert runtime.rules.rule("resource_upload").points == 3
    assert (await _totals(db))[(1, "y", date(2026, 1, 1))] == 21
    async with db.unit_of_work() as uow:
        await uow.repo(RuleSetRepository).reset_default()
        assert (await uow.repo(RuleSetRepository).active())[0] == 0


async def test_rankings_and_county_shares(db):
    await _setup(db)
    runtime = ScoresRuntime()
    items = []
    for i, n in ((0, 12), (1, 12), (2, 3), (3, 12), (5, 0)):  # class setup (50) + weekly articles (5 each)
        items.append(
            {
                "account": f"T{i:02d}",
                "action": "class_create",
                "time": "2026-02-01T09:00:00+08:00",
                "detail": {"students": 30},
            }
        )
        items += [
            {
                "account": f"T{i:02d}",
                "action": "article_publish",
                "time": (datetime(2026, 3, 2, 9, tzinfo=SH) + timedelta(weeks=w)).isoformat(),
            }
            for w in range(n)
        ]
    await ingest(db, runtime, items, NOW)
    async with db.unit_of_work() as uow:
        repo = uow.repo(ScoreRepository)
        top = await repo.ranking("y", date(2026, 1, 1), limit=3)
        assert [(r.rank, r.account, r.points) for r in top] == [(1, "T00", 110), (1, "T01", 110), (1, "T03", 110)]
        hz = await repo.ranking("y", date(2026, 1, 1), city="杭州市", limit=10)
        assert [r.account for r in hz] == ["T00", "T01", "T02", "T05"] and hz[2].rank == 3
        shares = await repo.county_shares(date(2026, 1, 1), 60, city="杭州市")
        assert [(s.county, s.qualified, s.total) for s in shares] == [("萧山区", 1, 1), ("西湖区", 2, 3)]
        allp = await repo.county_shares(date(2026, 1, 1), 60)
        assert sum(s.total for s in allp) == 6 and sum(s.qualified for s in allp) == 4
        week = await repo.ranking("w", date(2026, 3, 2), limit=10)
        assert {r.points for r in week} == {5}


async def test_score_query_reads_only_the_needed_window(db):
    await _setup(db)
    runtime = ScoresRuntime()
    items = year_items(5, 400)
    await ingest(db, runtime, items, NOW)
    engine = runtime.engine
    from domain.scores import period_of

    async with db.unit_of_work() as uow:
        t = await uow.repo(TeacherRepository).by_account("T01")
        repo = uow.repo(ScoreRepository)
        all_rows = await repo.events_for(t.id, engine, date(2025, 1, 1), date(2027, 12, 31))
        for day in (date(2026, 1, 1), date(2026, 3, 4), date(2026, 12, 31)):
            for kind in ("week", "month", "year"):
                p = period_of(engine.rules, kind, day)
                rows = await repo.events_for(t.id, engine, p.start, p.end)
                assert len(rows) <= len(all_rows)
                want = engine.evaluate(all_rows, deduped=True).summary(p)
                got = engine.evaluate(rows, deduped=True).summary(p)
                assert (got.total, [ln.counted for ln in got.lines]) == (want.total, [ln.counted for ln in want.lines])


async def test_totals_written_in_chunks_and_weeks_across_the_year_boundary(db, monkeypatch):
    """Totals sent chunk by chunk while scoring goes on (PostgreSQL) equal a full recompute, and a
    week straddling two scoring years ranks with the points of both years."""
    monkeypatch.setattr(ScoreRepository, "TOTALS_CHUNK", 2)
    await _setup(db)
    runtime = ScoresRuntime()
    items = sorted(year_items(11, 700), key=lambda x: x["time"])
    for i in range(0, len(items), 90):
        rep = await ingest(db, runtime, items[i : i + 90], NOW)
        assert not rep.rejected, rep.rejected
    incremental = await _totals(db)
    assert incremental == await _rebuilt(db, runtime.engine)
    # 2026-12-28 (Mon) .. 2027-01-03: one week, two scoring years
    monday = date(2026, 12, 28)
    want: dict[str, int] = {}
    async with db.unit_of_work() as uow:
        ids = await uow.repo(TeacherRepository).ids_for([t.account for t in TEACHERS])
        acc_of = {v: k for k, v in ids.items()}
        for (tid, kind, start), pts in incremental.items():
            if kind == "w" and start == monday:
                want[acc_of[tid]] = pts
        week = await uow.repo(ScoreRepository).ranking("w", monday, limit=10)
        month = await uow.repo(ScoreRepository).ranking("m", date(2026, 12, 1), limit=10)
    assert want and {r.account: r.points for r in week} == want
    from domain.scores import period_of

    period = period_of(runtime.rules, "week", monday)
    async with db.unit_of_work() as uow:
        repo = uow.repo(ScoreRepository)
        truth = {}
        for t in TEACHERS:
            rows = await repo.events_for(ids[t.account], runtime.engine, period.start, period.end)
            pts = runtime.engine.evaluate(rows, deduped=True).summary(period).total
            if pts:
                truth[t.account] = pts
    assert truth == want
    assert {r.account: r.points for r in month} == {
        acc_of[t]: p for (t, k, s), p in incremental.items() if k == "m" and s == date(2026, 12, 1)
    }
    # the week's points come from both scoring years' rows
    assert any(k == "y" and s == date(2027, 1, 1) for (_t, k, s) in incremental)


async def test_chunked_writes_with_duplicates_inside_and_across_batches(db, monkeypatch):
    """Totals written in small chunks: duplicates inside a batch and across batches are stored once,
    keys and details (quotes, backslashes, non-ASCII) come back exactly, and the totals equal a full
    recompute."""
    from sqlalchemy import text

    monkeypatch.setattr(ScoreRepository, "TOTALS_CHUNK", 2)
    await _setup(db)
    runtime = ScoresRuntime()
    items = year_items(21, 500)
    odd = {
        "account": "T03",
        "action": "class_teaching",
        "time": "2026-05-06T10:00:00+08:00",
        "event_id": "ev \"引号\" \\ 'x' 语文",
        "detail": {"minutes": 40},
    }
    items.append(odd)
    rep = await ingest(db, runtime, items[:300] + items[:40] + [odd, odd], NOW)  # repeats inside the batch
    assert not rep.rejected, rep.rejected
    assert (rep.accepted, rep.duplicates) == (301, 41)
    rep = await ingest(db, runtime, items[250:] + items[260:270], NOW)  # across and inside
    assert not rep.rejected, rep.rejected
    assert (rep.accepted, rep.duplicates) == (200, 61)
    async with db.unit_of_work() as uow:
        n = (await uow.session.execute(text("SELECT count(*) FROM score_events"))).scalar()
        row = (
            await uow.session.execute(
                text("SELECT event_key, action, detail, bucket, at_epoch FROM score_events WHERE event_key = :k"),
                {"k": "id:" + odd["event_id"]},
            )
        ).one()
    assert n == 501
    epoch = int(datetime.fromisoformat(odd["time"]).timestamp())
    assert tuple(row) == ("id:" + odd["event_id"], "class_teaching", '{"minutes": 40}', epoch // 604800, epoch)
    incremental = await _totals(db)
    assert incremental and incremental == await _rebuilt(db, runtime.engine)
    # the same year again, in time order, into a fresh process state: nothing new
    rep = await ingest(db, ScoresRuntime(), sorted(items, key=lambda x: x["time"]), NOW)
    assert (rep.accepted, rep.duplicates) == (0, 501)
    assert await _totals(db) == incremental


def test_detail_json_is_the_encoders_text() -> None:
    """The stored detail text (compared with what is stored when an id: key comes again) is exactly
    json.dumps(sort_keys, ensure_ascii=False), the direct form for one integer field included."""
    import json

    from storage.repositories.scores.ingest import detail_json

    rnd = random.Random(11)
    values = [0, -3, 7, 10**12, True, False, 1.5, -0.25, "文字", 'a"b', None]
    names = ["minutes", "x", "_a1", "participants", "Ab_9", "名字", "a-b", "1x"]
    for _ in range(2000):
        d = {rnd.choice(names): rnd.choice(values) for _ in range(rnd.choice((1, 1, 1, 2, 3)))}
        assert detail_json(d) == json.dumps(d, sort_keys=True, ensure_ascii=False)
    assert detail_json({"minutes": 20}) == '{"minutes": 20}'
    assert detail_json(None) is None and detail_json("") is None and detail_json('{"a": 1}') == '{"a": 1}'
