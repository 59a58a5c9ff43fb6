"""Submission contacts (/报送信息): one row per city and year."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models.submission import SubmissionContact


@dataclass(frozen=True)
class Contact:
    contact: str
    phone: str
    mobile: str


class SubmissionRepository:
    def __init__(self, session: AsyncSession):
        self.session = session

    async def get(self, city: str, year: int) -> Contact | None:
        row = await self._row(city, year)
        return Contact(row.contact, row.phone, row.mobile) if row else None

    async def set(self, city: str, year: int, contact: Contact, *, by: str, now: datetime) -> Contact | None:
        """Store the city's contact for the year; the previous one (None if there was none)."""
        row = await self._row(city, year)
        before = Contact(row.contact, row.phone, row.mobile) if row else None
        if row is None:
            row = SubmissionContact(
                city=city, year=year, contact="", phone="", mobile="", updated_by=by, updated_at=now
            )
            self.session.add(row)
        row.contact, row.phone, row.mobile = contact.contact, contact.phone, contact.mobile
        row.updated_by, row.updated_at = by, now
        await self.session.flush()
        return before

    async def _row(self, city: str, year: int) -> SubmissionContact | None:
        return (
            await self.session.scalars(
                select(SubmissionContact).where(SubmissionContact.city == city, SubmissionContact.year == year)
            )
        ).first()
