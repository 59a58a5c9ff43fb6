"""Shared glue of the roster commands and the roster CLI: configuration, scopes, seat decisions,
saving with audit entries, and the views handed to templates.

The chat handlers (handlers/roster*.py) and ``python run_bot.py roster …`` both register
people through :func:`register_rows`, so a pasted row and a spreadsheet row get the same checks.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bot.commands import GroupRole
from bot.context import Context, MemoKey, ServiceKey, Services
from bot.errors import UserError
from domain.regions import RegionTree
from domain.roster import (
    SECTIONS,
    FieldError,
    Member,
    RosterBook,
    RowResult,
    Status,
    mask_mobile,
    validate_row,
)
from domain.roster.config import RosterConfig, load_roster_config
from domain.roster.parsing import RawRow
from domain.territory import Territory, can_manage, scopes
from storage.cache import READ_CACHE_TTL, ReadCache
from storage.db import UnitOfWork
from storage.repositories.core import Auditor
from storage.repositories.roster import GrantRepository, RosterRepository, SeatConflict

# Roster commands work in the three role groups and in 1:1 chats.
ROLE_GROUPS = frozenset({GroupRole.ADMIN, GroupRole.TRAINER, GroupRole.REVIEWER})
MEMBER = "roster_member"  # audit entity of roster records
GRANT = "territory_grant"  # audit entity of grants

ACTION_LABELS = {
    "roster.register": "登记",
    "roster.import": "导入",
    "roster.approve": "批准",
    "roster.reject": "驳回",
    "roster.update": "变更",
    "roster.remove": "注销",
    "roster.link": "本人关联",
}


# --- configuration -------------------------------------------------------------------------

ROSTER_CONFIG = ServiceKey[RosterConfig](
    "roster.config", lambda services: load_roster_config(services.settings.roster_config or None)
)
REGIONS = ServiceKey[RegionTree]("roster.regions", lambda services: services.use(ROSTER_CONFIG).load_regions())
SEATS_CACHE = ServiceKey[ReadCache[list[Member]]](
    # keyed by user: a roster write of someone else (every /登记) keeps the other people's seats cached
    "roster.seats",
    lambda _s: ReadCache([], READ_CACHE_TTL, keyed_by=("roster_members", "user_id")),
)
GRANTS_CACHE = ServiceKey[ReadCache[Any]]("roster.grants", lambda _s: ReadCache(["territory_grants"], READ_CACHE_TTL))
HELD = MemoKey[list[Territory]]("roster.held")


def config(services: Services) -> RosterConfig:
    return services.use(ROSTER_CONFIG)


def regions(services: Services) -> RegionTree:
    return services.use(REGIONS)


# --- who may do what -----------------------------------------------------------------------


async def own_seats(ctx: Context) -> list[Member]:
    """The sender's live roster records (pending and active), read through a cache."""
    cache = ctx.services.use(SEATS_CACHE)
    return list(await cache.get(ctx.uow, ctx.actor.id, lambda: ctx.uow.repo(RosterRepository).of_user(ctx.actor.id)))


async def held(ctx: Context) -> list[Territory]:
    """Territories the sender holds (a superadmin holds the province); memoised per message."""
    cached = ctx.memo.get(HELD)
    if cached is None:
        grants = await ctx.services.use(GRANTS_CACHE).get(
            ctx.uow, ctx.actor.id, lambda: ctx.uow.repo(GrantRepository).of_user(ctx.actor.id)
        )
        cached = ctx.memo.set(
            HELD, scopes(grants, superadmin=ctx.actor.is_superadmin, province=regions(ctx.services).province)
        )
    return cached


def when(ctx: Context, at: datetime | None) -> str:
    """A moment as the chat shows it: ``MM-DD HH:MM`` in the bot's time zone."""
    return at.astimezone(ctx.clock.tz).strftime("%m-%d %H:%M") if at else ""


def external(user_id: str | None) -> bool:
    """No staff id (an external contact): nothing can be sent to them proactively."""
    return not user_id or user_id.startswith("$:")


def home_city(scope: Sequence[Territory]) -> str | None:
    """The one city all held territories lie in, if there is one."""
    cities = {t.city for t in scope}
    if len(cities) == 1 and None not in cities:
        return next(iter(cities))
    return None


def show_full(ctx: Context, scope: Sequence[Territory], territory: Territory) -> bool:
    """Full mobile numbers only in a 1:1 chat with an admin of that territory."""
    return ctx.is_private and can_manage(scope, territory)


# --- views for templates -------------------------------------------------------------------------


def member_view(m: Member, *, full: bool) -> dict[str, Any]:
    fields = []
    for col in SECTIONS[m.role].columns:
        if col.key in ("county", "name"):
            continue
        value = m.values.get(col.key, "")
        if col.key == "mobile" and not full:
            value = mask_mobile(value)
        fields.append({"label": col.label, "value": value or "—"})
    return {
        "id": m.id,
        "role": m.role.label,
        "seat": m.seat_label,
        "name": m.name,
        "mobile": m.mobile if full else mask_mobile(m.mobile),
        "status": m.status.label,
        "pending": m.status is Status.PENDING,
        "fields": fields,
    }


def errors_view(errors: Iterable[FieldError], limit: int = 40) -> dict[str, Any]:
    errs = list(errors)
    return {"errors": [e.text for e in errs[:limit]], "more_errors": max(0, len(errs) - limit)}


