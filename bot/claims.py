"""Each msgId is handled once: claims recorded in the database, committed in groups.

Every incoming message first claims its ``msgId`` (a row in ``processed_messages``);
a redelivery finds the row and is dropped. Messages that arrive together share
one short transaction (group commit), so a burst costs one write, not one per
message, and the handler's own unit of work stays read-only for queries.

A claim is committed before the handler runs: a message is never handled twice,
even by two instances on PostgreSQL (the second insert conflicts). A handler that
fails keeps its claim, so a redelivery does not fail again.
"""
from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from storage.repositories.core import ProcessedMessageRepository

if TYPE_CHECKING:
    from bot.clock import Clock
    from storage.db import Database

log = logging.getLogger(__name__)


class MessageClaims:
    def __init__(self, db: "Database", clock: "Clock", max_batch: int = 500):
        self.db = db
        self.clock = clock
        self.max_batch = max_batch
        self._pending: list[tuple[str, asyncio.Future[bool]]] = []
        self._writer: asyncio.Task | None = None
        self.batches = 0            # transactions written (for tests and metrics)

    async def claim(self, msg_id: str) -> bool:
        """True if this msgId is new (handle it), False for a redelivery."""
        fut: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._pending.append((msg_id, fut))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write(), name="msgid-claims")
        return await fut

    async def _write(self) -> None:
        await asyncio.sleep(0)          # let the messages of this burst join the batch
        while self._pending:
            batch, self._pending = self._pending[:self.max_batch], self._pending[self.max_batch:]
            try:
                async with self.db.unit_of_work() as uow:
                    new = await uow.repo(ProcessedMessageRepository).claim_many(
                        [m for m, _f in batch], self.clock.now())
            except Exception as exc:    # the messages fail (apology with a reference), never vanish
                for _m, fut in batch:
                    if not fut.done():
                        fut.set_exception(exc)
                continue
            self.batches += 1
            for m, fut in batch:
                if fut.done():
                    continue
                fut.set_result(m in new)
                new.discard(m)          # the same msgId twice in one batch: only the first is new
