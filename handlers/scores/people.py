"""Who may see what in scores and evaluation, read from the roster (seats) and territory grants.

- A superadmin (provincial centre) holds the province.
- A territory grant (city operator, county admin) holds that territory.
- An admin's roster seat (体系管理员 of a county or a city) holds that territory too.
- A city operator is a superadmin or the holder of a city-level grant: they confirm reports,
  recommend (附件3) and export their city's form.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.context import Context, MemoKey, Services
from domain.regions import RegionTree
from domain.roster import Member, Role
from domain.territory import Level, Territory


def regions(services: Services) -> RegionTree:
    """The region tree the roster uses (an operator may load another province)."""
    from handlers.roster.common import regions as roster_regions

    return roster_regions(services)


@dataclass
class Access:
    user_id: str
    superadmin: bool
    province: str
    grants: list[Territory] = field(default_factory=list)
    seats: list[Member] = field(default_factory=list)

    @property
    def scopes(self) -> list[Territory]:
        out = [Territory(self.province)] if self.superadmin else []
        out += self.grants
        out += [m.territory for m in self.seats if m.role is Role.ADMIN]
        return [t for t in dict.fromkeys(out) if not any(o.strictly_contains(t) for o in out)]

    def can_see(self, territory: Territory) -> bool:
        return any(t.contains(territory) for t in self.scopes)

    @property
    def narrowest(self) -> Territory | None:
        s = self.scopes
        return max(s, key=lambda t: t.level) if s else None

    @property
    def widest(self) -> Territory | None:
        s = self.scopes
        return min(s, key=lambda t: t.level) if s else None

    def operator_cities(self) -> list[str] | None:
        """Cities this person operates (None: every city, for the provincial centre)."""
        if self.superadmin or any(t.level is Level.PROVINCE for t in self.grants):
            return None
        return sorted({t.city for t in self.grants if t.level is Level.CITY and t.city})

    def operates(self, city: str | None) -> bool:
        cities = self.operator_cities()
        return cities is None or (city is not None and city in cities)

    @property
    def member(self) -> Member | None:
        return self.seats[0] if self.seats else None


ACCESS = MemoKey[Access]("scores.access")


async def access_of(ctx: Context) -> Access:
    """The actor's access: territories held (roster grants; the province for a superadmin) and
    their active roster seats. Memoised per message."""
    cached = ctx.memo.get(ACCESS)
    if cached is not None:
        return cached
    from handlers.roster.common import held, own_seats

    tree = regions(ctx.services)
    grants = [t for t in await held(ctx) if not (ctx.actor.is_superadmin and t.level is Level.PROVINCE)]
    seats = [m for m in await own_seats(ctx) if m.status.value == "active"]
    access = Access(ctx.actor.id, ctx.actor.is_superadmin, tree.province, grants, seats)
    return ctx.memo.set(ACCESS, access)
