"""The inbox's group-commit transaction, written through the driver connection.

The inbox (``bot/claims.py``) writes two or three short transactions a message: the frame before its
ACK, the "handled" mark (with the reply's outbox rows when it has some), the "sent" mark of a webhook
reply. Through SQLAlchemy Core every statement paid for its cache key, its execution context and its
result processing, and on SQLite every statement and the commit were a thread hop each (aiosqlite).
Here the same statements go to the driver as fixed SQL texts (each prepared once by the driver's
statement cache, sqlite3's and asyncpg's), with the values converted by the columns' own SQLAlchemy
bind processors, so the rows are exactly what the ORM would write and read back:

* SQLite: the whole transaction (every statement, then COMMIT) is one function run on the
  connection's aiosqlite thread: one thread hop a transaction instead of one a statement.
* PostgreSQL (asyncpg): the whole transaction is ONE statement (data-modifying CTEs over arrays):
  one round trip, no BEGIN/COMMIT.

The connection comes from the engine's pool and is kept between transactions while they keep coming
(it goes back after resting ``KEEP_SECONDS``, so PostgreSQL's ping after rest still applies at the next
checkout); a PostgreSQL connection whose statement failed is invalidated, so the inbox's one-by-one
retry runs on a fresh one.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from storage.models.core import OutboxMessage
from storage.models.inbox import InboxMessage
from storage.repositories.outbox import Send

OUTBOX_COLUMNS = (
    "kind",
    "conversation_id",
    "user_ids",
    "msg_key",
    "msg_param",
    "status",
    "attempts",
    "next_attempt_at",
    "created_at",
    "claimed_at",
    "sent_at",
    "last_error",
    "reply_to_msg_id",
    "purpose",
)
ERROR_CHARS = 500  # as OutboxRepository.reschedule / mark_failed keep them
KEEP_SECONDS = 4.0  # the connection goes back to the pool after resting this long (< storage.db.PING_AFTER_IDLE)


@dataclass
class InboxWrite:
    """What one group commit writes (the lists are in the order the operations arrived)."""

    stores: list[tuple[str, dict[str, Any]]] = field(default_factory=list)  # (msgId, callback data)
    # (msgId, reply rows as OutboxRepository.enqueue keywords): mark handled if not yet, then add the rows
    finishes: list[tuple[str, list[dict[str, Any]]]] = field(default_factory=list)
    sent: list[int] = field(default_factory=list)  # outbox ids a session webhook delivered
    retries: list[tuple[int, str]] = field(default_factory=list)  # (outbox id, error): to the outbox now
    failures: list[tuple[int, str]] = field(default_factory=list)  # (outbox id, error): cannot be sent


@dataclass
class InboxWritten:
    new: set[str]  # msgIds stored now (the others were stored already)
    finished: list[list[int] | None]  # per finish: the new outbox ids per row, None if handled already


Processor = Callable[[Any], Any] | None


class InboxSql:
    """The inbox's statements for one engine (SQLite or PostgreSQL)."""

    def __init__(self, engine: AsyncEngine):
        self.engine = engine
        dialect = engine.dialect
        self.pg = dialect.name == "postgresql"
        inbox, outbox = InboxMessage.__table__.c, OutboxMessage.__table__.c

        def processor(column: Any) -> Processor:
            return column.type.dialect_impl(dialect).bind_processor(dialect)

        self._conn: AsyncConnection | None = None
        self._driver_conn: Any = None
        self._used = 0.0  # time.monotonic() of the last transaction
        self._when = processor(inbox.received_at)
        self._data = processor(inbox.data)
        self._outbox = [processor(outbox[c]) for c in OUTBOX_COLUMNS]

    def _at(self, now: datetime) -> Any:
        return self._when(now) if self._when else now

    def _outbox_values(self, rows: list[dict[str, Any]], now: datetime) -> list[tuple[Any, ...]]:
        out = []
        for d in rows:
            send = Send(
                d["kind"],
                d["msg_key"],
                d["msg_param"],
                d.get("conversation_id"),
                d.get("user_ids"),
                d.get("reply_to_msg_id"),
                d.get("purpose", ""),
                bool(d.get("held")),
            )
            for values in send.rows(now, ("group", "users")):
                out.append(
                    tuple(
                        p(values[c]) if p is not None else values[c]  # JSON: None is the JSON null, as the ORM writes
                        for c, p in zip(OUTBOX_COLUMNS, self._outbox, strict=True)
                    )
                )
        return out

    async def write(self, w: InboxWrite, now: datetime) -> InboxWritten:
        at = self._at(now)
        data = self._data
        b = _Converted(
            stores=[(m, at, data(d) if data else d) for m, d in w.stores],
            # each finish's rows, converted; rows of one draft may be several (a send to more than 20)
            finishes=[(m, [self._outbox_values([d], now) for d in drafts]) for m, drafts in w.finishes],
            at=at,
            sent=w.sent,
            retries=[(oid, at, error[:ERROR_CHARS]) for oid, error in w.retries],
            failures=[(oid, error[:ERROR_CHARS]) for oid, error in w.failures],
        )
        driver = await self._driver()
        if not self.pg:  # an error was rolled back on the connection's thread: the connection is fine
            written = await driver.run(_sqlite_write, b)
        else:
            try:
                written = await _pg_write(driver, b)
            except BaseException:
                await self.close(invalidate=True)  # whatever state it is in: a fresh connection next time
                raise
        self._used = time.monotonic()
        return written

    async def _driver(self) -> Any:
        """The connection kept checked out between transactions (a checkout and a return cost more than a
        short transaction); given back after resting, so the pool's checkout (PostgreSQL: a ping after
        rest) sees it again."""
        if self._conn is not None and time.monotonic() - self._used > KEEP_SECONDS:
            await self.close()
        if self._conn is None:
            conn = await self.engine.connect()
            driver = (await conn.get_raw_connection()).driver_connection
            assert driver is not None  # a live pooled connection has its driver connection
            self._conn, self._driver_conn = conn, driver
        return self._driver_conn

    async def close(self, *, invalidate: bool = False) -> None:
        """Give the connection back to the pool (``invalidate``: discard it)."""
        conn, self._conn = self._conn, None
        if conn is None:
            return
        if invalidate:
            await conn.invalidate()
        await conn.close()


