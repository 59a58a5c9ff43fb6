"""Resource review tables: calls, resources, tasks, catalogue corrections, leave, conflicts,
platform feedback, stored previews of assignment plans, and send keys (never push twice)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    Float,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base


class ReviewCallRow(Base):
    __tablename__ = "review_calls"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(120))
    deadline: Mapped[date] = mapped_column(Date)
    categories: Mapped[list[Any]] = mapped_column(JSON)
    levels: Mapped[list[Any]] = mapped_column(JSON)  # [ReviewLevel.as_dict(), …] in order
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    __table_args__ = (UniqueConstraint("name", name="uq_review_calls_name"),)


class ReviewResource(Base):
    __tablename__ = "review_resources"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    external_id: Mapped[str] = mapped_column(String(120))
    call_id: Mapped[int] = mapped_column(Integer, index=True)
    title: Mapped[str] = mapped_column(String(300))
    rtype: Mapped[str] = mapped_column(String(40))
    category: Mapped[str] = mapped_column(String(40))
    stage: Mapped[str] = mapped_column(String(16))
    subject: Mapped[str] = mapped_column(String(40))
    edition: Mapped[str] = mapped_column(String(100))
    chapter: Mapped[str] = mapped_column(String(200))
    link: Mapped[str] = mapped_column(Text)
    submitter_account: Mapped[str] = mapped_column(String(64))
    submitter_name: Mapped[str] = mapped_column(String(60))
    school: Mapped[str] = mapped_column(String(120))
    county: Mapped[str] = mapped_column(String(40))
    city: Mapped[str] = mapped_column(String(40))
    level_index: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(12))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    __table_args__ = (
        UniqueConstraint("external_id", name="uq_review_resources_external_id"),
        Index("ix_review_resources_city_status", "city", "status"),
    )


class ReviewTask(Base):
    __tablename__ = "review_tasks"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    resource_id: Mapped[int] = mapped_column(Integer, index=True)
    level_index: Mapped[int] = mapped_column(Integer)
    reviewer_id: Mapped[str] = mapped_column(String(160), index=True)
    reviewer_name: Mapped[str] = mapped_column(String(60))
    assigned_at: Mapped[datetime]
    due_on: Mapped[date] = mapped_column(Date)
    state: Mapped[str] = mapped_column(String(12), index=True)
    verdict: Mapped[str | None] = mapped_column(String(8))
    reason: Mapped[str | None] = mapped_column(Text)
    done_at: Mapped[datetime | None]
    batch_key: Mapped[str | None] = mapped_column(String(80), index=True)
    card_id: Mapped[str | None] = mapped_column(String(80), index=True)
    moved_to: Mapped[int | None] = mapped_column(Integer)


class ReviewCorrection(Base):
    __tablename__ = "review_corrections"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    resource_id: Mapped[int] = mapped_column(Integer, index=True)
    task_id: Mapped[int | None] = mapped_column(Integer)
    field: Mapped[str] = mapped_column(String(20))
    before: Mapped[str] = mapped_column(Text)
    after: Mapped[str] = mapped_column(Text)
    by: Mapped[str] = mapped_column(String(160))
    at: Mapped[datetime]


class ReviewLeave(Base):
    __tablename__ = "review_leave"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[str] = mapped_column(String(160), index=True)
    start: Mapped[date] = mapped_column(Date)
    end: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime]


class ReviewConflict(Base):
    __tablename__ = "review_conflicts"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[str] = mapped_column(String(160), index=True)
    value: Mapped[str] = mapped_column(String(160))  # a submitter account, a school, or r:<resource id>
    created_at: Mapped[datetime]

    __table_args__ = (UniqueConstraint("user_id", "value", name="uq_review_conflicts_user_id"),)


class ReviewFeedback(Base):
    __tablename__ = "review_feedback"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    resource_id: Mapped[int] = mapped_column(Integer, index=True)
    at: Mapped[datetime]
    rating: Mapped[float | None] = mapped_column(Float)  # 1..5, or 1 like / 0 dislike
    positive: Mapped[bool | None] = mapped_column(Boolean)
    clicks: Mapped[int] = mapped_column(Integer, default=0)
    downloads: Mapped[int] = mapped_column(Integer, default=0)


class ReviewPreview(Base):
    """The plan an operator previewed, committed as is by /分配 确认 (one per operator)."""

    __tablename__ = "review_previews"
    user_id: Mapped[str] = mapped_column(String(160), primary_key=True)
    scope: Mapped[dict[str, Any]] = mapped_column(JSON)
    fingerprint: Mapped[str] = mapped_column(String(80))
    plan: Mapped[list[Any]] = mapped_column(JSON)  # [[resource id, reviewer id], …]
    created_at: Mapped[datetime]


class ReviewSend(Base):
    """A key per push batch or reminder: written with the outbox rows, so nothing goes out twice."""

    __tablename__ = "review_sends"
    key: Mapped[str] = mapped_column(String(160), primary_key=True)
    created_at: Mapped[datetime]
