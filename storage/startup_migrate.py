"""Start-up migration without keeping Alembic in the bot's process.

Alembic and its Mako templates cost ~10 MB of resident memory that a long-running bot would
carry for nothing once the schema is current (Python does not give memory back when modules are
dropped). So start-up runs ``storage.migrate.upgrade`` in a short-lived child process with the
same interpreter, unless Alembic is loaded here already (tests, ``run_bot.py db upgrade``), in which
case the child would save nothing and the upgrade runs in-process.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from pathlib import Path

log = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parent.parent  # the directory holding the storage package
URL_ENV = "BOT_MIGRATE_DATABASE_URL"  # the URL goes by environment, not argv (ps shows argv)

_CHILD = f"""
import asyncio, logging, os, sys
sys.path.insert(0, {str(ROOT)!r})
logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stdout)
logging.getLogger("alembic").setLevel(logging.WARNING)
from storage.migrate import upgrade
asyncio.run(upgrade(os.environ[{URL_ENV!r}]))
"""


class MigrationFailed(RuntimeError):
    """The child process could not migrate the database (its last output is the message)."""


async def upgrade_in_child(url: str) -> None:
    """Apply every migration in a child process; raise MigrationFailed with its output if it fails."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        _CHILD,
        env={**os.environ, URL_ENV: url},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await proc.communicate()
    if proc.returncode != 0:
        tail = (err or out).decode(errors="replace").strip().splitlines()[-20:]
        raise MigrationFailed(f"database migration failed (exit {proc.returncode}):\n" + "\n".join(tail))
    for line in out.decode(errors="replace").splitlines():
        if line.strip():
            log.info("%s", line)


async def migrate_at_startup(url: str) -> None:
    """Bring the database to every head: in a child process when that keeps Alembic out of this one."""
    if "alembic" in sys.modules:
        from storage.migrate import upgrade

        await upgrade(url)
    else:
        await upgrade_in_child(url)
