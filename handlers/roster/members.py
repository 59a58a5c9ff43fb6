"""Roster commands: /登记 (one line, a pasted table, or a guided dialogue), /变更, /注销 and /我的.
Approvals are in approvals.py, views in views.py, grants in grants.py, exports and the CLI in export.py.
"""
from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

from bot.commands import Args, Router
from bot.context import Context
from bot.errors import UserError
from bot.replies import Reply
from domain.roster import (
    SECTIONS,
    Kind,
    Member,
    Role,
    Status,
    apply_changes,
    check_value,
    mask_mobile,
    member_diff,
    parse_kv,
    parse_paste,
    resolve_county,
    validate_row,
    validate_values,
)
from domain.roster.parsing import RawRow, looks_like_kv
from domain.territory import Level, Territory, can_manage, resolve_territory
from handlers.roster.common import (
    MEMBER,
    ROLE_GROUPS,
    check_seat,
    config,
    errors_view,
    external,
    held,
    home_city,
    member_view,
    regions,
    register_rows,
    show_full,
    snapshot,
)
from storage.repositories.roster import GrantRepository, RosterRepository, SeatConflict

router = Router("roster", section="名单登记")
DIALOGUE = "roster_register"

_ROLE_WORD = re.compile(r"^[ \t\u3000]*"
                        r"(体系管理员|管理员|培训讲师|培训师|讲师|资源审核员|审核员|admin|trainer|reviewer)"
                        r"(?=[ \t\u3000\n]|$)", re.I)
_CITY_HINT = re.compile(r"^[ \t\u3000\n]*(?:城市|设区市|地市)[ \t\u3000]*[=＝:：][ \t\u3000]*(\S+)")
_REASON = re.compile(r"(?:^|[\s,，;；])(?:原因|理由|说明)\s*[=＝:：]\s*(.+)$", re.S)
_NUMBER = re.compile(r"^\s*[#＃]?(\d{1,9})(?=\s|$)")

EXAMPLES = {
    Role.ADMIN: "/登记 县=西湖区 姓名=张三 单位=西湖区教育发展中心 职称=高级教师 职务=主任 手机=13800138000 "
                "人员类型=区域平台管理员",
    Role.TRAINER: "/登记 县=西湖区 姓名=张三 学段=小学 学科=语文 职称/职务=高级教师 手机=13800138000 往届=否",
    Role.REVIEWER: "/登记 县=西湖区 姓名=张三 学段=小学 学科=语文 学校=学军小学 账号=ZhangSan 手机=13800138000 "
                   "职称/职务=一级教师 教师类型=其他",
}


# --- /登记 --------------------------------------------------------------------------------------------

@router.command(
    "登记", alias="register", groups=ROLE_GROUPS, raw=True,
    help="登记成员（字段=值、粘贴表格行，或逐项填写）",
    examples=("/登记", "/登记 县=西湖区 姓名=张三 学段=小学 学科=语文 …", "/登记 全部或不导（换行后粘贴多行）"),
)
async def register(ctx: Context, args: Args) -> Reply:
    tree, cfg = regions(ctx.services), config(ctx.services)
    body = args.rest
    role = Role(ctx.group_role.value) if ctx.group_role else None
    m = _ROLE_WORD.match(body)
    if m:
        role = Role.parse(m.group(1))
        body = body[m.end():]
    all_or_nothing = cfg.all_or_nothing_word in body
    body = body.replace(cfg.all_or_nothing_word, "")
    city_hint = None
    m = _CITY_HINT.match(body)
    if m:
        cm = resolve_territory(tree, m.group(1))
        if cm.territory is None or cm.territory.level is not Level.CITY:
            raise UserError("roster/unknown_region", value=m.group(1), candidates=[t.label for t in cm.candidates])
        city_hint = cm.territory.city
        body = body[m.end():]
    scope = await held(ctx)
    city = city_hint or home_city(scope)
    rows = parse_paste(body, role or Role.ADMIN)
    if role is None and (not rows or any(not r.sectioned for r in rows)):
        raise UserError("roster/need_role")
    if not rows:
        if body.strip():
            raise UserError("roster/nothing_found")
        assert role is not None   # no rows without a role word was refused above
        return await _start_dialogue(ctx, role, {}, city)
    if len(rows) == 1 and not all_or_nothing:
        return await _register_one(ctx, rows[0], city)
    if not scope:
        raise UserError("roster/bulk_forbidden", rows=len(rows))
    report = await register_rows(ctx.uow, tree, cfg, rows, scope=scope, city=city, actor_id=ctx.actor.id,
                                 actor_name=ctx.actor.name, now=ctx.now(), all_or_nothing=all_or_nothing,
                                 action="roster.register")
    return Reply("roster/bulk_result", report.view())


