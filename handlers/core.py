"""Runtime commands: /帮助, /绑定, /群信息, /我是谁."""

from __future__ import annotations

from typing import Any

from bot.commands import HELP_SECTIONS, Arg, Args, Chat, CommandSpec, GroupRole, Router, group_role
from bot.context import Context
from bot.dispatcher import unknown_command
from bot.replies import Reply
from handlers.permissions import SUPERADMIN

router = Router("core")


def _brief(spec: CommandSpec) -> dict[str, Any]:
    return {
        "name": spec.name,
        "alias": spec.alias,
        "help": spec.help,
        "usage": spec.usage,
        "who": spec.permission.who if spec.permission else "",
    }


@router.command(
    "帮助",
    alias="help",
    extra_aliases=("?", "？", "菜单"),
    help="列出本群可用的命令；/帮助 命令名 看某条命令的用法",
    args=[Arg("命令", "command", required=False, help="命令名，如 登记")],
)
async def help_(ctx: Context, args: Args) -> Reply:
    registry = ctx.services.registry
    command = args.optional("command", str)
    if command:
        name = command.lstrip("/／")
        spec = registry.find(name)
        if spec is None:
            return unknown_command(ctx, name)
        return Reply(
            "help/command",
            {
                "c": _brief(spec),
                "args": [{"label": a.label, "required": a.required, "help": a.help} for a in spec.args],
                "examples": list(spec.examples),
                "allowed_here": spec.allowed_in(ctx.group_role, ctx.is_group),
            },
        )
    from bot.dispatcher import usable_commands

    usable = await usable_commands(ctx)
    group = ctx.group_role.label if ctx.group_role else None
    unbound = ctx.is_group and ctx.group_role is None
    sections: dict[str, list[dict]] = {}
    for s in usable:
        sections.setdefault(s.section, []).append({"name": s.name, "alias": s.alias, "help": s.help})
    order = {title: i for i, title in enumerate(HELP_SECTIONS)}
    return Reply(
        "help/list",
        {
            "sections": [
                {"title": t, "commands": sections[t]} for t in sorted(sections, key=lambda t: order.get(t, len(order)))
            ],
            "group": group,
            "unbound": unbound,
        },
        # The same commands in the same kind of group read the same: rendered once (a permission
        # change shows at once, because it changes the commands listed).
        same_as=(tuple(s.name for s in usable), group, unbound),
    )


@router.command(
    "绑定",
    section="审批与管理",
    alias="bind",
    chat=Chat.GROUP,
    permission=SUPERADMIN,
    help="把本群绑定为 管理员群 / 讲师群 / 审核员群",
    args=[Arg("群类型", "role", group_role, help="管理员群、讲师群 或 审核员群")],
    examples=("/绑定 审核员群",),
)
async def bind(ctx: Context, args: Args) -> Reply:
    msg = ctx.message
    role = args.value("role", GroupRole)
    before, after = await ctx.uow.groups.bind(
        msg.conversation_id, role.value, msg.conversation_title, ctx.actor.id, ctx.now()
    )
    await ctx.audit(
        "group.bind",
        "group",
        msg.conversation_id,
        before={"role": before.role} if before else None,
        after={"role": after.role},
    )
    return Reply(
        "core/bound",
        {
            "role": role.label,
            "previous": GroupRole(before.role).label if before else None,
            "title": msg.conversation_title,
        },
    )


@router.command("我是谁", alias="whoami", help="查看你的身份和本群的绑定")
async def whoami(ctx: Context, args: Args) -> Reply:
    from handlers.roster.common import held  # the roster owns grants; /我是谁 only shows them

    grants = [] if ctx.actor.is_superadmin else [f"{t.label}的{t.level.operator_label}" for t in await held(ctx)]
    return Reply(
        "core/whoami",
        {
            "name": ctx.actor.name,
            "id": ctx.actor.staff_id or "",
            "staff": bool(ctx.actor.staff_id),
            "superadmin": ctx.actor.is_superadmin,
            "grants": grants,
            "group": ctx.group_role.label if ctx.group_role else None,
            "is_group": ctx.is_group,
        },
    )
