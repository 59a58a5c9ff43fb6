"""The permission matrix, generated from the command specs: every command that needs a permission,
sent by people without it (an ordinary member, a person outside the organisation; another city's
operator for the province-only commands), in its group and in a 1:1 chat. Each is refused (no
permission, or not here) and nothing changes."""

from __future__ import annotations

from sqlalchemy import select

from bot.commands import GroupRole
from handlers.permissions import SUPERADMIN
from storage.models import Base

UNCHECKED = {"inbox", "outbox", "api_call_counts"}  # every message is stored, answered and counted
GROUP_OF = {
    GroupRole.ADMIN: "cid-admin-group",
    GroupRole.TRAINER: "cid-trainer-group",
    GroupRole.REVIEWER: "cid-reviewer-group",
}


async def _snapshot(db) -> dict[str, list[tuple]]:
    async with db.unit_of_work() as uow:
        out = {}
        for name, table in Base.metadata.tables.items():
            if name not in UNCHECKED:
                out[name] = sorted(tuple(map(str, r)) for r in (await uow.session.execute(select(table))).all())
        return out


def _text(spec) -> str:
    for example in spec.examples:
        if example.startswith(f"/{spec.name}"):
            return example
    return f"/{spec.name}"


async def test_privileged_commands_refuse_the_unprivileged(bound_bot, chat):
    assert "已授权" in await chat.say("/授权 @林晓燕 宁波市")
    specs = [s for s in bound_bot.registry.commands if s.permission is not None]
    assert len(specs) >= 10, [s.name for s in specs]
    before = await _snapshot(bound_bot.db)
    tried = 0
    for spec in specs:
        actors = ["t-hz-001", "ext-001"] + (["city-nb-001"] if spec.permission is SUPERADMIN else [])
        group = GROUP_OF[min(spec.groups, key=lambda g: g.value)] if spec.groups else "cid-admin-group"
        for user in actors:
            for conversation in (group, f"cid-p2p-{user}"):
                reply = await chat.say(_text(spec), user=user, conversation=conversation)
                refused = f"没有使用 /{spec.name} 的权限" in reply or f"/{spec.name} 只能在" in reply
                assert refused, (spec.name, user, conversation, reply)
                tried += 1
    await bound_bot.dispatcher.drain()
    assert await _snapshot(bound_bot.db) == before
    assert tried >= 4 * len(specs)