async def _register_one(ctx: Context, raw: RawRow, city: str | None) -> Reply:
    tree = regions(ctx.services)
    res = validate_row(raw, tree, city=city)
    if res.errors:
        only_missing = raw.mode == "kv" and not raw.errors and all(e.value == "" for e in res.errors)
        if only_missing:
            return await _start_dialogue(ctx, raw.role, {k: v for k, v in raw.values.items() if v.strip()}, city)
        return Reply("roster/row_errors", {"role": raw.role.label, "example": EXAMPLES[raw.role],
                                           **errors_view(res.errors)})
    assert res.member is not None   # no errors: a member
    return await _save_one(ctx, res.member)


async def _save_one(ctx: Context, member: Member) -> Reply:
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
            raise UserError("roster/outside", seat=member.seat_label, scope=[t.label for t in scope])
        user_id = ctx.actor.id
        status = Status.ACTIVE if ctx.settings.roster_auto_approve else Status.PENDING
    member = replace(member, status=status, user_id=user_id)
    if not manages:
        # Already registered by an admin: the same name, role and mobile prove it is this person.
        for other in await repo.clashing([member]):
            if (other.status is Status.ACTIVE and other.user_id is None and other.role == member.role
                    and other.mobile == member.mobile and other.name == member.name):
                linked = await repo.save(replace(other, user_id=ctx.actor.id), now=ctx.now())
                await ctx.audit("roster.link", MEMBER, str(other.id), before={"user_id": None},
                                after={"user_id": ctx.actor.id}, territory=other.territory.path)
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
        await _notify_approvers(ctx, saved)
        return Reply("roster/pending", {"m": view})
    return Reply("roster/registered", {"m": view, "by_admin": manages and user_id != ctx.actor.id})


async def _notify_approvers(ctx: Context, m: Member) -> None:
    grants = ctx.uow.repo(GrantRepository)
    city = Territory(m.territory.province, m.city)
    ids = [g.user_id for g in await grants.holders(city)] or list(ctx.settings.bot_superadmins)
    ids = [i for i in dict.fromkeys(ids) if not external(i)]
    if ids:
        await ctx.send_to_users(ids, Reply("roster/notify_pending", {
            "number": m.id, "name": m.name, "role": m.role.label, "seat": m.seat_label}), purpose="roster:pending")


# --- the guided dialogue ------------------------------------------------------------------------------

def _next_column(role: Role, values: dict):
    return next((c for c in SECTIONS[role].columns if c.key not in values), None)


def _ask(ctx: Context, role: Role, column, *, error: str | None = None, value: str = "",
         first: bool = False) -> Reply:
    cols = SECTIONS[role].columns
    return Reply("roster/ask", {"minutes": ctx.settings.bot_dialogue_minutes,
        "role": role.label, "label": column.label, "hint": column.expected, "optional": not column.required,
        "step": [c.key for c in cols].index(column.key) + 1, "steps": len(cols), "error": error, "value": value,
        "first": first})


