"""Roster approvals: /待审批, /批准 and /驳回 of self-service registrations."""

from __future__ import annotations

from dataclasses import replace

from bot.commands import Arg, Args, Router, positive_int, text
from bot.context import Context
from bot.errors import UserError
from bot.replies import Reply
from domain.roster import Member, Status
from domain.territory import Level, Territory, can_manage
from handlers.permissions import CITY_OPERATOR
from handlers.roster.common import (
    MEMBER,
    ROLE_GROUPS,
    check_seat,
    config,
    external,
    held,
    member_view,
    regions,
    show_full,
    when,
)
from storage.repositories.roster import RosterRepository, SeatConflict

router = Router("roster-approvals", section="审批与管理")


async def _approver_scope(ctx: Context) -> list[Territory]:
    return [t for t in await held(ctx) if t.level <= Level.CITY]


async def _pending_member(ctx: Context, number: int) -> Member:
    m = await ctx.uow.repo(RosterRepository).get(number)
    scope = await _approver_scope(ctx)
    if m is None or not can_manage(scope, m.territory):
        raise UserError("roster/not_found", number=number)
    if m.status is not Status.PENDING:
        raise UserError("roster/not_pending", number=number, name=m.name, status=m.status.label)
    return m


@router.command(
    "待审批",
    section="审批与管理",
    alias="pending",
    groups=ROLE_GROUPS,
    permission=CITY_OPERATOR,
    help="待审批的自助登记",
)
async def pending(ctx: Context, args: Args) -> Reply:
    scope = await _approver_scope(ctx)
    items = []
    for info in await ctx.uow.repo(RosterRepository).pending(scope):
        view = member_view(info.member, full=show_full(ctx, scope, info.member.territory))
        items.append({**view, "at": when(ctx, info.created_at)})
    return Reply("roster/pending_list", {"items": items})


@router.command(
    "批准",
    section="审批与管理",
    alias="approve",
    groups=ROLE_GROUPS,
    permission=CITY_OPERATOR,
    help="批准登记",
    args=[Arg("编号", "number", positive_int, help="/待审批 列出的编号")],
    examples=("/批准 3",),
)
async def approve(ctx: Context, args: Args) -> Reply:
    m = await _pending_member(ctx, args.value("number", int))
    active = replace(m, status=Status.ACTIVE)
    await check_seat(ctx.uow, regions(ctx.services), config(ctx.services), active, replacing=m, scope=await held(ctx))
    try:
        saved = await ctx.uow.repo(RosterRepository).save(active, now=ctx.now(), decided_by=ctx.actor.id)
    except SeatConflict:
        raise UserError("roster/conflict") from None
    await ctx.audit(
        "roster.approve",
        MEMBER,
        str(m.id),
        before={"status": m.status.value},
        after={"status": saved.status.value},
        territory=m.territory.path,
    )
    if m.user_id and not external(m.user_id):
        await ctx.send_to_users(
            [m.user_id],
            Reply(
                "roster/notify_decided", {"approved": True, "role": m.role.label, "seat": m.seat_label, "reason": ""}
            ),
            purpose="roster:decided",
        )
    return Reply("roster/approved", {"number": m.id, "name": m.name, "role": m.role.label, "seat": m.seat_label})


@router.command(
    "驳回",
    section="审批与管理",
    alias="reject",
    groups=ROLE_GROUPS,
    permission=CITY_OPERATOR,
    help="驳回登记并说明原因",
    args=[
        Arg("编号", "number", positive_int, help="/待审批 列出的编号"),
        Arg("原因", "reason", text, greedy=True, help="告诉登记人要改什么"),
    ],
    examples=("/驳回 3 不是本市教师",),
)
async def reject(ctx: Context, args: Args) -> Reply:
    m = await _pending_member(ctx, args.value("number", int))
    reason = args.value("reason", str)
    saved = await ctx.uow.repo(RosterRepository).save(
        replace(m, status=Status.REJECTED), now=ctx.now(), decided_by=ctx.actor.id, note=reason
    )
    await ctx.audit(
        "roster.reject",
        MEMBER,
        str(m.id),
        before={"status": m.status.value},
        after={"status": saved.status.value},
        reason=reason,
        territory=m.territory.path,
    )
    if m.user_id and not external(m.user_id):
        await ctx.send_to_users(
            [m.user_id],
            Reply(
                "roster/notify_decided",
                {"approved": False, "role": m.role.label, "seat": m.seat_label, "reason": reason},
            ),
            purpose="roster:decided",
        )
    return Reply("roster/rejected", {"number": m.id, "name": m.name, "reason": reason})
