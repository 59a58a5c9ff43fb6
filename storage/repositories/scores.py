"""Scores storage: teachers, rule sets, activity ingestion with materialised totals, queries.

Repositories flush, never commit. Bulk paths go through the driver (sqlite3 via aiosqlite,
asyncpg) on the session's own transaction.

ingest(batch), serialised (PostgreSQL advisory lock; SQLite has one writer):
  validate items (domain.scores.activity.parse_batch: the common shape inline, anything else through
  parse_activity) → resolve accounts → drop repeats inside the batch
  → per teacher, the window the new events can influence: from the earliest lookback of the
    rules they touch (and at least the whole storage bucket of each new event) on
  → the stored events of those windows, from the in-process WindowCache when it holds them
    (it is checked against the generation counter in score_ingest_state), else loaded by
    (bucket, teacher) from the primary key
  → duplicates of stored events are found there (same key in the same bucket); a same event id
    with other content is rejected with a reason
  → the engine on each window: when the new events all come after the stored ones (the usual,
    chronological case) the stored ones only set the cap/streak state and the new events'
    occurrences are the difference; otherwise the window without and with the new events is
    compared. The difference per day is added to score_totals (one wide row per teacher and
    scoring year: year, month and week columns)
  → the new events are inserted (COPY on PostgreSQL, executemany on SQLite). On PostgreSQL the
    events and then the totals are sent chunk by chunk of teachers while the next chunks are
    computed (the server works in parallel); SQLite writes after the computation.

``rebuild_totals`` recomputes everything from the events (after a rule-set change); the tests
compare it with the incremental totals.
"""
from __future__ import annotations

import asyncio
import json
import re
from bisect import bisect_left
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Iterable, Sequence

from sqlalchemy import bindparam, delete, func, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from domain.scores import Engine, RuleSet, default_rules, parse_rules
from domain.scores.activity import TeacherRow, parse_batch
from storage.models.scores import (
    TOTAL_MONTH_SLOTS, TOTAL_WEEK_SLOTS, ScoreAccountLink, ScoreEvent, ScoreIngestState, ScoreRuleSet, ScoreTeacher,
    ScoreTotal,
)

INGEST_LOCK = 7312404
_ENCODE = json.JSONEncoder(ensure_ascii=False, sort_keys=True).encode   # = json.dumps(d, same options)
_DETAIL_JSON: dict[tuple, str] = {}


# ── value objects ──
@dataclass(frozen=True)
class Teacher:
    id: int
    account: str
    name: str
    school: str
    city: str
    county: str


@dataclass
class IngestReport:
    received: int = 0
    accepted: int = 0             # new events stored
    duplicates: int = 0           # already stored (or twice in this batch): counted once
    rejected: list[tuple[int, str]] = field(default_factory=list)   # (0-based item index, reason)
    teachers: int = 0             # teachers whose scores were updated

    def merge(self, other: "IngestReport", offset: int = 0) -> None:
        self.received += other.received
        self.accepted += other.accepted
        self.duplicates += other.duplicates
        self.teachers += other.teachers
        self.rejected.extend((i + offset, r) for i, r in other.rejected)

    def as_dict(self, limit: int = 1000) -> dict:
        return {"received": self.received, "accepted": self.accepted, "duplicates": self.duplicates,
                "rejected_count": len(self.rejected),
                "rejected": [{"index": i, "reason": r} for i, r in self.rejected[:limit]]}


@dataclass(frozen=True)
class RankRow:
    rank: int
    account: str
    name: str
    school: str
    city: str
    county: str
    points: int


@dataclass(frozen=True)
class CountyShare:
    city: str
    county: str
    total: int
    qualified: int

    @property
    def share(self) -> float:
        return self.qualified / self.total if self.total else 0.0


def _teacher(row) -> Teacher:
    return Teacher(row.id, row.account, row.name, row.school, row.city, row.county)


# ── the driver underneath (bulk paths) ──
BUCKET = 604800   # seconds: score_events.bucket = at_epoch // BUCKET


