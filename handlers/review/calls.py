"""/征集 列表 and /征集 新建 (calls and their review levels), and the defaults at start-up."""

from __future__ import annotations

from datetime import datetime

from bot.commands import Args, Chat
from bot.context import Context
from bot.errors import UserError
from bot.replies import Reply
from domain.review.calls import CallError, ReviewCall, ReviewConfig, parse_chat_call
from handlers.permissions import PROVINCE_OPERATOR
from handlers.review.common import OPERATOR_GROUPS, config, router
from storage.repositories.review import ReviewRepository


def call_view(c: ReviewCall) -> dict:
    return {
        "name": c.name,
        "deadline": c.deadline.isoformat(),
        "categories": "、".join(c.categories),
        "active": c.active,
        "levels": [
            {
                "name": lv.name,
                "reviewers": lv.reviewers,
                "cap": lv.cap or "不限",
                "due": f"{lv.due_date.isoformat()} 前" if lv.due_date else f"分配后 {lv.due_workdays} 个工作日",
                "auto": lv.auto_assign,
            }
            for lv in c.levels
        ],
    }


@router.command(
    "征集",
    groups=OPERATOR_GROUPS,
    chat=Chat.ANY,
    alias="calls",
    help="征集活动：列表，或 新建 名称=… 截止=…（省级）",
    raw=True,
    examples=("/征集 列表", "/征集 新建 名称=2026年微课征集 截止=2026-06-30 级别=市级初审,省级评审 人数=1,2"),
)
async def calls_command(ctx: Context, args: Args) -> Reply:
    rest = (args.rest or "").strip()
    word, _, tail = rest.partition(" ")
    repo = ctx.uow.repo(ReviewRepository)
    if word in ("", "列表", "list"):
        return Reply("review/calls", {"calls": [call_view(c) for c in await repo.calls()]})
    if word not in ("新建", "修改", "new"):
        return Reply("review/calls_usage", {})
    if not await PROVINCE_OPERATOR.allows(ctx):
        raise UserError("errors/forbidden", command="征集 新建", who=PROVINCE_OPERATOR.who)
    cfg = config(ctx.services)
    try:
        call = parse_chat_call(tail, cfg.calls[0] if cfg.calls else _fallback_defaults())
    except CallError as exc:
        return Reply("review/call_refused", {"reason": str(exc)})
    before, after = await repo.save_call(call, ctx.now())
    await ctx.audit(
        "review.call_save",
        "review_call",
        str(after.id),
        before=call_view(before) if before else None,
        after=call_view(after),
    )
    return Reply("review/call_saved", {"call": call_view(after), "updated": before is not None})


def _fallback_defaults() -> ReviewCall:
    from domain.review.calls import load_config

    return load_config().calls[0]


async def ensure_default_calls(db, cfg: ReviewConfig, now: datetime) -> None:
    """The calls of review.yaml, stored once (operators change them afterwards). Instances starting at
    the same moment on one PostgreSQL may both find none: the one whose insert loses finds them stored."""
    from sqlalchemy.exc import IntegrityError

    try:
        async with db.unit_of_work() as uow:
            repo = uow.repo(ReviewRepository)
            if await repo.calls():
                return
            for c in cfg.calls:
                await repo.save_call(c, now)
    except IntegrityError:
        async with db.unit_of_work() as uow:
            if not await uow.repo(ReviewRepository).calls():
                raise
