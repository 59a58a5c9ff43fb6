"""Repositories of the runtime tables. They flush, never commit."""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import and_, delete, func, insert, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import CursorResult, Result
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models.core import (
    AuditEntry,
    DialogueState,
    Download,
    GroupBinding,
    OutboxMessage,
)
from storage.models.inbox import InboxMessage


def insert_ignore(session: AsyncSession, model, rows: list[dict[str, Any]]):
    """INSERT ... ON CONFLICT DO NOTHING of several rows, for both dialects (``session`` may also be an
    AsyncConnection: the inbox writes on one)."""
    bind = getattr(session, "dialect", None) or (session.bind.dialect if session.bind else None)
    dialect = bind.name if bind is not None else "sqlite"
    ins = pg_insert if dialect == "postgresql" else sqlite_insert
    return ins(model).values(rows).on_conflict_do_nothing()


class InboxRepository:
    """The durable inbox: frames stored before their ACK, marked handled with the handler's writes."""

    def __init__(self, session: AsyncSession):
        self.session = session

    async def store_many(self, rows: list[tuple[str, dict[str, Any]]], now: datetime) -> set[str]:
        """Store (msg_id, callback data) rows in one statement; returns the msgIds that were new."""
        if not rows:
            return set()
        values = [{"msg_id": m, "received_at": now, "data": d} for m, d in dict(rows).items()]
        # The rows as parameters of one cached statement (sent as one multi-row INSERT … RETURNING):
        # rows inlined with .values() were compiled anew for every batch.
        stmt = insert_ignore(self.session, InboxMessage.__table__, []).returning(InboxMessage.msg_id)
        return set((await self.session.execute(stmt, values)).scalars())

    async def mark_handled(self, msg_ids: list[str], now: datetime) -> set[str]:
        """Mark messages handled; returns those this call marked (the others were handled already).

        On PostgreSQL a concurrent marker waits for the first one's commit and then finds the row
        handled, so only one transaction per message ever commits its handler's writes.
        """
        if not msg_ids:
            return set()
        stmt = (
            update(InboxMessage)
            .where(InboxMessage.msg_id.in_(msg_ids), InboxMessage.handled_at.is_(None))
            .values(handled_at=now)
            .returning(InboxMessage.msg_id)
            .execution_options(synchronize_session=False)
        )
        return set((await self.session.execute(stmt)).scalars())

    async def unhandled(
        self, *, received_before: datetime | None = None, limit: int = 500
    ) -> list[tuple[str, dict[str, Any]]]:
        """Stored but not handled (a crash, or an instance killed): oldest first."""
        q = select(InboxMessage.msg_id, InboxMessage.data).where(InboxMessage.handled_at.is_(None))
        if received_before is not None:
            q = q.where(InboxMessage.received_at < received_before)
        rows = (
            await self.session.execute(q.order_by(InboxMessage.received_at, InboxMessage.msg_id).limit(limit))
        ).all()
        return [(m, dict(d or {})) for m, d in rows]

    async def is_handled(self, msg_id: str) -> bool | None:
        """True/False, or None when the message was never stored."""
        row = await self.session.get(InboxMessage, msg_id, populate_existing=True)
        return None if row is None else row.handled_at is not None

    async def forget_before(self, cutoff: datetime) -> int:
        """Drop handled messages received before ``cutoff`` (their msgIds stop deduplicating)."""
        result = await self.session.execute(
            delete(InboxMessage).where(InboxMessage.received_at < cutoff, InboxMessage.handled_at.is_not(None))
        )
        return rowcount(result) or 0


@dataclass(frozen=True)
class Binding:
    conversation_id: str
    role: str
    title: str
    bound_by: str
    bound_at: datetime


class GroupRepository:
    def __init__(self, session: AsyncSession):
        self.session = session

    async def get(self, conversation_id: str) -> Binding | None:
        row = await self.session.get(GroupBinding, conversation_id)
        return _binding(row) if row else None

    async def bind(
        self, conversation_id: str, role: str, title: str, by: str, now: datetime
    ) -> tuple[Binding | None, Binding]:
        row = await self.session.get(GroupBinding, conversation_id)
        before = _binding(row) if row else None
        if row is None:
            row = GroupBinding(conversation_id=conversation_id, role=role, title=title, bound_by=by, bound_at=now)
            self.session.add(row)
        else:
            row.role, row.title, row.bound_by, row.bound_at = role, title, by, now
        await self.session.flush()
        return before, _binding(row)

    async def for_role(self, role: str) -> list[Binding]:
        rows = (await self.session.scalars(select(GroupBinding).where(GroupBinding.role == role))).all()
        return [_binding(r) for r in rows]

    async def all(self) -> list[Binding]:
        rows = (await self.session.scalars(select(GroupBinding).order_by(GroupBinding.role))).all()
        return [_binding(r) for r in rows]


