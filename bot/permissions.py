"""Reusable permission predicates for command specs."""
from __future__ import annotations

from bot.context import Context


async def superadmin(ctx: Context) -> bool:
    """Provincial centre operators (BOT_SUPERADMINS)."""
    return ctx.actor.is_superadmin


SUPERADMIN_TEXT = "省级运营人员"
