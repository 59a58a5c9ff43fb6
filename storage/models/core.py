"""Tables of the bot runtime (the inbox is in inbox.py): group bindings, outbox, audit, dialogues, downloads."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base


class GroupBinding(Base):
    __tablename__ = "group_bindings"
    conversation_id: Mapped[str] = mapped_column(String(160), primary_key=True)
    role: Mapped[str] = mapped_column(String(16), index=True)
    title: Mapped[str] = mapped_column(String(200), default="")
    bound_by: Mapped[str] = mapped_column(String(160))
    bound_at: Mapped[datetime]


class OutboxMessage(Base):
    """Every message the bot sends on its own is written here first."""

    __tablename__ = "outbox"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(16))  # group | users
    conversation_id: Mapped[str | None] = mapped_column(String(160))
    user_ids: Mapped[list[Any] | None] = mapped_column(JSON)
    msg_key: Mapped[str] = mapped_column(String(40))
    msg_param: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(12), default="pending")  # pending|sending|sent|failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime]
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]
    claimed_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    reply_to_msg_id: Mapped[str | None] = mapped_column(String(160))
    purpose: Mapped[str] = mapped_column(String(60), default="")
    dedup_key: Mapped[str | None] = mapped_column(String(200))  # what this send is for; unique when set

    __table_args__ = (
        Index("ix_outbox_status_next", "status", "next_attempt_at"),
        Index("uq_outbox_dedup_key", "dedup_key", unique=True),
    )


class AuditEntry(Base):
    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(index=True)
    actor_id: Mapped[str] = mapped_column(String(160))
    actor_name: Mapped[str] = mapped_column(String(100), default="")
    action: Mapped[str] = mapped_column(String(60), index=True)
    entity: Mapped[str] = mapped_column(String(60))
    entity_id: Mapped[str] = mapped_column(String(160), index=True)
    territory: Mapped[str | None] = mapped_column(String(100), index=True)
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    reason: Mapped[str | None] = mapped_column(Text)


class DialogueState(Base):
    """A guided dialogue in progress; survives restarts; expires."""

    __tablename__ = "dialogues"
    conversation_id: Mapped[str] = mapped_column(String(160), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(160), primary_key=True)
    kind: Mapped[str] = mapped_column(String(60))
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    started_at: Mapped[datetime]
    expires_at: Mapped[datetime] = mapped_column(index=True)


class Download(Base):
    """A generated file served through a signed, expiring link."""

    __tablename__ = "downloads"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    filename: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(120))
    data: Mapped[bytes] = mapped_column(LargeBinary)
    created_by: Mapped[str] = mapped_column(String(160))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime] = mapped_column(index=True)
