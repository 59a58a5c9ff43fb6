"""Shared glue of the base-school commands, export, job and CLI: definitions, who sees which
school, computing every school's figures for a period, and the views handed to templates."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from bot.commands import Router
from bot.context import Context, ServiceKey, Services
from bot.errors import UserError
from domain.base_schools import (
    BaseSchool,
    Definitions,
    Period,
    Ranked,
    SchoolFigures,
    figures,
    load_definitions,
    previous,
    rank,
)
from domain.masking import MASK_CHAR
from domain.territory import Level, resolve_territory
from handlers.roster.common import held, regions
from storage.repositories.base_schools import BaseSchoolRepository

router = Router("base_schools", section="考核与推荐")

DEFINITIONS = ServiceKey[Definitions](
    "base_schools.definitions",
    lambda services: load_definitions(getattr(services.settings, "base_schools_config", "") or None),
)


def definitions(services: Services) -> Definitions:
    return services.use(DEFINITIONS)


def today_of(ctx: Context) -> date:
    return ctx.now().date()


@dataclass(frozen=True)
class Visibility:
    """Which schools the sender may see: every city (None), some cities, and the schools they lead."""

    cities: frozenset[str] | None
    led: frozenset[int]
    led_cities: frozenset[str] = frozenset()

    def sees(self, s: BaseSchool) -> bool:
        return self.cities is None or s.city in self.cities or (s.id is not None and s.id in self.led)

    def sees_city(self, city: str) -> bool:
        """Schools of the city (operators), or the city's ranking (a lead of a school there)."""
        return self.cities is None or city in self.cities or city in self.led_cities

    @property
    def operator(self) -> bool:
        return self.cities is None or bool(self.cities)


async def visibility(ctx: Context) -> Visibility:
    terr = [t for t in await held(ctx) if t.level <= Level.CITY]
    cities: frozenset[str] | None
    if ctx.actor.is_superadmin or any(t.level is Level.PROVINCE for t in terr):
        cities = None
    else:
        cities = frozenset(t.city for t in terr if t.city)
    led = await ctx.uow.repo(BaseSchoolRepository).led_by(ctx.actor.id)
    return Visibility(cities, frozenset(s.id for s in led if s.id is not None), frozenset(s.city for s in led))


async def compute(
    repo: BaseSchoolRepository,
    schools: Sequence[BaseSchool],
    period: Period,
    today: date,
    defs: Definitions,
    *,
    all_spaces: bool = False,
) -> list[SchoolFigures]:
    counts = await repo.counts(schools, period, today, defs, all_spaces=all_spaces)
    return [figures(s, counts[s.space_id], defs) for s in schools]


async def compute_with_trend(
    repo: BaseSchoolRepository, schools: Sequence[BaseSchool], period: Period, today: date, defs: Definitions
) -> tuple[list[SchoolFigures], list[SchoolFigures]]:
    now = await compute(repo, schools, period, today, defs, all_spaces=len(schools) > 1)
    before_period, before_day = previous(period, today, defs)
    if before_day < before_period.start:
        return now, []
    return now, await compute(repo, schools, before_period, before_day, defs, all_spaces=len(schools) > 1)


def _trend_text(delta: float | None, is_rate: bool) -> str:
    if delta is None:
        return ""
    if abs(delta) < 1e-9:
        return "持平"
    arrow = "↑" if delta > 0 else "↓"
    return f"{arrow}{abs(delta) * 100:.0f}个百分点" if is_rate else f"{arrow}{abs(delta):g}"


def figures_view(f: SchoolFigures, before: SchoolFigures | None) -> dict[str, Any]:
    checks = []
    for c in f.checks:
        prev = before.key(c.indicator.key) if before else None
        checks.append(
            {
                "label": c.indicator.label,
                "value": c.indicator.show(c.value),
                "threshold": c.indicator.show(c.indicator.min),
                "met": c.met,
                "trend": _trend_text(None if prev is None else c.value - prev, c.indicator.is_rate),
            }
        )
    ev_delta = None if before is None else f.counts.effective_visits - before.counts.effective_visits
    return {
        "name": f.school.name,
        "place": f.school.place,
        "subject": f.school.subject,
        "checks": checks,
        "met": f.met,
        "total": len(f.checks),
        "visitors": f.counts.visitors,
        "effective_visits": f.counts.effective_visits,
        "ev_trend": _trend_text(ev_delta, False),
        "teachers": f.teachers,
        "opened": f.counts.opened,
        "active_teachers": f.counts.active_teachers,
    }


def ranking_view(ranked: Sequence[Ranked], defs: Definitions) -> list[dict[str, Any]]:
    """Rows of a ranking without personal data: rank, school, city, indicators met, active users, visits."""
    return [
        {
            "rank": r.rank,
            "name": r.figures.school.name,
            "city": r.figures.school.city,
            "met": r.figures.met,
            "total": len(r.figures.checks),
            "active_users": r.figures.counts.active_users,
            "effective_visits": r.figures.counts.effective_visits,
        }
        for r in ranked
    ]


def ranked(items: Sequence[SchoolFigures], defs: Definitions) -> list[Ranked]:
    return rank(items, defs.ranking)


def mask_name(name: str) -> str:
    """王老师 → 王＊＊: personal names in group chats (the project's full-width mask character)."""
    return name[:1] + MASK_CHAR * max(1, len(name) - 1) if name else ""


def resolve_city(ctx: Context, word: str, vis: Visibility) -> str | None:
    """A city word → the city (None: the whole province); a reply when unknown or not theirs."""
    tree = regions(ctx.services)
    m = resolve_territory(tree, word)
    if m.territory is None or m.territory.level > Level.COUNTY:
        raise UserError("base_schools/unknown_city", word=word, candidates=[c.label for c in m.candidates[:5]])
    city = m.territory.city
    if city is None:
        if vis.cities is not None:
            raise UserError("base_schools/not_your_city", city=tree.province, mine=sorted(vis.cities))
        return None
    if not vis.sees_city(city):
        raise UserError("base_schools/not_your_city", city=city, mine=sorted(vis.cities or ()))
    return city
