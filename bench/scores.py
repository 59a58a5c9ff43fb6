#!/usr/bin/env python3
"""Scores benchmark: a synthetic year of platform activity, on SQLite and/or PostgreSQL.

Seeded and sized by arguments (default: 100,000 teachers, ~100 events each = 10 million events).
Per database, each run (``--runs``, default 3; the median of the runs is reported):

  1. ingestion: the year is delivered in chronological batches of JSON-like items (as the HTTP API
     and the CLI import receive them) through the real path — validation, account lookup,
     insert-what-is-new, scoring continued from each teacher's cached cap/streak state, set-based
     totals — reported in events/s NEXT TO the ceiling measured in the same run, batch by batch, in
     the same database with the same rows: PostgreSQL: COPY into an un-indexed table; SQLite: a plain
     bulk insert (executemany of one prepared INSERT) into an un-indexed table. Beside it, the storage
     bound: the same rows loaded the same way into ``bench_events``, a table of score_events' own
     definition (its primary key is the unique event key; no validation, no scoring, no totals) — no
     ingester that keeps the key can beat it; and the share of ingestion's time spent in validation
     and in the totals statements, with the teacher totals rows per event that drive the latter;
  2. /积分: p50/p99 latency over random teachers (teacher lookup by account, the teacher's events
     for the scoring year, the engine, the per-rule summary, rendering the reply), once the database
     has settled after the year's load (PostgreSQL: CHECKPOINT and ANALYZE, as the checkpointer and
     autovacuum would; SQLite: a WAL checkpoint), over teachers not read before; the figures right
     after the load are printed too;
  3. /排行: one city and the province (top 10 of the year + per-county share of teachers >= 60 points);
  4. peak resident memory of the process and the size of the ingestion state cache.

Targets (issue 12): ingestion >= 40% of the ceiling; /积分 p99 <= 5 ms; province ranking < 100 ms.

  python3 bench/scores.py --teachers 100000 --per-teacher 100 --db sqlite postgres
  python3 bench/scores.py --teachers 20000 --per-teacher 50 --db sqlite            # 1 M events
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import random
import resource
import shutil
import sys
import tempfile
import time
import uuid
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.scores_report import report  # noqa: E402  (after the path)

SH = ZoneInfo("Asia/Shanghai")
PG_URL = os.environ.get("TEST_PG_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")

# relative frequency of actions, and the detail each carries (mostly qualifying)
ACTIONS = [
    ("login", 40, None),
    ("resource_share", 8, None),
    ("photo_post", 6, None),
    ("article_publish", 2, None),
    ("result_share", 4, None),
    ("class_teaching", 8, "minutes"),
    ("assignment", 5, "completions_30d"),
    ("marking", 5, "marked"),
    ("textbook_resource_collect", 3, "downloads"),
    ("courseware_upload", 2, None),
    ("class_notice", 4, "participants"),
    ("class_activity", 2, "participants"),
    ("habit_checkin", 4, None),
    ("research_join", 2, None),
    ("office_workflow", 5, None),
]
THRESHOLD = {"minutes": 15, "completions_30d": 10, "marked": 10, "downloads": 5, "participants": 10}


def rss_peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def pct(values: list[float], p: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, round(p / 100 * (len(s) - 1)))] if s else float("nan")


def make_teachers(n: int, seed: int):
    from domain.regions import load_default_regions
    from domain.scores.activity import TeacherRow

    tree = load_default_regions()
    counties = [(c.city, c.name) for c in tree.all_counties()]
    rnd = random.Random(seed)
    surnames = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
    given = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华建国晓燕"
    out = []
    for i in range(n):
        city, county = counties[rnd.randrange(len(counties))]
        name = rnd.choice(surnames) + rnd.choice(given) + (rnd.choice(given) if rnd.random() < 0.6 else "")
        out.append(TeacherRow(f"T{i:06d}", name, f"{county}第{rnd.randrange(1, 30)}小学", county, city))
    return out


def year_batches(n_teachers: int, per_teacher: int, year: int, seed: int, batch: int):
    """Chronological batches of API-style items covering one year (deterministic)."""
    rnd = random.Random(seed)
    weights = [rnd.paretovariate(2.0) for _ in range(n_teachers)]  # some teachers far more active
    cum, acc = [], 0.0
    for w in weights:
        acc += w
        cum.append(acc)
    names = [a for a, _w, _d in ACTIONS]
    act_cum, acc = [], 0
    for _a, w, _d in ACTIONS:
        acc += w
        act_cum.append(acc)
    detail_of = {a: d for a, _w, d in ACTIONS}
    days = (date(year + 1, 1, 1) - date(year, 1, 1)).days
    total = n_teachers * per_teacher
    start = datetime(year, 1, 1, tzinfo=SH)
    seq = 0
    buf: list[dict] = []
    teachers = range(n_teachers)
    for d in range(days):
        n = total // days + (1 if d < total % days else 0)
        who = rnd.choices(teachers, cum_weights=cum, k=n)
        what = rnd.choices(names, cum_weights=act_cum, k=n)
        secs = sorted(rnd.randrange(6 * 3600, 23 * 3600) for _ in range(n))
        base = start + timedelta(days=d)
        for t, a, s in zip(who, what, secs, strict=True):
            seq += 1
            item = {
                "account": f"T{t:06d}",
                "action": a,
                "time": (base + timedelta(seconds=s)).isoformat(),
                "event_id": f"E{seq:09d}",
            }
            field = detail_of[a]
            if field:
                th = THRESHOLD[field]
                item["detail"] = {field: th + rnd.randrange(-2, 20)}
            buf.append(item)
            if len(buf) >= batch:
                yield buf
                buf = []
    if buf:
        yield buf


async def _raw(uow):
    from sqlalchemy import text

    conn = await uow.session.connection()
    await conn.execute(text("SELECT 1"))
    return (await conn.get_raw_connection()).driver_connection


async def _load(raw, pg: bool, table: str, rows: list[tuple], columns: list[str], copy: bool = True) -> None:
    """Rows into ``table`` the fastest way the driver allows: COPY on PostgreSQL (unless ``copy`` is
    false), a prepared INSERT executed for all rows (executemany) otherwise."""
    if pg and copy:
        await raw.copy_records_to_table(table, records=rows, columns=columns)
        return
    marks = ", ".join(f"${i}" if pg else "?" for i in range(1, len(columns) + 1))
    await raw.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", rows)


CEILING_COLUMNS = ["teacher_id", "event_key", "action", "at_epoch", "detail"]
LOG_COLUMNS = ["year_start", "teacher_id", "y", "month_slot", "month_points", "week_slot", "week_points"]


async def ceiling_insert(db, rows: list[tuple], method: str = "insert") -> float:
    """Bulk load of the same rows into an un-indexed table; returns seconds. ``copy``: PostgreSQL COPY
    (its ceiling); ``insert``: a prepared INSERT executed for all rows (executemany; SQLite's ceiling,
    PostgreSQL's for information)."""
    pg = db.dialect == "postgresql"
    t0 = time.perf_counter()
    async with db.unit_of_work() as uow:
        raw = await _raw(uow)
        if method == "copy":
            await _load(raw, pg, "bench_copy", rows, CEILING_COLUMNS)
        else:
            await _load(raw, pg, "bench_ceiling", rows, CEILING_COLUMNS, copy=False)
    return time.perf_counter() - t0


async def bound_insert(db, rows: list[tuple], teachers: int) -> tuple[float, float]:
    """The bounds, in one transaction, loaded the fastest way (COPY / executemany): the same rows into
    ``bench_events``, a copy of score_events' definition (its primary key is the unique event key,
    nothing else), what storing the events alone costs; then one totals row per teacher the batch
    scored (year, teacher, year/month/week points) into the un-indexed ``bench_totals_log``, the
    cheapest durable form of a batch's totals (a log still to be folded; no county histogram).
    Returns (seconds of the events with the commit, seconds of the totals log)."""
    from storage.repositories.scores.bulk import BUCKET, EVENT_COLUMNS

    rows = [(r[3] // BUCKET, *r) for r in rows]  # the bucket, outside the timing
    log = [(0, tid, 1, 0, 1, 0, 1) for tid in range(teachers)]
    pg = db.dialect == "postgresql"
    t0 = time.perf_counter()
    async with db.unit_of_work() as uow:
        raw = await _raw(uow)
        await _load(raw, pg, "bench_events", rows, list(EVENT_COLUMNS))
        t1 = time.perf_counter()
        await _load(raw, pg, "bench_totals_log", log, LOG_COLUMNS)
        t2 = time.perf_counter()
    return time.perf_counter() - t0 - (t2 - t1), t2 - t1


def read_items(items: list[dict]) -> float:
    """Seconds to read each item's fields and its time into a tuple, checking nothing: a plain read,
    what an ingester written in Python does with an item before it can store or score it (a cleverer
    time parse, memoised per day, could take part of it off)."""
    parse = datetime.fromisoformat
    t0 = time.perf_counter()
    rows = [(i["account"], i["action"], parse(i["time"]).timestamp(), i["event_id"], i.get("detail")) for i in items]
    seconds = time.perf_counter() - t0
    del rows
    return seconds


async def ingest_year(db, runtime, ids: dict[str, int], now: datetime, kind: str, args) -> dict:
    """The year through ingestion, batch by batch, each batch's ceiling measured just before it."""
    from sqlalchemy import text

    from domain.scores.activity import parse_activity
    from handlers.scores.service import ingest

    engine = runtime.engine
    ingest_s = ceiling_s = copy_s = bound_s = log_s = read_s = 0.0
    n_events = teacher_rows = 0
    stages: dict[str, float] = {}
    progress = time.perf_counter()
    for items in year_batches(args.teachers, args.per_teacher, args.year, args.seed, args.batch):
        # the ceiling gets exactly the rows ingestion stores (validated outside its timing)
        rows = []
        for it in items:
            a = parse_activity(it, actions=engine.rules.actions, tz=SH, now=now)
            rows.append(
                (
                    ids[a.account],
                    a.key,
                    a.action,
                    a.epoch,
                    json.dumps(a.detail, ensure_ascii=False, sort_keys=True) if a.detail else None,
                )
            )
        if kind == "postgres":
            ceiling_s += await ceiling_insert(db, rows, "copy")
            if args.pg_insert_info:
                copy_s += await ceiling_insert(db, rows)  # executemany, for information
        else:
            ceiling_s += await ceiling_insert(db, rows)
        read_s += read_items(items)
        t0 = time.perf_counter()
        rep = await ingest(db, runtime, items, now, batch=len(items))
        ingest_s += time.perf_counter() - t0
        events_s, totals_s = await bound_insert(db, rows, rep.teachers)
        bound_s, log_s = bound_s + events_s, log_s + totals_s
        del rows
        assert rep.accepted == len(items), rep.as_dict(5)
        n_events += len(items)
        teacher_rows += rep.teachers
        for stage, seconds in rep.seconds.items():
            stages[stage] = stages.get(stage, 0.0) + seconds
        if time.perf_counter() - progress > 30:
            progress = time.perf_counter()
            print(
                f"  [{kind}] {n_events:,} events: ingest {n_events / ingest_s:,.0f}/s, "
                f"ceiling {n_events / ceiling_s:,.0f}/s, rss peak {rss_peak_mb():.0f} MB",
                flush=True,
            )
    gc.collect()
    async with db.unit_of_work() as uow:  # what autovacuum / a maintenance job does after a bulk load
        await uow.session.execute(text("ANALYZE"))
    return {
        "events": n_events,
        "ingest_rate": n_events / ingest_s,
        "ceiling_rate": n_events / ceiling_s,
        "ingest_s": ingest_s,
        "ceiling_s": ceiling_s,
        "bound_rate": n_events / bound_s,
        "floor_log_rate": n_events / (bound_s + log_s),
        "floor_read_rate": n_events / (bound_s + log_s + read_s),
        "teachers_per_event": teacher_rows / n_events,
        **{f"stage_{k}": v / ingest_s for k, v in stages.items()},
        "insert_rate": n_events / copy_s if copy_s else None,
        "state_cache_mb": runtime.windows.nbytes() / 1e6,
        "state_cache_teachers": len(runtime.windows),
    }


async def score_latencies(db, runtime, args, seed: int) -> list[float]:
    """/积分 for ``args.queries`` random teachers (drawn with ``seed``): milliseconds each."""
    from bot.replies import Renderer
    from domain.scores import period_of
    from handlers.scores.commands import render_score_context
    from handlers.scores.service import score_summary
    from storage.repositories.scores import TeacherRepository

    renderer = Renderer()
    rnd = random.Random(seed)
    today = date(args.year, 12, 20)
    lat = []
    for _ in range(args.queries):
        account = f"T{rnd.randrange(args.teachers):06d}"
        t0 = time.perf_counter()
        async with db.unit_of_work() as uow:
            teacher = await uow.repo(TeacherRepository).by_account(account)
            period = period_of(runtime.rules, "year", today)
            summary = await score_summary(uow, runtime, teacher, period, today)
            renderer.render("scores/score", render_score_context(teacher, summary, today, show_account=True))
        lat.append((time.perf_counter() - t0) * 1000)
    return lat


async def settle(db, kind: str) -> float:
    """What the database does on its own after a bulk load, before the next queries: PostgreSQL
    flushes it (CHECKPOINT) and gathers statistics (ANALYZE: autovacuum's work, and autovacuum is off
    on this machine's test server); SQLite folds the WAL into the file. Returns the seconds it took."""
    from sqlalchemy import text

    t0 = time.perf_counter()
    async with db.engine.connect() as conn:
        conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
        stmts = ("CHECKPOINT", "ANALYZE") if kind == "postgres" else ("PRAGMA wal_checkpoint(TRUNCATE)",)
        for stmt in stmts:
            await conn.execute(text(stmt))
    return time.perf_counter() - t0


async def queries(db, runtime, args, kind: str) -> dict:
    """/积分 latencies over random teachers right after the load and once the database settled, then
    /排行 for a city and the province."""
    from domain.scores import period_of
    from handlers.scores.service import county_shares, ranking

    out: dict = {}
    lat = await score_latencies(db, runtime, args, args.seed + 1)
    out.update(score_fresh_p50_ms=pct(lat, 50), score_fresh_p99_ms=pct(lat, 99))
    out["settle_s"] = await settle(db, kind)
    lat = await score_latencies(db, runtime, args, args.seed + 2)  # other teachers: pages not yet read
    out.update(score_p50_ms=pct(lat, 50), score_p99_ms=pct(lat, 99))
    today = date(args.year, 12, 20)

    # /排行
    period = period_of(runtime.rules, "year", today)
    res = {}
    for label, city in (("city", "杭州市"), ("province", None)):
        t0 = time.perf_counter()
        async with db.unit_of_work() as uow:
            top = await ranking(uow, runtime, period, city=city, county=None, limit=10)
            shares = await county_shares(uow, runtime, period.start, 60, city=city)
        res[label] = (time.perf_counter() - t0) * 1000
        out[f"rank_{label}_top"] = top[0].points if top else 0
        out[f"rank_{label}_counties"] = len(shares)
    out.update(rank_city_ms=res["city"], rank_province_ms=res["province"])
    return out


async def run_one(kind: str, args) -> dict:
    from sqlalchemy import text

    from handlers.scores.service import (
        ScoresRuntime,
    )
    from storage.db import Database
    from storage.migrate import upgrade
    from storage.repositories.scores import TeacherRepository

    tmp = Path(tempfile.mkdtemp(prefix="bench-scores-"))
    dbname = None
    if kind == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp / 'scores.sqlite3'}"
    else:
        import asyncpg

        dbname = f"bench_scores_{uuid.uuid4().hex[:8]}"
        admin = await asyncpg.connect(PG_URL.replace("postgresql+asyncpg://", "postgresql://"))
        await admin.execute(f'CREATE DATABASE "{dbname}"')
        await admin.close()
        url = PG_URL.rsplit("/", 1)[0] + "/" + dbname
    await upgrade(url)
    db = Database(url, sqlite_cache_mb=args.sqlite_cache_mb)  # the bot's own engine and settings
    async with db.unit_of_work() as uow:
        # bench_events: score_events' own definition under another name (the bound of storing events)
        if kind == "sqlite":
            ddl = (
                await uow.session.execute(text("SELECT sql FROM sqlite_master WHERE name = 'score_events'"))
            ).scalar_one()
            await uow.session.execute(text(ddl.replace("score_events", "bench_events", 1)))
        else:
            await uow.session.execute(text("CREATE TABLE bench_events (LIKE score_events INCLUDING ALL)"))
        await uow.session.execute(
            text(f"CREATE TABLE bench_totals_log ({', '.join(f'{c} INTEGER' for c in LOG_COLUMNS)})")
        )
        for table in ("bench_ceiling", "bench_copy"):
            await uow.session.execute(
                text(
                    f"CREATE TABLE {table} (teacher_id INTEGER, event_key VARCHAR(160), action VARCHAR(48), "
                    "at_epoch BIGINT, detail TEXT)"
                )
            )
    runtime = ScoresRuntime()
    now = datetime(args.year + 1, 1, 1, 8, tzinfo=SH)
    out: dict = {"db": kind}
    try:
        teachers = make_teachers(args.teachers, args.seed)
        t0 = time.perf_counter()
        async with db.unit_of_work() as uow:
            await uow.repo(TeacherRepository).upsert(teachers, now)
        out["teacher_import_s"] = time.perf_counter() - t0
        ids = {}
        async with db.unit_of_work() as uow:
            await uow.repo(TeacherRepository).ids_for([t.account for t in teachers], ids)
        del teachers
        out.update(await ingest_year(db, runtime, ids, now, kind, args))
        out.update(await queries(db, runtime, args, kind))
        out["rss_peak_mb"] = rss_peak_mb()
        if kind == "sqlite":
            out["db_mb"] = (tmp / "scores.sqlite3").stat().st_size / 1e6
    finally:
        await db.dispose()
        if dbname and args.keep:
            print(f"  kept PostgreSQL database {dbname}", flush=True)
        elif dbname:
            import asyncpg

            admin = await asyncpg.connect(PG_URL.replace("postgresql+asyncpg://", "postgresql://"))
            await admin.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')
            await admin.close()
        if not args.keep:
            shutil.rmtree(tmp)
    return out


def main() -> int:
    from storage.db import SQLITE_CACHE_MB

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--teachers", type=int, default=100_000)
    p.add_argument("--per-teacher", type=int, default=100, help="events per teacher in the year (average)")
    p.add_argument("--year", type=int, default=2026)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--batch", type=int, default=100_000, help="items per ingestion batch (one transaction)")
    p.add_argument("--queries", type=int, default=1000)
    p.add_argument("--db", nargs="+", choices=("sqlite", "postgres"), default=["sqlite", "postgres"])
    p.add_argument(
        "--sqlite-cache-mb", type=int, default=SQLITE_CACHE_MB, help="SQLite page cache (default: the bot's)"
    )
    p.add_argument("--keep", action="store_true", help="keep the SQLite file / the PostgreSQL database")
    p.add_argument("--runs", type=int, default=3, help="runs per database; the median is reported")
    p.add_argument(
        "--pg-insert-info",
        action="store_true",
        help="PostgreSQL: also time executemany into an un-indexed table (for information)",
    )
    args = p.parse_args()
    print(
        f"synthetic year {args.year}: {args.teachers:,} teachers x {args.per_teacher} events "
        f"= {args.teachers * args.per_teacher:,} events, seed {args.seed}, batches of {args.batch:,}",
        flush=True,
    )
    for kind in args.db:
        report([asyncio.run(run_one(kind, args)) for _ in range(args.runs)])
    return 0


if __name__ == "__main__":
    sys.exit(main())
