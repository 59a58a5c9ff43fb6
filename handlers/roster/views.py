"""Roster views: /名单 (seats against quotas; per-city completion for the province) and /变更记录."""

from __future__ import annotations

import re
from typing import Any

from bot.commands import Arg, Args, Router
from bot.context import Context
from bot.errors import UserError
from bot.replies import Reply
from domain.regions import RegionTree, clean_name
from domain.roster import (
    CITY_LEVEL,
    SECTIONS,
    Role,
    Status,
    city_completion,
    mask_mobile,
    province_completion,
    territory_status,
)
from domain.territory import Level, Territory, can_manage, narrowest, resolve_territory
from handlers.permissions import OPERATOR
from handlers.roster.common import (
    ACTION_LABELS,
    MEMBER,
    ROLE_GROUPS,
    config,
    held,
    home_city,
    member_view,
    regions,
    show_full,
)
from storage.repositories.roster import RosterRepository

router = Router("roster-views", section="名单登记")

_SHORT = {Role.ADMIN: "管理员", Role.TRAINER: "讲师", Role.REVIEWER: "审核员"}


def resolve_where(tree: RegionTree, where: str | None, scope: list[Territory]) -> tuple[Territory, bool]:
    """(territory, city_level_only): ``全省``, a city, a county, ``杭州市本级``; default: the sender's scope."""
    if not where or not where.strip():
        if not scope:
            return Territory(tree.province), False
        city = home_city(scope)
        t = narrowest(scope) if city else Territory(tree.province)
        if t is not None and t.level is Level.SCHOOL:
            t = t.parent()
        return t or Territory(tree.province), False
    q = clean_name(where)
    city_level = False
    for suffix in (CITY_LEVEL, "本级"):
        if q.endswith(suffix) and len(q) > len(suffix):
            q, city_level = q[: -len(suffix)], True
            break
    city = home_city(scope)
    within = Territory(tree.province, city) if city else None
    m = resolve_territory(tree, q, within=within)
    if m.territory is None and within is not None:
        m = resolve_territory(tree, q)
    if m.territory is None:
        if m.ambiguous:
            raise UserError("roster/ambiguous_region", value=where.strip(), candidates=[t.label for t in m.candidates])
        raise UserError("roster/unknown_region", value=where.strip(), candidates=[])
    if city_level and m.territory.level is not Level.CITY:
        raise UserError("roster/unknown_region", value=where.strip(), candidates=[])
    return m.territory, city_level


_GAPS = re.compile(r"(?:^|\s)(?:缺额|缺口|未齐|gaps?)(?=\s|$)", re.I)


def split_gaps(where: str | None) -> tuple[str | None, bool]:
    """``/名单 缺额``, ``/名单 杭州市 缺额``: (the place without the word, only territories with gaps)."""
    if not where or not _GAPS.search(where):
        return where, False
    rest = _GAPS.sub(" ", where).strip()
    return rest or None, True


def _seats_view(status) -> list[dict[str, Any]]:
    return [
        {"role": _SHORT[s.role], "filled": s.filled, "quota": s.quota.text, "complete": s.complete, "over": s.over}
        for s in status.seats
    ]