class _Bulk:
    """Bulk statements on the session's own connection and transaction, through the driver."""

    def __init__(self, session: AsyncSession):
        self.session = session
        self.dialect = session.bind.dialect.name if session.bind else "sqlite"
        self.pg = self.dialect == "postgresql"
        self._driver = None
        self._ready: set[str] = set()

    async def driver(self):
        if self._driver is None:
            conn = await self.session.connection()
            # make sure a transaction is open on the driver connection before using it directly
            await conn.execute(text("SELECT 1"))
            raw = await conn.get_raw_connection()
            self._driver = raw.driver_connection
        return self._driver

    async def lock(self) -> None:
        if self.pg:
            await self.session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": INGEST_LOCK})

    async def temp(self, table: str, columns: list[tuple[str, str]], rows: list[tuple]) -> str:
        """Fill a temporary table (emptied first); returns its qualified name."""
        d = await self.driver()
        if table not in self._ready:
            ddl = ", ".join(f"{c} {t}" for c, t in columns)
            if self.pg:
                await d.execute(f"CREATE TEMP TABLE IF NOT EXISTS {table} ({ddl}) ON COMMIT DELETE ROWS")
            else:
                await (await d.execute(f"CREATE TEMP TABLE IF NOT EXISTS {table} ({ddl})")).close()
            self._ready.add(table)
        if self.pg:
            await d.execute(f"TRUNCATE {table}")
            if rows:
                await d.copy_records_to_table(table, records=rows, columns=[c for c, _t in columns])
            return table
        await (await d.execute(f"DELETE FROM temp.{table}")).close()
        if rows:
            await d.executemany(f"INSERT INTO temp.{table} VALUES ({', '.join('?' * len(columns))})", rows)
        return f"temp.{table}"

    async def insert_events(self, rows: list[tuple]) -> None:
        """rows: (bucket, teacher_id, event_key, action, at_epoch, detail), known to be new."""
        d = await self.driver()
        if self.pg:
            await d.copy_records_to_table("score_events", records=rows, columns=[
                "bucket", "teacher_id", "event_key", "action", "at_epoch", "detail"])
        else:
            await d.executemany("INSERT INTO score_events (bucket, teacher_id, event_key, action, at_epoch, detail) "
                                "VALUES (?, ?, ?, ?, ?, ?)", rows)

    async def add_totals(self, totals: dict[Any, dict[int, dict[str, int]]]) -> None:
        """totals: year start (date or ISO text) -> teacher -> column (y, m<i>, w<i>) -> points, added to
        score_totals (one upsert per teacher and scoring year)."""
        d = None
        for ys, per in totals.items():
            items = sorted((t, c) for t, c in per.items() if any(c.values()))
            if not items:
                continue
            if d is None:
                d = await self.driver()
            cols = sorted({k for _t, c in items for k in c}, key=_column_order)
            head = f"INSERT INTO score_totals (year_start, teacher_id, {', '.join(cols)}) "
            tail = (" ON CONFLICT (year_start, teacher_id) DO UPDATE SET "
                    + ", ".join(f"{c} = score_totals.{c} + excluded.{c}" for c in cols))
            if self.pg:
                if "score_total_deltas" not in self._ready:
                    ddl = ", ".join(["year_start date", "teacher_id integer"]
                                    + [f"{c} integer NOT NULL DEFAULT 0" for c in _TOTAL_COLUMNS])
                    await d.execute(f"CREATE TEMP TABLE IF NOT EXISTS score_total_deltas ({ddl}) ON COMMIT DELETE ROWS")
                    self._ready.add("score_total_deltas")
                else:
                    await d.execute("TRUNCATE score_total_deltas")
                ys = ys if ys.__class__ is not str else date.fromisoformat(ys)
                await d.copy_records_to_table(
                    "score_total_deltas", columns=["year_start", "teacher_id", *cols],
                    records=[(ys, t, *[c.get(col, 0) for col in cols]) for t, c in items])
                await d.execute(head + f"SELECT year_start, teacher_id, {', '.join(cols)} FROM score_total_deltas"
                                + tail)
            else:
                ys = ys if ys.__class__ is str else ys.isoformat()
                marks = ", ".join("?" * (len(cols) + 2))
                await d.executemany(head + f"VALUES ({marks})" + tail,
                                    [(ys, t, *[c.get(col, 0) for col in cols]) for t, c in items])

    async def fetch(self, sql: str, *params) -> list[tuple]:
        d = await self.driver()
        if self.pg:
            return [tuple(r) for r in await d.fetch(sql, *params)]
        cur = await d.execute(re.sub(r"\$\d+(::\w+(\[\])?)?", "?", sql), params)
        try:
            return await cur.fetchall()
        finally:
            await cur.close()

    async def execute(self, sql: str) -> None:
        d = await self.driver()
        if self.pg:
            await d.execute(sql)
        else:
            await (await d.execute(sql)).close()


class WindowCache:
    """Recent events per teacher kept in memory between ingestion batches of one process.

    ``rows[t]`` holds every stored event of teacher t with ``at_epoch >= complete_from[t]``, sorted.
    Valid only while the database's ingestion generation is the one this process wrote last;
    any other writer (another instance) or a failed batch makes it start over.
    """

    def __init__(self, max_rows: int = 600_000, keep_days: int = 15):
        self.generation: int | None = None
        self.rows: dict[int, list[tuple]] = {}
        self.complete_from: dict[int, int] = {}
        self.size = 0
        self.max_rows = max_rows
        self.keep = keep_days * 86400

    def clear(self) -> None:
        self.generation = None
        self.rows.clear()
        self.complete_from.clear()
        self.size = 0

    def put(self, teacher_id: int, rows: list[tuple], complete_from: int) -> None:
        old = self.rows.get(teacher_id)
        self.size += len(rows) - (len(old) if old else 0)
        self.rows[teacher_id] = rows
        self.complete_from[teacher_id] = complete_from

    def trim(self, newest: int) -> None:
        if self.size <= self.max_rows:
            return
        cutoff = newest - self.keep
        size = 0
        for t in list(self.rows):
            rows = [r for r in self.rows[t] if r[0] >= cutoff]
            if rows:
                self.rows[t] = rows
                self.complete_from[t] = max(self.complete_from[t], cutoff)
                size += len(rows)
            else:
                del self.rows[t]
                del self.complete_from[t]
        self.size = size
        if self.size > self.max_rows:     # still too big: start over
            self.rows.clear()
            self.complete_from.clear()
            self.size = 0


