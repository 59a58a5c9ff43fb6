#!/usr/bin/env python3
"""Base-school benchmark: every school's figures for a month and for the year, on SQLite and PostgreSQL.

Synthetic year (seeded; default 100 base schools, 200,000 real-name visitors, ~20 M visit events):
each visitor belongs to one school's subject space and visits on each day with its own probability
(uniform 0–0.55, so ~100 visit days a year on average and a spread of active and inactive users).
The events are loaded set-based in their stored form — one row per (month, space, visitor) with a
day bit mask (SQLite: executemany in one transaction; PostgreSQL: COPY) — because pushing 20 M JSON
items through the feed on a shared 2-core machine takes far longer than the queries measured here;
the feed itself is measured on a sample (teacher spaces, lessons and visits of the next January)
and reported in items/s for information.

Measured per database, in one run, median of ``--repeat`` runs each:

  1. every school's figures for one month (November): active users (visits on ≥ half the days),
     visitors, effective visits, teacher-space opening and active rates, lessons;
  2. the same for the whole year;
  3. the ceiling: one plain SQL aggregate over the same visit rows (COUNT and SUM per space).

Targets: month < 2 s and year < 20 s. The active users of every school are checked against the
counts computed from the generated arrays, so a fast wrong answer cannot pass.

  python3 bench/base_schools.py                                   # full size, both databases
  python3 bench/base_schools.py --visitors 20000 --db sqlite      # a quick look
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import sqlite3
import statistics
import sys
import time
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SH = ZoneInfo("Asia/Shanghai")
PG_URL = os.environ.get("TEST_PG_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")
MONTH = 11


def rss_peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def generate(args: argparse.Namespace):
    """Yield (month key, masks, day counts) per month; masks[v] = the visitor's day bits."""
    rng = np.random.default_rng(args.seed)
    p = rng.uniform(0.0, 0.55, args.visitors)
    for m in range(1, 13):
        days = (date(args.year + (m == 12), m % 12 + 1, 1) - date(args.year, m, 1)).days
        bits = rng.random((args.visitors, days), dtype=np.float32) < p[:, None].astype(np.float32)
        masks = (bits.astype(np.int64) << np.arange(days, dtype=np.int64)).sum(axis=1)
        yield args.year * 100 + m, masks, bits.sum(axis=1).astype(np.int16)


def school_of(args: argparse.Namespace) -> np.ndarray:
    return np.arange(args.visitors) * args.schools // args.visitors


async def load(kind: str, url: str, path: Path | None, args: argparse.Namespace):
    """Bulk load the year; returns (events, rows, seconds, expected active users month/year per school)."""
    schools = school_of(args)
    spaces = [f"SP{s:03d}" for s in range(args.schools)]
    visitors = [f"V{v:07d}" for v in range(args.visitors)]
    month_days = np.zeros(args.visitors, dtype=np.int32)
    year_days = np.zeros(args.visitors, dtype=np.int32)
    events = rows = 0
    t0 = time.perf_counter()
    conn = sqlite3.connect(path) if path is not None else None
    pg: Any = None
    if kind == "postgres":
        import asyncpg

        pg = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        for key, masks, counts in generate(args):
            year_days += counts
            if key % 100 == MONTH:
                month_days = counts.astype(np.int32)
            events += int(counts.sum())
            nz = np.nonzero(masks)[0]
            rows += len(nz)
            records = [(key, spaces[schools[v]], visitors[v], int(masks[v])) for v in nz.tolist()]
            if conn is not None:
                conn.executemany(
                    "INSERT INTO base_space_visits (month, space_id, visitor, days) VALUES (?,?,?,?)", records
                )
                conn.commit()
            else:
                await pg.copy_records_to_table(
                    "base_space_visits", records=records, columns=["month", "space_id", "visitor", "days"]
                )
            del records
        if conn is not None:
            conn.execute("ANALYZE")
            conn.commit()
        else:
            await pg.execute("ANALYZE base_space_visits")
    finally:
        if conn is not None:
            conn.close()
        if pg is not None:
            await pg.close()
    seconds = time.perf_counter() - t0
    from domain.base_schools import load_definitions

    defs = load_definitions()
    need_m = defs.required_days(30)
    need_y = defs.required_days((date(args.year + 1, 1, 1) - date(args.year, 1, 1)).days)
    exp_m = np.bincount(schools[month_days >= need_m], minlength=args.schools)
    exp_y = np.bincount(schools[year_days >= need_y], minlength=args.schools)
    return events, rows, seconds, exp_m, exp_y


def feed_items(args: argparse.Namespace) -> list[dict]:
    """Teacher spaces (100 per school, 70 active in November), 18 lessons per school and visits of the
    next January, as the activity API receives them."""
    items: list[dict] = []
    for s in range(args.schools):
        sp = f"SP{s:03d}"
        for t in range(100):
            items.append(
                {
                    "action": "base.teacher_space_opened",
                    "space_id": sp,
                    "account": f"T{s:03d}{t:03d}",
                    "time": f"{args.year}-03-01T08:00:00+08:00",
                }
            )
            if t < 70:
                items.append(
                    {
                        "action": "base.teacher_space_active",
                        "space_id": sp,
                        "account": f"T{s:03d}{t:03d}",
                        "detail": {"month": f"{args.year}-{MONTH:02d}"},
                    }
                )
        for le in range(18):
            items.append(
                {
                    "action": "base.lesson_published",
                    "space_id": sp,
                    "time": f"{args.year}-09-01T08:00:00+08:00",
                    "detail": {"lesson": f"L{le}"},
                }
            )
    for n in range(args.feed_sample):
        items.append(
            {
                "action": "base.space_visit",
                "space_id": f"SP{n % args.schools:03d}",
                "account": f"F{n % 20000:05d}",
                "time": f"{args.year + 1}-01-{1 + n % 28:02d}T09:00:00+08:00",
            }
        )
    return items


