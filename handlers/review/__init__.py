"""Resource review (issue 7): calls and pipelines, resource intake, balanced assignment with preview
and confirmation, push as interactive cards, verdicts, deadlines and reassignment, reviewer
statistics. See docs/review.md."""
from __future__ import annotations

from aiohttp import web

from handlers.review import assign, calls, deadlines, intake, reports, stats, verdicts  # noqa: F401  (commands)
from handlers.review.common import config, router
from handlers.review.deadlines import JOBS

__all__ = ["JOBS", "on_startup", "register_cli", "router", "setup_http"]


def setup_http(app: web.Application, bot) -> None:
    app.router.add_post("/api/v1/resources", intake.resources_api)
    app.router.add_post("/api/v1/resources/feedback", stats.feedback_api)


def register_cli(subparsers) -> None:
    from handlers.review.cli import register
    register(subparsers)


async def on_startup(bot) -> None:
    from handlers.evaluation import REVIEW_STATS
    bot.services.provide(REVIEW_STATS, stats.DbReviewStats(bot.db))
    await calls.ensure_default_calls(bot.db, config(bot.services), bot.clock.now())
