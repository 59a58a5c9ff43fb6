"""The bot's features, in one explicit list: adding a feature means adding it here.

The order is the order of /帮助 within a section, of the jobs and of the start-up hooks.
"""

from __future__ import annotations

from bot.commands import Router
from handlers import base_schools, calendar, core, demo, evaluation, reminders
from handlers.feature import ExportKind, Feature
from handlers.review import FEATURE as review
from handlers.review import reports as review_reports
from handlers.roster import approvals, export, form, grants, members, submission, views
from handlers.scores import cli as scores_cli
from handlers.scores import commands as scores

FEATURES: tuple[Feature, ...] = (
    Feature("calendar", routers=[calendar.router]),
    Feature("core", routers=[core.router]),
    Feature("demo", routers=[demo.router], register_cli=demo.register_cli),
    Feature("evaluation", routers=evaluation.ROUTERS),
    # /导出 belongs to the roster; its kinds are listed in the order /导出 names them (附件3 comes from evaluation)
    Feature(
        "roster",
        routers=[
            members.router,
            form.router,
            approvals.router,
            export.router,
            grants.router,
            views.router,
            submission.router,
        ],
        exports=[*export.EXPORTS, *evaluation.EXPORTS, *review_reports.EXPORTS],
        register_cli=export.register_cli,
        on_startup=export.on_startup,
    ),
    Feature("scores", routers=[scores.router], setup_http=scores.setup_http, register_cli=scores_cli.register),
    review,
    Feature(
        "base_schools",
        routers=[base_schools.router],
        jobs=base_schools.JOBS,
        exports=base_schools.EXPORTS,
        register_cli=base_schools.register_cli,
    ),
    # after roster and scores: its /帮助 lines come last in 审批与管理; its job runs the reminders of every feature
    Feature(
        "reminders",
        routers=[reminders.router],
        jobs=reminders.JOBS,
        on_startup=reminders.on_startup,
        health=reminders.health,
    ),
)


def routers(features: tuple[Feature, ...] = FEATURES) -> list[Router]:
    """Every feature's routers, in the order of the list."""
    return [r for f in features for r in f.routers]


def export_kinds(features: tuple[Feature, ...] = FEATURES) -> dict[str, ExportKind]:
    """Every export kind by its lower-cased name and aliases; a name declared twice is refused."""
    out: dict[str, ExportKind] = {}
    for f in features:
        for kind in f.exports:
            for n in (kind.name, *kind.aliases):
                key = n.lower()
                if key in out and out[key] is not kind:
                    raise ValueError(f"export kind {n} declared twice")
                out[key] = kind
    return out
