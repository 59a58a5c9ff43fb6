"""Roster records and the problems found in a row."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from domain.roster.fields import CITY_LEVEL, SECTIONS, Role
from domain.territory import Level, Territory


@dataclass(frozen=True)
class FieldError:
    """One problem of one row: which field, what was given, what was expected (Chinese)."""

    row: int
    field_label: str
    value: str
    expected: str
    problem: str = ""  # a whole sentence when "不对，应为…" does not fit (a full quota, a taken seat)

    @property
    def text(self) -> str:
        """第3行「手机」：“1380013800”不对，应为11位手机号，以13–19开头."""
        where = f"第{self.row}行" if self.row else ""
        if self.problem:
            return f"{where}「{self.field_label}」：{self.problem}"
        if self.value == "":
            return f"{where}「{self.field_label}」没有填，应为{self.expected}"
        return f"{where}「{self.field_label}」：“{_short(self.value)}”不对，应为{self.expected}"


def _short(value: str, limit: int = 30) -> str:
    return value if len(value) <= limit else value[: limit - 1] + "…"


class Status(str, enum.Enum):
    PENDING = "pending"  # self-registration waiting for the city operator
    ACTIVE = "active"
    REMOVED = "removed"
    REJECTED = "rejected"  # a self-registration the city operator turned down

    @property
    def label(self) -> str:
        return {"pending": "待审批", "active": "在册", "removed": "已注销", "rejected": "已驳回"}[self.value]

    @property
    def live(self) -> bool:
        """Holds (or waits for) a seat."""
        return self in (Status.PENDING, Status.ACTIVE)


@dataclass(frozen=True)
class Member:
    """One seat holder. ``values`` holds every column of the role's section by key,
    canonical (``county`` holds the county's name, or 市本级)."""

    role: Role
    territory: Territory
    values: Mapping[str, str]
    id: int | None = None
    status: Status = Status.ACTIVE
    user_id: str | None = None  # DingTalk staff id of the person, when known

    @property
    def name(self) -> str:
        return self.values.get("name", "")

    @property
    def mobile(self) -> str:
        return self.values.get("mobile", "")

    @property
    def account(self) -> str:
        return self.values.get("account", "")

    @property
    def city(self) -> str:
        return self.territory.city or ""

    @property
    def county_label(self) -> str:
        """What the form's 县(市、区) column shows: the county, or 市本级."""
        return self.territory.county or CITY_LEVEL

    @property
    def seat_label(self) -> str:
        """杭州市西湖区 / 杭州市（市本级）."""
        if self.territory.level is Level.CITY:
            return f"{self.territory.city}（{CITY_LEVEL}）"
        return self.territory.label

    def row(self) -> list[str]:
        """The values in the form's column order."""
        return [self.values.get(k, "") for k in SECTIONS[self.role].keys]

    def with_values(self, **changes: str) -> Member:
        return replace(self, values={**self.values, **changes})

    def to_dict(self) -> dict[str, Any]:
        return {
            "role": self.role.value,
            "territory": self.territory.path,
            "values": dict(self.values),
            "id": self.id,
            "status": self.status.value,
            "user_id": self.user_id,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Member:
        return cls(
            role=Role(data["role"]),
            territory=Territory.from_path(data["territory"]),
            values=dict(data["values"]),
            id=data.get("id"),
            status=Status(data.get("status", "active")),
            user_id=data.get("user_id"),
        )


def member_diff(before: Member, after: Member) -> tuple[dict[str, str], dict[str, str]]:
    """Changed fields only, as (before, after) dicts by key, for the audit log."""
    keys = [k for k in SECTIONS[after.role].keys if before.values.get(k, "") != after.values.get(k, "")]
    b = {k: before.values.get(k, "") for k in keys}
    a = {k: after.values.get(k, "") for k in keys}
    if before.status != after.status:
        b["status"], a["status"] = before.status.value, after.status.value
    return b, a


@dataclass
class RowResult:
    """The outcome of validating one pasted row."""

    row: int
    role: Role
    raw: dict[str, str]
    member: Member | None = None
    errors: list[FieldError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.member is not None and not self.errors

    @property
    def name(self) -> str:
        return (self.member.name if self.member else self.raw.get("name", "")) or ""
