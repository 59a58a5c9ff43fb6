"""Reminder tables: obligations with their short numbers, the delivery ledger (exactly once per
obligation, due date, step and person), acknowledgements, runs, the scheduler lease and the
monthly API-call counter."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, Date, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base


class ReminderItem(Base):
    """An obligation: synced from annual_cycle.yaml (source 'cycle') or added in chat (source 'chat')."""

    __tablename__ = "reminder_items"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(80), unique=True)
    source: Mapped[str] = mapped_column(String(8))
    title: Mapped[str] = mapped_column(String(200))
    due_date: Mapped[date | None] = mapped_column(Date)
    audience: Mapped[str] = mapped_column(String(20))
    done_query: Mapped[str] = mapped_column(String(60))
    territory: Mapped[str | None] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(Text, default="")
    paused: Mapped[bool] = mapped_column(Boolean, default=False)
    created_by: Mapped[str] = mapped_column(String(160))
    created_at: Mapped[datetime]


class ReminderDelivery(Base):
    """One reminder step reached one person (or one operator's escalation list): never twice."""

    __tablename__ = "reminder_deliveries"
    obligation: Mapped[str] = mapped_column(String(80), primary_key=True)
    due: Mapped[date] = mapped_column(Date, primary_key=True)
    step: Mapped[str] = mapped_column(String(24), primary_key=True)
    person: Mapped[str] = mapped_column(String(160), primary_key=True)
    run_day: Mapped[date] = mapped_column(Date)
    at: Mapped[datetime]
    card: Mapped[str | None] = mapped_column(String(80))  # outTrackId of the card it went out on

    __table_args__ = (
        Index("ix_reminder_deliveries_person", "person", "run_day"),
        Index("ix_reminder_deliveries_card", "card"),
    )


class ReminderAck(Base):
    """收到 (ack) or 已完成 (done) of one person for one due date of an obligation."""

    __tablename__ = "reminder_acks"
    obligation: Mapped[str] = mapped_column(String(80), primary_key=True)
    due: Mapped[date] = mapped_column(Date, primary_key=True)
    person: Mapped[str] = mapped_column(String(160), primary_key=True)
    kind: Mapped[str] = mapped_column(String(8))
    at: Mapped[datetime]


class ReminderRun(Base):
    """The reminder job ran for a working day (to log missed days after downtime)."""

    __tablename__ = "reminder_runs"
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    ran_at: Mapped[datetime]
    holder: Mapped[str] = mapped_column(String(80))


class SchedulerLease(Base):
    """Who runs the scheduled jobs among several bot instances."""

    __tablename__ = "scheduler_leases"
    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    holder: Mapped[str] = mapped_column(String(80))
    expires_at: Mapped[datetime]


class ApiCallCount(Base):
    """DingTalk OpenAPI calls per month and API (standard-edition organisations have a monthly cap)."""

    __tablename__ = "api_call_counts"
    month: Mapped[str] = mapped_column(String(7), primary_key=True)
    api: Mapped[str] = mapped_column(String(40), primary_key=True)
    calls: Mapped[int] = mapped_column(Integer, default=0)
