"""Named permissions: who may use a command, in one place for every feature.

A :class:`bot.commands.Permission` pairs a check with the Chinese words that tell a person
who may (shown in refusals and in /帮助). Declare a command with one of these::

    @router.command("批准", ..., permission=CITY_OPERATOR)

To add one, write its check here (read the actor's territories with ``held(ctx)`` or their
access with ``access_of(ctx)``; both are memoised per message) and name it in capitals.
"""

from __future__ import annotations

from bot.commands import Permission
from bot.context import Context
from domain.territory import Level
from handlers.roster.common import held
from handlers.scores.people import access_of


async def _superadmin(ctx: Context) -> bool:
    return ctx.actor.is_superadmin


async def _operator(ctx: Context) -> bool:
    return bool(await held(ctx))


async def _city_operator(ctx: Context) -> bool:
    return any(t.level <= Level.CITY for t in await held(ctx))


async def _scope(ctx: Context) -> bool:
    return bool((await access_of(ctx)).scopes)


async def _member(ctx: Context) -> bool:
    return bool((await access_of(ctx)).seats)


SUPERADMIN = Permission("省级运营人员", _superadmin)
"""The provincial centre's operators (``BOT_SUPERADMINS``)."""

OPERATOR = Permission("省、市、县级管理员（由上级用 /授权 开通）", _operator)
"""Holds any territory: provincial, city, county or school operator."""

CITY_OPERATOR = Permission("省级或市级管理员", _city_operator)
"""Holds a city or the province."""

SCOPE = Permission("体系管理员、市级或省级管理员", _scope)
"""Sees some territory's figures: an admin's own region, or an operator's territory."""

TEAM_MEMBER = Permission("服务队伍成员（已登记的体系管理员、培训讲师、资源审核员）", _member)
"""Holds an active roster seat."""


async def _province_operator(ctx: Context) -> bool:
    return any(t.level is Level.PROVINCE for t in await held(ctx))


async def _reviewer(ctx: Context) -> bool:
    from domain.roster import Role

    return any(s.role is Role.REVIEWER for s in (await access_of(ctx)).seats)


PROVINCE_OPERATOR = Permission("省级管理员", _province_operator)
"""Holds the province: creates and changes review calls (征集活动)."""

REVIEW_OPERATOR = Permission("本地区的市级或省级管理员", _city_operator)
"""Previews and commits review assignments of their own territory (the handler checks the city)."""

REVIEWER = Permission("资源审核员（已登记）", _reviewer)
"""Holds a reviewer seat: declares leave and conflicts."""


async def _reminder_operator(ctx: Context) -> bool:
    return any(t.level <= Level.COUNTY for t in await held(ctx))


REMINDER_OPERATOR = Permission("省、市、县级管理员", _reminder_operator)
"""Adds, pauses and urges reminders inside the territories they hold; sees /发送统计."""


async def _base_school_lead(ctx: Context) -> bool:
    from storage.repositories.base_schools import BaseSchoolRepository

    return await ctx.uow.repo(BaseSchoolRepository).is_lead(ctx.actor.id)


async def _base_school_viewer(ctx: Context) -> bool:
    return await _city_operator(ctx) or await _base_school_lead(ctx)


BASE_SCHOOL_VIEWER = Permission("省级或市级管理员（本辖区），或已登记的基地校项目负责人（本校）", _base_school_viewer)
"""Sees base schools: provincial and city operators within their territory, a registered lead their school."""

BASE_SCHOOL_LEAD_OR_OPERATOR = BASE_SCHOOL_VIEWER
"""Reports a base school's micro-course lessons: the school's lead, or an operator of its city."""
