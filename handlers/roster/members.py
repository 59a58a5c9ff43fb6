"""Roster commands: /登记 (one line, a pasted table, or a guided dialogue), /变更, /注销 and /我的.
Approvals are in approvals.py, views in views.py, grants in grants.py, exports and the CLI in export.py.
"""

from __future__ import annotations

import re
from dataclasses import replace

from bot.commands import Args, Router
from bot.context import Context
from bot.errors import UserError
from bot.replies import Reply
from domain.roster import (
    SECTIONS,
    Member,
    Role,
    Status,
    apply_changes,
    mask_mobile,
    member_diff,
    parse_kv,
    parse_paste,
    validate_row,
)
from domain.roster.parsing import RawRow
from domain.territory import Level, can_manage, resolve_territory
from handlers.roster.common import (
    MEMBER,
    ROLE_GROUPS,
    check_seat,
    config,
    errors_view,
    held,
    home_city,
    member_view,
    regions,
    register_rows,
    show_full,
    snapshot,
)
from handlers.roster.form import start_form
from handlers.roster.saving import EXAMPLES, save_one
from storage.repositories.roster import RosterRepository, SeatConflict

router = Router("roster", section="名单登记")

_ROLE_WORD = re.compile(
    r"^[ \t\u3000]*"
    r"(体系管理员|管理员|培训讲师|培训师|讲师|资源审核员|审核员|admin|trainer|reviewer)"
    r"(?=[ \t\u3000\n]|$)",
    re.I,
)
_CITY_HINT = re.compile(r"^[ \t\u3000\n]*(?:城市|设区市|地市)[ \t\u3000]*[=＝:：][ \t\u3000]*(\S+)")
_REASON = re.compile(r"(?:^|[\s,，;；])(?:原因|理由|说明)\s*[=＝:：]\s*(.+)$", re.S)
_NUMBER = re.compile(r"^\s*[#＃]?(\d{1,9})(?=\s|$)")


# --- /登记 --------------------------------------------------------------------------------------------


