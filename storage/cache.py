"""Process-local read caches that see this process's own writes at once.

:class:`~storage.db.Database` keeps a version per table, bumped when a unit of work that
wrote to the table (ORM flush or DML statement) commits. A cached value is used while the
versions of the tables it was read from are unchanged and it is younger than its TTL; the
TTL bounds how long a write made by *another* instance (several bots on one PostgreSQL)
can go unseen. A value read by a unit of work that has itself written to those tables is
not cached (it may be rolled back).

Used for what almost every message reads and rarely changes: a group's binding, a
person's territory grants and roster seats.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable, Iterable
from typing import TYPE_CHECKING, Generic, TypeVar

if TYPE_CHECKING:
    from storage.db import UnitOfWork

T = TypeVar("T")

# How long a value may be served from the cache: this process's own writes are seen at once,
# another instance's within this time.
READ_CACHE_TTL = 30.0  # seconds


class ReadCache(Generic[T]):
    def __init__(
        self, tables: Iterable[str], ttl: float, max_entries: int = 10_000, *, keyed_by: tuple[str, str] | None = None
    ):
        """``keyed_by=(table, column)``: the cache key is a value of ``table.column`` and a value depends
        only on the rows with that value, so writes to other rows of ``table`` keep it (``tables`` then
        lists the other tables read). Rows written by DML statements still invalidate every key."""
        self.tables = tuple(tables)
        self.keyed_by = keyed_by
        self.ttl = ttl
        self.max_entries = max_entries
        self._data: OrderedDict[Hashable, tuple[tuple[int, ...], float, T]] = OrderedDict()
        self.hits = self.misses = 0

    async def get(self, uow: UnitOfWork, key: Hashable, load: Callable[[], Awaitable[T]]) -> T:
        db = uow.db
        assert db is not None, "a cached read needs a unit of work of Database.unit_of_work()"
        versions = db.table_versions(self.tables)
        if self.keyed_by is not None:
            db.track_key(*self.keyed_by)
            versions += db.key_version(self.keyed_by[0], key)
        hit = self._data.get(key)
        now = time.monotonic()
        if hit is not None and hit[0] == versions and now - hit[1] < self.ttl:
            self.hits += 1
            return hit[2]
        self.misses += 1
        value = await load()
        if not uow.has_written(self.tables if self.keyed_by is None else (*self.tables, self.keyed_by[0])):
            self._data[key] = (versions, now, value)
            self._data.move_to_end(key)
            while len(self._data) > self.max_entries:
                self._data.popitem(last=False)
        return value

    def forget(self, key: Hashable) -> None:
        """Drop one value (e.g. a not-found answer that should be asked again next time)."""
        self._data.pop(key, None)

    def clear(self) -> None:
        self._data.clear()
