"""Read caches: this process's writes are seen at once, another instance's within the TTL
(storage contract: SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import update

from bot.clock import SHANGHAI
from storage.cache import ReadCache
from storage.db import Database
from storage.models.core import GroupBinding

T0 = datetime(2026, 4, 20, 9, 0, tzinfo=SHANGHAI)


async def _role(db: Database, cache: ReadCache, cid: str = "cid-1"):
    async with db.unit_of_work() as uow:

        async def load():
            b = await uow.groups.get(cid)
            return b.role if b else None

        return await cache.get(uow, cid, load)


async def test_own_writes_are_seen_at_once(db):
    cache = ReadCache(["group_bindings"], ttl=3600)
    assert await _role(db, cache) is None
    assert await _role(db, cache) is None and cache.hits == 1
    async with db.unit_of_work() as uow:  # ORM write (flush)
        await uow.groups.bind("cid-1", "admin", "群", "op", T0)
    assert await _role(db, cache) == "admin"
    async with db.unit_of_work() as uow:  # DML statement
        await uow.session.execute(
            update(GroupBinding).where(GroupBinding.conversation_id == "cid-1").values(role="reviewer")
        )
    assert await _role(db, cache) == "reviewer"
    assert (cache.hits, cache.misses) == (1, 3)


async def test_a_keyed_cache_keeps_values_when_other_rows_are_written(db):
    """keyed_by: a write of another key's row keeps the value; its own row or a DML statement does not."""
    cache = ReadCache([], ttl=3600, keyed_by=("group_bindings", "conversation_id"))
    assert await _role(db, cache, "cid-1") is None
    async with db.unit_of_work() as uow:  # someone else's row (ORM)
        await uow.groups.bind("cid-2", "admin", "群", "op", T0)
    assert await _role(db, cache, "cid-1") is None and cache.hits == 1
    async with db.unit_of_work() as uow:  # this key's row (ORM)
        await uow.groups.bind("cid-1", "trainer", "群", "op", T0)
    assert await _role(db, cache, "cid-1") == "trainer"
    async with db.unit_of_work() as uow:  # a DML statement: rows unknown
        await uow.session.execute(update(GroupBinding).values(role="reviewer"))
    assert await _role(db, cache, "cid-1") == "reviewer"
    assert await _role(db, cache, "cid-1") == "reviewer"
    assert (cache.hits, cache.misses) == (2, 3)


async def test_a_forgotten_value_is_read_again(db):
    cache = ReadCache(["group_bindings"], ttl=3600)
    assert await _role(db, cache) is None
    cache.forget("cid-1")
    cache.forget("never-cached")  # nothing to forget: no error
    assert await _role(db, cache) is None
    assert (cache.hits, cache.misses) == (0, 2)


async def test_values_read_after_an_own_write_are_not_cached(db):
    """A unit of work that wrote and then read may still roll back: its reading is not kept."""
    cache = ReadCache(["group_bindings"], ttl=3600)
    with pytest.raises(RuntimeError):
        async with db.unit_of_work() as uow:
            await uow.groups.bind("cid-1", "admin", "群", "op", T0)
            await uow.session.flush()

            async def load():
                return (await uow.groups.get("cid-1")).role

            assert await cache.get(uow, "cid-1", load) == "admin"
            raise RuntimeError("rolled back")
    assert await _role(db, cache) is None


async def test_another_instance_is_seen_after_the_ttl(database_url):
    one, other = Database(database_url), Database(database_url)
    try:
        fresh, lasting = ReadCache(["group_bindings"], ttl=0), ReadCache(["group_bindings"], ttl=3600)
        assert await _role(one, fresh) is None and await _role(one, lasting) is None
        async with other.unit_of_work() as uow:
            await uow.groups.bind("cid-1", "trainer", "群", "op", T0)
        assert await _role(one, lasting) is None  # within the TTL: the old value
        assert await _role(one, fresh) == "trainer"
    finally:
        await one.dispose()
        await other.dispose()
