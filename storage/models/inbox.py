"""The durable inbox: every chat message is stored before DingTalk gets its ACK."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, String
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base


class InboxMessage(Base):
    """One received chat message (its callback ``data``), handled exactly once.

    ``msg_id`` is unique, so a redelivery finds its row; ``handled_at`` is set in
    the same transaction as the handler's writes and the reply's outbox entry.
    """

    __tablename__ = "inbox"
    msg_id: Mapped[str] = mapped_column(String(160), primary_key=True)
    received_at: Mapped[datetime] = mapped_column(index=True)
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    handled_at: Mapped[datetime | None] = mapped_column(index=True)
