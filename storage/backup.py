"""Backups people can restore: ``python3 run_bot.py db backup PATH`` and ``db restore PATH``.

SQLite: the online backup API (a consistent copy while the bot runs, WAL included).
PostgreSQL: ``pg_dump --format=custom`` / ``pg_restore --clean --if-exists --no-owner``, the
documented lines (run here when the client tools are installed; printed otherwise).
"""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
from pathlib import Path

from sqlalchemy.engine import make_url


class BackupError(Exception):
    """One line for the operator."""


def _libpq_dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def pg_dump_command(url: str, path: str) -> list[str]:
    return ["pg_dump", "--format=custom", "--no-owner", f"--file={path}", f"--dbname={_libpq_dsn(url)}"]


def pg_restore_command(url: str, path: str) -> list[str]:
    return [
        "pg_restore",
        "--clean",
        "--if-exists",
        "--no-owner",
        "--exit-on-error",
        f"--dbname={_libpq_dsn(url)}",
        path,
    ]


def _run(cmd: list[str]) -> None:
    if shutil.which(cmd[0]) is None:
        shown = " ".join(c if not c.startswith("--dbname=") else "--dbname=$DATABASE_URL" for c in cmd)
        raise BackupError(f"{cmd[0]} is not installed (apt install postgresql-client); run: {shown}")
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise BackupError(f"{cmd[0]} failed: {' '.join(proc.stderr.split())[:400]}")


def backup(url: str, path: str) -> None:
    target = Path(path)
    if target.exists():
        raise BackupError(f"{path} exists already; name a new file")
    if not target.parent.is_dir():
        raise BackupError(f"{target.parent} is not a directory")
    u = make_url(url)
    if u.drivername.startswith("sqlite"):
        src_path = u.database or ""
        if not Path(src_path).is_file():
            raise BackupError(f"no database at {src_path}")
        _copy(sqlite3.connect(f"file:{src_path}?mode=ro", uri=True), target)
        return
    _run(pg_dump_command(url, path))


def _copy(src: sqlite3.Connection, target: Path | str) -> None:
    """SQLite's online backup of ``src`` into the file ``target``; both connections closed after."""
    dst = sqlite3.connect(target)
    try:
        src.backup(dst)
    finally:
        dst.close()
        src.close()


def restore(url: str, path: str, *, force: bool = False) -> None:
    source = Path(path)
    if not source.is_file():
        raise BackupError(f"no backup file at {path}")
    u = make_url(url)
    if u.drivername.startswith("sqlite"):
        dst_path = Path(u.database or "")
        if dst_path.exists() and dst_path.stat().st_size and not force:
            raise BackupError(f"{dst_path} exists; stop the bot and add --force to overwrite it")
        dst_path.parent.mkdir(parents=True, exist_ok=True)
        src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
        try:
            if src.execute("PRAGMA integrity_check").fetchone()[0] != "ok":
                raise BackupError(f"{path} is damaged (integrity check failed)")
        except sqlite3.DatabaseError as exc:
            src.close()
            raise BackupError(f"{path} is not a SQLite backup ({exc})") from None
        _copy(src, dst_path)
        return
    _run(pg_restore_command(url, path))
