"""Instances starting at the same moment on one PostgreSQL: the default calls are stored once and
neither start-up fails (the loser of the insert race finds the winner's rows)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from domain.review.calls import load_config
from handlers.review.calls import ensure_default_calls
from storage.db import Database
from storage.repositories.review import ReviewRepository


async def test_two_instances_store_the_default_calls_once(pg_url, monkeypatch):
    cfg = load_config()
    both_read = asyncio.Barrier(2)
    calls = ReviewRepository.calls
    reads = []

    async def read_then_wait(self):  # both instances find no calls before either inserts
        found = await calls(self)
        reads.append(found)
        if len(reads) <= 2:
            async with asyncio.timeout(10):
                await both_read.wait()
        return found

    monkeypatch.setattr(ReviewRepository, "calls", read_then_wait)
    dbs = [Database(pg_url), Database(pg_url)]
    try:
        now = datetime(2026, 3, 2, tzinfo=UTC)
        await asyncio.gather(*(ensure_default_calls(db, cfg, now) for db in dbs))
        monkeypatch.undo()
        assert reads[:2] == [[], []]  # the race happened
        async with dbs[0].unit_of_work() as uow:
            stored = await uow.repo(ReviewRepository).calls()
        assert sorted(c.name for c in stored) == sorted(c.name for c in cfg.calls)
    finally:
        for db in dbs:
            await db.dispose()
