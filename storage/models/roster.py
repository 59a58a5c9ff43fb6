"""Roster tables: seat holders (附件1) and territory grants (省-市-县-校).

``person_key`` (role:mobile) and ``account_key`` (platform account) are set only
while a record holds or waits for a seat, and are unique: the database itself
refuses a second live seat for one person in one role, or a reused account
(NULLs do not collide, so removed records keep their history).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base


class RosterMember(Base):
    __tablename__ = "roster_members"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    role: Mapped[str] = mapped_column(String(16))
    province: Mapped[str] = mapped_column(String(40))
    city: Mapped[str] = mapped_column(String(40))
    county: Mapped[str | None] = mapped_column(String(40))  # NULL: 市本级
    territory: Mapped[str] = mapped_column(String(200))  # 浙江省/杭州市/西湖区
    name: Mapped[str] = mapped_column(String(60))
    mobile: Mapped[str] = mapped_column(String(20))
    account: Mapped[str | None] = mapped_column(String(64))
    values: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(12))
    user_id: Mapped[str | None] = mapped_column(String(160), index=True)
    person_key: Mapped[str | None] = mapped_column(String(40))
    account_key: Mapped[str | None] = mapped_column(String(64))
    created_by: Mapped[str] = mapped_column(String(160))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    decided_by: Mapped[str | None] = mapped_column(String(160))
    decided_at: Mapped[datetime | None]
    note: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        UniqueConstraint("person_key", name="uq_roster_members_person_key"),
        UniqueConstraint("account_key", name="uq_roster_members_account_key"),
        Index("ix_roster_members_city_status", "city", "status"),
        Index("ix_roster_members_territory", "territory"),
    )


class TerritoryGrant(Base):
    """Someone holds a territory: city operator, county admin, school admin."""

    __tablename__ = "territory_grants"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[str] = mapped_column(String(160), index=True)
    user_name: Mapped[str] = mapped_column(String(100))
    territory: Mapped[str] = mapped_column(String(200), index=True)
    level: Mapped[int] = mapped_column(Integer)
    granted_by: Mapped[str] = mapped_column(String(160))
    granted_at: Mapped[datetime]

    __table_args__ = (UniqueConstraint("user_id", "territory", name="uq_territory_grants_user_id"),)
