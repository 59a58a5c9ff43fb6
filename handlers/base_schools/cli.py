"""``python3 run_bot.py base-schools import FILE [--year 2026] [--dry-run]``: load the base-school list.

FILE is YAML (``{year: 2026, schools: [{学校: …, 设区市: …, …}]}`` or a list of rows) or xlsx/CSV with
a header row (年度, 学校, 设区市, 县(市、区), 学科(专业), 空间编号, 项目负责人[, 教师数, 精品空间, 特色空间]).
Prints one line per rejected row (第 N 行：原因) and a summary; valid rows are saved. Exit code 0 when
the file was processed (even with rejected rows), 2 when it could not be used at all.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import yaml

from domain.base_schools import RowError, parse_schools, rows_from_yaml
from handlers.feature import Subparsers
from storage.forms.base_school_form import ListFileError, read_school_list
from storage.repositories.core import Auditor


def read_list(path: Path) -> tuple[list[tuple[int, Any]], int | None, str]:
    """(numbered rows, default year, the word for a row) or ListFileError."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ListFileError(f"读不到文件 {path}（{exc.strerror or exc}）") from None
    if path.suffix.lower() in (".yaml", ".yml"):
        try:
            rows, year = rows_from_yaml(yaml.safe_load(data.decode("utf-8-sig")))
        except (yaml.YAMLError, UnicodeDecodeError):
            raise ListFileError("YAML 格式错误，请检查缩进和冒号") from None
        except RowError as exc:
            raise ListFileError(exc.reason) from None
        return rows, year, "项"
    return read_school_list(data, path.name), None, "行"


async def cmd_import(args: argparse.Namespace) -> int:
    from domain.regions import load_default_regions
    from run_bot import load_settings_or_exit
    from storage.db import Database
    from storage.migrate import upgrade
    from storage.repositories.base_schools import BaseSchoolRepository

    path = Path(args.file)
    try:
        rows, year, word = read_list(path)
    except ListFileError as exc:
        print(f"错误：{exc}", file=sys.stderr)
        return 2
    tree = load_default_regions()
    good, bad = parse_schools(rows, tree, args.year or year)
    for n, reason in bad:
        print(f"第 {n} {word}：{reason}")
    settings = load_settings_or_exit()
    await upgrade(settings.resolved_database_url)
    db = Database(settings.resolved_database_url)
    try:
        from bot.clock import SystemClock

        now = SystemClock(settings.tz).now()
        async with db.unit_of_work() as uow:
            added, updated, same = await uow.repo(BaseSchoolRepository).upsert(good, tree.province, now)
            await uow.audit.record(
                Auditor.cli(now).entry(
                    "base_schools.import",
                    "base_school_list",
                    path.name,
                    after={"added": added, "updated": updated, "rejected": len(bad)},
                    territory=tree.province,
                )
            )
            if args.dry_run:
                await uow.rollback()  # a dry run reports, saves nothing
    finally:
        await db.dispose()
    years = "、".join(str(y) for y in sorted({s.year for s in good})) or "—"
    note = "（试运行，未保存）" if args.dry_run else ""
    print(f"基地校名单（{years}年）：新增 {added}，更新 {updated}，未变 {same}，未导入 {len(bad)}。{note}")
    return 0


def register(subparsers: Subparsers) -> None:
    p = subparsers.add_parser("base-schools", help="基地校：导入名单")
    sub = p.add_subparsers(dest="base_cmd", required=True)
    imp = sub.add_parser("import", help="导入基地校名单（YAML、xlsx 或 CSV）")
    imp.add_argument("file")
    imp.add_argument("--year", type=int, default=None, help="文件没有年度列时的年度，如 2026")
    imp.add_argument("--dry-run", action="store_true", help="只检查，不保存")
    imp.set_defaults(func=cmd_import)
