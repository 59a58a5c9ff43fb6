"""One leader among bot instances: a lease row in ``scheduler_leases``.

Every instance tries to take or renew the lease every ``ttl / 3`` seconds; a holder that dies
stops renewing and another instance takes over once the lease has expired (within ``ttl`` plus
one renewal period, under 60 s with the default ttl of 30 s). Taking and renewing is one
conditional UPDATE, so two instances never hold it at once, on PostgreSQL and SQLite alike.
Lease times are wall-clock time of this machine (``SystemClock``), not the bot's business clock,
so a test that moves business time does not expire leases.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from sqlalchemy import or_, update

from bot.clock import Clock, SystemClock
from storage.db import Database
from storage.models.reminders import SchedulerLease
from storage.repositories.core import insert_ignore

log = logging.getLogger("bot.scheduler.lease")


class Lease:
    def __init__(
        self,
        db: Database,
        *,
        name: str = "scheduler",
        ttl: float = 30.0,
        clock: Clock | None = None,
        holder: str | None = None,
        on_gain: Callable[[], Awaitable[None]] | None = None,
    ):
        self.db = db
        self.name = name
        self.ttl = timedelta(seconds=ttl)
        self.clock = clock or SystemClock()
        self.holder = holder or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.on_gain = on_gain
        self.leader = False
        self._valid_until = 0.0  # monotonic time until which this instance's lease surely holds
        self._task: asyncio.Task | None = None

    def holds(self) -> bool:
        """This instance holds the lease now: it renewed it less than ttl ago (so no other can have
        taken it over, even if this process stalled and has not noticed yet)."""
        return self.leader and time.monotonic() < self._valid_until

    async def try_acquire(self) -> bool:
        """Take or renew the lease; True while this instance holds it."""
        now: datetime = self.clock.now()
        started = time.monotonic()
        async with self.db.unit_of_work() as uow:
            s = uow.session
            await s.execute(
                insert_ignore(
                    s, SchedulerLease, [{"name": self.name, "holder": "", "expires_at": now - timedelta(seconds=1)}]
                )
            )
            res = await s.execute(
                update(SchedulerLease)
                .where(
                    SchedulerLease.name == self.name,
                    or_(SchedulerLease.holder == self.holder, SchedulerLease.expires_at < now),
                )
                .values(holder=self.holder, expires_at=now + self.ttl)
                .execution_options(synchronize_session=False)
            )
            got = getattr(res, "rowcount", 0) == 1
        if got:  # counted from before the UPDATE: the lease may have been written at any moment since
            self._valid_until = started + self.ttl.total_seconds() * 0.9
        was, self.leader = self.leader, got
        if got and not was:
            log.info("scheduler lease %s taken by %s: this instance runs the scheduled jobs", self.name, self.holder)
            if self.on_gain:
                try:
                    await self.on_gain()
                except Exception:
                    log.exception("catch-up after taking the lease failed")
        elif was and not got:
            log.warning("scheduler lease %s lost by %s", self.name, self.holder)
        return got

    async def release(self) -> None:
        if not self.leader:
            return
        self.leader = False
        async with self.db.unit_of_work() as uow:
            await uow.session.execute(
                update(SchedulerLease)
                .where(SchedulerLease.name == self.name, SchedulerLease.holder == self.holder)
                .values(expires_at=self.clock.now() - timedelta(seconds=1))
            )

    async def _loop(self) -> None:
        period = self.ttl.total_seconds() / 3
        while True:
            try:
                await self.try_acquire()
            except Exception:
                log.exception("scheduler lease check failed")
                self.leader = False
            await asyncio.sleep(period)

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._loop(), name="scheduler-lease")

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
        try:
            await self.release()
        except Exception:
            log.exception("releasing the scheduler lease failed")
