"""What the evaluation commands share: the indicator sets, the review statistics and finding a member."""

from __future__ import annotations

from bot.context import Context, Mention, ServiceKey, Services
from bot.errors import UserError
from domain.evaluation import IndicatorLibrary, NoReviewStats, ReviewStatsProvider
from domain.roster import Member
from domain.territory import Territory
from handlers.scores.people import Access
from storage.repositories.roster import RosterRepository

REVIEW_STATS = ServiceKey[ReviewStatsProvider]("review_stats", lambda _services: NoReviewStats())
"""The review feature installs its provider with ``services.provide(REVIEW_STATS, ...)``; without it
reviewer indicators stay 待提交."""
INDICATORS = ServiceKey[IndicatorLibrary]("evaluation.indicators", lambda _services: IndicatorLibrary())


def indicators(services: Services) -> IndicatorLibrary:
    """The 附件2 indicator sets (domain/data/evaluation), read once per bot."""
    return services.use(INDICATORS)


def pick_seat(ctx: Context, seats: list[Member]) -> Member | None:
    if not seats:
        return None
    if ctx.group_role is not None:
        for m in seats:
            if m.role.value == ctx.group_role.value:
                return m
    return seats[0]


async def member_of_mention(ctx: Context, access: Access, who: Mention) -> Member:
    """The roster seat of an @mentioned person (by staff id, else by name inside the actor's territory)."""
    repo = ctx.uow.repo(RosterRepository)
    if who.staff_id:
        seats = [m for m in await repo.of_user(who.staff_id) if m.status.value == "active"]
        seat = pick_seat(ctx, seats)
        if seat is None:
            raise UserError("evaluation/not_member", name=who.name)
        return seat
    found: list[Member] = []
    for t in access.scopes or [Territory(access.province)]:
        found += [m for m in await repo.in_territory(t, statuses=("active",)) if m.name == who.name]
    found = list({m.id: m for m in found}.values())
    if not found:
        if access.scopes and any(
            m.name == who.name for m in await repo.in_territory(Territory(access.province), statuses=("active",))
        ):
            # On the roster, but elsewhere: say so (no seat or territory named).
            raise UserError(
                "evaluation/outside_territory", name=who.name, scope="、".join(t.label for t in access.scopes)
            )
        raise UserError("evaluation/not_member", name=who.name)
    if len(found) > 1:
        picked = pick_seat(ctx, found) if len({m.name for m in found}) == 1 and ctx.group_role else None
        if picked is None or sum(1 for m in found if m.role == picked.role) > 1:
            raise UserError(
                "evaluation/ambiguous_member",
                name=who.name,
                options=[f"{m.seat_label} {m.role.label}" for m in found[:8]],
            )
        return picked
    return found[0]


def first_mention(ctx: Context) -> Mention | None:
    ms = ctx.mentions()
    return ms[0] if ms else None
