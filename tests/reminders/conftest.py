"""Seeding helpers of the reminder tests: roster seats linked to simulator users, city grants."""
from __future__ import annotations

from datetime import datetime

from bot.clock import SHANGHAI
from domain.roster import Role
from domain.territory import Territory
from storage.repositories.roster import GrantRepository, RosterRepository
from tests.roster.factory import member

P = "浙江省"
T0 = datetime(2026, 1, 1, 8, 0, tzinfo=SHANGHAI)


async def seed(db, seats: list[tuple[Role, str, str | None]], grants: list[tuple[str, str]] = ()) -> None:
    """seats: (role, 'city/county' path below the province, staff id or None); grants: (staff id, city)."""
    async with db.unit_of_work() as uow:
        repo = uow.repo(RosterRepository)
        for i, (role, where, uid) in enumerate(seats, start=1):
            parts = where.split("/")
            t = Territory(P, *parts)
            m = member(role, t, 5000 + i)
            m = m.__class__(m.role, m.territory, m.values, user_id=uid)
            await repo.add(m, by="test", now=T0)
        for uid, city in grants:
            await uow.repo(GrantRepository).grant(uid, uid, Territory(P, city), by="op-zj-001", now=T0)
