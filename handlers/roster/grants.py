"""Territory authorisation (逐级授权): /授权 @某人 杭州市, /撤销 @某人 [地区]."""

from __future__ import annotations

import re

from bot.commands import Arg, Args, Router, mention
from bot.context import Context
from bot.errors import UserError
from bot.replies import Reply
from domain.regions import clean_name
from domain.territory import Level, Territory, can_grant, can_revoke, narrowest, resolve_territory
from handlers.permissions import OPERATOR
from handlers.roster.common import GRANT, ROLE_GROUPS, held, home_city, regions
from storage.repositories.roster import GrantRepository

router = Router("roster-grants", section="审批与管理")


def _mentioned(ctx: Context, name: str, action: str = "授权") -> tuple[str, str]:
    """(staff id, name) of the @mentioned person (``action``: 授权 or 撤销, for the refusal)."""
    for m in ctx.mentions():
        if m.name == name or name.startswith(m.name) or m.name.startswith(name):
            if not m.staff_id:
                raise UserError("roster/grant_no_staff", name=m.name, action=action)
            return m.staff_id, m.name
    staff = ctx.message.mentioned_staff_ids
    if len(staff) == 1:
        return staff[0], name
    raise UserError("roster/grant_no_staff", name=name, action=action)


async def _target_territory(ctx: Context, where: str) -> Territory:
    """杭州市 / 西湖区 / 西湖区 学军小学 / 学军小学 (a school of the sender's county)."""
    tree = regions(ctx.services)
    scope = await held(ctx)
    city = home_city(scope)
    within = Territory(tree.province, city) if city else None
    parts = [p for p in re.split(r"[\s/／]+", where.strip()) if p]
    if not parts:
        raise UserError("roster/unknown_region", value=where, candidates=[])
    m = resolve_territory(tree, parts[0], within=within)
    if m.territory is None and within is not None:
        m = resolve_territory(tree, parts[0])
    if m.territory is not None:
        if len(parts) == 1:
            return m.territory
        if m.territory.level is Level.COUNTY:
            return m.territory.child(clean_name("".join(parts[1:])))
        raise UserError("roster/unknown_region", value=where, candidates=[])
    if m.ambiguous:
        raise UserError("roster/ambiguous_region", value=parts[0], candidates=[t.label for t in m.candidates])
    county = narrowest([t for t in scope if t.level is Level.COUNTY])
    if county is not None:  # a county admin names a school of the county
        return county.child(clean_name("".join(parts)))
    raise UserError("roster/unknown_region", value=where, candidates=[])


@router.command(
    "授权",
    alias="grant",
    groups=ROLE_GROUPS,
    permission=OPERATOR,
    help="逐级授权市、县、校管理员",
    args=[
        Arg("人员", "person", mention, help="@要授权的人"),
        Arg("地区", "where", greedy=True, help="城市、县(市、区)，或学校名"),
    ],
    examples=("/授权 @陈建国 杭州市", "/授权 @李明 西湖区", "/授权 @张老师 学军小学"),
)
async def grant(ctx: Context, args: Args) -> Reply:
    staff_id, name = _mentioned(ctx, args.value("person", str))
    target = await _target_territory(ctx, args.value("where", str))
    decision = can_grant(await held(ctx), target)
    if not decision:
        raise UserError("roster/grant_refused", reason=decision.reason, action="授权")
    created = await ctx.uow.repo(GrantRepository).grant(staff_id, name, target, by=ctx.actor.id, now=ctx.now())
    if created:
        await ctx.audit(
            "territory.grant",
            GRANT,
            f"{staff_id}@{target.path}",
            after={"user": name, "territory": target.label, "level": target.level.operator_label},
            territory=target.path,
        )
        await ctx.send_to_users(
            [staff_id],
            Reply(
                "roster/notify_granted",
                {"territory": target.label, "level": target.level.operator_label, "by": ctx.actor.name},
            ),
            purpose="roster:grant",
        )
    return Reply(
        "roster/granted",
        {"name": name, "territory": target.label, "level": target.level.operator_label, "existed": not created},
    )


@router.command(
    "撤销",
    alias="revoke",
    groups=ROLE_GROUPS,
    permission=OPERATOR,
    help="撤销管理权限",
    args=[
        Arg("人员", "person", mention, help="@要撤销的人"),
        Arg("地区", "where", required=False, greedy=True, help="不写则撤销你能撤销的全部"),
    ],
    examples=("/撤销 @李明 西湖区", "/撤销 @李明"),
)
async def revoke(ctx: Context, args: Args) -> Reply:
    staff_id, name = _mentioned(ctx, args.value("person", str), "撤销")
    grants = ctx.uow.repo(GrantRepository)
    scope = await held(ctx)
    theirs = await grants.of_user(staff_id)
    where = args.optional("where", str)
    if where:
        target = await _target_territory(ctx, where)
        theirs = [t for t in theirs if t == target]
    if not theirs:
        raise UserError("roster/nothing_to_revoke", name=name)
    refused = [t for t in theirs if not can_revoke(scope, t)]
    allowed = [t for t in theirs if can_revoke(scope, t)]
    if not allowed:
        raise UserError("roster/grant_refused", reason=can_revoke(scope, refused[0]).reason, action="撤销")
    for t in allowed:
        await grants.revoke(staff_id, t)
        await ctx.audit(
            "territory.revoke",
            GRANT,
            f"{staff_id}@{t.path}",
            before={"user": name, "territory": t.label, "level": t.level.operator_label},
            territory=t.path,
        )
    await ctx.send_to_users(
        [staff_id],
        Reply(
            "roster/notify_revoked",
            {"territories": [f"{t.label}的{t.level.operator_label}" for t in allowed], "by": ctx.actor.name},
        ),
        purpose="roster:revoke",
    )
    return Reply(
        "roster/revoked", {"name": name, "territories": [t.label for t in allowed], "kept": [t.label for t in refused]}
    )
