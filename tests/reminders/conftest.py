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


async def seed_fanout(db, n: int, *, today, prefix: str = "u", sim=None) -> list[str]:
    """``n`` reviewers over the province's 101 territories (11 cities + 90 counties), linked to DingTalk
    (and known to the fake ``sim``, so cards reach them), and a one-off reminder for every member due
    ``today`` (its T0 step is today)."""
    from domain.roster.config import load_roster_config
    from storage.repositories.reminders import ReminderRepository

    tree = load_roster_config(None).load_regions()
    places = [Territory(P, c.name) for c in tree.cities] + [
        Territory(P, c.name, k.name) for c in tree.cities for k in tree.counties_of(c.name)
    ]
    ids = [f"{prefix}{i:05d}" for i in range(n)]
    if sim is not None:
        from simulator.server import SimUser

        sim.directory.add_users(SimUser(i, f"教师{i}") for i in ids)
    async with db.unit_of_work() as uow:
        repo = uow.repo(RosterRepository)
        members = []
        for i, uid in enumerate(ids):
            m = member(Role.REVIEWER, places[i % len(places)], 10000 + i)
            members.append(m.__class__(m.role, m.territory, m.values, user_id=uid))
        await repo.add_many(members, by="test", now=T0)
        await uow.repo(ReminderRepository).add(
            title="上报培训计划",
            due_date=today,
            audience="服务队伍成员",
            done_query="self_reported",
            territory=None,
            action="",
            by="test",
            now=T0,
        )
    return ids


def holiday_dir_making_today_a_workday(tmp_path, today):
    d = tmp_path / "holidays"
    d.mkdir(exist_ok=True)
    (d / f"{today.year}.yaml").write_text(
        f"year: {today.year}\nholidays: []\nworkdays: [{today.isoformat()}]\n", encoding="utf-8"
    )
    return d


async def reminder_to(sim, staff_id: str, contains: str, timeout: float = 10.0):
    """The next reminder card delivered to ``staff_id``'s 1:1 chat whose text (what the person reads:
    body, buttons and their status rows) contains ``contains``: (its outTrackId, that text)."""
    import asyncio

    def match(r) -> bool:
        return r.kind == "card_deliver" and r.conversation_id == f"cid-p2p-{staff_id}" and contains in sim.read_text(r)

    rec = await asyncio.to_thread(sim.wait_for, match, timeout)
    return rec.payload["outTrackId"], sim.read_text(rec)
