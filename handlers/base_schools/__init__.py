"""Base schools (基地校, seed 003): the yearly list, figures from the activity feed, /基地校, /基地校排行,
/基地校负责人, /基地校微课, ``/导出 基地校考核``, the November assessment job and
``python3 run_bot.py base-schools import FILE``. See docs/base_schools.md."""
from __future__ import annotations

from typing import Any

from handlers.base_schools import chat as _chat  # noqa: F401  (declares the commands)
from handlers.base_schools.assessment import JOBS, assessment_done
from handlers.base_schools.common import router


def register_cli(subparsers: Any) -> None:
    from handlers.base_schools.cli import register
    register(subparsers)


__all__ = ["JOBS", "assessment_done", "register_cli", "router"]
