"""What a feature declares: its routers, jobs, export kinds and hooks, as data (see handlers/features.py)."""

from __future__ import annotations

import argparse
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeAlias

from bot.commands import Router
from bot.context import Context
from bot.replies import Reply
from scheduler import JobSpec

if TYPE_CHECKING:
    from aiohttp import web

    from bot.app import BotApp


# what ``register_cli`` gets: ``python run_bot.py``'s sub-command parsers
Subparsers: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"


@dataclass(frozen=True)
class ExportKind:
    """One kind of ``/导出 <种类>``: a Chinese name, aliases, the help words and ``run(ctx, where)``."""

    name: str
    aliases: tuple[str, ...]
    help: str
    run: Callable[[Context, str | None], Awaitable[Reply]]


@dataclass(frozen=True)
class Feature:
    """A feature of the bot. Every field is optional except the name; the composition root reads them all.

    - ``routers``: chat commands and dialogue steps, included in this order;
    - ``jobs``: scheduled jobs (``JobSpec``);
    - ``exports``: kinds offered by ``/导出``;
    - ``setup_http(app, bot)``: adds routes to the bot's aiohttp application;
    - ``register_cli(subparsers)``: adds ``python run_bot.py <feature> …`` subcommands;
    - ``on_startup(bot)``: prepares shared services before the bot takes messages.
    """

    name: str
    routers: Sequence[Router] = ()
    jobs: Sequence[JobSpec] = ()
    exports: Sequence[ExportKind] = ()
    setup_http: Callable[[web.Application, BotApp], None] | None = None
    register_cli: Callable[[Subparsers], None] | None = None
    on_startup: Callable[[BotApp], Awaitable[None]] | None = None
    health: Callable[[BotApp], dict[str, Any]] | None = None  # parts added to /healthz
