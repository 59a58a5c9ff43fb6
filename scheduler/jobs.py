"""Runtime housekeeping jobs."""

from __future__ import annotations

from datetime import timedelta

from scheduler import JobContext, JobSpec
from storage.repositories.core import InboxRepository


async def housekeeping(job: JobContext) -> dict[str, int]:
    """Forget handled messages after 7 days, expired dialogues and expired downloads."""
    now = job.now()
    return {
        "msg_ids": await job.uow.repo(InboxRepository).forget_before(now - timedelta(days=7)),
        "dialogues": await job.uow.dialogues.purge_expired(now),
        "downloads": await job.uow.downloads.purge_expired(now),
    }


JOBS = [JobSpec("housekeeping", "清理过期的消息记录、对话和下载文件", {"hour": 3, "minute": 30}, housekeeping)]