def row_ranges(rows: Iterable[int]) -> str:
    """[1,2,3,5] → 第1–3、5行."""
    nums = sorted(set(rows))
    if not nums:
        return ""
    parts, start, prev = [], nums[0], nums[0]
    for n in [*nums[1:], None]:
        if n is not None and n == prev + 1:
            prev = n
            continue
        parts.append(f"{start}" if start == prev else f"{start}–{prev}")
        if n is not None:
            start = prev = n
    return "第" + "、".join(parts) + "行"


# --- registering -----------------------------------------------------------------------------------


@dataclass
class BulkReport:
    results: list[RowResult] = field(default_factory=list)
    saved: list[Member] = field(default_factory=list)
    all_or_nothing: bool = False

    @property
    def accepted(self) -> list[RowResult]:
        return [r for r in self.results if r.ok]

    @property
    def rejected(self) -> list[RowResult]:
        return [r for r in self.results if not r.ok]

    @property
    def errors(self) -> list[FieldError]:
        return [e for r in self.results for e in r.errors]

    def view(self) -> dict[str, Any]:
        return {
            "total": len(self.results),
            "accepted": len(self.accepted),
            "saved": len(self.saved),
            "accepted_rows": row_ranges(r.row for r in self.accepted),
            "rejected": len(self.rejected),
            "all_or_nothing": self.all_or_nothing,
            **errors_view(self.errors),
        }


def snapshot(m: Member) -> dict[str, Any]:
    """What the audit log keeps of a record: its values, seat and status."""
    return {
        **{k: m.values.get(k, "") for k in SECTIONS[m.role].keys},
        "role": m.role.value,
        "seat": m.seat_label,
        "status": m.status.value,
    }


async def seat_book(
    repo: RosterRepository, tree: RegionTree, config_: RosterConfig, cities: Iterable[str], candidates: Iterable[Member]
) -> RosterBook:
    """Live members of the cities involved, plus anyone elsewhere sharing a mobile/account with a candidate."""
    book_members: dict[int, Member] = {}
    for city in sorted(set(cities)):
        await repo.lock_city(tree.province, city)
        for m in await repo.in_territory(Territory(tree.province, city)):
            book_members[m.id] = m  # type: ignore[index]  # stored members have ids
    for m in await repo.clashing(list(candidates)):
        if m.status.live:
            book_members.setdefault(m.id, m)  # type: ignore[arg-type]
    return RosterBook(book_members.values(), config_.quotas)


async def register_rows(
    uow: UnitOfWork,
    tree: RegionTree,
    config_: RosterConfig,
    rows: Sequence[RawRow],
    *,
    scope: Sequence[Territory],
    city: str | None,
    actor_id: str,
    actor_name: str,
    now: datetime,
    all_or_nothing: bool = False,
    action: str = "roster.import",
) -> BulkReport:
    """Validate rows, check territory and seats, save the good ones (ACTIVE) with one audit entry each.

    With ``all_or_nothing`` nothing is saved unless every row is good.
    """
    repo = uow.repo(RosterRepository)
    report = BulkReport(all_or_nothing=all_or_nothing)
    for raw in rows:
        res = validate_row(raw, tree, city=city)
        if res.member is not None and not can_manage(scope, res.member.territory):
            res.errors.append(
                FieldError(
                    raw.row,
                    "县(市、区)",
                    raw.values.get("county", ""),
                    "你管辖范围内的县(市、区)（" + "、".join(t.label for t in scope) + "）",
                )
            )
            res.member = None
        report.results.append(res)
    good = [(r, r.member) for r in report.results if r.ok and r.member is not None]
    if good:
        book = await seat_book(repo, tree, config_, {m.city for _r, m in good}, [m for _r, m in good])
        for r, m in good:
            refusal = book.take(m)
            if refusal is not None:
                visible = all(can_manage(scope, h.territory) for h in refusal.holders)
                r.errors.append(refusal.as_error(r.row, _refused_value(refusal.kind, m), show_holders=visible))
                r.member = None
    if all_or_nothing and report.rejected:
        return report
    to_save = [r.member for r in report.results if r.ok and r.member is not None]
    if not to_save:
        return report
    try:
        saved = await repo.add_many(to_save, by=actor_id, now=now)
    except SeatConflict:
        raise UserError("roster/conflict") from None
    await uow.audit.record_many(
        Auditor(actor_id, actor_name, now).entry(
            action, MEMBER, str(m.id), territory=m.territory.path, after=snapshot(m)
        )
        for m in saved
    )
    report.saved = saved
    return report


def _refused_value(kind: str, m: Member) -> str:
    return {"quota_full": m.county_label, "same_person": m.mobile, "account_taken": m.account}[kind]


async def check_seat(
    uow: UnitOfWork,
    tree: RegionTree,
    config_: RosterConfig,
    member: Member,
    *,
    replacing: Member | None = None,
    scope: Sequence[Territory] = (),
) -> None:
    """Raise the refusal (quota full, same person, account taken) as a UserError. The holders are
    named only if ``scope`` (the sender's territories) may see their territory's roster."""
    repo = uow.repo(RosterRepository)
    cities = {member.city} | ({replacing.city} if replacing else set())
    book = await seat_book(repo, tree, config_, cities, [member])
    refusal = book.check(member, replacing=replacing)
    if refusal is not None:
        visible = all(can_manage(scope, h.territory) for h in refusal.holders)
        raise UserError(
            "roster/refused",
            kind=refusal.kind,
            message=refusal.message_for(show_holders=visible),
            holders=[h.name for h in refusal.holders] if visible else [],
            role=member.role.label,
            seat=member.seat_label,
        )