@router.command(
    "登记",
    alias="register",
    groups=ROLE_GROUPS,
    raw=True,
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
        body = body[m.end() :]
    all_or_nothing = cfg.all_or_nothing_word in body
    body = body.replace(cfg.all_or_nothing_word, "")
    city_hint = None
    m = _CITY_HINT.match(body)
    if m:
        cm = resolve_territory(tree, m.group(1))
        if cm.territory is None or cm.territory.level is not Level.CITY:
            raise UserError("roster/unknown_region", value=m.group(1), candidates=[t.label for t in cm.candidates])
        city_hint = cm.territory.city
        body = body[m.end() :]
    scope = await held(ctx)
    city = city_hint or home_city(scope)
    rows = parse_paste(body, role or Role.ADMIN)
    if role is None and (not rows or any(not r.sectioned for r in rows)):
        raise UserError("roster/need_role")
    if not rows:
        if body.strip():
            raise UserError("roster/nothing_found")
        assert role is not None  # no rows without a role word was refused above
        return await start_form(ctx, role, {}, city)
    if len(rows) == 1 and not all_or_nothing:
        return await _register_one(ctx, rows[0], city)
    if not scope:
        raise UserError("roster/bulk_forbidden", rows=len(rows))
    report = await register_rows(
        ctx.uow,
        tree,
        cfg,
        rows,
        scope=scope,
        city=city,
        actor_id=ctx.actor.id,
        actor_name=ctx.actor.name,
        now=ctx.now(),
        all_or_nothing=all_or_nothing,
        action="roster.register",
    )
    return Reply("roster/bulk_result", report.view())


async def _register_one(ctx: Context, raw: RawRow, city: str | None) -> Reply:
    tree = regions(ctx.services)
    res = validate_row(raw, tree, city=city)
    if res.errors:
        only_missing = raw.mode == "kv" and not raw.errors and all(e.value == "" for e in res.errors)
        if only_missing:
            return await start_form(ctx, raw.role, {k: v for k, v in raw.values.items() if v.strip()}, city)
        return Reply(
            "roster/row_errors",
            {"role": raw.role.label, "example": EXAMPLES[raw.role], "action": "登记", **errors_view(res.errors)},
        )
    assert res.member is not None  # no errors: a member
    return await save_one(ctx, res.member)


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
    return int(m.group(1)), body[m.end() :]


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
    raise UserError(
        "roster/choose_record",
        command=command,
        records=[{"id": m.id, "role": m.role.label, "seat": m.seat_label} for m in mine],
    )


def _change_errors(member: Member, errors: list) -> Reply:
    """A refused /变更: headed as a change, with an example for this record that works."""
    col = SECTIONS[member.role].find(errors[0].field_label) if errors else None
    if col is not None and col.enum is not None:
        example = f"/变更 {member.id} {col.label}={col.enum.values[0]} 原因=…"
    else:
        example = f"/变更 {member.id} 手机=13900001111 原因=换号"
    return Reply(
        "roster/row_errors", {"role": member.role.label, "example": example, "action": "变更", **errors_view(errors)}
    )


@router.command(
    "变更",
    alias="update",
    groups=ROLE_GROUPS,
    raw=True,
    help="修改登记信息（人员调整）",
    examples=("/变更 手机=13900001111 原因=换号", "/变更 12 学校=学军中学 原因=调动"),
)
async def update(ctx: Context, args: Args) -> Reply:
    body, reason = _split_reason(args.rest)
    number, body = _split_number(body)
    member = await _target(ctx, number, "变更")
    raw = parse_kv(body, member.role)
    if not raw.values and not raw.errors:
        raise UserError("roster/nothing_to_change", fields=list(SECTIONS[member.role].labels))
    if raw.errors:
        return _change_errors(member, raw.errors)
    res = apply_changes(member, raw.values, regions(ctx.services))
    if res.errors:
        return _change_errors(member, res.errors)
    new = res.member
    assert new is not None  # no errors: a member
    before, after = member_diff(member, new)
    if not before:
        return Reply("roster/unchanged", {"name": member.name})
    await check_seat(ctx.uow, regions(ctx.services), config(ctx.services), new, replacing=member, scope=await held(ctx))
    try:
        saved = await ctx.uow.repo(RosterRepository).save(new, now=ctx.now())
    except SeatConflict:
        raise UserError("roster/conflict") from None
    await ctx.audit(
        "roster.update",
        MEMBER,
        str(member.id),
        before=before,
        after=after,
        reason=reason,
        territory=saved.territory.path,
    )
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
    return Reply(
        "roster/updated",
        {
            "number": member.id,
            "name": saved.name,
            "seat": saved.seat_label,
            "role": saved.role.label,
            "changes": changes,
            "reason": reason or "",
        },
    )


@router.command(
    "注销",
    alias="remove",
    groups=ROLE_GROUPS,
    raw=True,
    help="注销登记，需写原因",
    examples=("/注销 12 调离本市", "/注销 退休"),
)
async def remove(ctx: Context, args: Args) -> Reply:
    body, reason = _split_reason(args.rest)
    number, body = _split_number(body)
    reason = (reason or body.strip()) or None
    member = await _target(ctx, number, "注销")
    if not reason:
        raise UserError("roster/need_reason", number=member.id)
    saved = await ctx.uow.repo(RosterRepository).save(
        replace(member, status=Status.REMOVED), now=ctx.now(), decided_by=ctx.actor.id, note=reason
    )
    await ctx.audit(
        "roster.remove",
        MEMBER,
        str(member.id),
        before=snapshot(member),
        after={"status": saved.status.value},
        reason=reason,
        territory=member.territory.path,
    )
    return Reply(
        "roster/removed",
        {
            "number": member.id,
            "name": member.name,
            "role": member.role.label,
            "seat": member.seat_label,
            "reason": reason,
        },
    )


# --- /我的 ---------------------------------------------------------------------------------------------------


@router.command("我的", alias="me", groups=ROLE_GROUPS, help="我的登记和权限")
async def me(ctx: Context, args: Args) -> Reply:
    repo = ctx.uow.repo(RosterRepository)
    records = await repo.of_user(ctx.actor.id, statuses=("pending", "active"))
    scope = await held(ctx)
    return Reply(
        "roster/me",
        {
            "name": ctx.actor.name,
            "records": [member_view(m, full=ctx.is_private) for m in records],
            "grants": [{"label": t.label, "level": t.level.operator_label} for t in scope],
            "is_group": ctx.is_group,
        },
    )
