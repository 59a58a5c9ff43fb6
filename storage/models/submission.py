"""Who submits a city's forms: the 附件1 / 附件3 header (联系人, 电话, 手机), kept per city and year."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base


class SubmissionContact(Base):
    """A city's contact for one year's forms, set with /报送信息."""

    __tablename__ = "submission_contacts"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    city: Mapped[str] = mapped_column(String(200))  # territory path 浙江省/杭州市
    year: Mapped[int] = mapped_column(Integer)
    contact: Mapped[str] = mapped_column(String(60))
    phone: Mapped[str] = mapped_column(String(40))
    mobile: Mapped[str] = mapped_column(String(20))
    updated_by: Mapped[str] = mapped_column(String(160))
    updated_at: Mapped[datetime]

    __table_args__ = (UniqueConstraint("city", "year", name="uq_submission_contacts_city"),)
