"""Reminder storage: obligations with short numbers, the delivery ledger, acknowledgements, runs.

The ledger's primary key (obligation, due, step, person) is the idempotency key of a reminder:
:meth:`ReminderRepository.record` inserts with ON CONFLICT DO NOTHING and returns only the keys
that were new, so a re-run, a second instance or a restart never reminds anyone twice.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import func, select, tuple_, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from domain.reminders.planner import Key
from storage.models.reminders import (
    ReminderAck,
    ReminderDelivery,
    ReminderItem,
    ReminderRun,
)
from storage.repositories.core import insert_ignore

CHUNK = 400


@dataclass(frozen=True)
class StoredItem:
    id: int
    key: str
    source: str
    title: str
    due_date: date | None
    audience: str
    done_query: str
    territory: str | None
    action: str
    paused: bool
    created_by: str


def _item(r: ReminderItem) -> StoredItem:
    return StoredItem(
        r.id,
        r.key,
        r.source,
        r.title,
        r.due_date,
        r.audience,
        r.done_query,
        r.territory,
        r.action,
        bool(r.paused),
        r.created_by,
    )


class ReminderRepository:
    def __init__(self, session: AsyncSession):
        self.session = session

    # -- obligations ---------------------------------------------------------------------
    async def sync_cycle(self, keys: Sequence[tuple[str, str, str, str]], now: datetime) -> None:
        """Give every obligation of annual_cycle.yaml a row (and so a short number); keeps pause state."""
        if not keys:
            return
        rows = [
            {
                "key": k,
                "source": "cycle",
                "title": t,
                "due_date": None,
                "audience": a,
                "done_query": q,
                "territory": None,
                "action": "",
                "paused": False,
                "created_by": "annual_cycle.yaml",
                "created_at": now,
            }
            for k, t, a, q in keys
        ]
        await self.session.execute(insert_ignore(self.session, ReminderItem, rows))

    async def items(self) -> list[StoredItem]:
        return [_item(r) for r in (await self.session.scalars(select(ReminderItem).order_by(ReminderItem.id))).all()]

    async def get(self, number: int) -> StoredItem | None:
        row = await self.session.get(ReminderItem, number)
        return _item(row) if row else None

    async def add(
        self,
        *,
        title: str,
        due_date: date,
        audience: str,
        done_query: str,
        territory: str | None,
        action: str,
        by: str,
        now: datetime,
    ) -> StoredItem:
        n = int(await self.session.scalar(select(func.count()).select_from(ReminderItem)) or 0)
        row = ReminderItem(
            key=f"chat-{now:%Y%m%d%H%M%S}-{n + 1}",
            source="chat",
            title=title,
            due_date=due_date,
            audience=audience,
            done_query=done_query,
            territory=territory,
            action=action,
            paused=False,
            created_by=by,
            created_at=now,
        )
        self.session.add(row)
        await self.session.flush()
        return _item(row)

    async def set_paused(self, number: int, paused: bool) -> None:
        await self.session.execute(update(ReminderItem).where(ReminderItem.id == number).values(paused=paused))

    # -- the ledger ------------------------------------------------------------------------
    async def record(self, keys: Iterable[Key], run_day: date, now: datetime) -> set[Key]:
        """Insert the keys; return those that were not there yet (the ones to send)."""
        unique = list(dict.fromkeys(keys))
        new: set[Key] = set()
        for i in range(0, len(unique), CHUNK):
            part = unique[i : i + CHUNK]
            rows = [
                {
                    "obligation": k.obligation,
                    "due": k.due,
                    "step": k.step,
                    "person": k.person,
                    "run_day": run_day,
                    "at": now,
                }
                for k in part
            ]
            stmt = insert_ignore(self.session, ReminderDelivery, rows).returning(
                ReminderDelivery.obligation, ReminderDelivery.due, ReminderDelivery.step, ReminderDelivery.person
            )
            new.update(Key(*r) for r in (await self.session.execute(stmt)).all())
        return new

    async def set_cards(self, cards: Sequence[tuple[Key, str]]) -> None:
        """Which card each delivery went out on (one executemany by primary key)."""
        if cards:
            await self.session.execute(
                update(ReminderDelivery),
                [
                    {"obligation": k.obligation, "due": k.due, "step": k.step, "person": k.person, "card": c}
                    for k, c in cards
                ],
            )

    async def card_of(self, obligation: str, due: date, person: str) -> str | None:
        """The card of the latest step of (obligation, due) that reached ``person`` on a card."""
        return await self.session.scalar(
            select(ReminderDelivery.card)
            .where(
                ReminderDelivery.obligation == obligation,
                ReminderDelivery.due == due,
                ReminderDelivery.person == person,
                ReminderDelivery.card.is_not(None),
            )
            .order_by(ReminderDelivery.at.desc())
            .limit(1)
        )

    async def card_items(self, card: str, person: str) -> list[tuple[str, date]]:
        """(obligation, due) of every item that card carried to ``person``."""
        q = select(ReminderDelivery.obligation, ReminderDelivery.due).where(
            ReminderDelivery.card == card, ReminderDelivery.person == person
        )
        return [(o, d) for o, d in (await self.session.execute(q)).all()]

    async def delivered_counts(self, instances: Iterable[tuple[str, date]]) -> dict[tuple[str, date, str], int]:
        """Personal steps (T…) already delivered per (obligation, due, person)."""
        inst = list(set(instances))
        out: Counter[tuple[str, date, str]] = Counter()
        for i in range(0, len(inst), CHUNK):
            q = (
                select(ReminderDelivery.obligation, ReminderDelivery.due, ReminderDelivery.person, func.count())
                .where(
                    tuple_(ReminderDelivery.obligation, ReminderDelivery.due).in_(inst[i : i + CHUNK]),
                    ReminderDelivery.step.like("T%"),
                )
                .group_by(ReminderDelivery.obligation, ReminderDelivery.due, ReminderDelivery.person)
            )
            for ob, due, person, n in (await self.session.execute(q)).all():
                out[(ob, due, person)] = int(n)
        return dict(out)

    async def latest_due_for(self, obligation: str, person: str) -> date | None:
        """The latest due date of ``obligation`` that reminded ``person`` (None: never reminded)."""
        return await self.session.scalar(
            select(func.max(ReminderDelivery.due)).where(
                ReminderDelivery.obligation == obligation, ReminderDelivery.person == person
            )
        )

    async def urged(self, obligation: str, due: date, day: date, people: Sequence[str]) -> dict[str, int]:
        """How often each person was urged (/催办) on ``day``."""
        if not people:
            return {}
        q = (
            select(ReminderDelivery.person, func.count())
            .where(
                ReminderDelivery.obligation == obligation,
                ReminderDelivery.due == due,
                ReminderDelivery.step.like(f"URGE-{day:%Y%m%d}-%"),
                ReminderDelivery.person.in_(list(people)),
            )
            .group_by(ReminderDelivery.person)
        )
        return {p: int(n) for p, n in (await self.session.execute(q)).all()}

    # -- acknowledgements --------------------------------------------------------------------
    async def acks(self, instances: Iterable[tuple[str, date]]) -> dict[tuple[str, date, str], str]:
        inst = list(set(instances))
        out: dict[tuple[str, date, str], str] = {}
        for i in range(0, len(inst), CHUNK):
            q = select(ReminderAck).where(tuple_(ReminderAck.obligation, ReminderAck.due).in_(inst[i : i + CHUNK]))
            for r in (await self.session.scalars(q)).all():
                out[(r.obligation, r.due, r.person)] = r.kind
        return out

    async def acknowledge(self, obligation: str, due: date, person: str, kind: str, now: datetime) -> None:
        dialect = self.session.bind.dialect.name if self.session.bind else "sqlite"
        ins = pg_insert if dialect == "postgresql" else sqlite_insert
        stmt = ins(ReminderAck).values(obligation=obligation, due=due, person=person, kind=kind, at=now)
        await self.session.execute(
            stmt.on_conflict_do_update(index_elements=["obligation", "due", "person"], set_={"kind": kind, "at": now})
        )

    # -- runs ----------------------------------------------------------------------------------
    async def last_run_before(self, day: date) -> date | None:
        return await self.session.scalar(select(func.max(ReminderRun.day)).where(ReminderRun.day < day))

    async def mark_run(self, day: date, now: datetime, holder: str) -> bool:
        """False if this day already ran."""
        res = await self.session.execute(
            insert_ignore(self.session, ReminderRun, [{"day": day, "ran_at": now, "holder": holder}]).returning(
                ReminderRun.day
            )
        )
        return res.first() is not None
