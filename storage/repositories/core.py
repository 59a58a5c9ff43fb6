"""Repositories of the runtime tables. They flush, never commit."""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypedDict, Unpack, cast

from sqlalchemy import delete, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import CursorResult, Result
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models.core import (
    AuditEntry,
    DialogueState,
    Download,
    GroupBinding,
)
from storage.models.inbox import InboxMessage


def dialect_insert(session: AsyncSession) -> Any:
    """The INSERT construct of the session's dialect (it has ``on_conflict_do_…``). ``session`` may also
    be an AsyncConnection: the inbox writes on one (bot/claims.py)."""
    bind = getattr(session, "dialect", None) or (session.bind.dialect if session.bind else None)
    dialect = bind.name if bind is not None else "sqlite"
    return pg_insert if dialect == "postgresql" else sqlite_insert


def insert_ignore(session: AsyncSession, model, rows: list[dict[str, Any]]):
    """INSERT ... ON CONFLICT DO NOTHING of several rows, for both dialects."""
    return dialect_insert(session)(model).values(rows).on_conflict_do_nothing()


class InboxRepository:
    """The durable inbox: frames stored before their ACK, marked handled with the handler's writes."""

    def __init__(self, session: AsyncSession):
        self.session = session

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


class AuditChange(TypedDict, total=False):
    """What an audit row says changed, besides who, when and what: before and after, why, where."""

    before: dict[str, Any] | None
    after: dict[str, Any] | None
    reason: str | None
    territory: str | None


@dataclass(frozen=True)
class Auditor:
    """Who acts and when (a chat message's sender, a job, the CLI): the part every row of theirs shares."""

    actor_id: str
    actor_name: str
    at: datetime

    @classmethod
    def cli(cls, at: datetime) -> Auditor:
        """What an operator does from the command line."""
        return cls("cli", "命令行", at)

    def entry(self, action: str, entity: str, entity_id: str | int, **change: Unpack[AuditChange]) -> AuditEntry:
        """One audit-log row: who did what to which entity, before and after, why, and in which territory."""
        return AuditEntry(
            at=self.at,
            actor_id=self.actor_id,
            actor_name=self.actor_name,
            action=action,
            entity=entity,
            entity_id=str(entity_id),
            **change,
        )


class AuditRepository:
    def __init__(self, session: AsyncSession):
        self.session = session

    async def record(self, entry: AuditEntry) -> AuditEntry:
        """Write one row built by :meth:`Auditor.entry`."""
        self.session.add(entry)
        await self.session.flush()
        return entry

    async def record_many(self, entries: Iterable[AuditEntry]) -> None:
        """Many rows built by :meth:`Auditor.entry` with one flush (bulk registration)."""
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
