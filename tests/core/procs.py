"""Helpers for tests that run the real bot process (``run_bot.py``) against a fake DingTalk."""

from __future__ import annotations

import os
import re
from collections import Counter
from pathlib import Path

from sqlalchemy import select

from simulator.server import REPLY_KINDS

ROOT = Path(__file__).resolve().parents[2]
REGIONS = ROOT / "domain" / "data" / "zhejiang_regions.yaml"

__all__ = ["REPLY_KINDS", "Tally", "bot_env", "outbox_snapshot", "registrations"]


def roomy_roster_config(workdir: Path) -> Path:
    """A roster config with room for many reviewers per county (the crash bursts register 50 each)."""
    path = workdir / "roster.yaml"
    path.write_text(
        f"regions: {REGIONS}\nquotas:\n  city: {{admin: 1, trainer: 1, reviewer: 3-5}}\n"
        "  county: {admin: 1, trainer: 1, reviewer: 1-2000}\n",
        encoding="utf-8",
    )
    return path


def bot_env(sim, url: str, workdir: Path, **extra: str) -> dict[str, str]:
    env = dict(
        os.environ,
        DINGTALK_CLIENT_ID=sim.client_id,
        DINGTALK_CLIENT_SECRET=sim.client_secret,
        DINGTALK_OPENAPI_ENDPOINT=sim.base_url,
        BOT_HTTP_PORT="0",
        BOT_DATA_DIR=str(workdir),
        DATABASE_URL=url,
        BOT_SUPERADMINS="op-zj-001",
        BOT_LOG_LEVEL="WARNING",
        ROSTER_CONFIG=str(roomy_roster_config(workdir)),
        ROSTER_AUTO_APPROVE="true",
        # Only the scheduler-lease holder sends the outbox, and a killed process often holds it: a 3 s lease
        # is taken over by the next or another live process within seconds instead of 30-60 s.
        SCHEDULER_LEASE_SECONDS="3",
        NO_PROXY="127.0.0.1,localhost",
        PYTHONPATH=str(ROOT),
    )
    env.update(extra)
    return env


class Tally:
    """Counts the fake DingTalk's records incrementally (a ``sim.wait_for`` predicate must be cheap:
    it runs under the fake's lock for every record, each time one is added)."""

    def __init__(
        self,
        sim,
        kinds: tuple[str, ...],
        *,
        since: int = 0,
        msg_ids: set[str] | None = None,
        names: re.Pattern[str] | None = None,
    ):
        self.sim, self.kinds, self.since, self.msg_ids, self.names = sim, kinds, since, msg_ids, names
        self._pos = 0
        self._seen = -1
        self.count = 0
        self.by_name: Counter[str] = Counter()

    def update(self) -> Tally:
        if self.sim.last_seq == self._seen:
            return self
        self._seen = self.sim.last_seq
        records = self.sim.records
        for r in records[self._pos :]:
            if r.seq <= self.since or r.kind not in self.kinds:
                continue
            if self.msg_ids is not None and r.msg_id not in self.msg_ids:
                continue
            self.count += 1
            if self.names is not None:
                self.by_name.update(set(self.names.findall(self.sim.text_of(r))))
        self._pos = len(records)
        return self


async def outbox_snapshot(url: str) -> set[str]:
    """msgIds whose reply row is not marked sent."""
    from storage.db import Database
    from storage.models.core import OutboxMessage

    db = Database(url)
    try:
        async with db.unit_of_work() as uow:
            rows = await uow.session.execute(
                select(OutboxMessage.reply_to_msg_id).where(
                    OutboxMessage.purpose == "reply", OutboxMessage.status != "sent"
                )
            )
            return {m for (m,) in rows if m}
    finally:
        await db.dispose()


async def registrations(url: str) -> Counter[str]:
    """How often each name is in the roster."""
    from storage.db import Database
    from storage.models.roster import RosterMember

    db = Database(url)
    try:
        async with db.unit_of_work() as uow:
            return Counter(n for (n,) in await uow.session.execute(select(RosterMember.name)))
    finally:
        await db.dispose()
