"""/名单: seats filled against the quota per territory, and per-city completion for the province."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from domain.regions import RegionTree
from domain.roster.fields import CITY_LEVEL, Role
from domain.roster.model import Member, Status
from domain.roster.quota import DEFAULT_RULES, Quota, QuotaRules
from domain.territory import Territory

ROLES = (Role.ADMIN, Role.TRAINER, Role.REVIEWER)


@dataclass(frozen=True)
class SeatStatus:
    role: Role
    quota: Quota
    holders: tuple[Member, ...]
    count: int | None = None  # the seats filled, when they were only counted (``holders`` then empty)

    @property
    def filled(self) -> int:
        return len(self.holders) if self.count is None else self.count

    @property
    def missing(self) -> int:
        return max(0, self.quota.min - self.filled)

    @property
    def counted(self) -> int:
        """Filled seats that count towards completion (at most the minimum)."""
        return min(self.filled, self.quota.min)

    @property
    def complete(self) -> bool:
        return self.filled >= self.quota.min

    @property
    def over(self) -> int:
        return max(0, self.filled - self.quota.max)


@dataclass(frozen=True)
class TerritoryStatus:
    territory: Territory
    seats: tuple[SeatStatus, ...]

    @property
    def label(self) -> str:
        """The county, or 市本级."""
        return self.territory.county or CITY_LEVEL

    @property
    def complete(self) -> bool:
        return all(s.complete for s in self.seats)

    @property
    def required(self) -> int:
        return sum(s.quota.min for s in self.seats)

    @property
    def counted(self) -> int:
        return sum(s.counted for s in self.seats)

    @property
    def missing_text(self) -> str:
        """缺体系管理员1名、资源审核员2名 (empty when complete)."""
        parts = [f"{s.role.label}{s.missing}名" for s in self.seats if s.missing]
        return ("缺" + "、".join(parts)) if parts else ""

    def seat(self, role: Role) -> SeatStatus:
        return next(s for s in self.seats if s.role == role)


@dataclass(frozen=True)
class CityCompletion:
    city: str
    territories: tuple[TerritoryStatus, ...]

    @property
    def required(self) -> int:
        return sum(t.required for t in self.territories)

    @property
    def filled(self) -> int:
        return sum(t.counted for t in self.territories)

    @property
    def complete_count(self) -> int:
        return sum(1 for t in self.territories if t.complete)

    @property
    def incomplete(self) -> list[TerritoryStatus]:
        return [t for t in self.territories if not t.complete]

    @property
    def complete(self) -> bool:
        return not self.incomplete


# (role, territory) → its holders, or only how many there are (completion needs no names)
SeatIndex = Mapping[tuple[Role, Territory], "list[Member] | int"]


def _index(members: Iterable[Member], statuses: tuple[Status, ...]) -> dict[tuple[Role, Territory], list[Member]]:
    idx: dict[tuple[Role, Territory], list[Member]] = defaultdict(list)
    for m in members:
        if m.status in statuses:
            idx[(m.role, m.territory)].append(m)
    return idx


def count_index(counts: Iterable[tuple[Role, Territory, int]]) -> SeatIndex:
    """A seat index from (role, territory, seats filled) rows: statuses without reading every member."""
    return {(r, t): n for r, t, n in counts}


def _seat(role: Role, quota: Quota, held: list[Member] | int) -> SeatStatus:
    return SeatStatus(role, quota, (), held) if isinstance(held, int) else SeatStatus(role, quota, tuple(held))


def territory_status(
    territory: Territory,
    members: Iterable[Member],
    rules: QuotaRules = DEFAULT_RULES,
    *,
    roles: Iterable[Role] = ROLES,
    statuses: tuple[Status, ...] = (Status.ACTIVE,),
    _idx: SeatIndex | None = None,
) -> TerritoryStatus:
    idx: SeatIndex = _idx if _idx is not None else _index(members, statuses)
    seats = tuple(_seat(r, rules.quota(r, territory), idx.get((r, territory), [])) for r in roles)
    return TerritoryStatus(territory, seats)


def city_completion(
    tree: RegionTree,
    city: str,
    members: Iterable[Member],
    rules: QuotaRules = DEFAULT_RULES,
    *,
    roles: Iterable[Role] = ROLES,
    statuses: tuple[Status, ...] = (Status.ACTIVE,),
    _idx: SeatIndex | None = None,
) -> CityCompletion:
    """市本级 first, then the counties in the tree's order."""
    roles = tuple(roles)
    idx = _idx if _idx is not None else _index(members, statuses)
    c = tree.city(city)
    if c is None:
        raise KeyError(city)
    terrs = [Territory(tree.province, c.name)] + [
        Territory(tree.province, c.name, k.name) for k in tree.counties_of(c.name)
    ]
    return CityCompletion(c.name, tuple(territory_status(t, (), rules, roles=roles, _idx=idx) for t in terrs))


def province_completion(
    tree: RegionTree,
    members: Iterable[Member],
    rules: QuotaRules = DEFAULT_RULES,
    *,
    roles: Iterable[Role] = ROLES,
    statuses: tuple[Status, ...] = (Status.ACTIVE,),
) -> list[CityCompletion]:
    """Every city's completion, in the tree's order."""
    roles = tuple(roles)
    idx = _index(members, statuses)
    return [city_completion(tree, c.name, (), rules, roles=roles, _idx=idx) for c in tree.cities]


def total_seats(tree: RegionTree, rules: QuotaRules = DEFAULT_RULES, *, use_max: bool = False) -> int:
    """Seats in the whole province (minimum quotas, or maximum with ``use_max``)."""
    n = 0
    for c in tree.cities:
        terrs = [Territory(tree.province, c.name)] + [
            Territory(tree.province, c.name, k.name) for k in tree.counties_of(c.name)
        ]
        for t in terrs:
            for r in ROLES:
                q = rules.quota(r, t)
                n += q.max if use_max else q.min
    return n
