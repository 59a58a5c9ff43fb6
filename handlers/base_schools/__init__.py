"""Base schools (基地校, seed 003): the yearly list, figures from the activity feed, /基地校, /基地校排行,
/基地校负责人, /基地校微课, ``/导出 基地校考核``, the November assessment job and
``python3 run_bot.py base-schools import FILE``. See docs/base_schools.md.

Declared in ``handlers/features.py``::

    Feature("base_schools", routers=[base_schools.router], jobs=base_schools.JOBS, exports=base_schools.EXPORTS,
            register_cli=base_schools.register_cli)
"""

from __future__ import annotations

from handlers.base_schools import chat as _chat  # noqa: F401  (declares the commands on the router)
from handlers.base_schools.assessment import EXPORTS, JOBS, assessment_done
from handlers.base_schools.common import router
from handlers.feature import Subparsers


def register_cli(subparsers: Subparsers) -> None:
    from handlers.base_schools.cli import register

    register(subparsers)


__all__ = ["EXPORTS", "JOBS", "assessment_done", "register_cli", "router"]