@router.command(
    "名单",
    alias="roster",
    groups=ROLE_GROUPS,
    help="名单完成情况和缺额",
    args=[
        Arg(
            "地区",
            "where",
            required=False,
            greedy=True,
            help="城市、县(市、区)或“全省”，不写为本辖区；加“缺额”只列未齐的地区",
        )
    ],
    examples=("/名单 全省", "/名单 杭州市", "/名单 缺额", "/名单 西湖区", "/名单 杭州市本级"),
)
async def roster(ctx: Context, args: Args) -> Reply:
    tree, cfg = regions(ctx.services), config(ctx.services)
    scope = await held(ctx)
    where, gaps_only = split_gaps(args.optional("where", str))
    target, city_level = resolve_where(tree, where, scope)
    repo = ctx.uow.repo(RosterRepository)
    members = await repo.in_territory(target)
    pending = sum(1 for m in members if m.status is Status.PENDING)
    if target.level is Level.PROVINCE:
        cities = province_completion(tree, members, cfg.quotas)
        rows = [
            {
                "city": c.city,
                "filled": c.filled,
                "required": c.required,
                "done": c.complete_count,
                "territories": len(c.territories),
                "complete": c.complete,
                "gaps": [{"label": t.label, "missing": t.missing_text} for t in c.incomplete],
            }
            for c in cities
        ]
        late = [r["city"] for r in rows if not r["complete"]]
        return Reply(
            "roster/province",
            {"province": tree.province, "cities": rows, "late": late, "pending": pending, "gaps_only": gaps_only},
        )
    if target.level is Level.CITY and not city_level:
        assert target.city is not None
        c = city_completion(tree, target.city, members, cfg.quotas)
        terrs = [
            {"label": t.label, "seats": _seats_view(t), "missing": t.missing_text, "complete": t.complete}
            for t in c.territories
            if not (gaps_only and t.complete)
        ]
        return Reply(
            "roster/city",
            {
                "city": c.city,
                "filled": c.filled,
                "required": c.required,
                "done": c.complete_count,
                "total": len(c.territories),
                "territories": terrs,
                "pending": pending,
                "gaps_only": gaps_only,
            },
        )
    # One territory (a county, or 市本级): its seats and, for its admins, the people.
    st = territory_status(target, members, cfg.quotas)
    manages = can_manage(scope, target)
    full = show_full(ctx, scope, target)
    people = []
    if manages:
        for role in (Role.ADMIN, Role.TRAINER, Role.REVIEWER):
            for m in members:
                if m.role is role and m.territory == target:
                    people.append(member_view(m, full=full))
    label = f"{target.city}（{CITY_LEVEL}）" if target.level is Level.CITY else target.label
    return Reply(
        "roster/territory",
        {
            "label": label,
            "seats": _seats_view(st),
            "missing": st.missing_text,
            "complete": st.complete,
            "people": people,
            "manages": manages,
            "masked": manages and not full,
            "pending": pending,
        },
    )


@router.command(
    "变更记录",
    section="审批与管理",
    alias="changes",
    groups=ROLE_GROUPS,
    permission=OPERATOR,
    help="名单变更记录",
    args=[Arg("地区", "where", required=False, greedy=True, help="城市或县(市、区)，不写为本辖区")],
    examples=("/变更记录", "/变更记录 西湖区"),
)
async def changes(ctx: Context, args: Args) -> Reply:
    tree = regions(ctx.services)
    scope = await held(ctx)
    target, _ = resolve_where(tree, args.optional("where", str), scope)
    if not can_manage(scope, target):
        raise UserError("roster/outside", seat=target.label, scope=[t.label for t in scope], registering=False)
    entries = await ctx.uow.audit.list(entity=MEMBER, territory_prefix=target.path, limit=30)
    names = await ctx.uow.repo(RosterRepository).get_many(int(e.entity_id) for e in entries if e.entity_id.isdigit())
    full = ctx.is_private
    return Reply(
        "roster/changes", {"label": target.label, "entries": [change_view(ctx, e, names, full=full) for e in entries]}
    )


def change_view(ctx: Context, e, members: dict, *, full: bool) -> dict[str, Any]:
    m = members.get(int(e.entity_id)) if e.entity_id.isdigit() else None
    role = m.role if m else None
    keys_labels = {c.key: c.label for c in SECTIONS[role].columns} if role else {}
    details = []
    before, after = e.before or {}, e.after or {}
    if e.action in ("roster.update",):
        for k in after:
            if k == "status":
                continue
            b, a = before.get(k, ""), after.get(k, "")
            if k == "mobile" and not full:
                b, a = mask_mobile(b), mask_mobile(a)
            details.append(f"{keys_labels.get(k, k)}：{b or '（空）'} → {a or '（空）'}")
    return {
        "at": e.at.astimezone(ctx.clock.tz).strftime("%Y-%m-%d %H:%M"),
        "actor": e.actor_name or e.actor_id,
        "action": ACTION_LABELS.get(e.action, e.action),
        "name": m.name if m else (after.get("name") or before.get("name") or ""),
        "seat": (f"{m.seat_label}{m.role.label}" if m else ""),
        "details": details,
        "reason": e.reason or "",
    }


async def managed_city(ctx: Context, where: str | None) -> Territory:
    """The city a command is about: the one named, else the operator's own; refused outside their territory."""
    tree = regions(ctx.services)
    scope = await held(ctx)
    if where:
        t, _ = resolve_where(tree, where, scope)
    else:
        city = home_city(scope)
        if city is None:
            raise UserError("roster/need_city")
        t = Territory(tree.province, city)
    if t.level is not Level.CITY:
        raise UserError("roster/need_city")
    if not can_manage([s for s in scope if s.level <= Level.CITY], t):
        raise UserError("roster/outside", seat=t.label, scope=[s.label for s in scope], registering=False)
    return t