# ── teachers ──
class TeacherRepository:
    def __init__(self, session: AsyncSession):
        self.session = session

    async def upsert(self, rows: Sequence[TeacherRow], now: datetime) -> tuple[int, int, int]:
        """Insert new teachers, update changed ones; returns (added, updated, unchanged)."""
        added = updated = same = 0
        accounts = [r.account for r in rows]
        existing: dict[str, ScoreTeacher] = {}
        for i in range(0, len(accounts), 500):
            chunk = accounts[i:i + 500]
            for t in (await self.session.scalars(select(ScoreTeacher).where(ScoreTeacher.account.in_(chunk)))).all():
                existing[t.account] = t
        new = []
        for r in rows:
            t = existing.get(r.account)
            if t is None:
                new.append({"account": r.account, "name": r.name, "school": r.school, "city": r.city,
                            "county": r.county, "updated_at": now})
                existing[r.account] = True  # a repeated account in the same file: first row wins
                added += 1
            elif t is True:
                same += 1
            elif (t.name, t.school, t.city, t.county) != (r.name, r.school, r.city, r.county):
                t.name, t.school, t.city, t.county, t.updated_at = r.name, r.school, r.city, r.county, now
                updated += 1
            else:
                same += 1
        for i in range(0, len(new), 2000):
            await self.session.execute(ScoreTeacher.__table__.insert(), new[i:i + 2000])
        await self.session.flush()
        return added, updated, same

    async def by_account(self, account: str) -> Teacher | None:
        row = (await self.session.scalars(select(ScoreTeacher).where(ScoreTeacher.account == account))).first()
        return _teacher(row) if row else None

    async def accounts_like(self, account: str, limit: int = 5) -> list[str]:
        """Accounts equal to ``account`` ignoring case (to hint at a case mistake)."""
        rows = await self.session.scalars(select(ScoreTeacher.account).where(
            func.lower(ScoreTeacher.account) == account.lower()).limit(limit))
        return list(rows.all())

    async def get(self, teacher_id: int) -> Teacher | None:
        row = await self.session.get(ScoreTeacher, teacher_id)
        return _teacher(row) if row else None

    async def find(self, query: str, *, city: str | None = None, county: str | None = None,
                   limit: int = 10) -> list[Teacher]:
        """By exact account (case-sensitive), else by exact name, inside a territory if given."""
        q = query.strip()
        stmt = select(ScoreTeacher).where(ScoreTeacher.account == q)
        rows = (await self.session.scalars(stmt)).all()
        if not rows:
            stmt = select(ScoreTeacher).where(ScoreTeacher.name == q)
            if city:
                stmt = stmt.where(ScoreTeacher.city == city)
            if county:
                stmt = stmt.where(ScoreTeacher.county == county)
            rows = (await self.session.scalars(stmt.order_by(ScoreTeacher.city, ScoreTeacher.county,
                                                            ScoreTeacher.account).limit(limit))).all()
        return [_teacher(r) for r in rows]

    async def ids_for(self, accounts: Iterable[str], cache: dict[str, int] | None = None) -> dict[str, int]:
        cache = cache if cache is not None else {}
        missing = [a for a in set(accounts) if a not in cache]
        for i in range(0, len(missing), 500):
            chunk = missing[i:i + 500]
            res = await self.session.execute(select(ScoreTeacher.account, ScoreTeacher.id)
                                             .where(ScoreTeacher.account.in_(chunk)))
            for account, tid in res:
                cache[account] = tid
        return cache

    async def count(self) -> int:
        return int(await self.session.scalar(select(func.count()).select_from(ScoreTeacher)) or 0)

    # links: a DingTalk user's own account
    async def link(self, user_id: str, account: str, now: datetime) -> None:
        row = await self.session.get(ScoreAccountLink, user_id)
        if row is None:
            self.session.add(ScoreAccountLink(user_id=user_id, account=account, linked_at=now))
        else:
            row.account, row.linked_at = account, now
        await self.session.flush()

    async def linked_account(self, user_id: str) -> str | None:
        row = await self.session.get(ScoreAccountLink, user_id)
        return row.account if row else None