@dataclass
class _Converted:
    """An InboxWrite with its values converted for the driver."""

    stores: list[tuple[str, Any, Any]]  # (msgId, received at, data)
    finishes: list[tuple[str, list[list[tuple[Any, ...]]]]]  # (msgId, per draft: its rows' values)
    at: Any
    sent: list[int]
    retries: list[tuple[int, Any, str]]  # (outbox id, next attempt, error)
    failures: list[tuple[int, str]]


_SQLITE_STORE = "INSERT INTO inbox (msg_id, received_at, data) VALUES (?, ?, ?) ON CONFLICT DO NOTHING"
_SQLITE_HANDLED = "UPDATE inbox SET handled_at = ? WHERE msg_id = ? AND handled_at IS NULL"
_SQLITE_OUTBOX = (
    f"INSERT INTO outbox ({', '.join(OUTBOX_COLUMNS)}) VALUES ({', '.join('?' * len(OUTBOX_COLUMNS))}) RETURNING id"
)
_SQLITE_SENT = "UPDATE outbox SET status = 'sent', sent_at = ?, last_error = NULL WHERE id = ?"
_SQLITE_RETRY = "UPDATE outbox SET status = 'pending', next_attempt_at = ?, last_error = ? WHERE id = ?"
_SQLITE_FAILED = "UPDATE outbox SET status = 'failed', last_error = ? WHERE id = ?"


def _sqlite_write(conn: sqlite3.Connection, b: _Converted) -> InboxWritten:
    """On the connection's thread: the whole transaction, committed (or rolled back and raised)."""
    cur = conn.cursor()
    try:
        new: set[str] = set()
        for row in b.stores:
            cur.execute(_SQLITE_STORE, row)
            if cur.rowcount == 1:
                new.add(row[0])
        finished: list[list[int] | None] = []
        for msg_id, drafts in b.finishes:
            cur.execute(_SQLITE_HANDLED, (b.at, msg_id))
            if cur.rowcount != 1:  # handled already (also: the same msgId earlier in this batch)
                finished.append(None)
                continue
            ids = []
            for rows in drafts:
                for values in rows:
                    ids.append(cur.execute(_SQLITE_OUTBOX, values).fetchall()[0][0])
            finished.append(ids)
        if b.sent:
            cur.executemany(_SQLITE_SENT, [(b.at, oid) for oid in b.sent])
        if b.retries:
            cur.executemany(_SQLITE_RETRY, [(when, error, oid) for oid, when, error in b.retries])
        if b.failures:
            cur.executemany(_SQLITE_FAILED, [(error, oid) for oid, error in b.failures])
        conn.commit()
    except BaseException:
        conn.rollback()
        raise
    finally:
        cur.close()
    return InboxWritten(new, finished)


