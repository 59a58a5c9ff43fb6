"""Injected time. Logic asks a Clock, never ``datetime.now()``, so tests move time."""

from __future__ import annotations

from datetime import datetime, timedelta, tzinfo
from typing import Protocol
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")


class Clock(Protocol):
    tz: tzinfo

    def now(self) -> datetime: ...


class SystemClock:
    def __init__(self, tz: tzinfo = SHANGHAI):
        self.tz = tz

    def now(self) -> datetime:
        return datetime.now(self.tz)


class ManualClock:
    """A clock tests set and advance."""

    def __init__(self, start: datetime, tz: tzinfo = SHANGHAI):
        if start.tzinfo is None:
            raise ValueError("ManualClock needs an aware datetime")
        self.tz = tz
        self._now = start.astimezone(tz)

    def now(self) -> datetime:
        return self._now

    def set(self, when: datetime) -> None:
        self._now = when.astimezone(self.tz)

    def advance(self, **delta: float) -> datetime:
        self._now = self._now + timedelta(**delta)
        return self._now
