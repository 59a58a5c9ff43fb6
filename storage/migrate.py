"""Alembic, driven from code: `python run_bot.py db upgrade` and start-up both call upgrade()."""

from __future__ import annotations

import logging
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from storage.db import make_engine

MIGRATIONS = Path(__file__).with_name("migrations")


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def _applied(connection) -> set[str]:
    return set(MigrationContext.configure(connection).get_current_heads())


def _upgrade_sync(connection, cfg: Config, target: str) -> None:
    cfg.attributes["connection"] = connection
    command.upgrade(cfg, target)


async def upgrade(url: str, target: str = "heads") -> None:
    """Apply every migration (all heads: feature branches are independent)."""
    cfg = alembic_config(url)
    engine = make_engine(url)
    try:
        async with engine.begin() as conn:
            if engine.dialect.name == "postgresql":
                # Several bot instances may start at once: one migrates, the others wait.
                from sqlalchemy import text

                await conn.execute(text("SELECT pg_advisory_xact_lock(7312001)"))
            before = await conn.run_sync(_applied)
            await conn.run_sync(_upgrade_sync, cfg, target)
            after = await conn.run_sync(_applied)
    finally:
        await engine.dispose()
    if after != before:
        logging.getLogger(__name__).info(
            "database migrated: %s → %s", ", ".join(sorted(before)) or "empty", ", ".join(sorted(after))
        )


async def current_heads(url: str) -> tuple[set[str], set[str]]:
    """(applied revisions, script heads): equal when the database is up to date."""
    cfg = alembic_config(url)
    script = ScriptDirectory.from_config(cfg)
    engine = make_engine(url)
    try:
        async with engine.connect() as conn:
            applied = await conn.run_sync(_applied)
    finally:
        await engine.dispose()
    return applied, set(script.get_heads())