async def _start_dialogue(ctx: Context, role: Role, values: dict, city: str | None) -> Reply:
    data: dict[str, Any] = {"role": role.value, "values": {}, "city": city, "asking": None}
    errors = _accept_many(ctx, data, values)
    nxt = _next_column(role, data["values"])
    if nxt is None:     # everything was given after all
        return await _finish(ctx, data)
    data["asking"] = nxt.key
    await ctx.start_dialogue(DIALOGUE, data)
    return _ask(ctx, role, nxt, error="；".join(errors) or None, first=True)


def _accept(ctx: Context, data: dict, column, answer: str) -> str | None:
    """Store a checked answer in ``data``; the expected text if it is not acceptable."""
    answer = answer.strip()
    if column.kind is Kind.COUNTY:
        if not answer:
            return column.expected
        cr = resolve_county(regions(ctx.services), answer, data.get("city"))
        if cr.territory is None:
            return cr.expected
        data["values"]["county"] = cr.label
        data["city"] = cr.territory.city
        return None
    value, expected = check_value(column, answer)
    if value is None:
        return expected
    data["values"][column.key] = value
    return None


def _accept_many(ctx: Context, data: dict, values: dict) -> list[str]:
    section = SECTIONS[Role(data["role"])]
    errors = []
    for key, v in values.items():
        col = section.column(key)
        problem = _accept(ctx, data, col, v)
        if problem:
            errors.append(f"{col.label}应为{problem}")
    return errors


@router.dialogue(DIALOGUE)
async def register_step(ctx: Context, args: Args) -> Reply:
    data = ctx.dialogue.data
    role = Role(data["role"])
    answer = args.rest.strip()
    column = SECTIONS[role].column(data["asking"])
    if looks_like_kv(answer, role):
        raw = parse_kv(answer, role)
        errors = [e.text for e in raw.errors] + _accept_many(ctx, data, raw.values)
        error = "；".join(errors) or None
    else:
        problem = _accept(ctx, data, column, answer)
        error = problem
    nxt = _next_column(role, data["values"])
    if error and nxt is not None:
        data["asking"] = nxt.key
        await ctx.update_dialogue(data)
        return _ask(ctx, role, nxt, error=error, value=answer)
    if nxt is not None:
        data["asking"] = nxt.key
        await ctx.update_dialogue(data)
        return _ask(ctx, role, nxt)
    await ctx.end_dialogue()
    try:
        return await _finish(ctx, data)
    except UserError as exc:
        if exc.template == "roster/conflict":
            raise
        return Reply(exc.template, exc.context)     # refused before anything was written: the dialogue ends


async def _finish(ctx: Context, data: dict) -> Reply:
    role = Role(data["role"])
    res = validate_values(role, data["values"], regions(ctx.services), city=data.get("city"))
    if res.errors:
        return Reply("roster/row_errors", {"role": role.label, "example": EXAMPLES[role], **errors_view(res.errors)})
    assert res.member is not None   # no errors: a member
    return await _save_one(ctx, res.member)


# --- changes -------------------------------------------------------------------------------------------

def _split_reason(body: str) -> tuple[str, str | None]:
    m = _REASON.search(body)
    if not m:
        return body, None
    return body[: m.start()], m.group(1).strip() or None


def _split_number(body: str) -> tuple[int | None, str]:
    m = _NUMBER.match(body)
    if not m:
        return None, body
    return int(m.group(1)), body[m.end():]


async def _target(ctx: Context, number: int | None, command: str) -> Member:
    """The record to change: by number (own, or inside the sender's territory), else the sender's only one."""
    repo = ctx.uow.repo(RosterRepository)
    if number is not None:
        m = await repo.get(number)
        if m is None or not m.status.live:
            raise UserError("roster/not_found", number=number)
        if m.user_id != ctx.actor.id and not can_manage(await held(ctx), m.territory):
            raise UserError("roster/not_yours", number=number, command=command)
        return m
    mine = await repo.of_user(ctx.actor.id)
    if len(mine) == 1:
        return mine[0]
    if not mine:
        raise UserError("roster/no_record", command=command)
    raise UserError("roster/choose_record", command=command,
                    records=[{"id": m.id, "role": m.role.label, "seat": m.seat_label} for m in mine])


