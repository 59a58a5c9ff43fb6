"""A throwaway database for a benchmark run: a SQLite file in a temporary directory, or a new
database on a PostgreSQL server (dropped, with its connections, at the end)."""

from __future__ import annotations

import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path


def _admin_dsn(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://")


async def create_pg(url: str, prefix: str) -> tuple[str, str]:
    """A new database on the server of ``url``: (its name, its SQLAlchemy URL)."""
    import asyncpg

    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    conn = await asyncpg.connect(_admin_dsn(url))
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return name, url.rsplit("/", 1)[0] + "/" + name


async def drop_pg(url: str, name: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(_admin_dsn(url))
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


@asynccontextmanager
async def throwaway_db(kind: str, pg_url: str, prefix: str) -> AsyncIterator[tuple[str, Path | None]]:
    """``kind`` "sqlite" or "postgres": yields (SQLAlchemy URL, the SQLite file or None)."""
    tmp = Path(tempfile.mkdtemp(prefix=f"{prefix}-"))
    name = None
    try:
        if kind == "sqlite":
            path = tmp / f"{prefix}.sqlite3"
            yield f"sqlite+aiosqlite:///{path}", path
        else:
            name, url = await create_pg(pg_url, prefix)
            yield url, None
    finally:
        if name:
            await drop_pg(pg_url, name)
        shutil.rmtree(tmp, ignore_errors=True)
