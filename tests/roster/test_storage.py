"""Roster repositories and bulk registration on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import datetime

import pytest

from bot.clock import SHANGHAI
from bot.errors import UserError
from domain.regions import load_default_regions
from domain.roster import Role, Status, parse_paste
from domain.roster.config import RosterConfig
from domain.territory import Territory
from handlers.roster.common import register_rows
from storage.repositories.roster import GrantRepository, RosterRepository, SeatConflict
from tests.roster.factory import city_members, member

TREE = load_default_regions()
CFG = RosterConfig()
NOW = datetime(2026, 4, 20, 9, 0, tzinfo=SHANGHAI)
HZ = Territory("浙江省", "杭州市")
XH = Territory("浙江省", "杭州市", "西湖区")


async def test_add_read_and_save(db):
    async with db.unit_of_work() as uow:
        repo = uow.repo(RosterRepository)
        saved = await repo.add_many(city_members(TREE, "杭州市"), by="op", now=NOW)
        assert all(m.id for m in saved)
    async with db.unit_of_work() as uow:
        repo = uow.repo(RosterRepository)
        assert len(await repo.in_territory(HZ)) == 14 * 5
        assert len(await repo.in_territory(XH)) == 5
        assert len(await repo.in_territory(Territory("浙江省"), role=Role.ADMIN)) == 14
        m = (await repo.in_territory(XH, role=Role.REVIEWER))[0]
        moved = replace(m, territory=Territory("浙江省", "杭州市", "萧山区"), values={**m.values, "county": "萧山区"})
        await repo.save(moved, now=NOW)
    async with db.unit_of_work() as uow:
        repo = uow.repo(RosterRepository)
        assert len(await repo.in_territory(XH)) == 4
        assert (await repo.get(m.id)).territory.county == "萧山区"


async def test_database_refuses_a_second_live_seat_and_reused_account(db):
    a = member(Role.REVIEWER, XH, 1, account="AbC")
    async with db.unit_of_work() as uow:
        await uow.repo(RosterRepository).add(a, by="op", now=NOW)
    for clash in (member(Role.REVIEWER, XH, 2, mobile=a.mobile), member(Role.REVIEWER, XH, 3, account="AbC")):
        with pytest.raises(SeatConflict):
            async with db.unit_of_work() as uow:
                await uow.repo(RosterRepository).add(clash, by="op", now=NOW)
    async with db.unit_of_work() as uow:
        repo = uow.repo(RosterRepository)
        await repo.add(member(Role.REVIEWER, XH, 4, account="abc"), by="op", now=NOW)  # case-sensitive
        [stored] = [m for m in await repo.in_territory(XH) if m.account == "AbC"]
        clashing = await repo.clashing([member(Role.REVIEWER, HZ, 9, mobile=a.mobile)])
        assert [m.id for m in clashing] == [stored.id]
        # A removed record frees its seat, phone and account.
        await repo.save(replace(stored, status=Status.REMOVED), now=NOW)
        await repo.add(member(Role.REVIEWER, XH, 5, mobile=a.mobile, account="AbC"), by="op", now=NOW)


async def test_pending_and_user_records(db):
    async with db.unit_of_work() as uow:
        repo = uow.repo(RosterRepository)
        await repo.add(replace(member(Role.TRAINER, XH, 1), status=Status.PENDING, user_id="u1"), by="u1", now=NOW)
        await repo.add(
            replace(member(Role.TRAINER, Territory("浙江省", "宁波市"), 2), status=Status.PENDING), by="u2", now=NOW
        )
        assert [i.member.user_id for i in await repo.pending([HZ])] == ["u1"]
        assert len(await repo.pending([Territory("浙江省")])) == 2
        assert [m.role for m in await repo.of_user("u1")] == [Role.TRAINER]


async def test_grants(db):
    async with db.unit_of_work() as uow:
        grants = uow.repo(GrantRepository)
        assert await grants.grant("u1", "陈建国", HZ, by="op", now=NOW)
        assert not await grants.grant("u1", "陈建国", HZ, by="op", now=NOW)
        assert await grants.grant("u2", "李明", XH, by="u1", now=NOW)
        assert await grants.of_user("u1") == [HZ]
        assert [g.user_id for g in await grants.within(HZ)] == ["u1", "u2"]
        assert [g.user_id for g in await grants.holders_above(XH)] == ["u1"]
        assert await grants.revoke("u2", XH) and not await grants.revoke("u2", XH)


async def test_register_rows_saves_good_rows_with_audit_entries(db):
    text = "\n".join(
        [
            "\t".join(["西湖区", "甲一", "初中", "数学", "一中", "A1", "13700000001", "", "其他"]),
            "\t".join(["西湖区", "乙二", "初中", "数学", "一中", "A2", "1370000000", "", "其他"]),
        ]
    )
    rows = parse_paste(text, Role.REVIEWER)
    async with db.unit_of_work() as uow:
        report = await register_rows(
            uow, TREE, CFG, rows, scope=[HZ], city="杭州市", actor_id="cli", actor_name="命令行", now=NOW
        )
    assert [r.ok for r in report.results] == [True, False] and len(report.saved) == 1
    async with db.unit_of_work() as uow:
        [entry] = await uow.audit.list(entity="roster_member")
        assert entry.action == "roster.import" and entry.after["name"] == "甲一"
        assert entry.territory == "浙江省/杭州市/西湖区" and entry.actor_id == "cli"


async def test_concurrent_batches_cannot_overfill_a_seat(db):
    """Two transactions register a county admin at once; the city lock makes the second see the first."""

    def row(name, mobile):
        return parse_paste("\t".join(["西湖区", name, "西湖区教育局", "", "", mobile, "教师"]), Role.ADMIN)

    async def one(name, mobile):
        try:
            async with db.unit_of_work() as uow:
                report = await register_rows(
                    uow, TREE, CFG, row(name, mobile), scope=[HZ], city="杭州市", actor_id="x", actor_name="x", now=NOW
                )
                await asyncio.sleep(0.05)  # hold the transaction open a little
                return len(report.saved)
        except UserError:
            return 0

    saved = await asyncio.gather(one("王强", "13900000001"), one("赵敏", "13900000002"))
    assert sorted(saved) == [0, 1]
    async with db.unit_of_work() as uow:
        assert len(await uow.repo(RosterRepository).in_territory(XH)) == 1
