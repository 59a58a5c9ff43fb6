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
