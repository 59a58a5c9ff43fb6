"""Scores and evaluation tables.

Performance choices (100,000 teachers, 10 million events a year):
- ``score_events`` keeps the instant as integer epoch seconds (``at_epoch``) and the detail as JSON
  text, written and read in bulk through the driver. Primary key (bucket, teacher_id, event_key):
  idempotent ingestion (a redelivered event has the same time, hence the same bucket), inserts that
  stay in the recent part of the tree, and per-teacher reads by bucket. No other index, no foreign
  key to ``score_teachers`` (a per-row check would slow bulk ingestion; ingestion resolves accounts).
- ``score_totals`` holds materialised points per teacher per week / month / scoring year in one wide
  row per teacher and scoring year, kept current by ingestion (per-day differences), read by rankings.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Date,
    Index,
    Integer,
    String,
    Table,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base


class ScoreTeacher(Base):
    """A teacher of the platform (imported list). ``account`` is case-sensitive."""

    __tablename__ = "score_teachers"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    account: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(50), index=True)
    school: Mapped[str] = mapped_column(String(100), default="")
    city: Mapped[str] = mapped_column(String(30))
    county: Mapped[str] = mapped_column(String(30))
    updated_at: Mapped[datetime]

    __table_args__ = (Index("ix_score_teachers_city_county", "city", "county"),)


class ScoreEvent(Base):
    """One activity event. ``bucket`` = at_epoch // 604800 (a UTC week, independent of any time zone)
    leads the primary key, so a batch of recent events lands in a small, cached part of the tree and
    one teacher's year is ~53 index seeks; there is no other index."""

    __tablename__ = "score_events"
    bucket: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    teacher_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    event_key: Mapped[str] = mapped_column(String(160), primary_key=True)
    action: Mapped[str] = mapped_column(String(48))
    at_epoch: Mapped[int] = mapped_column(BigInteger)
    detail: Mapped[str | None] = mapped_column(Text)

    __table_args__ = ({"sqlite_with_rowid": False},)


TOTAL_WEEK_SLOTS = 54  # a scoring year touches at most 54 Monday–Sunday weeks …
TOTAL_MONTH_SLOTS = 13  # … and at most 13 calendar months (when it starts mid-month)


class ScoreTotal(Base):
    """Points of a teacher in one scoring year (``year_start``), one row per teacher and year: ``y`` the
    year, ``m<i>`` the month with index (year * 12 + month - 1) % 13 and ``w<i>`` the week with index
    ((Monday ordinal - 1) // 7) % 54 — counting only the days of that scoring year (a week or month
    that straddles two scoring years is the sum of its columns in both rows). One row per teacher
    and batch keeps ingestion's upserts few; a ranking reads one column of one or two years."""

    __table__ = Table(
        "score_totals",
        Base.metadata,
        Column("year_start", Date, primary_key=True),
        Column("teacher_id", Integer, primary_key=True, autoincrement=False),
        Column("y", Integer, nullable=False, server_default="0"),
        *[Column(f"m{i}", Integer, nullable=False, server_default="0") for i in range(TOTAL_MONTH_SLOTS)],
        *[Column(f"w{i}", Integer, nullable=False, server_default="0") for i in range(TOTAL_WEEK_SLOTS)],
        # /排行 and the county shares of a year read the teachers at or above some points, best first
        Index("ix_score_totals_year_points", "year_start", "y"),
        sqlite_with_rowid=False,
    )


class ScoreCountyPoints(Base):
    """How many score_totals rows of a scoring year have ``points`` year points, per county (kept by
    every totals change, set-based): the county shares of /排行 and /考核 read ~90 x distinct-points
    rows instead of every teacher. Rows reaching 0 teachers stay (harmless)."""

    __tablename__ = "score_county_points"
    year_start: Mapped[date] = mapped_column(Date, primary_key=True)
    city: Mapped[str] = mapped_column(String(30), primary_key=True)
    county: Mapped[str] = mapped_column(String(30), primary_key=True)
    points: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    teachers: Mapped[int] = mapped_column(Integer)


class ScoreIngestState(Base):
    """One row: bumped by every ingestion (in-process caches check it) and the latest event time stored."""

    __tablename__ = "score_ingest_state"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    generation: Mapped[int] = mapped_column(BigInteger)
    max_epoch: Mapped[int] = mapped_column(BigInteger)


class ScoreRuleSet(Base):
    """Rule files loaded by an operator; the active one (highest id with active=true) is used."""

    __tablename__ = "score_rulesets"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(100))
    source: Mapped[str] = mapped_column(String(200), default="")
    text: Mapped[str] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    loaded_by: Mapped[str] = mapped_column(String(160), default="")
    loaded_at: Mapped[datetime]


class ScoreAccountLink(Base):
    """Which platform account is a DingTalk user's own (for /积分 without arguments)."""

    __tablename__ = "score_account_links"
    user_id: Mapped[str] = mapped_column(String(160), primary_key=True)
    account: Mapped[str] = mapped_column(String(64), index=True)
    linked_at: Mapped[datetime]


class EvalReport(Base):
    """A member's evidence for an 附件2 indicator (/报告), confirmed or rejected by the city operator."""

    __tablename__ = "eval_reports"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    year: Mapped[int] = mapped_column(Integer)
    user_id: Mapped[str] = mapped_column(String(160))
    member_name: Mapped[str] = mapped_column(String(50), default="")
    role: Mapped[str] = mapped_column(String(16))
    territory: Mapped[str] = mapped_column(String(100), default="")
    kind: Mapped[str] = mapped_column(String(16))
    fields: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(12), default="submitted")
    reason: Mapped[str | None] = mapped_column(Text)
    submitted_at: Mapped[datetime]
    decided_at: Mapped[datetime | None]
    decided_by: Mapped[str | None] = mapped_column(String(160))

    __table_args__ = (
        Index("ix_eval_reports_user_year", "user_id", "year"),
        Index("ix_eval_reports_territory_status", "territory", "status"),
    )


class Recommendation(Base):
    """附件3: a city operator marks an excellent worker for a year (withdrawn ones are kept)."""

    __tablename__ = "eval_recommendations"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    year: Mapped[int] = mapped_column(Integer)
    user_id: Mapped[str] = mapped_column(String(160))
    member_name: Mapped[str] = mapped_column(String(50), default="")
    role: Mapped[str] = mapped_column(String(16))
    city: Mapped[str] = mapped_column(String(30))
    territory: Mapped[str] = mapped_column(String(100), default="")
    note: Mapped[str] = mapped_column(Text, default="")
    row: Mapped[dict[str, Any]] = mapped_column(JSON)  # the 附件3 columns at the time of marking
    marked_by: Mapped[str] = mapped_column(String(160))
    marked_at: Mapped[datetime]
    withdrawn_at: Mapped[datetime | None]
    withdrawn_by: Mapped[str | None] = mapped_column(String(160))

    __table_args__ = (Index("ix_eval_recommendations_city_year", "city", "year"),)
