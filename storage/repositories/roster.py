"""Repositories of the roster: members (seats) and territory grants. They flush, never commit."""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import cast

from sqlalchemy import delete, func, or_, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from domain.roster import Member, Role, Status
from domain.territory import Level, Territory
from storage.models.roster import RosterMember, TerritoryGrant
from storage.repositories.core import rowcount

LIVE = (Status.PENDING.value, Status.ACTIVE.value)


class SeatConflict(Exception):
    """The database refused a second live seat (a concurrent registration won the race)."""


def _person_key(m: Member) -> str | None:
    return f"{m.role.value}:{m.mobile}" if m.status.live and m.mobile else None


def _account_key(m: Member) -> str | None:
    return m.account if m.status.live and m.account else None


def to_member(row: RosterMember, territories: dict[str, Territory] | None = None) -> Member:
    """A stored record (an ORM object, or a row of the columns read here) as a Member; ``territories``:
    a memo of parsed paths for a call that converts many rows (a list has a few dozen territories)."""
    if territories is None:
        territory = Territory.from_path(row.territory)
    else:
        territory = territories.get(row.territory)  # type: ignore[assignment]
        if territory is None:
            territory = territories[row.territory] = Territory.from_path(row.territory)
    return Member(
        role=Role(row.role),
        territory=territory,
        values=dict(row.values),
        id=row.id,
        status=Status(row.status),
        user_id=row.user_id,
    )


# the columns to_member reads: lists select them as plain rows (building ~200–2,000 tracked ORM objects
# for a read was most of the cost of /名单, /登记's seat check and /日程)
MEMBER_COLUMNS = (
    RosterMember.role,
    RosterMember.territory,
    RosterMember.values,
    RosterMember.id,
    RosterMember.status,
    RosterMember.user_id,
)


@dataclass(frozen=True)
class MemberInfo:
    """A member plus bookkeeping shown in lists (who registered, when)."""

    member: Member
    created_by: str
    created_at: datetime
    note: str | None


class RosterRepository:
    def __init__(self, session: AsyncSession):
        self.session = session

    # -- reads ----------------------------------------------------------------------
    async def get(self, member_id: int) -> Member | None:
        row = await self.session.get(RosterMember, member_id)
        return to_member(row) if row else None

    async def get_many(self, ids: Iterable[int]) -> dict[int, Member]:
        ids = sorted(set(ids))
        out: dict[int, Member] = {}
        for i in range(0, len(ids), 500):
            rows = (await self.session.scalars(select(RosterMember).where(RosterMember.id.in_(ids[i : i + 500])))).all()
            out.update({r.id: to_member(r) for r in rows})
        return out

    async def info(self, member_id: int) -> MemberInfo | None:
        row = await self.session.get(RosterMember, member_id)
        return MemberInfo(to_member(row), row.created_by, row.created_at, row.note) if row else None

    async def in_territory(
        self, territory: Territory, *, statuses: Sequence[str] = LIVE, role: Role | None = None
    ) -> list[Member]:
        """Members whose seat is inside ``territory`` (a province, a city or a county)."""
        q = select(*MEMBER_COLUMNS).where(RosterMember.status.in_(statuses))
        if territory.level is Level.PROVINCE:
            q = q.where(RosterMember.province == territory.province)
        elif territory.level is Level.CITY:
            q = q.where(RosterMember.city == territory.city)
        else:
            q = q.where(RosterMember.territory == territory.path)
        if role is not None:
            q = q.where(RosterMember.role == role.value)
        territories: dict[str, Territory] = {}
        rows = (await self.session.execute(q.order_by(RosterMember.id))).all()
        return [to_member(cast(RosterMember, r), territories) for r in rows]

    async def seat_counts(self, statuses: Sequence[str]) -> list[tuple[Role, Territory, int]]:
        """How many seats of each role each territory has in ``statuses`` (completion needs no names)."""
        m = RosterMember
        q = select(m.role, m.territory, func.count()).where(m.status.in_(statuses)).group_by(m.role, m.territory)
        return [(Role(r), Territory.from_path(t), n) for r, t, n in (await self.session.execute(q)).all()]

    async def of_user(self, user_id: str, *, statuses: Sequence[str] = LIVE) -> list[Member]:
        rows = (
            await self.session.scalars(
                select(RosterMember)
                .where(RosterMember.user_id == user_id, RosterMember.status.in_(statuses))
                .order_by(RosterMember.id)
            )
        ).all()
        return [to_member(r) for r in rows]

    async def clashing(self, members: Iterable[Member]) -> list[Member]:
        """Live members anywhere with the same role+mobile or the same account as any of ``members``."""
        people = {f"{m.role.value}:{m.mobile}" for m in members if m.mobile}
        accounts = {m.account for m in members if m.account}
        if not people and not accounts:
            return []
        out: dict[int, Member] = {}
        people_l, accounts_l = sorted(people), sorted(accounts)
        for i in range(0, max(len(people_l), len(accounts_l)), 500):
            conds = []
            if people_l[i : i + 500]:
                conds.append(RosterMember.person_key.in_(people_l[i : i + 500]))
            if accounts_l[i : i + 500]:
                conds.append(RosterMember.account_key.in_(accounts_l[i : i + 500]))
            for r in (await self.session.scalars(select(RosterMember).where(or_(*conds)))).all():
                out[r.id] = to_member(r)
        return list(out.values())

    async def pending(self, within: Sequence[Territory]) -> list[MemberInfo]:
        rows = (
            await self.session.scalars(
                select(RosterMember).where(RosterMember.status == Status.PENDING.value).order_by(RosterMember.id)
            )
        ).all()
        out = []
        for r in rows:
            m = to_member(r)
            if any(t.contains(m.territory) for t in within):
                out.append(MemberInfo(m, r.created_by, r.created_at, r.note))
        return out

    # -- writes -----------------------------------------------------------------------
    async def lock_city(self, province: str, city: str) -> None:
        """Serialise seat decisions of one city (PostgreSQL; SQLite has one writer anyway)."""
        if self.session.bind is not None and self.session.bind.dialect.name == "postgresql":
            key = zlib.crc32(f"roster:{province}/{city}".encode())
            await self.session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": key})

    def _row(self, m: Member, *, by: str, now: datetime, note: str | None = None) -> RosterMember:
        t = m.territory
        return RosterMember(
            role=m.role.value,
            province=t.province,
            city=t.city or "",
            county=t.county,
            territory=t.path,
            name=m.name,
            mobile=m.mobile,
            account=m.account or None,
            values=dict(m.values),
            status=m.status.value,
            user_id=m.user_id,
            person_key=_person_key(m),
            account_key=_account_key(m),
            created_by=by,
            created_at=now,
            updated_at=now,
            note=note,
        )

    async def _flush(self) -> None:
        try:
            await self.session.flush()
        except IntegrityError as exc:
            raise SeatConflict(str(exc.orig)) from None

    async def add(self, m: Member, *, by: str, now: datetime, note: str | None = None) -> Member:
        row = self._row(m, by=by, now=now, note=note)
        self.session.add(row)
        await self._flush()
        return to_member(row)

    async def add_many(self, members: Sequence[Member], *, by: str, now: datetime) -> list[Member]:
        rows = [self._row(m, by=by, now=now) for m in members]
        self.session.add_all(rows)
        await self._flush()
        return [to_member(r) for r in rows]

    async def save(self, m: Member, *, now: datetime, decided_by: str | None = None, note: str | None = None) -> Member:
        """Write a changed member (values, territory, status) back."""
        row = await self.session.get(RosterMember, m.id)
        if row is None:
            raise KeyError(m.id)
        t = m.territory
        row.role, row.province, row.city, row.county, row.territory = (
            m.role.value,
            t.province,
            t.city or "",
            t.county,
            t.path,
        )
        row.name, row.mobile, row.account, row.values = m.name, m.mobile, m.account or None, dict(m.values)
        row.status, row.user_id = m.status.value, m.user_id
        row.person_key, row.account_key = _person_key(m), _account_key(m)
        row.updated_at = now
        if decided_by is not None:
            row.decided_by, row.decided_at = decided_by, now
        if note is not None:
            row.note = note
        await self._flush()
        return to_member(row)


