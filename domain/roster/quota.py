"""Seats: quotas per territory, one seat per person per role, unique platform accounts.

Quotas are data (:class:`QuotaRules`); the default follows the 2021 notice:
per city (市本级) and per county, admin exactly 1, trainer 1, reviewers 3–5.

:class:`RosterBook` is an in-memory index of the seat holders that matter
(loaded by the caller); it decides whether a new or changed member may take a
seat and, if not, names who holds the seats. A batch is checked by adding its
rows one by one, so the rows of one paste count against each other too.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from domain.roster.fields import Role
from domain.roster.model import FieldError, Member
from domain.territory import Level, Territory


class QuotaError(ValueError):
    """A quota setting is malformed (e.g. reviewer: 5-3)."""


@dataclass(frozen=True)
class Quota:
    min: int
    max: int

    def __post_init__(self) -> None:
        if self.min < 0 or self.max < self.min or self.max < 1:
            raise QuotaError(f"bad quota {self.min}-{self.max}")

    @property
    def text(self) -> str:
        """1名 / 3–5名."""
        return f"{self.min}名" if self.min == self.max else f"{self.min}–{self.max}名"

    @classmethod
    def parse(cls, value: Any) -> Quota:
        """1, "3-5", "3–5", [3, 5] or {min: 3, max: 5}."""
        if isinstance(value, bool):
            raise QuotaError(f"bad quota {value!r}")
        if isinstance(value, int):
            return cls(value, value)
        if isinstance(value, (list, tuple)) and len(value) == 2:
            return cls(int(value[0]), int(value[1]))
        if isinstance(value, Mapping):
            return cls(int(value["min"]), int(value["max"]))
        if isinstance(value, str):
            m = re.fullmatch(r"\s*(\d+)\s*(?:[-–~～至到]\s*(\d+))?\s*", value)
            if m:
                lo = int(m.group(1))
                return cls(lo, int(m.group(2)) if m.group(2) else lo)
        raise QuotaError(f"bad quota {value!r} (use 1, 3-5 or [3, 5])")


DEFAULT_QUOTA = {Role.ADMIN: Quota(1, 1), Role.TRAINER: Quota(1, 1), Role.REVIEWER: Quota(3, 5)}


@dataclass(frozen=True)
class QuotaRules:
    city: Mapping[Role, Quota] = field(default_factory=lambda: dict(DEFAULT_QUOTA))  # 市本级
    county: Mapping[Role, Quota] = field(default_factory=lambda: dict(DEFAULT_QUOTA))

    def quota(self, role: Role, territory: Territory) -> Quota:
        if territory.level is Level.CITY:
            return self.city[role]
        if territory.level is Level.COUNTY:
            return self.county[role]
        raise QuotaError(f"no roster seats at the {territory.level.name.lower()} level")

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any] | None) -> QuotaRules:
        """``{city: {admin: 1, trainer: 1, reviewer: "3-5"}, county: {...}}``; missing entries keep the default."""
        data = data or {}
        unknown = [k for k in data if k not in ("city", "county")]
        if unknown:
            raise QuotaError(f"unknown quota level {unknown[0]!r} (use city, county)")
        out: dict[str, dict[Role, Quota]] = {}
        for level in ("city", "county"):
            table = dict(DEFAULT_QUOTA)
            for role, value in (data.get(level) or {}).items():
                try:
                    r = Role.parse(str(role))
                except ValueError:
                    raise QuotaError(
                        f"unknown role {role!r} in {level} quotas (use admin, trainer, reviewer)"
                    ) from None
                table[r] = Quota.parse(value)
            out[level] = table
        return cls(city=out["city"], county=out["county"])


DEFAULT_RULES = QuotaRules()


@dataclass(frozen=True)
class SeatRefusal:
    """Why a member cannot take a seat; ``holders`` are the people in the way."""

    kind: str  # quota_full | same_person | account_taken
    role: Role
    territory: Territory
    holders: tuple[Member, ...]
    quota: Quota | None = None

    @property
    def holder_names(self) -> list[str]:
        return [h.name for h in self.holders]

    @property
    def field_label(self) -> str:
        return {"quota_full": "县(市、区)", "same_person": "手机", "account_taken": "平台账号"}[self.kind]

    @property
    def message(self) -> str:
        """Chinese: what is wrong and what to do, naming the holders (for who may see them)."""
        return self.message_for(show_holders=True)

    def message_for(self, *, show_holders: bool) -> str:
        """Holders are named only to someone who may see their territory's roster; anyone else
        learns that the seat, mobile or account is taken and whom to ask."""
        names = "、".join(self.holder_names)
        ask = f"如有疑问请联系{self._operator_of()}"
        if self.kind == "quota_full":
            where = self.holders[0].seat_label if self.holders else self.territory.label
            quota = self.quota.text if self.quota else ""
            if not show_holders:
                return f"{where}{self.role.label}名额已满（限{quota}）；{ask}"
            return f"{where}{self.role.label}名额已满（限{quota}，已登记：{names}）；换人请先 /注销 或 /变更"
        h = self.holders[0]
        if self.kind == "same_person":
            if not show_holders:
                return f"此手机号已登记过{self.role.label}，一人每个角色只占一个名额；{ask}"
            return f"此手机号已登记为{h.seat_label}{self.role.label}（{h.name}），一人每个角色只占一个名额"
        if not show_holders:
            return f"此平台账号已被他人登记，请核对（区分大小写）；{ask}"
        return f"平台账号已被{h.seat_label}的{h.name}使用，请核对（区分大小写）"

    def _operator_of(self) -> str:
        t = self.holders[0].territory if self.holders else self.territory
        return f"{t.city}的市级管理员" if t.city else "省级管理员"

    @property
    def expected(self) -> str:
        return {
            "quota_full": "有空余名额的县(市、区)",
            "same_person": "未登记过的手机号",
            "account_taken": "未被使用的平台账号",
        }[self.kind]

    def as_error(self, row: int, value: str = "", *, show_holders: bool = True) -> FieldError:
        return FieldError(
            row, self.field_label, value, self.expected, problem=self.message_for(show_holders=show_holders)
        )


def _key(m: Member) -> object:
    return ("id", m.id) if m.id is not None else ("obj", id(m))


class RosterBook:
    """Seat holders indexed by territory, by (role, mobile) and by platform account."""

    def __init__(self, members: Iterable[Member] = (), rules: QuotaRules = DEFAULT_RULES):
        self.rules = rules
        self._by_seat: dict[tuple[Role, Territory], list[Member]] = defaultdict(list)
        self._by_mobile: dict[tuple[Role, str], list[Member]] = defaultdict(list)
        self._by_account: dict[str, list[Member]] = defaultdict(list)
        for m in members:
            self.add(m)

    def add(self, m: Member) -> None:
        self._by_seat[(m.role, m.territory)].append(m)
        if m.mobile:
            self._by_mobile[(m.role, m.mobile)].append(m)
        if m.account:
            self._by_account[m.account].append(m)

    def remove(self, m: Member) -> None:
        k = _key(m)
        tables: tuple[tuple[dict[Any, list[Member]], object], ...] = (
            (self._by_seat, (m.role, m.territory)),
            (self._by_mobile, (m.role, m.mobile)),
            (self._by_account, m.account),
        )
        for table, key in tables:
            if key in table:
                table[key] = [x for x in table[key] if _key(x) != k]

    def holders(self, role: Role, territory: Territory) -> list[Member]:
        return list(self._by_seat.get((role, territory), ()))

    def check(self, m: Member, *, replacing: Member | None = None) -> SeatRefusal | None:
        """None if ``m`` may take its seat (``replacing``: the record it replaces, for a change)."""
        skip = _key(replacing) if replacing is not None else None
        same = [x for x in self._by_mobile.get((m.role, m.mobile), ()) if _key(x) != skip]
        if same:
            return SeatRefusal("same_person", m.role, m.territory, tuple(same))
        if m.account:
            taken = [x for x in self._by_account.get(m.account, ()) if _key(x) != skip]
            if taken:
                return SeatRefusal("account_taken", m.role, m.territory, tuple(taken))
        quota = self.rules.quota(m.role, m.territory)
        seated = [x for x in self._by_seat.get((m.role, m.territory), ()) if _key(x) != skip]
        if len(seated) >= quota.max:
            return SeatRefusal("quota_full", m.role, m.territory, tuple(seated), quota)
        return None

    def take(self, m: Member) -> SeatRefusal | None:
        """Check and, if allowed, add (for the rows of a batch)."""
        refusal = self.check(m)
        if refusal is None:
            self.add(m)
        return refusal

    def replace(self, old: Member, new: Member) -> SeatRefusal | None:
        refusal = self.check(new, replacing=old)
        if refusal is None:
            self.remove(old)
            self.add(new)
        return refusal
