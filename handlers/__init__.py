"""Feature modules. Each module in this package may define:

- ``router``: a :class:`bot.commands.Router` with its chat commands and dialogue steps;
- ``setup_http(app, bot)``: add routes to the bot's aiohttp application;
- ``register_cli(subparsers)``: add ``python run_bot.py <feature> ...`` subcommands;
- ``async def on_startup(bot)``: prepare shared services (``bot.services.extras``).

They are discovered here, so adding a feature touches no central list.
"""
from __future__ import annotations

import importlib
import pkgutil
from types import ModuleType


def feature_modules() -> list[ModuleType]:
    mods = []
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        mods.append(importlib.import_module(f"{__name__}.{info.name}"))
    return mods


def routers():
    return [m.router for m in feature_modules() if hasattr(m, "router")]