@dataclass(frozen=True)
class GrantInfo:
    user_id: str
    user_name: str
    territory: Territory
    granted_by: str
    granted_at: datetime


class GrantRepository:
    def __init__(self, session: AsyncSession):
        self.session = session

    async def of_user(self, user_id: str) -> list[Territory]:
        rows = (
            await self.session.scalars(
                select(TerritoryGrant.territory)
                .where(TerritoryGrant.user_id == user_id)
                .order_by(TerritoryGrant.level, TerritoryGrant.territory)
            )
        ).all()
        return [Territory.from_path(p) for p in rows]

    async def holders(self, territory: Territory) -> list[GrantInfo]:
        rows = (
            await self.session.scalars(
                select(TerritoryGrant).where(TerritoryGrant.territory == territory.path).order_by(TerritoryGrant.id)
            )
        ).all()
        return [_grant(r) for r in rows]

    async def holders_above(self, territory: Territory, *, max_level: Level = Level.CITY) -> list[GrantInfo]:
        """Holders of the territory's ancestors (itself included) up to ``max_level`` deep."""
        paths = []
        t: Territory | None = territory
        while t is not None:
            if t.level <= max_level:
                paths.append(t.path)
            t = t.parent()
        rows = (await self.session.scalars(select(TerritoryGrant).where(TerritoryGrant.territory.in_(paths)))).all()
        return [_grant(r) for r in rows]

    async def within(self, territory: Territory) -> list[GrantInfo]:
        rows = (
            await self.session.scalars(
                select(TerritoryGrant)
                .where(
                    or_(
                        TerritoryGrant.territory == territory.path,
                        TerritoryGrant.territory.startswith(territory.path + "/"),
                    )
                )
                .order_by(TerritoryGrant.level, TerritoryGrant.territory)
            )
        ).all()
        return [_grant(r) for r in rows]

    async def grant(self, user_id: str, user_name: str, territory: Territory, *, by: str, now: datetime) -> bool:
        """False if the person already holds it."""
        exists = await self.session.scalar(
            select(TerritoryGrant.id).where(
                TerritoryGrant.user_id == user_id, TerritoryGrant.territory == territory.path
            )
        )
        if exists:
            return False
        self.session.add(
            TerritoryGrant(
                user_id=user_id,
                user_name=user_name,
                territory=territory.path,
                level=int(territory.level),
                granted_by=by,
                granted_at=now,
            )
        )
        await self.session.flush()
        return True

    async def revoke(self, user_id: str, territory: Territory) -> bool:
        result = await self.session.execute(
            delete(TerritoryGrant).where(TerritoryGrant.user_id == user_id, TerritoryGrant.territory == territory.path)
        )
        return bool(rowcount(result))


def _grant(r: TerritoryGrant) -> GrantInfo:
    return GrantInfo(r.user_id, r.user_name, Territory.from_path(r.territory), r.granted_by, r.granted_at)
