"""The SQLite connection under SQLAlchemy's ``sqlite+aiosqlite`` dialect: one thread hop per statement.

aiosqlite runs every call on the connection's own thread and hands the result back to the event
loop. SQLAlchemy's adapter makes four such calls per statement (open a cursor, execute, fetch all,
close): four thread wake-ups and loop wake-ups, each far dearer than the statement itself on a local
file, and each a chance to wait for the GIL behind the stream thread. Here a statement is executed and
its first rows fetched in one call on the worker thread; opening and closing the cursor cost nothing.
Results longer than ``_PREFETCH`` rows are fetched on in further calls, so memory stays bounded.

The connection is still aiosqlite's (its thread, its queue, its close); only the cursor differs.
"""

from __future__ import annotations

import sqlite3
from collections import deque
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

import aiosqlite

R = TypeVar("R")
_PREFETCH = 1000  # rows fetched with the statement; the rest on demand


class _Cursor(aiosqlite.Cursor):
    """A cursor made on the worker thread by its first statement, whose rows come back with it."""

    def __init__(self, conn: _Connection) -> None:
        self.iter_chunk_size = conn._iter_chunk_size
        self._conn = conn
        self._cursor = None  # type: ignore[assignment]  # set by the first statement
        self._rows: deque[Any] = deque()
        self._more = False  # rows left on the sqlite3 cursor after the prefetch

    def _run(self, sql: str, parameters: Any, many: bool) -> tuple[sqlite3.Cursor, list[Any], bool]:
        """On the worker thread: execute, then fetch up to _PREFETCH rows."""
        cur = self._cursor if self._cursor is not None else self._conn._conn.cursor()
        if many:
            cur.executemany(sql, parameters)
        else:
            cur.execute(sql, parameters)
        if cur.description is None:
            return cur, [], False
        rows = cur.fetchmany(_PREFETCH)
        return cur, rows, len(rows) == _PREFETCH  # a full batch: there may be more

    async def _statement(self, sql: str, parameters: Any, many: bool) -> _Cursor:
        cur, rows, more = await self._conn._execute(self._run, sql, parameters, many)
        self._cursor, self._rows, self._more = cur, deque(rows), more
        return self

    async def execute(self, sql: str, parameters: Iterable[Any] | None = None) -> _Cursor:
        return await self._statement(sql, [] if parameters is None else parameters, False)

    async def executemany(self, sql: str, parameters: Iterable[Iterable[Any]]) -> _Cursor:
        return await self._statement(sql, parameters, True)

    async def fetchall(self) -> list[Any]:
        rows = list(self._rows)
        self._rows.clear()
        if self._more:
            rows.extend(await self._conn._execute(self._cursor.fetchall))
            self._more = False
        return rows

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        n = size or self.arraysize
        if len(self._rows) < n and self._more:
            extra = await self._conn._execute(self._cursor.fetchmany, n - len(self._rows))
            self._more = bool(extra)
            self._rows.extend(extra)
        return [self._rows.popleft() for _ in range(min(n, len(self._rows)))]

    async def fetchone(self) -> Any:
        rows = await self.fetchmany(1)
        return rows[0] if rows else None

    async def close(self) -> None:
        """Nothing to do on the worker thread: every statement was stepped to its end or reset."""
        self._rows.clear()
        if self._more:  # rows left unread: reset the statement there (releases its read lock)
            self._more = False
            await self._conn._execute(self._cursor.close)

    @property
    def rowcount(self) -> int:
        return -1 if self._cursor is None else self._cursor.rowcount

    @property
    def lastrowid(self) -> int | None:
        return None if self._cursor is None else self._cursor.lastrowid

    @property
    def arraysize(self) -> int:
        return 1 if self._cursor is None else self._cursor.arraysize

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        if self._cursor is not None:
            self._cursor.arraysize = value

    @property
    def description(self) -> Any:
        return None if self._cursor is None else self._cursor.description


class _Connection(aiosqlite.Connection):
    async def run(self, fn: Callable[..., R], *args: Any) -> R:
        """``fn(sqlite3_connection, *args)`` on the connection's thread: several statements, one hop."""
        return await self._execute(fn, self._conn, *args)

    def cursor(self) -> _Cursor:  # type: ignore[override]  # awaited by SQLAlchemy through __aenter__
        return _Cursor(self)

    # Without a transaction open there is nothing to commit or roll back: no hop (a read-only unit of
    # work's commit, the pool's rollback when a connection comes back). The calls on one connection
    # never overlap (SQLAlchemy awaits each), so the flag is not changing while it is read.
    async def commit(self) -> None:
        if self._conn.in_transaction:
            await super().commit()

    async def rollback(self) -> None:
        if self._conn.in_transaction:
            await super().rollback()


def connect(database: str, **kwargs: Any) -> aiosqlite.Connection:
    """``async_creator_fn`` of the aiosqlite dialect: the dialect's connect arguments, our cursor."""

    def connector() -> sqlite3.Connection:
        return sqlite3.connect(database, **kwargs)

    conn = _Connection(connector, 64)
    conn._thread.daemon = True  # as the dialect does for its own connections
    return conn