async def timed(fn, repeat: int) -> tuple[float, Any]:
    times, result = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = await fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), result


async def run(kind: str, args: argparse.Namespace) -> dict:
    from bench.throwaway import throwaway_db
    from domain.base_schools import BaseSchool, load_definitions
    from storage.db import Database
    from storage.migrate import upgrade
    from storage.repositories.base_schools import BaseSchoolRepository

    async with throwaway_db(kind, PG_URL, "bench_base") as (url, path):
        await upgrade(url)
        db = Database(url)
        out: dict = {"db": kind}
        now = datetime(args.year + 1, 1, 31, 12, tzinfo=SH)
        try:
            schools = [
                BaseSchool(y, f"基地校{s:03d}", "杭州市", None, "数学", f"SP{s:03d}", teachers=100)
                for y in (args.year, args.year + 1)
                for s in range(args.schools)
            ]
            async with db.unit_of_work() as uow:
                await uow.repo(BaseSchoolRepository).upsert(schools, "浙江省", now)
            events, rows, load_s, exp_m, exp_y = await load(kind, url, path, args)
            out.update(events=events, rows=rows, load_s=load_s)
            print(f"  [{kind}] loaded {events:,} visit events as {rows:,} rows in {load_s:.0f} s", flush=True)
            await measure(db, args, now, load_definitions(), (exp_m, exp_y), out)
            out["rss_peak_mb"] = rss_peak_mb()
            if path is not None:
                out["db_mb"] = path.stat().st_size / 1e6
        finally:
            await db.dispose()
    return out


async def measure(db, args: argparse.Namespace, now: datetime, defs, expected: tuple, out: dict) -> None:
    """The feed, then the month's and the year's figures next to the ceiling (checked against the load)."""
    from domain.base_schools import month_period, year_period
    from handlers.base_schools.common import compute
    from handlers.base_schools.feed import ingest_base_items
    from storage.repositories.base_schools import BaseSchoolRepository

    items = feed_items(args)
    t0 = time.perf_counter()
    rep = await ingest_base_items(db, items, now)
    out.update(feed_items=len(items), feed_rate=len(items) / (time.perf_counter() - t0))
    assert not rep.rejected, rep.rejected[:3]
    async with db.unit_of_work() as uow:
        listed = await uow.repo(BaseSchoolRepository).schools(args.year)
    today = date(args.year + 1, 1, 15)
    for label, period in (("month", month_period(args.year, MONTH)), ("year", year_period(args.year, defs))):

        async def figures(period=period):
            async with db.unit_of_work() as uow:
                return await compute(uow.repo(BaseSchoolRepository), listed, period, today, defs, all_spaces=True)

        async def ceiling(period=period):
            async with db.unit_of_work() as uow:
                return await uow.repo(BaseSchoolRepository).ceiling(period.start, period.end)

        secs, result = await timed(figures, args.repeat)
        ceil_s, n = await timed(ceiling, args.repeat)
        got = {f.school.space_id: f.counts.active_users for f in result}
        want = expected[0] if label == "month" else expected[1]
        wrong = [s for s in range(args.schools) if got[f"SP{s:03d}"] != int(want[s])]
        assert not wrong, f"{label}: active users differ for {len(wrong)} schools"
        f0 = next(f for f in result if f.school.space_id == "SP000")
        assert f0.counts.opened == 100 and (label == "year" or f0.counts.active_teachers == 70)
        out[label] = {
            "s": secs,
            "ceiling_s": ceil_s,
            "spaces": n,
            "active": int(sum(got.values())),
            "visitors": int(sum(f.counts.visitors for f in result)),
        }


def report(r: dict, args: argparse.Namespace) -> None:
    print(
        f"\n== {r['db']} == {args.schools} schools, {args.visitors:,} visitors, {r['events']:,} visit events "
        f"stored as {r['rows']:,} month rows" + (f" ({r['db_mb']:.0f} MB file)" if "db_mb" in r else "")
    )
    print(
        f"bulk load {r['load_s']:.0f} s; feed (validation + storage) {r['feed_rate']:,.0f} items/s "
        f"on {r['feed_items']:,} items"
    )
    for label, target in (("month", 2.0), ("year", 20.0)):
        x = r[label]
        ok = "ok" if x["s"] < target else "MISSED"
        print(
            f"{label:5}: every school's figures {x['s'] * 1000:,.0f} ms (ceiling: one aggregate over the same rows "
            f"{x['ceiling_s'] * 1000:,.0f} ms = {x['s'] / x['ceiling_s']:.1f}x)  [target < {target:.0f} s: {ok}]"
            f"  active users {x['active']:,} of {x['visitors']:,} visitors (checked per school)"
        )
    print(f"peak memory (RSS) {r['rss_peak_mb']:.0f} MB")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--schools", type=int, default=100)
    p.add_argument("--visitors", type=int, default=200_000)
    p.add_argument("--year", type=int, default=2026)
    p.add_argument("--seed", type=int, default=3)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--feed-sample", type=int, default=100_000, help="visit items sent through the feed path")
    p.add_argument("--db", nargs="+", choices=("sqlite", "postgres"), default=["sqlite", "postgres"])
    args = p.parse_args()
    for kind in args.db:
        report(asyncio.run(run(kind, args)), args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