def _binding(r: GroupBinding) -> Binding:
    return Binding(r.conversation_id, r.role, r.title, r.bound_by, r.bound_at)


def rowcount(result: Result[Any]) -> int | None:
    """Rows an UPDATE or DELETE matched (SQLAlchemy types ``execute`` as a plain ``Result``)."""
    return cast(CursorResult[Any], result).rowcount


def audit_row(
    *,
    at: datetime,
    actor_id: str,
    action: str,
    entity: str,
    entity_id: str,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    reason: str | None = None,
    actor_name: str = "",
    territory: str | None = None,
) -> AuditEntry:
    """One audit-log row: who did what to which entity, before and after, why, and in which territory."""
    return AuditEntry(
        at=at,
        actor_id=actor_id,
        actor_name=actor_name,
        action=action,
        entity=entity,
        entity_id=str(entity_id),
        before=before,
        after=after,
        reason=reason,
        territory=territory,
    )


class AuditRepository:
    def __init__(self, session: AsyncSession):
        self.session = session

    async def record(
        self,
        *,
        at: datetime,
        actor_id: str,
        action: str,
        entity: str,
        entity_id: str,
        before: dict[str, Any] | None = None,
        after: dict[str, Any] | None = None,
        reason: str | None = None,
        actor_name: str = "",
        territory: str | None = None,
    ) -> AuditEntry:
        entry = audit_row(
            at=at,
            actor_id=actor_id,
            actor_name=actor_name,
            action=action,
            entity=entity,
            entity_id=entity_id,
            before=before,
            after=after,
            reason=reason,
            territory=territory,
        )
        self.session.add(entry)
        await self.session.flush()
        return entry

    async def record_many(self, entries: Iterable[AuditEntry]) -> None:
        """Many rows built by :func:`audit_row` with one flush (bulk registration)."""
        self.session.add_all(list(entries))
        await self.session.flush()

    async def list(
        self,
        *,
        entity: str | None = None,
        entity_id: str | None = None,
        territory_prefix: str | None = None,
        limit: int = 50,
    ) -> list[AuditEntry]:
        q = select(AuditEntry)
        if entity:
            q = q.where(AuditEntry.entity == entity)
        if entity_id:
            q = q.where(AuditEntry.entity_id == str(entity_id))
        if territory_prefix:
            q = q.where(AuditEntry.territory.startswith(territory_prefix))
        q = q.order_by(AuditEntry.at.desc(), AuditEntry.id.desc()).limit(limit)
        return list((await self.session.scalars(q)).all())


@dataclass
class Dialogue:
    conversation_id: str
    user_id: str
    kind: str
    data: dict[str, Any]
    started_at: datetime
    expires_at: datetime


