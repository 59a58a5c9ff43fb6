"""Saving one registration (by an admin of the territory, or by the person: pending), shared by /登记
and the guided form (form.py), and the examples its error replies show."""

from __future__ import annotations

from dataclasses import replace

from bot.context import Context
from bot.errors import UserError
from bot.replies import Reply
from domain.roster import Member, Role, Status
from domain.territory import Territory, can_manage
from handlers.roster.common import MEMBER, check_seat, config, external, held, member_view, regions, snapshot
from storage.repositories.roster import GrantRepository, RosterRepository, SeatConflict

EXAMPLES = {
    Role.ADMIN: "/登记 县=西湖区 姓名=张三 单位=西湖区教育发展中心 职称=高级教师 职务=主任 手机=13800138000 "
    "人员类型=区域平台管理员",
    Role.TRAINER: "/登记 县=西湖区 姓名=张三 学段=小学 学科=语文 职称/职务=高级教师 手机=13800138000 往届=否",
    Role.REVIEWER: "/登记 县=西湖区 姓名=张三 学段=小学 学科=语文 学校=学军小学 账号=ZhangSan 手机=13800138000 "
    "职称/职务=一级教师 教师类型=其他",
}


async def save_one(ctx: Context, member: Member) -> Reply:
    """Register one person: by an admin of the territory (active at once) or by themself (pending)."""
    tree, cfg = regions(ctx.services), config(ctx.services)
    scope = await held(ctx)
    repo = ctx.uow.repo(RosterRepository)
    manages = can_manage(scope, member.territory)
    mentioned = [mn.staff_id for mn in ctx.mentions() if mn.staff_id]
    if manages:
        user_id = ctx.actor.id if member.name == ctx.actor.name else (mentioned[0] if mentioned else None)
        status = Status.ACTIVE
    else:
        if scope and member.name != ctx.actor.name:
            raise UserError("roster/outside", seat=member.seat_label, scope=[t.label for t in scope], registering=True)
        user_id = ctx.actor.id
        status = Status.ACTIVE if ctx.settings.roster_auto_approve else Status.PENDING
    member = replace(member, status=status, user_id=user_id)
    if not manages:
        # Already registered by an admin: the same name, role and mobile prove it is this person.
        for other in await repo.clashing([member]):
            if (
                other.status is Status.ACTIVE
                and other.user_id is None
                and other.role == member.role
                and other.mobile == member.mobile
                and other.name == member.name
            ):
                linked = await repo.save(replace(other, user_id=ctx.actor.id), now=ctx.now())
                await ctx.audit(
                    "roster.link",
                    MEMBER,
                    str(other.id),
                    before={"user_id": None},
                    after={"user_id": ctx.actor.id},
                    territory=other.territory.path,
                )
                return Reply("roster/linked", {"m": member_view(linked, full=ctx.is_private)})
    if user_id:
        mine = [m for m in await repo.of_user(user_id) if m.role == member.role]
        if mine:
            raise UserError("roster/already", role=member.role.label, seat=mine[0].seat_label, number=mine[0].id)
    await check_seat(ctx.uow, tree, cfg, member, scope=scope)
    try:
        saved = await repo.add(member, by=ctx.actor.id, now=ctx.now())
    except SeatConflict:
        raise UserError("roster/conflict") from None
    await ctx.audit("roster.register", MEMBER, str(saved.id), after=snapshot(saved), territory=saved.territory.path)
    full = ctx.is_private and (manages or user_id == ctx.actor.id)
    view = member_view(saved, full=full)
    if saved.status is Status.PENDING:
        await notify_approvers(ctx, saved)
        return Reply("roster/pending", {"m": view})
    return Reply("roster/registered", {"m": view, "by_admin": manages and user_id != ctx.actor.id})


async def notify_approvers(ctx: Context, m: Member) -> None:
    grants = ctx.uow.repo(GrantRepository)
    city = Territory(m.territory.province, m.city)
    ids = [g.user_id for g in await grants.holders(city)] or list(ctx.settings.bot_superadmins)
    ids = [i for i in dict.fromkeys(ids) if not external(i)]
    if ids:
        await ctx.send_to_users(
            ids,
            Reply(
                "roster/notify_pending", {"number": m.id, "name": m.name, "role": m.role.label, "seat": m.seat_label}
            ),
            purpose="roster:pending",
        )