# PostgreSQL: the whole batch as ONE statement (data-modifying CTEs run once each, to completion, even
# when nothing reads them; one statement is atomic): one round trip, no BEGIN/COMMIT. The frames of a
# batch are never finished in it (a finish follows its frame's committed store), nor a reply row marked.
_PG_TYPES = {
    "kind": "varchar",
    "conversation_id": "varchar",
    "user_ids": "text",
    "msg_key": "varchar",
    "msg_param": "text",
    "status": "varchar",
    "attempts": "int",
    "next_attempt_at": "timestamp",
    "created_at": "timestamp",
    "claimed_at": "timestamp",
    "sent_at": "timestamp",
    "last_error": "text",
    "reply_to_msg_id": "varchar",
    "purpose": "varchar",
}
_PG_JSON = {"user_ids", "msg_param"}
_PG_WRITE = f"""
WITH stored AS (
  INSERT INTO inbox (msg_id, received_at, data)
  SELECT m, $1, d::json FROM unnest($2::varchar[], $3::text[]) AS t(m, d)
  ON CONFLICT DO NOTHING RETURNING msg_id
), handled AS (
  UPDATE inbox SET handled_at = $1 WHERE msg_id = ANY($4::varchar[]) AND handled_at IS NULL RETURNING msg_id
), replies AS (
  INSERT INTO outbox ({", ".join(OUTBOX_COLUMNS)})
  SELECT {", ".join(f"r.{c}::json" if c in _PG_JSON else f"r.{c}" for c in OUTBOX_COLUMNS)}
  FROM unnest({", ".join(f"${i}::{_PG_TYPES[c]}[]" for i, c in enumerate(OUTBOX_COLUMNS, start=5))})
    WITH ORDINALITY AS r({", ".join(OUTBOX_COLUMNS)}, n)
  WHERE r.reply_to_msg_id IN (SELECT msg_id FROM handled) ORDER BY r.n
  RETURNING id, reply_to_msg_id
), sent AS (
  UPDATE outbox SET status = 'sent', sent_at = $1, last_error = NULL WHERE id = ANY($19::int[]) RETURNING id
), retried AS (
  UPDATE outbox SET status = 'pending', next_attempt_at = $1, last_error = r.e
  FROM unnest($20::int[], $21::text[]) AS r(i, e) WHERE outbox.id = r.i RETURNING id
), failed AS (
  UPDATE outbox SET status = 'failed', last_error = r.e
  FROM unnest($22::int[], $23::text[]) AS r(i, e) WHERE outbox.id = r.i RETURNING id
)
SELECT 's' AS k, msg_id, NULL::int AS id FROM stored
UNION ALL SELECT 'h', msg_id, NULL FROM handled
UNION ALL SELECT 'o', reply_to_msg_id, id FROM replies
"""


async def _pg_write(conn: Any, b: _Converted) -> InboxWritten:
    first: dict[str, int] = {}  # msgId → its first finish in this batch (the only one that may win)
    for i, (msg_id, _drafts) in enumerate(b.finishes):
        first.setdefault(msg_id, i)
    rows = [values for i in first.values() for draft in b.finishes[i][1] for values in draft]
    columns = [list(c) for c in zip(*rows, strict=True)] if rows else [[] for _ in OUTBOX_COLUMNS]
    result = await conn.fetch(
        _PG_WRITE,
        b.at,
        [m for m, _a, _d in b.stores],
        [d for _m, _a, d in b.stores],
        list(first),
        *columns,
        b.sent,
        [oid for oid, _w, _e in b.retries],
        [e for _o, _w, e in b.retries],
        [oid for oid, _e in b.failures],
        [e for _o, e in b.failures],
    )
    new = {r["msg_id"] for r in result if r["k"] == "s"}
    marked = {r["msg_id"] for r in result if r["k"] == "h"}
    # the rows were inserted in the order given (ORDER BY n), so their ids rise in that order
    ids = iter(sorted(r["id"] for r in result if r["k"] == "o"))
    finished: list[list[int] | None] = []
    for i, (msg_id, drafts) in enumerate(b.finishes):
        if first[msg_id] != i or msg_id not in marked:  # handled already, or a later copy in this batch
            finished.append(None)
        else:
            finished.append([next(ids) for draft in drafts for _values in draft])
    return InboxWritten(new, finished)
