"""The durable inbox: no message lost at any instant of a crash, none handled twice.

1. Each frame is stored (``inbox`` row, msgId unique) before the SDK sends its ACK: the
   stream handler waits for :meth:`Inbox.store`. A redelivery finds its row and is dropped.
2. The handler's writes, the "handled" mark and the reply's outbox entry commit in one
   transaction (``InboxRepository.mark_handled`` inside the handler's unit of work). A
   handler that wrote nothing (most replies) is finished here instead, grouped with others
   (on SQLite after its webhook reply went out: ``bot.delivery.ReplyDelivery.post_first``).
3. After a restart, stored but unhandled messages are handled again (:meth:`Inbox.unhandled`).

Every write of this module goes through one group committer: operations arriving together
(a burst of frames, the handled marks of read-only replies, "sent" marks after webhook
replies) share one short transaction, so a burst costs one write, not one per message. The
transaction is written through the driver (``storage.inbox_sql``) on a connection kept
between transactions.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from storage.inbox_sql import InboxSql, InboxWrite
from storage.repositories.core import InboxRepository

if TYPE_CHECKING:
    from bot.clock import Clock
    from storage.db import Database

log = logging.getLogger(__name__)


@dataclass
class _Op:
    kind: str  # store | finish | sent | retry | failed
    msg_id: str = ""
    data: dict[str, Any] | None = None
    drafts: list[dict[str, Any]] = field(default_factory=list)
    oid: int = 0
    error: str = ""
    fut: asyncio.Future[Any] | None = None


class Inbox:
    def __init__(self, db: Database, clock: Clock, max_batch: int = 500):
        self.db = db
        self.clock = clock
        self.max_batch = max_batch
        self._sql = InboxSql(db.engine)
        self._ops: list[_Op] = []
        self._writer: asyncio.Task[None] | None = None
        self.batches = 0  # transactions written (for tests and metrics)

    # -- operations (each resolves when its transaction committed) -------------------------
    def store(self, msg_id: str, data: dict[str, Any]) -> asyncio.Future[bool]:
        """Store a received frame: the future's result is True if new, False for a redelivery; its
        exception, if it could not be stored. (A future, not a coroutine: no task per frame.)"""
        return self._queue(_Op("store", msg_id=msg_id, data=data))

    async def finish(self, msg_id: str, drafts: list[dict[str, Any]]) -> list[int] | None:
        """Mark a message handled and write its reply rows (``OutboxRepository.enqueue`` keyword
        dicts) together; returns the new outbox ids, or None if it was handled already."""
        return await self._submit(_Op("finish", msg_id=msg_id, drafts=drafts))

    async def sent(self, oid: int) -> None:
        """The reply went out by session webhook: never send it again."""
        await self._submit(_Op("sent", oid=oid))

    async def retry(self, oid: int, error: str, *, failed: bool = False) -> None:
        """The webhook refused the reply: the outbox sends it by OpenAPI now (``failed``: it cannot)."""
        await self._submit(_Op("failed" if failed else "retry", oid=oid, error=error))

    async def unhandled(self, received_before: datetime | None = None) -> list[tuple[str, dict[str, Any]]]:
        async with self.db.unit_of_work() as uow:
            return await uow.repo(InboxRepository).unhandled(received_before=received_before)

    async def flush(self) -> None:
        while self._writer is not None and not self._writer.done():
            await asyncio.shield(self._writer)

    async def close(self) -> None:
        """After the last operation: the connection goes back to the pool."""
        await self.flush()
        await self._sql.close()

    # -- the group committer ------------------------------------------------------------------
    async def _submit(self, op: _Op) -> Any:
        return await self._queue(op)

    def _queue(self, op: _Op) -> asyncio.Future[Any]:
        op.fut = fut = asyncio.get_running_loop().create_future()
        self._ops.append(op)
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write(), name="inbox-writer")
        return fut

    async def _write(self) -> None:
        await asyncio.sleep(0)  # let the operations of this burst join the batch
        while self._ops:
            batch, self._ops = self._ops[: self.max_batch], self._ops[self.max_batch :]
            try:
                results = await self._commit(batch)
            except Exception as exc:
                if len(batch) == 1:
                    _fail(batch[0], exc)
                    continue
                log.warning("inbox batch of %d failed (%r): retrying one by one", len(batch), exc)
                for op in batch:
                    try:
                        results = await self._commit([op])
                    except Exception as one_exc:
                        _fail(op, one_exc)
                        continue
                    _resolve(op, results[0])
                continue
            self.batches += 1
            for op, result in zip(batch, results, strict=True):
                _resolve(op, result)

    async def _commit(self, batch: list[_Op]) -> list[Any]:
        write = InboxWrite()
        for op in batch:
            if op.kind == "store":
                write.stores.append((op.msg_id, op.data or {}))
            elif op.kind == "finish":
                write.finishes.append((op.msg_id, op.drafts))
            elif op.kind == "sent":
                write.sent.append(op.oid)
            elif op.kind == "retry":
                write.retries.append((op.oid, op.error))
            else:
                write.failures.append((op.oid, op.error))
        written = await self._sql.write(write, self.clock.now())
        finished = iter(written.finished)
        results: list[Any] = []
        for op in batch:
            if op.kind == "store":
                results.append(op.msg_id in written.new)
                written.new.discard(op.msg_id)  # the same msgId twice in one batch: only the first is new
            elif op.kind == "finish":
                results.append(next(finished))
            else:
                results.append(None)
        return results


def _resolve(op: _Op, result: Any) -> None:
    if op.fut is not None and not op.fut.done():
        op.fut.set_result(result)


def _fail(op: _Op, exc: BaseException) -> None:
    if op.fut is not None and not op.fut.done():
        op.fut.set_exception(exc)