class DialogueRepository:
    def __init__(self, session: AsyncSession):
        self.session = session

    async def get(self, conversation_id: str, user_id: str, now: datetime) -> Dialogue | None:
        """The live dialogue, or None. An expired one is deleted and reported as None."""
        row = await self.session.get(DialogueState, (conversation_id, user_id))
        if row is None:
            return None
        if row.expires_at <= now:
            await self.session.delete(row)
            await self.session.flush()
            return None
        return Dialogue(row.conversation_id, row.user_id, row.kind, dict(row.data), row.started_at, row.expires_at)

    async def get_any(self, conversation_id: str, user_id: str) -> Dialogue | None:
        row = await self.session.get(DialogueState, (conversation_id, user_id))
        if row is None:
            return None
        return Dialogue(row.conversation_id, row.user_id, row.kind, dict(row.data), row.started_at, row.expires_at)

    async def save(
        self, conversation_id: str, user_id: str, kind: str, data: dict[str, Any], now: datetime, ttl: timedelta
    ) -> Dialogue:
        row = await self.session.get(DialogueState, (conversation_id, user_id))
        if row is None:
            row = DialogueState(
                conversation_id=conversation_id,
                user_id=user_id,
                kind=kind,
                data=data,
                started_at=now,
                expires_at=now + ttl,
            )
            self.session.add(row)
        else:
            row.kind, row.data, row.expires_at = kind, dict(data), now + ttl
        await self.session.flush()
        return Dialogue(conversation_id, user_id, kind, dict(data), row.started_at, row.expires_at)

    async def end(self, conversation_id: str, user_id: str) -> bool:
        result = await self.session.execute(
            delete(DialogueState).where(
                DialogueState.conversation_id == conversation_id, DialogueState.user_id == user_id
            )
        )
        return bool(rowcount(result))

    async def purge_expired(self, now: datetime) -> int:
        result = await self.session.execute(delete(DialogueState).where(DialogueState.expires_at <= now))
        return rowcount(result) or 0


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
        if kind not in ("group", "users", "card", "card_update"):
            raise ValueError(kind)
        rows: list[OutboxMessage] = []
        ids = user_ids or []
        chunks: list[list[str] | None]
        if kind == "users":
            chunks = [ids[i : i + 20] for i in range(0, len(ids), 20)]
        else:  # a group message (None), an interactive card to one person, a card update
            chunks = [user_ids]
        if held and not chunks:
            chunks = [[]]  # a webhook-only reply (a person outside the organisation): one row
        if dedup_key is not None:
            values = [
                dict(
                    kind=kind,
                    conversation_id=conversation_id,
                    user_ids=chunk,
                    msg_key=msg_key,
                    msg_param=msg_param,
                    status="pending",
                    attempts=0,
                    next_attempt_at=now,
                    created_at=now,
                    reply_to_msg_id=reply_to_msg_id,
                    purpose=purpose,
                    dedup_key=dedup_key if len(chunks) == 1 else f"{dedup_key}#{i}",
                )
                for i, chunk in enumerate(chunks, start=1)
            ]
            new = (
                await self.session.scalars(
                    insert_ignore(self.session, OutboxMessage, values).returning(OutboxMessage.id)
                )
            ).all()
            if not new:
                return []
            return list((await self.session.scalars(select(OutboxMessage).where(OutboxMessage.id.in_(new)))).all())
        for chunk in chunks:
            row = OutboxMessage(
                kind=kind,
                conversation_id=conversation_id,
                user_ids=chunk,
                msg_key=msg_key,
                msg_param=msg_param,
                status="sending" if held else "pending",
                attempts=0,
                next_attempt_at=now,
                created_at=now,
                claimed_at=now if held else None,
                reply_to_msg_id=reply_to_msg_id,
                purpose=purpose,
            )
            self.session.add(row)
            rows.append(row)
        if flush:
            await self.session.flush()
        return rows

    async def enqueue_many(self, drafts: list[dict[str, Any]], now: datetime) -> list[list[int]]:
        """:meth:`enqueue` of several sends in one bulk INSERT (the inbox's group commit); the new
        row ids per draft, in order."""
        values: list[dict[str, Any]] = []
        owners: list[int] = []
        for n, d in enumerate(drafts):
            kind, held, ids = d["kind"], bool(d.get("held")), list(d.get("user_ids") or [])
            if kind not in ("group", "users"):
                raise ValueError(kind)
            chunks: list[list[str] | None] = (
                [None] if kind == "group" else [ids[i : i + 20] for i in range(0, len(ids), 20)]
            )
            if held and not chunks:
                chunks = [[]]
            for chunk in chunks:
                values.append(
                    {
                        "kind": kind,
                        "conversation_id": d.get("conversation_id"),
                        "user_ids": chunk,
                        "msg_key": d["msg_key"],
                        "msg_param": d["msg_param"],
                        "status": "sending" if held else "pending",
                        "attempts": 0,
                        "next_attempt_at": now,
                        "created_at": now,
                        "claimed_at": now if held else None,
                        "sent_at": None,
                        "last_error": None,
                        "reply_to_msg_id": d.get("reply_to_msg_id"),
                        "purpose": d.get("purpose", ""),
                    }
                )
                owners.append(n)
        out: list[list[int]] = [[] for _ in drafts]
        if values:
            stmt = insert(OutboxMessage).returning(OutboxMessage.id, sort_by_parameter_order=True)
            new_ids = (await self.session.execute(stmt, values)).scalars().all()
            for owner, oid in zip(owners, new_ids, strict=True):
                out[owner].append(oid)
        return out

    async def count_call(self, month: str, api: str, n: int = 1) -> None:
        """Add ``n`` DingTalk calls to this month's counter of ``api``."""
        from storage.models.reminders import ApiCallCount

        dialect = self.session.bind.dialect.name if self.session.bind else "sqlite"
        ins = pg_insert if dialect == "postgresql" else sqlite_insert
        stmt = ins(ApiCallCount).values(month=month, api=api, calls=n)
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

    async def mark_sent_many(self, oids: list[int], now: datetime) -> None:
        if oids:
            await self.session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id.in_(oids))
                .values(status="sent", sent_at=now, last_error=None)
                .execution_options(synchronize_session=False)
            )

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


class DownloadRepository:
    def __init__(self, session: AsyncSession):
        self.session = session

    async def add(
        self, *, filename: str, content_type: str, data: bytes, created_by: str, now: datetime, ttl: timedelta
    ) -> Download:
        row = Download(
            id=secrets.token_urlsafe(24),
            filename=filename,
            content_type=content_type,
            data=data,
            created_by=created_by,
            created_at=now,
            expires_at=now + ttl,
        )
        self.session.add(row)
        await self.session.flush()
        return row

    async def get_live(self, file_id: str, now: datetime) -> Download | None:
        row = await self.session.get(Download, file_id)
        if row is None or row.expires_at <= now:
            return None
        return row

    async def purge_expired(self, now: datetime) -> int:
        result = await self.session.execute(delete(Download).where(Download.expires_at <= now))
        return rowcount(result) or 0
