"""Engine, sessions and the unit of work.

One unit of work per message and per job (SQLAlchemy asyncio: session per
task). Handlers and repositories never commit: the dispatcher or the job runner
opens ``async with db.unit_of_work() as uow`` and the block commits when it
ends without an exception, and rolls back otherwise.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import event, text
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import ORMExecuteState, Session

from storage import sqlite_driver

R = TypeVar("R")


SQLITE_CACHE_MB = 64  # page cache per SQLite connection (SQLite's own default is 2 MB), filled as pages are read


def make_engine(url: str, sqlite_cache_mb: int = SQLITE_CACHE_MB, **kw: Any) -> AsyncEngine:
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        # One connection: SQLite has one writer anyway, and queueing in the pool is far
        # cheaper than SQLite's busy-wait sleeps when transactions collide.
        kw.setdefault("pool_size", 1)
        kw.setdefault("max_overflow", 0)
        # One thread hop per statement instead of four (storage/sqlite_driver.py).
        connect_args = {"timeout": 30, "async_creator_fn": sqlite_driver.connect}
        engine = create_async_engine(url, connect_args=connect_args, **kw)

        @event.listens_for(engine.sync_engine, "connect")
        def _pragmas(dbapi_conn, _record):  # pragma: no cover - exercised by every sqlite test
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            # the hot part of a large database in memory: the recent buckets of score_events that
            # ingestion writes, score_totals, the upper levels of the trees a query descends
            cur.execute(f"PRAGMA cache_size=-{sqlite_cache_mb * 1024}")
            cur.close()

        return engine
    kw.setdefault("pool_size", 10)
    kw.setdefault("max_overflow", 10)
    engine = create_async_engine(url, **kw)
    if not kw.get("pool_pre_ping"):
        _ping_after_idle(engine)
    return engine


PING_AFTER_IDLE = 5.0  # seconds a pooled PostgreSQL connection may rest before it is pinged at checkout


def _ping_after_idle(engine: AsyncEngine) -> None:
    """SQLAlchemy's pool_pre_ping, only for connections that rested: under load a connection comes
    back to work within milliseconds and the ping was a round trip per transaction (the inbox alone
    runs ~3 a message). A connection the server dropped while it was busy fails its next statement
    instead: the pool is invalidated then, and the inbox retries that batch one by one on fresh ones."""
    sync = engine.sync_engine

    @event.listens_for(sync, "checkin")
    def _rested(_dbapi_conn, record):  # pragma: no cover - exercised by every PostgreSQL test
        record.info[_IDLE_SINCE] = time.monotonic()

    @event.listens_for(sync, "checkout")
    def _ping(dbapi_conn, record, _proxy):  # pragma: no cover - exercised by every PostgreSQL test
        since = record.info.get(_IDLE_SINCE)
        if since is None or time.monotonic() - since < PING_AFTER_IDLE:
            return
        try:
            alive = sync.dialect.do_ping(dbapi_conn)
        except Exception as exc:  # any failure of the ping: a fresh connection instead
            raise DisconnectionError(f"ping after {time.monotonic() - since:.0f} s idle failed: {exc!r}") from exc
        if not alive:
            raise DisconnectionError("ping after idle failed")


_IDLE_SINCE = "idle_since"


class UnitOfWork:
    """A session plus lazily created repositories sharing it."""

    def __init__(self, sessions: async_sessionmaker, db: Database | None = None):
        self._sessions = sessions
        self._session: AsyncSession | None = None
        self.db = db
        self._repos: dict[Any, Any] = {}

    @property
    def session(self) -> AsyncSession:
        """The session, opened on first use: a message answered from caches opens none."""
        if self._session is None:
            self._session = self._sessions()
        return self._session

    @property
    def started(self) -> bool:
        """Whether the session was opened (something was read or written)."""
        return self._session is not None

    def has_written(self, tables: Iterable[str]) -> bool:
        """Whether this unit of work has written to any of ``tables`` (flushed or DML)."""
        if self._session is None:
            return False
        touched = self._session.sync_session.info.get(_TOUCHED)
        return touched is not None and bool(touched) and not touched.isdisjoint(tables)

    async def rollback(self) -> None:
        """Undo everything written so far (the unit of work may go on)."""
        if self._session is not None:
            await self._session.rollback()

    async def _finish(self, commit: bool) -> None:
        session, self._session = self._session, None
        if session is None:
            return
        try:
            if commit:
                await session.commit()
            else:
                await session.rollback()
        finally:
            await session.close()

    def repo(self, cls: Callable[[AsyncSession], R]) -> R:
        inst = self._repos.get(cls)
        if inst is None:
            inst = cls(self.session)
            self._repos[cls] = inst
        return inst

    # The runtime's own repositories, for convenience.
    @property
    def audit(self):
        from storage.repositories.core import AuditRepository

        return self.repo(AuditRepository)

    @property
    def outbox(self):
        from storage.repositories.outbox import OutboxRepository

        return self.repo(OutboxRepository)

    @property
    def dialogues(self):
        from storage.repositories.core import DialogueRepository

        return self.repo(DialogueRepository)

    @property
    def groups(self):
        from storage.repositories.core import GroupRepository

        return self.repo(GroupRepository)

    @property
    def downloads(self):
        from storage.repositories.core import DownloadRepository

        return self.repo(DownloadRepository)


_TOUCHED = "touched_tables"
_TOUCHED_DML = "touched_by_statement"  # tables written by a DML statement (rows unknown)
_TOUCHED_KEYS = "touched_keys"  # (table, key value) of ORM rows written, for keyed tables
_UNKEYED = "touched_unkeyed"  # tables written through the ORM while not keyed


class _Versions:
    """Write counters of one Database: per table; per table by DML statement; per (table, key value)."""

    def __init__(self) -> None:
        self.tables: dict[str, int] = {}
        self.dml: dict[str, int] = {}
        self.keys: dict[tuple[str, Any], int] = {}
        self.key_columns: dict[str, str] = {}  # table → the column its ORM writes are attributed to


def _row_keys(obj: object, column: str) -> set[Any]:
    """The key values an ORM row had and has (both are affected when the key itself changes)."""
    from sqlalchemy import inspect

    values = {getattr(obj, column, None)}
    attr = inspect(obj).attrs.get(column)
    if attr is not None:
        values.update(attr.history.deleted or ())
    return values


def _track_writes(session_cls: type[Session], versions: _Versions) -> None:
    """Record the tables a session writes to; bump their versions when it commits."""

    def touched(session: Session, what: str = _TOUCHED) -> set[Any]:
        return session.info.setdefault(what, set())

    @event.listens_for(session_cls, "before_flush")
    def _flush(session: Session, _ctx: object, _instances: object) -> None:
        for obj in (*session.new, *session.dirty, *session.deleted):
            table = getattr(obj, "__table__", None)
            if table is not None:
                touched(session).add(table.name)
                column = versions.key_columns.get(table.name)
                if column is not None:
                    touched(session, _TOUCHED_KEYS).update((table.name, v) for v in _row_keys(obj, column))
                else:
                    touched(session, _UNKEYED).add(table.name)

    @event.listens_for(session_cls, "do_orm_execute")
    def _dml(state: ORMExecuteState) -> None:
        if state.is_insert or state.is_update or state.is_delete:
            table = getattr(state.statement, "table", None)
            if table is not None:
                touched(state.session).add(table.name)
                touched(state.session, _TOUCHED_DML).add(table.name)

    @event.listens_for(session_cls, "after_commit")
    def _commit(session: Session) -> None:
        # A rolled-back write may bump too: a needless cache miss, never a stale hit.
        for what, counts in ((_TOUCHED, versions.tables), (_TOUCHED_DML, versions.dml), (_TOUCHED_KEYS, versions.keys)):
            for name in session.info.pop(what, ()):
                counts[name] = counts.get(name, 0) + 1
        for name in session.info.pop(_UNKEYED, ()):
            if name in versions.key_columns:  # keyed since this session flushed: rows unknown
                versions.dml[name] = versions.dml.get(name, 0) + 1


class Database:
    def __init__(self, url: str, **engine_kw: Any):
        self.url = url
        self.engine = make_engine(url, **engine_kw)
        self._versions = _Versions()
        session_cls = type("TrackedSession", (Session,), {})  # events for this database only
        _track_writes(session_cls, self._versions)
        self.sessions = async_sessionmaker(
            self.engine, expire_on_commit=False, autoflush=True, sync_session_class=session_cls
        )

    def table_versions(self, tables: Iterable[str]) -> tuple[int, ...]:
        """Per table, how many committed units of work of this process have written to it."""
        return tuple(self._versions.tables.get(t, 0) for t in tables)

    def track_key(self, table: str, column: str) -> None:
        """Attribute ORM writes of ``table``'s rows to their ``column`` value (see key_version)."""
        known = self._versions.key_columns.setdefault(table, column)
        assert known == column, f"{table} is tracked by {known}, not {column}"

    def key_version(self, table: str, key: Any) -> tuple[int, int]:
        """Changes that may affect the rows of ``table`` whose tracked column is ``key``: units of work
        that wrote such a row through the ORM (old or new value), and every DML statement on the table."""
        v = self._versions
        return v.dml.get(table, 0), v.keys.get((table, key), 0)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @asynccontextmanager
    async def unit_of_work(self) -> AsyncIterator[UnitOfWork]:
        uow = UnitOfWork(self.sessions, self)
        try:
            yield uow
        except BaseException:
            await uow._finish(commit=False)
            raise
        await uow._finish(commit=True)

    async def ping(self) -> bool:
        try:
            async with self.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
            return True
        except Exception:
            return False

    async def dispose(self) -> None:
        await self.engine.dispose()
