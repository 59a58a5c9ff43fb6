"""The connection layer under the repositories: SQLite's one-hop cursor (storage/sqlite_driver.py) and
settings, and PostgreSQL's ping of rested connections (storage.db._ping_after_idle)."""

from __future__ import annotations

import asyncio

import asyncpg
from sqlalchemy import text

import storage.db
from storage.db import Database


async def test_sqlite_results_longer_than_the_prefetch_and_partly_read(sqlite_url):
    from storage.sqlite_driver import _PREFETCH

    db = Database(sqlite_url)
    n = _PREFETCH * 2 + 7
    try:
        async with db.engine.begin() as conn:
            await conn.execute(text("CREATE TABLE t (i INTEGER PRIMARY KEY, s TEXT)"))
            await conn.execute(text("INSERT INTO t (i, s) VALUES (:i, :s)"), [{"i": i, "s": f"r{i}"} for i in range(n)])
        async with db.engine.connect() as conn:
            rows = (await conn.execute(text("SELECT i, s FROM t ORDER BY i"))).all()
            assert [r.i for r in rows] == list(range(n)) and rows[-1].s == f"r{n - 1}"
            exact = (await conn.execute(text("SELECT i FROM t WHERE i < :k ORDER BY i"), {"k": _PREFETCH})).all()
            assert len(exact) == _PREFETCH  # a full first batch that turns out to be all
            assert (await conn.execute(text("SELECT count(*) FROM t WHERE i < 0"))).scalar() == 0
            # Read one row of a long result and leave the rest: the connection goes on writing and committing.
            first = (await conn.execute(text("SELECT i FROM t ORDER BY i"))).first()
            assert first is not None and first.i == 0
            await conn.execute(text("UPDATE t SET s = 'x' WHERE i = 1"))
            await conn.commit()
        async with db.engine.connect() as conn:
            assert (await conn.execute(text("SELECT s FROM t WHERE i = 1"))).scalar() == "x"
            rowcount = (await conn.execute(text("DELETE FROM t WHERE i >= :k"), {"k": n - 5})).rowcount
            assert rowcount == 5
            await conn.rollback()
            assert (await conn.execute(text("SELECT count(*) FROM t"))).scalar() == n
    finally:
        await db.dispose()


async def test_sqlite_connections_get_the_bots_settings(sqlite_url):
    """Every SQLite connection the bot opens runs in WAL mode with its page cache (SQLite's own default,
    2 MB, would keep almost nothing of a year of events in memory); a caller may size the cache."""
    for kw, kib in (({}, storage.db.SQLITE_CACHE_MB * 1024), ({"sqlite_cache_mb": 8}, 8 * 1024)):
        db = Database(sqlite_url, **kw)
        try:
            async with db.engine.connect() as conn:
                assert (await conn.execute(text("PRAGMA journal_mode"))).scalar() == "wal"
                assert (await conn.execute(text("PRAGMA cache_size"))).scalar() == -kib
        finally:
            await db.dispose()


async def test_postgres_connection_dropped_while_resting_is_replaced(pg_url, monkeypatch):
    """No ping for a connection back at work within PING_AFTER_IDLE; one that rested longer is pinged,
    and if the server dropped it meanwhile the caller gets a fresh one, not an error."""
    db = Database(pg_url)
    admin = await asyncpg.connect(pg_url.replace("postgresql+asyncpg://", "postgresql://"))
    pings: list[int] = []
    real_ping = db.engine.sync_engine.dialect.do_ping
    monkeypatch.setattr(db.engine.sync_engine.dialect, "do_ping", lambda c: pings.append(1) or real_ping(c))

    async def backend() -> int:
        async with db.engine.connect() as conn:
            return int((await conn.execute(text("SELECT pg_backend_pid()"))).scalar_one())

    try:
        pid = await backend()
        assert await backend() == pid and pings == []  # back at once: not pinged
        monkeypatch.setattr(storage.db, "PING_AFTER_IDLE", 0.05)
        await admin.execute("SELECT pg_terminate_backend($1)", pid)
        await asyncio.sleep(0.2)
        fresh = await backend()
        assert fresh != pid and pings
    finally:
        await admin.close()
        await db.dispose()