# ── rule sets ──
class RuleSetRepository:
    def __init__(self, session: AsyncSession):
        self.session = session

    async def active(self) -> tuple[int, RuleSet]:
        """(id, rule set) of the active loaded file; (0, default table) when none was loaded."""
        row = (await self.session.scalars(select(ScoreRuleSet).where(ScoreRuleSet.active.is_(True))
                                          .order_by(ScoreRuleSet.id.desc()).limit(1))).first()
        if row is None:
            return 0, default_rules()
        return row.id, parse_rules(row.text, source=row.source)

    async def active_id(self) -> int:
        return int(await self.session.scalar(select(func.max(ScoreRuleSet.id)).where(ScoreRuleSet.active.is_(True)))
                   or 0)

    async def load(self, text_: str, source: str, by: str, now: datetime) -> tuple[int, RuleSet]:
        """Validate (RuleFileError on a bad file) and make it the active rule set."""
        rules = parse_rules(text_, source=source)
        await self.session.execute(update(ScoreRuleSet).values(active=False))
        row = ScoreRuleSet(name=rules.name, source=source, text=text_, active=True, loaded_by=by, loaded_at=now)
        self.session.add(row)
        await self.session.flush()
        return row.id, rules

    async def reset_default(self) -> None:
        await self.session.execute(update(ScoreRuleSet).values(active=False))
        await self.session.flush()


# ── events, totals, ingestion ──
_NEVER = 1 << 62


