"""The outbox worker.

Everything the bot sends is written to the outbox first (replies too: ``bot.delivery``
posts a reply by its session webhook and marks it sent; when the webhook has expired or
refuses it, this worker sends it by OpenAPI). Sent by this worker, marked sent only when
DingTalk accepted it; throttling is retried later with backoff, never dropped. Several
instances share the table: each claims disjoint rows (``OutboxRepository.claim_due``).
"""
from __future__ import annotations

import asyncio
import logging
import random
from datetime import timedelta

from bot.clock import Clock
from bot.dingtalk.openapi import DingTalkAPI, SendError
from bot.metrics import Metrics
from storage.db import Database

log = logging.getLogger("bot.outbox")

MAX_TRANSIENT_ATTEMPTS = 30


def backoff(attempts: int) -> timedelta:
    """1 s, 2 s, 4 s … capped at 5 minutes, with jitter."""
    base = min(2 ** max(attempts - 1, 0), 300)
    return timedelta(seconds=base * (0.8 + 0.4 * random.random()))


class OutboxWorker:
    def __init__(self, db: Database, api: DingTalkAPI, clock: Clock, metrics: Metrics, *, poll_seconds: float = 2.0):
        self.db = db
        self.api = api
        self.clock = clock
        self.metrics = metrics
        self.poll_seconds = poll_seconds
        self._wake = asyncio.Event()
        self._task: asyncio.Task | None = None
        self._stopping = False

    def wake(self) -> None:
        self._wake.set()

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="outbox")

    async def stop(self) -> None:
        self._stopping = True
        self._wake.set()
        if self._task:
            try:
                await asyncio.wait_for(self._task, timeout=10)
            except TimeoutError:
                self._task.cancel()

    async def _run(self) -> None:
        while not self._stopping:
            try:
                busy = await self.flush_once()
            except Exception:
                log.exception("outbox cycle failed")
                busy = False
            if busy:
                continue
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=self.poll_seconds)
            except TimeoutError:
                pass
            self._wake.clear()

    async def flush_once(self, limit: int = 20) -> bool:
        """Send what is due; True if a full batch was claimed (more may be waiting)."""
        now = self.clock.now()
        async with self.db.unit_of_work() as uow:
            rows = await uow.outbox.claim_due(now, limit=limit)
            claimed = [(r.id, r.kind, r.conversation_id, list(r.user_ids or []), r.msg_key, dict(r.msg_param),
                        r.attempts) for r in rows]
        results = await asyncio.gather(*(self._send_one(*c) for c in claimed))
        async with self.db.unit_of_work() as uow:
            for update in results:
                await update(uow)
            self.metrics.outbox_depth.set(await uow.outbox.depth())
        return len(claimed) == limit

    async def _send_one(self, oid, kind, conversation_id, user_ids, msg_key, msg_param, attempts):
        try:
            if kind == "group":
                await self.api.send_group(conversation_id, msg_key, msg_param)
                throttled: list[str] = []
            else:
                res = await self.api.send_users(user_ids, msg_key, msg_param)
                throttled = [u for u in res.throttled_ids if u in user_ids]
                if res.invalid_ids:
                    log.warning("outbox %s: invalid user ids %s", oid, res.invalid_ids)
        except SendError as exc:
            if exc.retry and (exc.throttled or attempts < MAX_TRANSIENT_ATTEMPTS):
                self.metrics.sends.labels(result="throttled" if exc.throttled else "retry").inc()
                at = self.clock.now() + backoff(attempts)
                log.info("outbox %s: retry at %s (%s)", oid, at.isoformat(), exc)

                async def later(uow, oid=oid, at=at, err=str(exc)):
                    await uow.outbox.reschedule(oid, at, err)
                return later
            self.metrics.sends.labels(result="failed").inc()
            log.error("outbox %s failed for good: %s", oid, exc)

            async def failed(uow, oid=oid, err=str(exc)):
                await uow.outbox.mark_failed(oid, err)
            return failed
        if throttled:
            # Those people did not get it: send again to them alone, later.
            self.metrics.sends.labels(result="throttled").inc()
            at = self.clock.now() + backoff(attempts)

            async def partly(uow, oid=oid, at=at, ids=throttled):
                await uow.outbox.reschedule(oid, at, f"flow-controlled: {ids}", user_ids=ids)
            return partly
        self.metrics.sends.labels(result="sent").inc()

        async def sent(uow, oid=oid):
            await uow.outbox.mark_sent(oid, self.clock.now())
        return sent
