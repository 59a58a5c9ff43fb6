"""The guided registration form (a dialogue): one field at a time, numbered choices for fixed sets of values,
``上一步`` to go back one field, and before saving the whole record with 确认 / 修改 N / 取消.

The dialogue's data: ``role``, ``values`` (column key → checked value), ``city``, ``asking`` (the column
being asked, or None while the record is shown for confirmation).
"""

from __future__ import annotations

import re
from typing import Any

from bot.commands import Args, Router
from bot.context import Context
from bot.errors import UserError
from bot.replies import Reply
from domain.masking import mask_account, mask_mobile
from domain.roster import SECTIONS, Kind, Role, check_value, parse_kv, resolve_county, validate_values
from domain.roster.fields import Column
from domain.roster.parsing import looks_like_kv
from handlers.roster.common import errors_view, regions
from handlers.roster.saving import EXAMPLES, save_one

router = Router("roster-form", section="名单登记")
DIALOGUE = "roster_register"

BACK_WORDS = {"上一步", "上一项", "返回", "back"}
CONFIRM_WORDS = {"确认", "确定", "保存", "是", "好", "ok"}
_EDIT = re.compile(r"^\s*(?:修改|改|编辑)\s*(?:第)?\s*(\d{1,2})\s*(?:项)?\s*$")


def choices(column: Column) -> list[str]:
    """The numbered choices of a field with a fixed set of values (学段, 人员类型, 教师类型, 是否往届)."""
    return list(column.enum.values) if column.kind is Kind.ENUM and column.enum is not None else []


def _columns(role: Role) -> tuple[Column, ...]:
    return SECTIONS[role].columns


def _next_column(role: Role, values: dict) -> Column | None:
    return next((c for c in _columns(role) if c.key not in values), None)


def _ask(
    ctx: Context,
    role: Role,
    column: Column,
    *,
    error: str | None = None,
    value: str = "",
    first: bool = False,
    current: str = "",
    notice: str = "",
) -> Reply:
    """Ask one field. What is expected is said once: in the error line when the answer was wrong
    (then the hint is not repeated), else as the hint; a fixed set of values is a numbered list."""
    cols = _columns(role)
    options = choices(column)
    hint = "" if options else column.expected
    if error and options and error == column.expected:
        error = f"其中一项的编号（1–{len(options)}）或名称"
    elif error and error == hint:
        hint = ""
    return Reply(
        "roster/ask",
        {
            "minutes": ctx.settings.bot_dialogue_minutes,
            "role": role.label,
            "label": column.label,
            "hint": hint,
            "choices": options,
            "optional": not column.required and "无" not in hint,
            "step": [c.key for c in cols].index(column.key) + 1,
            "steps": len(cols),
            "error": error,
            "value": value,
            "first": first,
            "current": current,
            "notice": notice,
        },
    )


def _shown(ctx: Context, column: Column, value: str) -> str:
    """A value as the confirmation shows it: personal data masked in a group chat."""
    if not value:
        return "（空）"
    if ctx.is_group and column.kind is Kind.MOBILE:
        return mask_mobile(value)
    if ctx.is_group and column.kind is Kind.ACCOUNT:
        return mask_account(value)
    return value


def _summary(ctx: Context, data: dict, *, error: str | None = None) -> Reply:
    role = Role(data["role"])
    fields = [
        {"number": i, "label": c.label, "value": _shown(ctx, c, data["values"].get(c.key, ""))}
        for i, c in enumerate(_columns(role), start=1)
    ]
    return Reply(
        "roster/confirm",
        {
            "role": role.label,
            "fields": fields,
            "error": error,
            "minutes": ctx.settings.bot_dialogue_minutes,
            "last": len(fields),
        },
    )


def _accept(ctx: Context, data: dict, column: Column, answer: str) -> str | None:
    """Store a checked answer in ``data``; the expected text if it is not acceptable."""
    answer = answer.strip()
    options = choices(column)
    if options and answer.isdigit() and 1 <= int(answer) <= len(options):
        answer = options[int(answer) - 1]  # a numbered choice
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
            errors.append(f"「{col.label}」应为{problem}")
    return errors


