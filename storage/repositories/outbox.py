"""The outbox: every send the bot makes (replies it could not deliver by webhook, pushes, reminders,
cards) is a row here first; ``bot/dingtalk/outbox.py`` claims and sends them. Flushes, never commits."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models.core import OutboxMessage
from storage.repositories.core import dialect_insert, insert_ignore, rowcount

KINDS = ("group", "users", "card", "card_update")
BATCH = 20  # DingTalk's batchSend takes at most 20 users a call


@dataclass(frozen=True)
class Send:
    """One send as the caller asked for it; :meth:`rows` are its outbox rows (one per 20 people)."""

    kind: str
    msg_key: str
    msg_param: dict[str, Any]
    conversation_id: str | None
    user_ids: list[str] | None
    reply_to_msg_id: str | None
    purpose: str
    held: bool

    def chunks(self) -> list[list[str] | None]:
        if self.kind != "users":  # a group message (None), a card to one person, a card update
            return [self.user_ids]
        ids = list(self.user_ids or [])
        chunks: list[list[str] | None] = [ids[i : i + BATCH] for i in range(0, len(ids), BATCH)]
        # a webhook-only reply (a person outside the organisation): one row without recipients
        return chunks or ([[]] if self.held else [])

    def rows(self, now: datetime, kinds: Sequence[str]) -> list[dict[str, Any]]:
        if self.kind not in kinds:
            raise ValueError(self.kind)
        return [
            {
                "kind": self.kind,
                "conversation_id": self.conversation_id,
                "user_ids": chunk,
                "msg_key": self.msg_key,
                "msg_param": self.msg_param,
                "status": "sending" if self.held else "pending",
                "attempts": 0,
                "next_attempt_at": now,
                "created_at": now,
                "claimed_at": now if self.held else None,
                "sent_at": None,
                "last_error": None,
                "reply_to_msg_id": self.reply_to_msg_id,
                "purpose": self.purpose,
            }
            for chunk in self.chunks()
        ]


# A reply held for its session-webhook attempt is taken over by the outbox after this long
# (the attempt itself is cut off well before: bot.delivery.WEBHOOK_TIMEOUT).
REPLY_LEASE = timedelta(seconds=15)


class OutboxRepository:
    def __init__(self, session: AsyncSession):
        self.session = session

    async def enqueue(
        self,
        *,
        kind: str,
        msg_key: str,
        msg_param: dict[str, Any],
        now: datetime,
        conversation_id: str | None = None,
        user_ids: list[str] | None = None,
        reply_to_msg_id: str | None = None,
        purpose: str = "",
        held: bool = False,
        dedup_key: str | None = None,
        flush: bool = True,
    ) -> list[OutboxMessage]:
        """Write a send to the outbox; a batch to more than 20 people becomes several rows.

        ``held``: the caller sends it itself now (a reply by session webhook) and then marks it
        sent or releases it; if the caller dies, the outbox takes it over after ``REPLY_LEASE``.
        With ``dedup_key`` (what this send is for) the database refuses a second row for the same
        key: the insert is ignored and the returned list is empty. Chunks get ``key#1``, ``key#2``….
        ``flush=False``: the caller flushes once after queueing many (a push of a whole plan).
        Kinds: ``group``, ``users``, ``card`` (an interactive card to one person) and ``card_update``.
        """
        send = Send(kind, msg_key, msg_param, conversation_id, user_ids, reply_to_msg_id, purpose, held)
        values = send.rows(now, KINDS)
        if dedup_key is None:
            rows = [OutboxMessage(**v) for v in values]
            self.session.add_all(rows)
            if flush:
                await self.session.flush()
            return rows
        for i, v in enumerate(values, start=1):
            v["dedup_key"] = dedup_key if len(values) == 1 else f"{dedup_key}#{i}"
        new = (
            await self.session.scalars(insert_ignore(self.session, OutboxMessage, values).returning(OutboxMessage.id))
        ).all()
        if not new:
            return []
        return list((await self.session.scalars(select(OutboxMessage).where(OutboxMessage.id.in_(new)))).all())

    async def count_call(self, month: str, api: str, n: int = 1) -> None:
        """Add ``n`` DingTalk calls to this month's counter of ``api``."""
        from storage.models.reminders import ApiCallCount

        stmt = dialect_insert(self.session)(ApiCallCount).values(month=month, api=api, calls=n)
        stmt = stmt.on_conflict_do_update(index_elements=["month", "api"], set_={"calls": ApiCallCount.calls + n})
        await self.session.execute(stmt)

    async def calls_in(self, month: str) -> dict[str, int]:
        from storage.models.reminders import ApiCallCount

        rows = (
            await self.session.execute(select(ApiCallCount.api, ApiCallCount.calls).where(ApiCallCount.month == month))
        ).all()
        return {api: int(calls) for api, calls in rows}

    async def next_attempt(self) -> datetime | None:
        """When the earliest pending row is due (the sender sleeps until then, not a whole poll period)."""
        return await self.session.scalar(
            select(func.min(OutboxMessage.next_attempt_at)).where(OutboxMessage.status == "pending")
        )

    async def failed_since(self, since: datetime) -> int:
        return int(
            await self.session.scalar(
                select(func.count())
                .select_from(OutboxMessage)
                .where(OutboxMessage.status == "failed", OutboxMessage.created_at >= since)
            )
            or 0
        )

    async def retry_failed(self, since: datetime, now: datetime) -> int:
        """Give the sends that failed for good since ``since`` a new round of tries (an operator fixed the cause)."""
        res = await self.session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.status == "failed", OutboxMessage.created_at >= since)
            .values(status="pending", attempts=0, next_attempt_at=now, claimed_at=None)
            .execution_options(synchronize_session=False)
        )
        return rowcount(res) or 0

    async def claim_due(
        self,
        now: datetime,
        limit: int = 20,
        stale_after: timedelta = timedelta(minutes=2),
        exclude: Sequence[int] = (),
    ) -> list[OutboxMessage]:
        """Claim due rows (pending, or 'sending' left behind by a crashed worker) in one statement.

        ``UPDATE … WHERE id IN (SELECT … FOR UPDATE SKIP LOCKED)``: on PostgreSQL several bot
        instances claim disjoint rows without waiting for each other; SQLite has one writer, so
        the same statement is atomic there. A reply held for its webhook attempt (status
        'sending', purpose 'reply') is taken over after ``REPLY_LEASE``: its sender died.
        ``exclude``: rows the calling worker is still sending (never its own stale claims).
        """
        sending = OutboxMessage.status == "sending"
        due = or_(
            and_(OutboxMessage.status == "pending", OutboxMessage.next_attempt_at <= now),
            and_(sending, OutboxMessage.claimed_at < now - stale_after),
            and_(sending, OutboxMessage.purpose == "reply", OutboxMessage.claimed_at < now - REPLY_LEASE),
        )
        if exclude:
            due = and_(due, OutboxMessage.id.not_in(list(exclude)))
        pick = (
            select(OutboxMessage.id)
            .where(due)
            .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        stmt = (
            update(OutboxMessage)
            .where(OutboxMessage.id.in_(pick.scalar_subquery()))
            .values(status="sending", claimed_at=now, attempts=OutboxMessage.attempts + 1)
            .returning(OutboxMessage)
            .execution_options(synchronize_session=False, populate_existing=True)
        )
        rows = (await self.session.scalars(stmt)).all()
        return sorted(rows, key=lambda r: r.id)

    async def release_all_sending(self, now: datetime) -> int:
        """A single instance starting (SQLite): whatever is 'sending' was left by a dead process."""
        res = await self.session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.status == "sending")
            .values(status="pending", next_attempt_at=now)
            .execution_options(synchronize_session=False)
        )
        return rowcount(res) or 0

    async def mark_sent(self, oid: int, now: datetime) -> None:
        await self.session.execute(
            update(OutboxMessage).where(OutboxMessage.id == oid).values(status="sent", sent_at=now, last_error=None)
        )

    async def reschedule(self, oid: int, at: datetime, error: str, user_ids: list[str] | None = None) -> None:
        values: dict[str, Any] = {"status": "pending", "next_attempt_at": at, "last_error": error[:500]}
        if user_ids is not None:
            values["user_ids"] = user_ids
        await self.session.execute(update(OutboxMessage).where(OutboxMessage.id == oid).values(**values))

    async def mark_failed(self, oid: int, error: str) -> None:
        await self.session.execute(
            update(OutboxMessage).where(OutboxMessage.id == oid).values(status="failed", last_error=error[:500])
        )

    async def depth(self) -> int:
        return int(
            await self.session.scalar(
                select(func.count()).select_from(OutboxMessage).where(OutboxMessage.status.in_(("pending", "sending")))
            )
            or 0
        )

    async def get(self, oid: int) -> OutboxMessage | None:
        return await self.session.get(OutboxMessage, oid, populate_existing=True)
