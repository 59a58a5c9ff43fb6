"""Teachers (the imported list, account links) and rule-set versions."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from domain.scores import RuleSet, default_rules, parse_rules
from domain.scores.activity import TeacherRow
from storage.models.scores import (
    ScoreAccountLink,
    ScoreCountyPoints,
    ScoreRuleSet,
    ScoreTeacher,
)

from .bulk import COUNTY_POINTS_RECOUNT, Bulk
from .values import Teacher, teacher_of


# ── teachers ──
class TeacherRepository:
    def __init__(self, session: AsyncSession):
        self.session = session

    async def upsert(self, rows: Sequence[TeacherRow], now: datetime) -> tuple[int, int, int]:
        """Insert new teachers, update changed ones; returns (added, updated, unchanged)."""
        added = updated = same = 0
        accounts = [r.account for r in rows]
        existing: dict[str, ScoreTeacher | bool] = {}
        for i in range(0, len(accounts), 500):
            chunk = accounts[i : i + 500]
            for found in (
                await self.session.scalars(select(ScoreTeacher).where(ScoreTeacher.account.in_(chunk)))
            ).all():
                existing[found.account] = found
        new: list[dict[str, Any]] = []
        moved = False  # a teacher changed county: the per-county points counts are recounted
        for r in rows:
            t = existing.get(r.account)
            if t is None:
                new.append(
                    {
                        "account": r.account,
                        "name": r.name,
                        "school": r.school,
                        "city": r.city,
                        "county": r.county,
                        "updated_at": now,
                    }
                )
                existing[r.account] = True  # a repeated account in the same file: first row wins
                added += 1
            elif isinstance(t, bool):
                same += 1
            elif (t.name, t.school, t.city, t.county) != (r.name, r.school, r.city, r.county):
                moved = moved or (t.city, t.county) != (r.city, r.county)
                t.name, t.school, t.city, t.county, t.updated_at = r.name, r.school, r.city, r.county, now
                updated += 1
            else:
                same += 1
        for i in range(0, len(new), 2000):
            await self.session.execute(insert(ScoreTeacher), new[i : i + 2000])
        await self.session.flush()
        if moved:
            await self.session.execute(delete(ScoreCountyPoints))
            await self.session.execute(text(COUNTY_POINTS_RECOUNT))
        return added, updated, same

    async def by_account(self, account: str) -> Teacher | None:
        # through the driver, a plain tuple: /积分 asks this for every message (no ORM or Core result work)
        rows = await Bulk(self.session).fetch(
            "SELECT id, account, name, school, city, county FROM score_teachers WHERE account = $1", account, read=True
        )
        return Teacher(*rows[0]) if rows else None

    async def accounts_like(self, account: str, limit: int = 5) -> list[str]:
        """Accounts equal to ``account`` ignoring case (to hint at a case mistake)."""
        rows = await self.session.scalars(
            select(ScoreTeacher.account).where(func.lower(ScoreTeacher.account) == account.lower()).limit(limit)
        )
        return list(rows.all())

    async def get(self, teacher_id: int) -> Teacher | None:
        row = await self.session.get(ScoreTeacher, teacher_id)
        return teacher_of(row) if row else None

    async def find(
        self, query: str, *, city: str | None = None, county: str | None = None, limit: int = 10
    ) -> list[Teacher]:
        """By exact account (case-sensitive), else by exact name, inside a territory if given."""
        q = query.strip()
        stmt = select(ScoreTeacher).where(ScoreTeacher.account == q)
        rows = (await self.session.scalars(stmt)).all()
        if not rows:
            stmt = select(ScoreTeacher).where(ScoreTeacher.name == q)
            if city:
                stmt = stmt.where(ScoreTeacher.city == city)
            if county:
                stmt = stmt.where(ScoreTeacher.county == county)
            rows = (
                await self.session.scalars(
                    stmt.order_by(ScoreTeacher.city, ScoreTeacher.county, ScoreTeacher.account).limit(limit)
                )
            ).all()
        return [teacher_of(r) for r in rows]

    async def ids_for(self, accounts: Iterable[str], cache: dict[str, int] | None = None) -> dict[str, int]:
        cache = cache if cache is not None else {}
        missing = [a for a in set(accounts) if a not in cache]
        for i in range(0, len(missing), 500):
            chunk = missing[i : i + 500]
            res = await self.session.execute(
                select(ScoreTeacher.account, ScoreTeacher.id).where(ScoreTeacher.account.in_(chunk))
            )
            for account, tid in res:
                cache[account] = tid
        return cache

    async def count(self) -> int:
        return int(await self.session.scalar(select(func.count()).select_from(ScoreTeacher)) or 0)

    # links: a DingTalk user's own account
    async def link(self, user_id: str, account: str, now: datetime) -> None:
        row = await self.session.get(ScoreAccountLink, user_id)
        if row is None:
            self.session.add(ScoreAccountLink(user_id=user_id, account=account, linked_at=now))
        else:
            row.account, row.linked_at = account, now
        await self.session.flush()

    async def linked_account(self, user_id: str) -> str | None:
        row = await self.session.get(ScoreAccountLink, user_id)
        return row.account if row else None


# ── rule sets ──
class RuleSetRepository:
    def __init__(self, session: AsyncSession):
        self.session = session

    async def active(self) -> tuple[int, RuleSet]:
        """(id, rule set) of the active loaded file; (0, default table) when none was loaded."""
        row = (
            await self.session.scalars(
                select(ScoreRuleSet).where(ScoreRuleSet.active.is_(True)).order_by(ScoreRuleSet.id.desc()).limit(1)
            )
        ).first()
        if row is None:
            return 0, default_rules()
        return row.id, parse_rules(row.text, source=row.source)

    async def active_id(self) -> int:
        return int(
            await self.session.scalar(select(func.max(ScoreRuleSet.id)).where(ScoreRuleSet.active.is_(True))) or 0
        )

    async def load(self, text_: str, source: str, by: str, now: datetime) -> tuple[int, RuleSet]:
        """Validate (RuleFileError on a bad file) and make it the active rule set."""
        rules = parse_rules(text_, source=source)
        await self.session.execute(update(ScoreRuleSet).values(active=False))
        row = ScoreRuleSet(name=rules.name, source=source, text=text_, active=True, loaded_by=by, loaded_at=now)
        self.session.add(row)
        await self.session.flush()
        return row.id, rules

    async def reset_default(self) -> None:
        await self.session.execute(update(ScoreRuleSet).values(active=False))
        await self.session.flush()