class ScoreRepository:
    TOTALS_CHUNK = 4096      # PostgreSQL: teachers per totals upsert sent while the next ones are computed

    def __init__(self, session: AsyncSession):
        self.session = session
        self._bulk: _Bulk | None = None

    @property
    def bulk(self) -> _Bulk:
        if self._bulk is None:
            self._bulk = _Bulk(self.session)
        return self._bulk

    # -- ingestion state --
    async def _state(self) -> tuple[int, int]:
        row = await self.session.get(ScoreIngestState, 1, populate_existing=True)
        if row is None:
            self.session.add(ScoreIngestState(id=1, generation=0, max_epoch=0))
            await self.session.flush()
            return 0, 0
        return row.generation, row.max_epoch

    async def _bump(self, generation: int, max_epoch: int) -> None:
        await self.session.execute(update(ScoreIngestState).where(ScoreIngestState.id == 1)
                                   .values(generation=generation, max_epoch=max_epoch))

    # -- ingestion --
    async def ingest(self, items: Sequence[Any], engine: Engine, now: datetime, *,
                     teacher_cache: dict[str, int] | None = None, cache: WindowCache | None = None,
                     ) -> tuple[IngestReport, Any]:
        """Validate, store and score one batch; valid items are kept, invalid ones reported.

        Returns (report, after_commit): call ``after_commit()`` once the unit of work has committed
        (it moves the batch into the window cache); if the transaction fails, call ``cache.clear()``.
        """
        report = IngestReport(received=len(items))
        actions = engine.rules.actions
        parsed, bad = parse_batch(items, actions=actions, tz=engine.rules.tz, now=now)
        rejected = report.rejected
        rejected.extend(bad)
        cache = cache if cache is not None else WindowCache()
        if not parsed:
            rejected.sort()
            return report, lambda: None
        ids = await TeacherRepository(self.session).ids_for({p[1] for p in parsed}, teacher_cache)
        canon = {a: a for a in actions}
        # teacher -> key -> (epoch, key, action, detail); first occurrence wins inside the batch
        by_teacher: dict[int, dict[str, tuple]] = {}
        ids_get, bt_get = ids.get, by_teacher.get
        duplicates = 0
        for i, account, epoch, key, action, detail in parsed:
            tid = ids_get(account)
            if tid is None:
                rejected.append((i, f"账号“{account}”不在教师名单中，请先导入教师名单（账号区分大小写）"))
                continue
            tb = bt_get(tid)
            if tb is None:
                by_teacher[tid] = {key: (epoch, key, canon[action], detail)}
                continue
            prev = tb.get(key)
            if prev is None:
                tb[key] = (epoch, key, canon[action], detail)
            elif _same(prev, (epoch, key, action, detail)):
                duplicates += 1
            else:
                rejected.append((i, "事件编号与本批另一条相同但内容不同，以先出现的一条为准"))
        origin: dict[tuple[str, str], int] | None = None    # built when a stored conflict is found

        def origin_of(tid: int, key: str) -> int:
            nonlocal origin
            if origin is None:
                origin = {}
                for i, account, _e, k, _a, _d in parsed:
                    origin.setdefault((ids_get(account), k), i)
            return origin[(tid, key)]

        b = self.bulk
        await b.lock()
        generation, max_epoch = await self._state()
        if cache.generation != generation:
            cache.clear()
        plan = self._plan(engine, by_teacher)
        windows = await self._windows(plan, cache, max_epoch)

        # PostgreSQL: the new events, then the totals, go to the database chunk by chunk of teachers while
        # the next chunks are worked out (the server works in its own process). SQLite's writer runs on a
        # thread that needs this one's GIL for every row, so there the writes follow the computation.
        pg = b.pg
        chunk = self.TOTALS_CHUNK
        writer = None
        sent = 0                  # new events handed to the writer
        newest = max_epoch
        new_rows: list[tuple] = []
        work: list[tuple] = []
        try:
            # 1. what is new: stored duplicates are in the window (it covers each new event's bucket)
            add_row = new_rows.append
            encode, detail_json = _ENCODE, _DETAIL_JSON
            for tid, tb in by_teacher.items():
                lo_load = plan[tid][0]
                have_all = windows[tid]
                start = bisect_left(have_all, (lo_load,)) if have_all and have_all[0][0] < lo_load else 0
                have = have_all[start:] if start else have_all
                if have:
                    fresh = []
                    known = {r[1]: r for r in have}
                    for row in tb.values():
                        old = known.get(row[1])
                        if old is None:
                            fresh.append(row)
                        elif row[1].startswith("h:") or _same(old, row):
                            duplicates += 1
                        else:
                            rejected.append((origin_of(tid, row[1]), "事件编号已收到过且内容不同，以先收到的为准"))
                    if not fresh:
                        continue
                else:
                    fresh = list(tb.values())
                fresh.sort(key=_row_order)
                for r in fresh:
                    d = r[3]
                    if d:
                        if len(d) == 1:             # the usual detail: one field; its JSON text memoised
                            ((k, v),) = d.items()
                            c = v.__class__
                            if c is int or c is bool or c is str:
                                ck = (k, v, c)
                                text_ = detail_json.get(ck)
                                if text_ is None:
                                    if len(detail_json) > 200_000:
                                        detail_json.clear()
                                    text_ = detail_json[ck] = encode(d)
                            else:
                                text_ = encode(d)
                        else:
                            text_ = encode(d)
                        add_row((r[0] // BUCKET, tid, r[1], r[2], r[0], text_))
                    else:
                        add_row((r[0] // BUCKET, tid, r[1], r[2], r[0], None))
                if fresh[-1][0] > newest:
                    newest = fresh[-1][0]
                work.append((tid, fresh, have, have_all))
                if pg and len(work) % chunk == 0 and new_rows:
                    writer = asyncio.ensure_future(_then(writer, b.insert_events(new_rows)))
                    sent += len(new_rows)
                    new_rows = []
                    add_row = new_rows.append
                    await asyncio.sleep(0)
            accepted = sent + len(new_rows)
            report.duplicates = duplicates
            report.accepted = accepted
            report.teachers = len(work)
            rejected.sort()
            if not accepted:
                return report, lambda: None
            if pg and new_rows:
                writer = asyncio.ensure_future(_then(writer, b.insert_events(new_rows)))
                await asyncio.sleep(0)

            # 2. scores: the engine on each window, the difference per day → per period
            totals: dict[Any, dict[int, dict[str, int]]] = {}
            starts = self._starts(engine, pg)
            dayf = engine.clock.day_fn()
            evaluate = engine.evaluate
            updates: list[tuple[int, list[tuple], int]] = []
            for n, (tid, fresh, have, have_all) in enumerate(work):
                lo_load, first_day, last_day, touched = plan[tid]
                mine = [r for r in have if r[2] in touched] if have else have
                if not mine:
                    diff = evaluate(fresh, deduped=True).day_points(first_day, last_day)
                elif _row_order(mine[-1]) < _row_order(fresh[0]):
                    # new events after every stored one (the usual case): the stored ones only set the state
                    diff = evaluate(fresh, deduped=True, prefix=mine).day_points(first_day, last_day)
                else:
                    after = evaluate(sorted(mine + fresh, key=_row_order), deduped=True).day_points(first_day, last_day)
                    if dayf(mine[-1][0]) >= first_day:
                        before = evaluate(mine, deduped=True).day_points(first_day, last_day)
                        diff = {d: after.get(d, 0) - before.get(d, 0) for d in after.keys() | before.keys()}
                    else:
                        diff = after
                if diff:
                    _accumulate(totals, tid, diff, starts, engine, pg)
                if have_all and _row_order(fresh[0]) < _row_order(have_all[-1]):
                    cached = sorted(have_all + fresh, key=_row_order)
                else:
                    cached = have_all + fresh
                updates.append((tid, cached, lo_load))
                if writer is not None:
                    if n % chunk == chunk - 1 and totals:
                        writer = asyncio.ensure_future(_then(writer, b.add_totals(totals)))
                        totals = {}
                    if n % 256 == 255:
                        await asyncio.sleep(0)      # let the driver keep the writes going
        except BaseException:
            if writer is not None:            # leave the connection usable for the rollback
                try:
                    await writer
                except BaseException:
                    pass
            raise
        if writer is not None:
            await _then(writer, b.add_totals(totals))
        else:
            await b.insert_events(new_rows)
            await b.add_totals(totals)
        await self._bump(generation + 1, newest)

        def after_commit() -> None:
            cache.generation = generation + 1
            complete = cache.complete_from
            for tid, merged, lo_load in updates:
                cache.put(tid, merged, min(lo_load, complete.get(tid, lo_load)))
            cache.trim(newest)
        return report, after_commit

    _starts_cache: dict = {}

    def _starts(self, engine: Engine, pg: bool) -> dict:
        """Per engine and dialect: local day ordinal -> ((kind code, period start), ...) (memoised)."""
        key = (id(engine), pg)
        got = ScoreRepository._starts_cache.get(key)
        if got is None or got[0] is not engine:
            got = (engine, {})
            if len(ScoreRepository._starts_cache) > 8:
                ScoreRepository._starts_cache.clear()
            ScoreRepository._starts_cache[key] = got
        return got[1]

    def _plan(self, engine: Engine, by_teacher: dict[int, dict[str, tuple]]) -> dict[int, tuple]:
        """Per teacher: (load events from this epoch, first affected day, last affected day, actions).

        Loading starts at the earliest lookback of the rules the new events touch, and never later
        than the start of the bucket of the earliest new event (so stored duplicates are seen)."""
        rules = engine.rules.rules
        by_action = engine.by_action
        dayf = engine.clock.day_fn()
        day_start = engine.clock.day_start
        memo: dict[str, dict[int, tuple[int, int, frozenset[str]]]] = {}
        touched_of: dict[str, frozenset[str]] = {
            a: frozenset(x for ri in idx for x in rules[ri].actions) for a, idx in by_action.items()}
        empty: frozenset[str] = frozenset()
        out = {}
        for tid, tb in by_teacher.items():
            lo_epoch = _NEVER
            first_day = _NEVER
            last_day = 0
            touched = empty
            for epoch, _key, action, _detail in tb.values():
                day = dayf(epoch)
                ma = memo.get(action)
                if ma is None:
                    ma = memo[action] = {}
                m = ma.get(day)
                if m is None:
                    d = date.fromordinal(day)
                    lb = _NEVER
                    for ri in by_action.get(action, ()):
                        lb = min(lb, day_start(engine.rule_lookback(rules[ri], d).toordinal()))
                    m = ma[day] = (lb, engine.affected_until(action, d).toordinal(), touched_of.get(action, empty))
                lb, end, t = m
                if day < first_day:
                    first_day = day
                if end > last_day:
                    last_day = end
                if t is not touched and not t <= touched:
                    touched = touched | t
                bstart = epoch - epoch % BUCKET
                if bstart < lb:
                    lb = bstart
                if lb < lo_epoch:
                    lo_epoch = lb
            out[tid] = (lo_epoch, first_day, last_day, touched)
        return out

    async def _windows(self, plan: dict[int, tuple], cache: WindowCache,
                       max_epoch: int) -> dict[int, list[tuple]]:
        """Stored events of each teacher from its plan's start on: from the cache, or loaded."""
        out: dict[int, list[tuple]] = {}
        need: list[tuple[int, int, int]] = []      # (teacher, from epoch, to epoch exclusive)
        for tid, (lo, *_rest) in plan.items():
            have = cache.complete_from.get(tid)
            if have is not None and have <= lo:
                out[tid] = cache.rows[tid]
            else:
                need.append((tid, lo, have if have is not None else _NEVER))
        if need:
            top = max_epoch // BUCKET
            pairs = []
            for tid, lo, hi in need:
                last = min(top, (hi - 1) // BUCKET) if hi != _NEVER else top
                for bucket in range(lo // BUCKET, last + 1):
                    pairs.append((bucket, tid))
            loaded: dict[int, list[tuple]] = defaultdict(list)
            if pairs:
                src = await self.bulk.temp("score_pairs", [("bucket", "integer"), ("teacher_id", "integer")], pairs)
                for tid, epoch, key, action, detail in await self.bulk.fetch(
                        "SELECT e.teacher_id, e.at_epoch, e.event_key, e.action, e.detail "
                        f"FROM {src} p JOIN score_events e ON e.bucket = p.bucket AND e.teacher_id = p.teacher_id"):
                    loaded[tid].append((epoch, key, action, detail))
            for tid, lo, hi in need:
                rows = [r for r in loaded.get(tid, ()) if lo <= r[0] < hi]
                if hi != _NEVER:
                    rows += cache.rows.get(tid, [])
                rows.sort(key=_row_order)
                out[tid] = rows
        return out

    async def rebuild_totals(self, engine: Engine, *, rows_per_pass: int = 400_000) -> int:
        """Recompute every teacher's totals from the stored events (after a rule-set change).
        Passes over the events table, each for a range of teachers that fits in memory."""
        b = self.bulk
        await b.lock()
        await self.session.execute(delete(ScoreTotal.__table__))
        counts = (await self.session.execute(select(ScoreEvent.teacher_id, func.count())
                                             .group_by(ScoreEvent.teacher_id).order_by(ScoreEvent.teacher_id))).all()
        groups: list[tuple[int, int]] = []
        acc, lo = 0, None
        for tid, n in counts:
            if lo is None:
                lo = tid
            acc += n
            if acc >= rows_per_pass:
                groups.append((lo, tid))
                acc, lo = 0, None
        if lo is not None:
            groups.append((lo, counts[-1][0]))
        done = 0
        starts = self._starts(engine, b.pg)
        for lo, hi in groups:
            per: dict[int, list[tuple]] = defaultdict(list)
            for tid, epoch, key, action, detail in await b.fetch(
                    "SELECT teacher_id, at_epoch, event_key, action, detail FROM score_events "
                    "WHERE teacher_id >= $1 AND teacher_id <= $2", lo, hi):
                per[tid].append((epoch, key, action, detail))
            totals: dict[Any, dict[int, dict[str, int]]] = {}
            for tid, evs in per.items():
                evs.sort(key=_row_order)
                _accumulate(totals, tid, engine.evaluate(evs, deduped=True).day_points(), starts, engine, b.pg)
                done += 1
            await b.add_totals(totals)
        generation, max_epoch = await self._state()
        await self._bump(generation + 1, max_epoch)
        return done

    # -- reads --
    async def events_for(self, teacher_id: int, engine: Engine, start: date, end: date) -> list[tuple]:
        """The teacher's rows needed to score days ``start``..``end`` exactly, in engine order."""
        clock = engine.clock
        lo = clock.day_start(engine.lookback(start).toordinal())
        hi = clock.day_start(end.toordinal() + 1)
        buckets = list(range(lo // BUCKET, (hi - 1) // BUCKET + 1))
        if self.bulk.pg:
            # one prepared statement whatever the number of buckets: bucket = ANY(array)
            res = await self.session.execute(text(
                "SELECT at_epoch, event_key, action, detail FROM score_events "
                "WHERE bucket = ANY(CAST(:b AS INTEGER[])) AND teacher_id = :t AND at_epoch >= :lo AND at_epoch < :hi"),
                {"b": buckets, "t": teacher_id, "lo": lo, "hi": hi})
            rows = [tuple(r) for r in res.all()]
        else:
            stmt = (select(ScoreEvent.at_epoch, ScoreEvent.event_key, ScoreEvent.action, ScoreEvent.detail)
                    .where(ScoreEvent.bucket.in_(bindparam("buckets", expanding=True)),
                           ScoreEvent.teacher_id == teacher_id,
                           ScoreEvent.at_epoch >= lo, ScoreEvent.at_epoch < hi))
            rows = [tuple(r) for r in (await self.session.execute(stmt, {"buckets": buckets})).all()]
        rows.sort(key=_row_order)
        return rows

    async def totals_of(self, teacher_id: int) -> dict[tuple[str, date], int]:
        """{(kind code w/m/y, period start): points} of one teacher (non-zero only)."""
        s = ScoreTotal.__table__
        res = await self.session.execute(select(s).where(s.c.teacher_id == teacher_id))
        out: dict[tuple[str, date], int] = {}
        for row in res.mappings().all():
            for key, pts in _expand(row):
                out[key] = out.get(key, 0) + pts
        return {k: p for k, p in out.items() if p}

    async def all_totals(self) -> dict[tuple[int, str, date], int]:
        """{(teacher, kind code w/m/y, period start): points}, non-zero only."""
        s = ScoreTotal.__table__
        out: dict[tuple[int, str, date], int] = {}
        for row in (await self.session.execute(select(s))).mappings().all():
            t = row["teacher_id"]
            for (k, st), pts in _expand(row):
                out[(t, k, st)] = out.get((t, k, st), 0) + pts
        return {k: p for k, p in out.items() if p}

    async def ranking(self, kind: str, start: date, *, city: str | None = None, county: str | None = None,
                      limit: int = 10) -> list[RankRow]:
        """Top teachers of a period (kind w/m/y, its start) in a territory; ties share a rank."""
        t, s = ScoreTeacher, ScoreTotal.__table__
        cols = (t.account, t.name, t.school, t.city, t.county)
        if kind == "y":
            col = s.c.y
            pts = col
            stmt = select(*cols, col.label("points")).join(s, s.c.teacher_id == t.id).where(
                s.c.year_start == start, col > 0)
        else:
            if kind == "m":
                col = s.c[_month_column(start)]
                end = date(start.year + start.month // 12, start.month % 12 + 1, 1) - timedelta(days=1)
            else:
                col = s.c[_week_column(start)]
                end = start + timedelta(days=6)
            # the rows of every scoring year that can hold days of the period (one or two)
            pts = func.sum(col)
            stmt = (select(*cols, pts.label("points")).join(s, s.c.teacher_id == t.id)
                    .where(s.c.year_start > start - timedelta(days=366), s.c.year_start <= end, col > 0)
                    .group_by(t.id, *cols))
        if city:
            stmt = stmt.where(t.city == city)
        if county:
            stmt = stmt.where(t.county == county)
        rows = (await self.session.execute(stmt.order_by(pts.desc(), t.account).limit(limit))).all()
        out, rank, prev = [], 0, None
        for i, r in enumerate(rows, start=1):
            if r.points != prev:
                rank, prev = i, r.points
            out.append(RankRow(rank, r.account, r.name, r.school, r.city, r.county, r.points))
        return out

    async def county_shares(self, year_start: date, min_points: int, *, city: str | None = None,
                            county: str | None = None) -> list[CountyShare]:
        """Per county: teachers on the list and those whose scoring-year points reach ``min_points``."""
        t = ScoreTeacher
        total = (select(t.city, t.county, func.count().label("n")).group_by(t.city, t.county))
        s = ScoreTotal.__table__
        qual = (select(t.city, t.county, func.count().label("n"))
                .join(s, s.c.teacher_id == t.id)
                .where(s.c.year_start == year_start, s.c.y >= min_points)
                .group_by(t.city, t.county))
        if city:
            total, qual = total.where(t.city == city), qual.where(t.city == city)
        if county:
            total, qual = total.where(t.county == county), qual.where(t.county == county)
        q = {(c, k): n for c, k, n in (await self.session.execute(qual)).all()}
        out = [CountyShare(c, k, n, q.get((c, k), 0)) for c, k, n in (await self.session.execute(total)).all()]
        out.sort(key=lambda x: (x.city, x.county))
        return out




async def _then(first: Any, coro: Any) -> None:
    """Await ``first`` (a future, or None), then ``coro``: writes on one connection, in order."""
    try:
        if first is not None:
            await first
    except BaseException:
        coro.close()
        raise
    await coro


_TOTAL_COLUMNS = ("y", *[f"m{i}" for i in range(TOTAL_MONTH_SLOTS)], *[f"w{i}" for i in range(TOTAL_WEEK_SLOTS)])


def _month_column(first: date) -> str:
    return f"m{(first.year * 12 + first.month - 1) % TOTAL_MONTH_SLOTS}"


def _week_column(monday: date) -> str:
    return f"w{((monday.toordinal() - 1) // 7) % TOTAL_WEEK_SLOTS}"


def _column_order(col: str) -> tuple:
    return (col[0], int(col[1:]) if len(col) > 1 else 0)


def _day_columns(engine: Engine, day: int, pg: bool) -> tuple:
    """(scoring-year start as stored, month column, week column) of a local day ordinal."""
    (_w, monday), (_m, first), (_y, ys) = engine.period_starts(day)
    return (ys if pg else ys.isoformat(), _month_column(first), _week_column(monday))


def _accumulate(totals: dict, tid: int, day_points: dict[int, int], starts: dict, engine: Engine, pg: bool) -> None:
    """Add a teacher's points per day to ``totals`` (year start -> teacher -> column -> points)."""
    for day, pts in day_points.items():
        if not pts:
            continue
        got = starts.get(day)
        if got is None:
            got = starts[day] = _day_columns(engine, day, pg)
        ys, mc, wc = got
        per = totals.get(ys)
        if per is None:
            per = totals[ys] = {}
        acc = per.get(tid)
        if acc is None:
            per[tid] = {"y": pts, mc: pts, wc: pts}
        else:
            acc["y"] += pts
            acc[mc] = acc.get(mc, 0) + pts
            acc[wc] = acc.get(wc, 0) + pts


_SLOT_STARTS: dict[date, dict[str, tuple[str, date]]] = {}


def _expand(row) -> list[tuple[tuple[str, date], int]]:
    """A score_totals row → [((kind code, period start), points)] for its non-zero columns."""
    ys = row["year_start"]
    if isinstance(ys, str):
        ys = date.fromisoformat(ys)
    slots = _SLOT_STARTS.get(ys)
    if slots is None:
        slots = {"y": ("y", ys)}
        monday = ys - timedelta(days=ys.weekday())
        for k in range(TOTAL_WEEK_SLOTS):
            w = monday + timedelta(weeks=k)
            slots[_week_column(w)] = ("w", w)
        mi = ys.year * 12 + ys.month - 1
        for k in range(TOTAL_MONTH_SLOTS):
            first = date((mi + k) // 12, (mi + k) % 12 + 1, 1)
            slots[_month_column(first)] = ("m", first)
        _SLOT_STARTS[ys] = slots
    return [(key, row[c]) for c, key in slots.items() if row[c]]


def _json(detail) -> str | None:
    if detail is None or isinstance(detail, str):
        return detail or None
    return json.dumps(detail, ensure_ascii=False, sort_keys=True)


def _same(a: tuple, b: tuple) -> bool:
    """Two rows (epoch, key, action, detail as dict or JSON text) carry the same event."""
    return a[0] == b[0] and a[2] == b[2] and _json(a[3]) == _json(b[3])


def _row_order(r: tuple) -> tuple:
    return (r[0], r[1])


__all__ = ["BUCKET", "CountyShare", "IngestReport", "RankRow", "RuleSetRepository", "ScoreRepository", "Teacher",
           "TeacherRepository", "WindowCache"]
