"""Start-up migration without keeping Alembic in the bot's process.

Alembic and its Mako templates cost ~10 MB of resident memory that a long-running bot would
carry for nothing once the schema is current (Python does not give memory back when modules are
dropped). So start-up runs ``storage.migrate.upgrade`` in a short-lived child process with the
same interpreter, unless Alembic is loaded here already (tests, ``run_bot.py db upgrade``), in which
case the child would save nothing and the upgrade runs in-process.

Most starts find the schema current already: the revisions in ``alembic_version`` are the heads of
the migration scripts. That is checked first, cheaply (the scripts' ``revision`` / ``down_revision``
lines read as literals, one query): the child (~1 s of CPU: an interpreter, SQLAlchemy, Alembic and
every script) runs only when there is something to apply, or when the check cannot tell.
"""

from __future__ import annotations

import ast
import asyncio
import logging
import os
import re
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


VERSIONS = ROOT / "storage" / "migrations" / "versions"


_HEADER = re.compile(
    r"^(revision|down_revision|branch_labels|depends_on)\s*(?::[^=\n]*)?=\s*(.*?)\s*(?:#.*)?$", re.MULTILINE
)


def script_heads(versions: Path = VERSIONS) -> set[str] | None:
    """The heads of the migration scripts (revisions no other script revises), read from their
    ``revision = …`` / ``down_revision = …`` lines without importing Alembic (~1 ms); None when a script
    uses what this reading does not follow (branch labels, ``depends_on``, a value that is not a
    one-line literal, a name set twice): then Alembic decides."""
    revisions: set[str] = set()
    revised: set[str] = set()
    for path in sorted(versions.glob("*.py")):
        if path.name.startswith(("__init__", ".#")):  # the files Alembic skips too
            continue
        values: dict[str, object] = {}
        for name, value in _HEADER.findall(path.read_text(encoding="utf-8")):
            try:
                literal = ast.literal_eval(value)
            except (ValueError, TypeError, SyntaxError):
                return None
            if name in values:
                return None
            values[name] = literal
        revision, down = values.get("revision"), values.get("down_revision")
        if not isinstance(revision, str) or values.get("branch_labels") or values.get("depends_on"):
            return None
        if isinstance(down, str):
            revised.add(down)
        elif isinstance(down, tuple) and all(isinstance(d, str) for d in down):
            revised.update(down)
        elif down is not None:
            return None
        revisions.add(revision)
    return revisions - revised or None


async def at_heads(url: str) -> bool:
    """Whether the database holds exactly the scripts' heads (False when unsure: no version table yet,
    no connection, scripts this check does not read; the migration then runs and reports)."""
    heads = script_heads()
    if heads is None:
        return False
    from sqlalchemy import text

    from storage.db import make_engine

    engine = make_engine(url)
    try:
        async with engine.connect() as conn:
            applied = {v for (v,) in await conn.execute(text("SELECT version_num FROM alembic_version"))}
    except Exception:  # any failure: let the migration itself try, and report
        return False
    finally:
        await engine.dispose()
    return applied == heads


async def migrate_at_startup(url: str) -> None:
    """Bring the database to every head: nothing to do when it is there already; otherwise in a child
    process when that keeps Alembic out of this one."""
    if await at_heads(url):
        return
    if "alembic" in sys.modules:
        from storage.migrate import upgrade

        await upgrade(url)
    else:
        await upgrade_in_child(url)
