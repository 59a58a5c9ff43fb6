"""The long-running bot stays lean: heavy libraries are imported when first used, not at start-up.

openpyxl (+ numpy, which it pulls when installed), python-docx, Alembic and the solvers cost tens of
MB of resident memory that an idle bot would carry for nothing (issue 12 item 5). These run in a
fresh interpreter, since the test process itself has imported most of them.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from storage.startup_migrate import MigrationFailed, upgrade_in_child

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("openpyxl", "docx", "alembic", "numpy", "ortools", "scipy", "pandas")

_START = """
import asyncio, json, sys
sys.path.insert(0, {root!r})
from bot.app import BotApp
from bot.config import load_settings
from handlers.features import FEATURES, routers

async def main():
    routers(tuple(FEATURES))
    settings = load_settings(database_url={url!r}, bot_data_dir={data!r}, bot_http_port=0)
    bot = BotApp(settings, connect=False, serve_http=False)
    await bot.start()            # migrates the empty database, runs every feature's on_startup
    try:
        await asyncio.sleep(0.2)     # a start-up task in a thread would have imported by now
        print(json.dumps(sorted(m for m in {heavy!r} if m in sys.modules)))
    finally:
        await bot.stop()
asyncio.run(main())
"""


def test_started_bot_has_not_imported_heavy_libraries(tmp_path):
    url = f"sqlite+aiosqlite:///{tmp_path / 'bot.sqlite3'}"
    code = _START.format(root=str(ROOT), url=url, data=str(tmp_path / "var"), heavy=HEAVY)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    loaded = json.loads(proc.stdout.strip().splitlines()[-1])
    assert loaded == [], f"imported at start-up (make them lazy): {loaded}"


async def test_upgrade_in_child_migrates_an_empty_database(tmp_path):
    from storage.migrate import current_heads

    url = f"sqlite+aiosqlite:///{tmp_path / 'fresh.sqlite3'}"
    await upgrade_in_child(url)
    applied, heads = await current_heads(url)
    assert applied == heads
    assert len(heads) >= 1


async def test_upgrade_in_child_failure_names_the_cause():
    with pytest.raises(MigrationFailed, match="exit 1") as info:
        await upgrade_in_child("postgresql+asyncpg://nobody@127.0.0.1:1/none")
    assert "Connect" in str(info.value) or "refused" in str(info.value)


def test_script_heads_read_from_source_are_alembics_heads(tmp_path):
    from alembic.script import ScriptDirectory

    from storage.migrate import alembic_config
    from storage.startup_migrate import script_heads

    assert script_heads() == set(ScriptDirectory.from_config(alembic_config("sqlite://")).get_heads())
    # What the reading does not follow leaves the decision to Alembic.
    (tmp_path / "a.py").write_text('revision = "a"\ndown_revision = None\n')
    (tmp_path / "b.py").write_text('revision = "b"\ndown_revision = "a"\ndepends_on = "x"\n')
    assert script_heads(tmp_path) is None
    (tmp_path / "b.py").write_text('revision = "b"\ndown_revision = ("a",)\n')
    (tmp_path / "c.py").write_text('revision = "c"\ndown_revision = "a"\n')
    assert script_heads(tmp_path) == {"b", "c"}
    (tmp_path / "d.py").write_text('revision: str = "d"  # annotated\ndown_revision: str | None = "c"\n')
    assert script_heads(tmp_path) == {"b", "d"}
    (tmp_path / "e.py").write_text('revision = "e" + "1"\ndown_revision = "d"\n')
    assert script_heads(tmp_path) is None
    (tmp_path / "e.py").write_text('revision = "e"\ndown_revision = (\n    "b",\n    "d",\n)\n')
    assert script_heads(tmp_path) is None  # a value over several lines: not read


async def test_start_up_on_a_current_schema_migrates_nothing(database_url, monkeypatch):
    from storage import migrate, startup_migrate

    def refuse(*_a, **_k):
        raise AssertionError("a migration ran on a current schema")

    monkeypatch.setattr(migrate, "upgrade", refuse)
    monkeypatch.setattr(startup_migrate, "upgrade_in_child", refuse)
    assert await startup_migrate.at_heads(database_url)
    await startup_migrate.migrate_at_startup(database_url)


async def test_start_up_applies_what_is_missing(tmp_path):
    from storage.migrate import current_heads, upgrade
    from storage.startup_migrate import at_heads, migrate_at_startup

    url = f"sqlite+aiosqlite:///{tmp_path / 'old.sqlite3'}"
    assert not await at_heads(url)  # no version table yet
    await upgrade(url, "0100_scores")  # one branch, part of the way
    assert not await at_heads(url)
    await migrate_at_startup(url)
    applied, heads = await current_heads(url)
    assert applied == heads and await at_heads(url)