@router.command("变更", alias="update", groups=ROLE_GROUPS, raw=True, help="修改登记信息（人员调整）",
                examples=("/变更 手机=13900001111 原因=换号", "/变更 12 学校=学军中学 原因=调动"))
async def update(ctx: Context, args: Args) -> Reply:
    body, reason = _split_reason(args.rest)
    number, body = _split_number(body)
    member = await _target(ctx, number, "变更")
    raw = parse_kv(body, member.role)
    if not raw.values and not raw.errors:
        raise UserError("roster/nothing_to_change", fields=list(SECTIONS[member.role].labels))
    if raw.errors:
        return Reply("roster/row_errors", {"role": member.role.label, "example": "/变更 手机=13900001111 原因=换号",
                                           **errors_view(raw.errors)})
    res = apply_changes(member, raw.values, regions(ctx.services))
    if res.errors:
        return Reply("roster/row_errors", {"role": member.role.label, "example": "/变更 手机=13900001111 原因=换号",
                                           **errors_view(res.errors)})
    new = res.member
    assert new is not None   # no errors: a member
    before, after = member_diff(member, new)
    if not before:
        return Reply("roster/unchanged", {"name": member.name})
    await check_seat(ctx.uow, regions(ctx.services), config(ctx.services), new, replacing=member,
                     scope=await held(ctx))
    try:
        saved = await ctx.uow.repo(RosterRepository).save(new, now=ctx.now())
    except SeatConflict:
        raise UserError("roster/conflict") from None
    await ctx.audit("roster.update", MEMBER, str(member.id), before=before, after=after, reason=reason,
                    territory=saved.territory.path)
    full = show_full(ctx, await held(ctx), saved.territory) or (ctx.is_private and member.user_id == ctx.actor.id)
    changes = []
    for key in before:
        if key == "status":
            continue
        label = SECTIONS[member.role].column(key).label
        b, a = before[key], after[key]
        if key == "mobile" and not full:
            b, a = mask_mobile(b), mask_mobile(a)
        changes.append({"label": label, "before": b or "（空）", "after": a or "（空）"})
    return Reply("roster/updated", {"number": member.id, "name": saved.name, "seat": saved.seat_label,
                                    "role": saved.role.label, "changes": changes, "reason": reason or ""})


@router.command("注销", alias="remove", groups=ROLE_GROUPS, raw=True, help="注销登记，需写原因",
                examples=("/注销 12 调离本市", "/注销 退休"))
async def remove(ctx: Context, args: Args) -> Reply:
    body, reason = _split_reason(args.rest)
    number, body = _split_number(body)
    reason = (reason or body.strip()) or None
    member = await _target(ctx, number, "注销")
    if not reason:
        raise UserError("roster/need_reason", number=member.id)
    saved = await ctx.uow.repo(RosterRepository).save(replace(member, status=Status.REMOVED), now=ctx.now(),
                                                      decided_by=ctx.actor.id, note=reason)
    await ctx.audit("roster.remove", MEMBER, str(member.id), before=snapshot(member),
                    after={"status": saved.status.value}, reason=reason, territory=member.territory.path)
    return Reply("roster/removed", {"number": member.id, "name": member.name, "role": member.role.label,
                                    "seat": member.seat_label, "reason": reason})


# --- /我的 ---------------------------------------------------------------------------------------------------

@router.command("我的", alias="me", groups=ROLE_GROUPS, help="我的登记和权限")
async def me(ctx: Context, args: Args) -> Reply:
    repo = ctx.uow.repo(RosterRepository)
    records = await repo.of_user(ctx.actor.id, statuses=("pending", "active"))
    scope = await held(ctx)
    return Reply("roster/me", {
        "name": ctx.actor.name,
        "records": [member_view(m, full=ctx.is_private) for m in records],
        "grants": [{"label": t.label, "level": t.level.operator_label} for t in scope],
        "is_group": ctx.is_group,
    })
