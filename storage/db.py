"""Engine, sessions and the unit of work.

One unit of work per message and per job (SQLAlchemy asyncio: session per
task). Handlers and repositories never commit: the dispatcher or the job runner
opens ``async with db.unit_of_work() as uow`` and the block commits when it
ends without an exception, and rolls back otherwise.
"""
from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

R = TypeVar("R")


def make_engine(url: str, **kw: Any) -> AsyncEngine:
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        # One connection: SQLite has one writer anyway, and queueing in the pool is far
        # cheaper than SQLite's busy-wait sleeps when transactions collide.
        kw.setdefault("pool_size", 1)
        kw.setdefault("max_overflow", 0)
        engine = create_async_engine(url, connect_args={"timeout": 30}, **kw)

        @event.listens_for(engine.sync_engine, "connect")
        def _pragmas(dbapi_conn, _record):  # pragma: no cover - exercised by every sqlite test
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        return engine
    kw.setdefault("pool_size", 10)
    kw.setdefault("max_overflow", 10)
    kw.setdefault("pool_pre_ping", True)
    return create_async_engine(url, **kw)


class UnitOfWork:
    """A session plus lazily created repositories sharing it."""

    def __init__(self, session: AsyncSession):
        self.session = session
        self._repos: dict[type, Any] = {}

    def repo(self, cls: type[R]) -> R:
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
        from storage.repositories.core import OutboxRepository
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


class Database:
    def __init__(self, url: str, **engine_kw: Any):
        self.url = url
        self.engine = make_engine(url, **engine_kw)
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False, autoflush=True)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @asynccontextmanager
    async def unit_of_work(self) -> AsyncIterator[UnitOfWork]:
        async with self.sessions() as session:
            uow = UnitOfWork(session)
            try:
                yield uow
            except BaseException:
                await session.rollback()
                raise
            else:
                await session.commit()

    async def ping(self) -> bool:
        try:
            async with self.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
            return True
        except Exception:
            return False

    async def dispose(self) -> None:
        await self.engine.dispose()
