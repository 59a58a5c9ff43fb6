"""Scheduled jobs, declared as data, run by APScheduler 3.x (kept behind this package).

A job is a :class:`JobSpec`: an id, a cron trigger in the bot's time zone and
an async function ``fn(job_ctx)``. The runner gives each run its own unit of
work and commits when the function returns, like the dispatcher does for a
message. Feature modules add jobs by defining ``JOBS = [JobSpec(...)]``.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger

from bot.proactive import Outgoing

if TYPE_CHECKING:
    from bot.context import Services
    from storage.db import Database, UnitOfWork

log = logging.getLogger("bot.scheduler")


@dataclass
class JobContext(Outgoing):
    uow: UnitOfWork
    services: Services

    def now(self) -> datetime:
        return self.services.clock.now()


@dataclass(frozen=True)
class JobSpec:
    id: str
    description: str
    cron: dict[str, Any]  # CronTrigger fields: {"hour": 9, "minute": 0} …
    fn: Callable[[JobContext], Awaitable[Any]] = field(compare=False)
    catch_up: bool = False  # also run when this instance becomes the leader (after downtime)


class JobRunner:
    def __init__(self, db: Database, services: Services):
        self.db = db
        self.services = services

    async def run(self, spec: JobSpec) -> Any:
        try:
            async with self.db.unit_of_work() as uow:
                result = await spec.fn(JobContext(uow, self.services))
        except Exception:
            log.exception("job %s failed", spec.id)
            raise
        self.services.on_outbox()
        return result


class Scheduler:
    """Fires the jobs on their triggers; with a lease (several instances) only while it holds it."""

    def __init__(self, runner: JobRunner, jobs: list[JobSpec], timezone, lease: Any = None):
        self.runner = runner
        self.lease = lease
        self.jobs = {j.id: j for j in jobs}
        self._aps = AsyncIOScheduler(timezone=timezone)
        for job in jobs:
            self._aps.add_job(
                self._fire,
                CronTrigger(timezone=timezone, **job.cron),
                args=[job.id],
                id=job.id,
                name=job.description,
                coalesce=True,
                misfire_grace_time=3600,
                max_instances=1,
            )

    @property
    def is_leader(self) -> bool:
        return self.lease is None or bool(self.lease.leader)

    async def _fire(self, job_id: str) -> None:
        if not self.is_leader:
            log.debug("job %s: another instance holds the scheduler lease", job_id)
            return
        try:
            await self.runner.run(self.jobs[job_id])
        except Exception:
            pass  # logged by the runner; the next run tries again

    async def run_now(self, job_id: str) -> Any:
        return await self.runner.run(self.jobs[job_id])

    async def catch_up(self) -> None:
        """Run the catch-up jobs (after start-up or a takeover); each decides what is still due."""
        for job in self.jobs.values():
            if job.catch_up:
                await self._fire(job.id)

    def start(self) -> None:
        self._aps.start()

    def shutdown(self) -> None:
        if self._aps.running:
            self._aps.shutdown(wait=False)