async def start_form(ctx: Context, role: Role, values: dict, city: str | None) -> Reply:
    """Begin the form with what was already given; the record is shown at once when nothing is missing."""
    data: dict[str, Any] = {"role": role.value, "values": {}, "city": city, "asking": None}
    errors = _accept_many(ctx, data, values)
    nxt = _next_column(role, data["values"])
    data["asking"] = nxt.key if nxt else None
    await ctx.start_dialogue(DIALOGUE, data)
    if nxt is None:
        return _summary(ctx, data, error="；".join(errors) or None)
    return _ask(ctx, role, nxt, error="；".join(errors) or None, first=True)


async def _back(ctx: Context, data: dict) -> Reply:
    role = Role(data["role"])
    keys = [c.key for c in _columns(role)]
    at = keys.index(data["asking"]) if data["asking"] else len(keys)
    if at == 0:
        first_col = _columns(role)[0]
        current = data["values"].get(first_col.key, "")
        shown = _shown(ctx, first_col, current) if current else ""
        return _ask(ctx, role, first_col, notice="已是第一项", current=shown)
    prev = _columns(role)[at - 1]
    current = data["values"].pop(prev.key, "")
    data["asking"] = prev.key
    await ctx.update_dialogue(data)
    return _ask(ctx, role, prev, current=_shown(ctx, prev, current) if current else "")


async def _confirming(ctx: Context, data: dict, answer: str) -> Reply:
    """The record is shown: 确认 saves it, 修改 N asks field N again (then shows the record again)."""
    role = Role(data["role"])
    cols = _columns(role)
    m = _EDIT.match(answer)
    if m:
        n = int(m.group(1))
        if not 1 <= n <= len(cols):
            return _summary(ctx, data, error=f"没有第{n}项，请写 1–{len(cols)}")
        col = cols[n - 1]
        current = data["values"].pop(col.key, "")
        data["asking"] = col.key
        await ctx.update_dialogue(data)
        return _ask(ctx, role, col, current=_shown(ctx, col, current))
    if answer.strip().lower() not in CONFIRM_WORDS:
        if looks_like_kv(answer, role):  # 字段=值 while confirming: change those fields
            raw = parse_kv(answer, role)
            errors = [e.text for e in raw.errors] + _accept_many(ctx, data, raw.values)
            await ctx.update_dialogue(data)
            return _summary(ctx, data, error="；".join(errors) or None)
        return _summary(ctx, data, error=f"没看懂“{answer[:20]}”")
    await ctx.end_dialogue()
    try:
        return await _finish(ctx, data)
    except UserError as exc:
        if exc.template == "roster/conflict":
            raise
        return Reply(exc.template, exc.context)  # refused before anything was written: the dialogue ends


@router.dialogue(DIALOGUE)
async def register_step(ctx: Context, args: Args) -> Reply:
    data = ctx.dialogue.data
    role = Role(data["role"])
    answer = args.rest.strip()
    if answer.lower() in BACK_WORDS:
        return await _back(ctx, data)
    if data.get("asking") is None:
        return await _confirming(ctx, data, answer)
    column = SECTIONS[role].column(data["asking"])
    if looks_like_kv(answer, role):
        raw = parse_kv(answer, role)
        errors = [e.text for e in raw.errors] + _accept_many(ctx, data, raw.values)
        error = "；".join(errors) or None
    else:
        error = _accept(ctx, data, column, answer)
    nxt = _next_column(role, data["values"])
    data["asking"] = nxt.key if nxt else None
    await ctx.update_dialogue(data)
    if nxt is None:
        return _summary(ctx, data, error=error)
    return _ask(ctx, role, nxt, error=error, value=answer if error else "")


async def _finish(ctx: Context, data: dict) -> Reply:
    role = Role(data["role"])
    res = validate_values(role, data["values"], regions(ctx.services), city=data.get("city"))
    if res.errors:
        return Reply(
            "roster/row_errors",
            {"role": role.label, "example": EXAMPLES[role], "action": "登记", **errors_view(res.errors)},
        )
    assert res.member is not None  # no errors: a member
    return await save_one(ctx, res.member)
