"""Backups people can restore: back up a running bot with the real ``run_bot.py db backup``, restore
into a new database with ``db restore``, and find every row (roster, grants, audit, inbox, outbox…)."""

from __future__ import annotations

import asyncio
import os
import sys
import uuid
from pathlib import Path

import pytest
from sqlalchemy import select

from storage.backup import BackupError, backup, restore
from storage.db import Database
from storage.models import Base

ROOT = Path(__file__).resolve().parents[2]


async def _cli(url: str, *args: str, cwd: Path) -> tuple[int, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DINGTALK_", "BOT_", "ROSTER_"))}
    env.update(DATABASE_URL=url, BOT_DATA_DIR=str(cwd))
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        str(ROOT / "run_bot.py"),
        "db",
        *args,
        env=env,
        cwd=cwd,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await proc.communicate()
    return proc.returncode or 0, out.decode()


async def _rows(url: str) -> dict[str, list[tuple]]:
    db = Database(url)
    try:
        async with db.unit_of_work() as uow:
            out = {}
            for name, table in Base.metadata.tables.items():
                rows = (await uow.session.execute(select(table))).all()
                out[name] = sorted(tuple(str(v) for v in r) for r in rows)
            return out
    finally:
        await db.dispose()


async def test_backup_of_a_running_bot_restores_every_row(start_bot, chat, database_url, tmp_path):
    bot = await start_bot(database_url=database_url)
    assert "已把本群" in await chat.say("/绑定 审核员群", conversation="cid-reviewer-group")
    assert "已授权" in await chat.say("/授权 @陈建国 杭州市", conversation="cid-reviewer-group")
    for i, county in enumerate(("西湖区", "萧山区", "余杭区")):
        reply = await chat.say(
            f"/登记 县={county} 姓名=备份{'一二三'[i]} 学段=小学 学科=语文 学校=第一小学 "
            f"账号=Backup{i} 手机=1370000000{i} 类型=其他",
            conversation="cid-reviewer-group",
        )
        assert "已登记" in reply, reply
    await bot.dispatcher.drain()
    before = await _rows(database_url)
    assert before["roster_members"] and before["audit_log"] and before["territory_grants"] and before["inbox"]

    path = tmp_path / "bot.backup"
    code, out = await _cli(database_url, "backup", str(path), cwd=tmp_path)  # while the bot runs
    assert code == 0 and path.stat().st_size > 0, out
    with pytest.raises(BackupError, match="exists already"):
        backup(database_url, str(path))

    if database_url.startswith("sqlite"):
        new_url = f"sqlite+aiosqlite:///{tmp_path / 'restored' / 'bot.sqlite3'}"
        drop = None
    else:
        from tests.conftest import _pg_admin

        name = f"bot_restore_{uuid.uuid4().hex[:8]}"
        await _pg_admin(f'CREATE DATABASE "{name}"')
        new_url = database_url.rsplit("/", 1)[0] + "/" + name
        drop = f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'
    try:
        code, out = await _cli(new_url, "restore", str(path), cwd=tmp_path)
        assert code == 0, out
        assert await _rows(new_url) == before
        if drop is None:  # an existing file is not overwritten by accident
            with pytest.raises(BackupError, match="--force"):
                restore(new_url, str(path))
        with pytest.raises(BackupError, match="no backup file"):
            restore(new_url, str(tmp_path / "missing.backup"))
    finally:
        if drop:
            from tests.conftest import _pg_admin

            await _pg_admin(drop)
