"""Base-school tables (基地校, seed 003).

Visits are stored compactly: one row per (month, space, visitor) whose ``days`` is a bit mask of the
days of that month the visitor came (bit d-1 = day d, local time). A redelivered visit ORs the same
bit, so ingestion is idempotent without event keys, and a year of ~20 M visit events is at most
12 rows per visitor and space. The active-user count for any period is one GROUP BY over these rows
with the bits of the period's days counted in SQL (see storage/repositories/base_schools.py).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Date, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base


class BaseSchoolRow(Base):
    __tablename__ = "base_schools"
    __table_args__ = (UniqueConstraint("year", "name"), UniqueConstraint("year", "space_id"))
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    year: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(100))
    city: Mapped[str] = mapped_column(String(40))
    county: Mapped[str | None] = mapped_column(String(40))
    territory: Mapped[str] = mapped_column(String(200))
    subject: Mapped[str] = mapped_column(String(60))
    space_id: Mapped[str] = mapped_column(String(64), index=True)
    lead: Mapped[str] = mapped_column(String(60))
    lead_user_id: Mapped[str | None] = mapped_column(String(160), index=True)
    teachers: Mapped[int | None] = mapped_column(Integer)
    premium_spaces: Mapped[int] = mapped_column(Integer)
    featured_spaces: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime]


class BaseSpaceVisit(Base):
    __tablename__ = "base_space_visits"
    month: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)  # 202611
    space_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    visitor: Mapped[str] = mapped_column(String(64), primary_key=True)
    days: Mapped[int] = mapped_column(Integer)


class BaseTeacherSpace(Base):
    __tablename__ = "base_teacher_spaces"
    space_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    account: Mapped[str] = mapped_column(String(64), primary_key=True)
    opened_on: Mapped[date | None] = mapped_column(Date)  # NULL: known, not opened


class BaseTeacherActivity(Base):
    __tablename__ = "base_teacher_activity"
    space_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    account: Mapped[str] = mapped_column(String(64), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    months: Mapped[int] = mapped_column(Integer)  # bit m-1 = active in month m


class BaseLesson(Base):
    __tablename__ = "base_lessons"
    space_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    lesson: Mapped[str] = mapped_column(String(128), primary_key=True)
    published_on: Mapped[date] = mapped_column(Date)


class BaseLessonReport(Base):
    __tablename__ = "base_lesson_reports"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    school_id: Mapped[int] = mapped_column(Integer, index=True)
    lessons: Mapped[int] = mapped_column(Integer)
    reported_on: Mapped[date] = mapped_column(Date)
    reported_by: Mapped[str] = mapped_column(String(160))
    at: Mapped[datetime]


class BaseAssessment(Base):
    __tablename__ = "base_assessments"
    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    done_at: Mapped[datetime]
    ranking: Mapped[list[Any]] = mapped_column(JSON)
