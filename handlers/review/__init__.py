"""Resource review (issue 7): calls and pipelines, resource intake, balanced assignment with preview
and confirmation, push as interactive cards, verdicts, deadlines and reassignment, reviewer
statistics. See docs/review.md. Listed in handlers/features.py as ``FEATURE``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from handlers.feature import Feature, Subparsers
from handlers.review import assign, calls, deadlines, intake, reports, stats, verdicts  # noqa: F401  (commands)
from handlers.review.common import config, router

if TYPE_CHECKING:
    from aiohttp import web

    from bot.app import BotApp

__all__ = ["FEATURE", "on_startup", "register_cli", "router", "setup_http"]


def setup_http(app: web.Application, bot: BotApp) -> None:
    app.router.add_post("/api/v1/resources", intake.resources_api)
    app.router.add_post("/api/v1/resources/feedback", stats.feedback_api)


def register_cli(subparsers: Subparsers) -> None:
    from handlers.review.cli import register

    register(subparsers)


async def on_startup(bot: BotApp) -> None:
    from handlers.evaluation import REVIEW_STATS

    bot.services.provide(REVIEW_STATS, stats.DbReviewStats(bot.db, bot.clock))
    await calls.ensure_default_calls(bot.db, config(bot.services), bot.clock.now())


FEATURE = Feature(
    "review",
    routers=[router],
    jobs=deadlines.JOBS,
    setup_http=setup_http,
    register_cli=register_cli,
    on_startup=on_startup,
)
"""/导出 审核结果 is listed with the roster's export kinds (handlers/features.py: ``reports.EXPORTS``)."""
