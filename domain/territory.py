"""Territories (省-市-县-校) and the authorisation chain.

A :class:`Territory` is a path: province, then city, county and school. One
territory contains another when its path is a prefix of the other's. The
string form ``浙江省/杭州市/西湖区`` is what storage keeps (and what the audit
log's ``territory_prefix`` filter matches).

Authorisation (逐级授权): a grant at one level is made by the level directly
above and only inside its own territory — provincial operators appoint city
operators, a city operator appoints the admins of its counties, a county admin
appoints school admins of its county. A revocation may be made by any holder
of a territory that strictly contains the granted one. Whoever holds a
territory may read and change the roster inside it, and nothing outside.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass

from domain.regions import Match, RegionLevel, RegionTree

SEP = "/"


class Level(enum.IntEnum):
    PROVINCE = 0
    CITY = 1
    COUNTY = 2
    SCHOOL = 3

    @property
    def label(self) -> str:
        return ("省级", "市级", "县级", "校级")[self.value]

    @property
    def operator_label(self) -> str:
        return ("省级管理员", "市级管理员", "县级管理员", "校级管理员")[self.value]


@dataclass(frozen=True, order=True)
class Territory:
    province: str
    city: str | None = None
    county: str | None = None
    school: str | None = None

    def __post_init__(self) -> None:
        values = (self.province, self.city, self.county, self.school)
        n = values.index(None) if None in values else 4
        if any(v is not None for v in values[n:]) or not all(values[:n]):
            raise ValueError(f"territory path with a gap: {values}")
        if any(SEP in v for v in values[:n] if v is not None):
            raise ValueError(f"'{SEP}' in a territory name")

    @property
    def parts(self) -> tuple[str, ...]:
        out = [self.province]
        for p in (self.city, self.county, self.school):
            if p is None:
                break
            out.append(p)
        return tuple(out)

    @property
    def level(self) -> Level:
        return Level(len(self.parts) - 1)

    @property
    def path(self) -> str:
        return SEP.join(self.parts)

    @property
    def name(self) -> str:
        """The last part: 西湖区, 杭州市, 浙江省."""
        return self.parts[-1]

    @property
    def label(self) -> str:
        """杭州市西湖区 / 杭州市 / 浙江省 / 杭州市西湖区某小学 (the province is implied below it)."""
        if self.level is Level.PROVINCE:
            return self.province
        return "".join(self.parts[1:])

    def contains(self, other: Territory) -> bool:
        """True if ``other`` is this territory or inside it."""
        mine, theirs = self.parts, other.parts
        return len(theirs) >= len(mine) and theirs[: len(mine)] == mine

    def strictly_contains(self, other: Territory) -> bool:
        return self.contains(other) and self != other

    def parent(self) -> Territory | None:
        parts = self.parts
        if len(parts) == 1:
            return None
        return Territory.from_parts(parts[:-1])

    def child(self, name: str) -> Territory:
        if self.level is Level.SCHOOL:
            raise ValueError("a school has no sub-territories")
        return Territory.from_parts((*self.parts, name))

    @property
    def city_territory(self) -> Territory | None:
        return Territory(self.province, self.city) if self.city else None

    @classmethod
    def from_parts(cls, parts: Iterable[str]) -> Territory:
        p = list(parts)
        if not 1 <= len(p) <= 4:
            raise ValueError(f"a territory has 1 to 4 parts, got {len(p)}")
        rest: list[str | None] = [*p[1:], *[None] * (4 - len(p))]
        return cls(p[0], *rest)

    @classmethod
    def from_path(cls, path: str) -> Territory:
        return cls.from_parts(path.split(SEP))

    def __str__(self) -> str:
        return self.path


# --- resolving names to territories ----------------------------------------------------


@dataclass(frozen=True)
class TerritoryMatch:
    query: str
    territory: Territory | None
    candidates: tuple[Territory, ...] = ()

    @property
    def ambiguous(self) -> bool:
        return self.territory is None and len(self.candidates) > 1


def territory_of(tree: RegionTree, region) -> Territory:
    if region.level is RegionLevel.PROVINCE:
        return Territory(tree.province)
    if region.level is RegionLevel.CITY:
        return Territory(tree.province, region.name)
    return Territory(tree.province, region.city, region.name)


def resolve_territory(
    tree: RegionTree, text: str, *, within: Territory | None = None, school: str | None = None
) -> TerritoryMatch:
    """``全省``/``浙江`` → the province, ``杭州`` → 杭州市, ``西湖`` → 杭州市西湖区.

    ``within`` restricts the search to a city (or a county's city). ``school``
    appends a school under the county found.
    """
    from domain.regions import clean_name

    q = clean_name(text)
    if q in ("全省", "省级", "省", "全部") or (q and q in (tree.province, tree.province_region.stem)):
        t = Territory(tree.province)
        return TerritoryMatch(text, t, (t,))
    city = within.city if within and within.city else None
    m: Match = tree.match(q, city=city)
    cands = tuple(territory_of(tree, r) for r in m.candidates)
    if m.region is None:
        return TerritoryMatch(text, None, cands)
    t = territory_of(tree, m.region)
    if school:
        if t.level is not Level.COUNTY:
            return TerritoryMatch(text, None, ())
        t = t.child(clean_name(school))
    return TerritoryMatch(text, t, (t,))


# --- the authorisation chain ---------------------------------------------------------


@dataclass(frozen=True)
class Grant:
    """Someone holds a territory (is its operator/admin)."""

    user_id: str
    territory: Territory
    granted_by: str = ""


@dataclass(frozen=True)
class Decision:
    ok: bool
    reason: str = ""  # Chinese, for the user when refused

    def __bool__(self) -> bool:
        return self.ok


def scopes(
    grants: Iterable[Grant | Territory], *, superadmin: bool = False, province: str | None = None
) -> list[Territory]:
    """The territories an actor holds; a superadmin holds the province."""
    out = [g.territory if isinstance(g, Grant) else g for g in grants]
    if superadmin and province:
        out.insert(0, Territory(province))
    # Drop territories inside another one held.
    return [t for t in out if not any(o.strictly_contains(t) for o in out)]


def can_manage(held: Iterable[Territory], target: Territory) -> bool:
    """May read full personal data and change records of ``target``."""
    return any(t.contains(target) for t in held)


def can_grant(held: Iterable[Territory], target: Territory) -> Decision:
    """Only the level directly above, inside its own territory, may appoint ``target``'s operator."""
    held = list(held)
    if target.level is Level.PROVINCE:
        return Decision(False, "省级管理员由系统配置，不能在聊天中授权")
    for t in held:
        if t.level == target.level - 1 and t.contains(target):
            return Decision(True)
    above = target.parent()
    need = above.level.operator_label if above else ""
    if any(t.contains(target) for t in held):
        return Decision(False, f"{target.label}的管理员只能由{need}授权（逐级授权）")
    return Decision(False, f"{target.label}不在你的管辖范围内，只能由{above.label if above else ''}的{need}授权")


def can_revoke(held: Iterable[Territory], target: Territory) -> Decision:
    for t in held:
        if t.strictly_contains(target):
            return Decision(True)
    return Decision(False, f"只有{target.label}的上级管理员可以撤销")


def narrowest(held: Iterable[Territory]) -> Territory | None:
    """The most specific territory held (deepest level); None if none."""
    held = list(held)
    return max(held, key=lambda t: t.level) if held else None
