"""Bulk statements on the session's own connection and transaction, through the driver.

PostgreSQL (asyncpg): rows go to session-local staging tables by COPY (``copy_records_to_table``) and
reach the real tables in one set-based statement each. SQLite (sqlite3 under aiosqlite): the public
API's fastest way in is ``executemany`` of one prepared statement (it runs the whole loop on the
driver thread); the staging table is a TEMP table (the connection's own, in memory) and the same
set-based statements follow.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models.scores import TOTAL_MONTH_SLOTS, TOTAL_WEEK_SLOTS

INGEST_LOCK = 7312404
BUCKET = 604800  # seconds: score_events.bucket = at_epoch // BUCKET
EVENT_COLUMNS = ("bucket", "teacher_id", "event_key", "action", "at_epoch", "detail")
TOTAL_COLUMNS = ("y", *[f"m{i}" for i in range(TOTAL_MONTH_SLOTS)], *[f"w{i}" for i in range(TOTAL_WEEK_SLOTS)])
_STAGE_DDL = (
    "bucket integer, teacher_id integer, event_key varchar(160), action varchar(48), at_epoch bigint, detail text"
)

# score_county_points counts the score_totals rows per (scoring year, city, county, year points): a
# changed teacher leaves its old points (-1) and joins its new ones (+1); /排行's county shares sum it
COUNTY_POINTS_MOVE = """
INSERT INTO score_county_points (year_start, city, county, points, teachers)
SELECT year_start, city, county, points, n FROM (
  SELECT x.year_start, x.city, x.county, x.points, SUM(x.n) AS n FROM (
    SELECT d.year_start, t.city, t.county, s.y AS points, -1 AS n
      FROM {deltas} d JOIN score_totals s ON s.year_start = d.year_start AND s.teacher_id = d.teacher_id
      JOIN score_teachers t ON t.id = d.teacher_id WHERE d.y <> 0
    UNION ALL
    SELECT d.year_start, t.city, t.county, COALESCE(s.y, 0) + d.y AS points, 1 AS n
      FROM {deltas} d LEFT JOIN score_totals s ON s.year_start = d.year_start AND s.teacher_id = d.teacher_id
      JOIN score_teachers t ON t.id = d.teacher_id WHERE d.y <> 0
  ) x GROUP BY x.year_start, x.city, x.county, x.points
) g WHERE n <> 0
ON CONFLICT (year_start, city, county, points) DO UPDATE SET teachers = score_county_points.teachers + excluded.teachers
"""
# the same on PostgreSQL in one statement with the totals upsert: a row the upsert inserted
# (xmax = 0) had no old points; any other left its old points (new - delta)
COUNTY_POINTS_MOVE_PG = """
WITH up AS ({upsert} RETURNING year_start, teacher_id, y, xmax = 0 AS inserted),
moved AS (
  SELECT u.year_start, t.city, t.county, u.y - d.y AS points, -1 AS n
    FROM up u JOIN {deltas} d ON d.year_start = u.year_start AND d.teacher_id = u.teacher_id
    JOIN score_teachers t ON t.id = u.teacher_id WHERE d.y <> 0 AND NOT u.inserted
  UNION ALL
  SELECT u.year_start, t.city, t.county, u.y AS points, 1 AS n
    FROM up u JOIN {deltas} d ON d.year_start = u.year_start AND d.teacher_id = u.teacher_id
    JOIN score_teachers t ON t.id = u.teacher_id WHERE d.y <> 0
)
INSERT INTO score_county_points (year_start, city, county, points, teachers)
SELECT year_start, city, county, points, SUM(n) FROM moved GROUP BY year_start, city, county, points HAVING SUM(n) <> 0
ON CONFLICT (year_start, city, county, points) DO UPDATE SET teachers = score_county_points.teachers + excluded.teachers
"""
COUNTY_POINTS_RECOUNT = (
    "INSERT INTO score_county_points (year_start, city, county, points, teachers) "
    "SELECT s.year_start, t.city, t.county, s.y, count(*) FROM score_totals s "
    "JOIN score_teachers t ON t.id = s.teacher_id WHERE true GROUP BY s.year_start, t.city, t.county, s.y"
)

# year start (date on PostgreSQL, ISO text on SQLite) -> teacher -> column (y, m<i>, w<i>) -> points
Totals = dict[Any, dict[int, dict[str, int]]]


def month_column(first: date) -> str:
    return f"m{(first.year * 12 + first.month - 1) % TOTAL_MONTH_SLOTS}"


def week_column(monday: date) -> str:
    return f"w{((monday.toordinal() - 1) // 7) % TOTAL_WEEK_SLOTS}"


def _column_order(col: str) -> tuple[str, int]:
    return (col[0], int(col[1:]) if len(col) > 1 else 0)


class Bulk:
    """Driver-level statements for one session (one unit of work)."""

    def __init__(self, session: AsyncSession, totals_chunk: int = 50_000) -> None:
        self.session = session
        self.dialect = session.bind.dialect.name if session.bind else "sqlite"
        self.pg = self.dialect == "postgresql"
        self.totals_chunk = totals_chunk
        self._driver: Any = None
        self._begun = False
        self._ready: set[str] = set()

    async def driver(self) -> Any:
        if self._driver is None or not self._begun:
            conn = await self.session.connection()
            # make sure a transaction is open on the driver connection before using it directly
            await conn.execute(text("SELECT 1"))
            self._begun = True
            self._driver = (await conn.get_raw_connection()).driver_connection
        return self._driver

    async def reader(self) -> Any:
        """The driver connection for a read: whether a transaction is open yet does not matter."""
        if self._driver is None:
            conn = await self.session.connection()
            self._driver = (await conn.get_raw_connection()).driver_connection
        return self._driver

    async def lock(self) -> None:
        if self.pg:
            await self.session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": INGEST_LOCK})

    async def _temp(self, table: str, ddl: str) -> str:
        """A session-local staging table, created once and emptied; returns its qualified name."""
        if table not in self._ready:
            if self.pg:
                await self.execute(f"CREATE TEMP TABLE IF NOT EXISTS {table} ({ddl}) ON COMMIT DELETE ROWS")
            else:
                await self.execute(f"CREATE TEMP TABLE IF NOT EXISTS {table} ({ddl})")
            self._ready.add(table)
        if self.pg:
            await self.execute(f"TRUNCATE {table}")
            return table
        await self.execute(f"DELETE FROM temp.{table}")
        return f"temp.{table}"

    async def stage(self, table: str, ddl: str, columns: Sequence[str], rows: Sequence[tuple[Any, ...]]) -> str:
        """Fill a staging table with ``rows`` (COPY on PostgreSQL, executemany on SQLite)."""
        name = await self._temp(table, ddl)
        if rows:
            d = await self.driver()
            if self.pg:
                await d.copy_records_to_table(table, records=rows, columns=list(columns))
            else:
                await d.executemany(
                    f"INSERT INTO {name} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})", rows
                )
        return name

    async def insert_events(self, rows: Sequence[tuple[Any, ...]]) -> None:
        """Rows known to be new, straight into score_events (a plain INSERT: a key already there fails
        the transaction rather than being counted twice)."""
        if not rows:
            return
        d = await self.driver()
        if self.pg:
            await d.copy_records_to_table("score_events", records=rows, columns=list(EVENT_COLUMNS))
        else:
            await d.executemany(
                f"INSERT INTO score_events ({', '.join(EVENT_COLUMNS)}) VALUES (?, ?, ?, ?, ?, ?)", rows
            )

    async def insert_new_events(self, rows: Sequence[tuple[Any, ...]]) -> tuple[set[tuple[int, str]], list[tuple]]:
        """Insert what is new of ``rows`` (bucket, teacher, key, action, epoch, detail JSON) under the
        primary key in one statement. Returns ({(teacher, key)} inserted, [(teacher, key)] already stored
        with other content under an ``id:`` key)."""
        stage = await self.stage("score_stage", _STAGE_DDL, EVENT_COLUMNS, rows)
        cols = ", ".join(EVENT_COLUMNS)
        new = await self.fetch(
            f"INSERT INTO score_events ({cols}) SELECT {cols} FROM {stage} WHERE true "
            "ON CONFLICT DO NOTHING RETURNING teacher_id, event_key"
        )
        fresh = {(t, k) for t, k in new}
        conflicts: list[tuple] = []
        if len(fresh) < len(rows):
            differs = "IS DISTINCT FROM" if self.pg else "IS NOT"
            conflicts = await self.fetch(
                f"SELECT s.teacher_id, s.event_key FROM {stage} s JOIN score_events e ON e.bucket = s.bucket "
                "AND e.teacher_id = s.teacher_id AND e.event_key = s.event_key WHERE s.event_key LIKE 'id:%' "
                f"AND (e.action <> s.action OR e.at_epoch <> s.at_epoch OR e.detail {differs} s.detail)"
            )
        return fresh, conflicts

    async def add_totals(self, totals: Totals) -> None:
        """Add ``totals`` to score_totals: one upsert per teacher and scoring year, set-based."""
        for ys, per in totals.items():
            items = sorted((t, c) for t, c in per.items() if any(c.values()))
            for i in range(0, len(items), self.totals_chunk):
                await self._add_chunk(ys, items[i : i + self.totals_chunk])

    async def _add_chunk(self, ys: Any, items: list[tuple[int, dict[str, int]]]) -> None:
        """Stage one chunk of deltas, move the county histogram (it reads the year points before the
        change), then upsert the totals: three statements whatever the chunk's size."""
        if not items:
            return
        cols = sorted({k for _t, c in items for k in c} | {"y"}, key=_column_order)
        ddl = ", ".join(
            ["year_start date", "teacher_id integer"] + [f"{c} integer NOT NULL DEFAULT 0" for c in TOTAL_COLUMNS]
        )
        if self.pg:
            ys = ys if not isinstance(ys, str) else date.fromisoformat(ys)
        else:
            ys = ys if isinstance(ys, str) else ys.isoformat()
        stage = await self.stage(
            "score_total_deltas",
            ddl,
            ["year_start", "teacher_id", *cols],
            [(ys, t, *[c.get(col, 0) for col in cols]) for t, c in items],
        )
        upsert = (
            f"INSERT INTO score_totals (year_start, teacher_id, {', '.join(cols)}) "
            f"SELECT year_start, teacher_id, {', '.join(cols)} FROM {stage} WHERE true "
            "ON CONFLICT (year_start, teacher_id) DO UPDATE SET "
            + ", ".join(f"{c} = score_totals.{c} + excluded.{c}" for c in cols)
        )
        if self.pg:  # one statement: the upsert returns the new year points, the histogram moves from them
            await self.execute(COUNTY_POINTS_MOVE_PG.format(upsert=upsert, deltas=stage))
        else:  # SQLite has no RETURNING inside WITH: the histogram first (it reads the old points)
            await self.execute(COUNTY_POINTS_MOVE.format(deltas=stage))
            await self.execute(upsert)

    async def fetch(self, sql: str, *params: Any, read: bool = False) -> list[tuple]:
        """Rows of ``sql`` written with $n placeholders (rewritten to ? for SQLite). ``read``: a plain
        read, which needs no transaction opened for it first (one round trip less)."""
        d = await (self.reader() if read else self.driver())
        if self.pg:
            return [tuple(r) for r in await d.fetch(sql, *params)]
        # one hop to the connection's thread for the statement and its rows (aiosqlite's execute, then
        # fetchall, then close would be three)
        return list(await d.execute_fetchall(re.sub(r"\$\d+(::\w+(\[\])?)?", "?", sql), params))

    async def execute(self, sql: str) -> None:
        d = await self.driver()
        if self.pg:
            await d.execute(sql)
        else:
            await d.execute_fetchall(sql, ())  # one hop, as in fetch
