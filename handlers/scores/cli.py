"""``python3 run_bot.py scores …``: teacher list and activity import, rule files, rebuild.

    scores teachers FILE            import the teacher list (CSV or xlsx: 账号, 姓名, 学校, 县(市、区), 设区市)
    scores activity FILE            import activity (CSV/xlsx with account, action, time[, event_id, detail or
                                    detail columns], or JSON array / NDJSON) — same checks as the HTTP API
    scores rules check FILE         check a rule file (YAML); errors name the line
    scores rules load FILE          make it the active rule set and recompute all totals
    scores rules default            go back to the built-in table (seed 001) and recompute
    scores rules show               print the active rule set
    scores rebuild                  recompute all totals from the stored events

Every command prints one line per rejected row (第 N 行：原因) and a summary; exit code 0 when the
file was processed (even with rejected rows), 2 when it could not be used at all.
"""

from __future__ import annotations

import argparse
import csv
import io
import sys
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from domain.scores import RuleFileError, default_rules, load_rules
from handlers.feature import Subparsers

if TYPE_CHECKING:
    from bot.config import Settings
    from storage.db import Database


class FileProblem(Exception):
    """The file cannot be read at all (message in Chinese)."""


def _decode(data: bytes) -> str:
    for enc in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(enc)
        except UnicodeDecodeError:
            continue
    raise FileProblem("文件编码无法识别，请另存为 UTF-8 的 CSV")


def read_rows(path: Path) -> list[tuple[int, dict[str, Any]]]:
    """(row number in the file, {header: value}) for CSV or xlsx; blank rows skipped."""
    name = path.name.lower()
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise FileProblem(f"读不到文件 {path}（{exc.strerror or exc}）") from None
    if name.endswith((".xlsx", ".xlsm")) or data[:2] == b"PK":
        try:
            from openpyxl import load_workbook

            wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        except Exception:
            raise FileProblem("无法读取 xlsx 文件，请确认文件没有损坏") from None
        ws = wb.worksheets[0]
        grid = [(i, list(r)) for i, r in enumerate(ws.iter_rows(values_only=True), start=1)]
        wb.close()
    elif name.endswith(".xls"):
        raise FileProblem("不支持旧版 .xls，请在 Excel 中另存为 .xlsx 或 CSV")
    else:
        text = _decode(data)
        dialect = "excel-tab" if text.split("\n", 1)[0].count("\t") > text.split("\n", 1)[0].count(",") else "excel"
        grid = [(i, r) for i, r in enumerate(csv.reader(io.StringIO(text), dialect=dialect), start=1)]
    grid = [
        (i, ["" if v is None else v for v in r]) for i, r in grid if any(str(v).strip() for v in r if v is not None)
    ]
    if not grid:
        raise FileProblem("文件没有内容")
    _header_no, header = grid[0]
    keys = [str(h).strip().replace("\ufeff", "") for h in header]
    out = []
    for i, r in grid[1:]:
        row = {}
        for k, v in zip(keys, r, strict=False):
            if k:
                row[k] = v.strip() if isinstance(v, str) else v
        out.append((i, row))
    return out


def read_activity(path: Path) -> tuple[list[Any], list[int]]:
    """Items and their row (or line) numbers; JSON array, NDJSON, CSV or xlsx."""
    name = path.name.lower()
    if name.endswith((".json", ".ndjson", ".jsonl")):
        from bot.http import parse_json_items as parse_body

        try:
            items, bad = parse_body(path.read_bytes())
        except ValueError as exc:
            raise FileProblem(str(exc)) from None
        except OSError as exc:
            raise FileProblem(f"读不到文件 {path}（{exc.strerror or exc}）") from None
        bad_idx = {i for i, _r in bad}
        return [it if i not in bad_idx else {"__bad__": True} for i, it in enumerate(items)], list(
            range(1, len(items) + 1)
        )
    rows = read_rows(path)
    items = []
    for _n, row in rows:
        item = {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in row.items() if v not in (None, "")}
        items.append(item)
    return items, [n for n, _r in rows]


async def _open_db(args: argparse.Namespace) -> tuple[Settings, Database]:
    from run_bot import load_settings_or_exit
    from storage.db import Database
    from storage.migrate import upgrade

    settings = load_settings_or_exit()
    await upgrade(settings.resolved_database_url)
    return settings, Database(settings.resolved_database_url)


def _clock_now(settings: Settings) -> datetime:
    from bot.clock import SystemClock

    return SystemClock(settings.tz).now()


async def cmd_teachers(args: argparse.Namespace) -> int:
    from domain.regions import RegionLevel, load_default_regions
    from domain.scores.activity import ItemError, TeacherRow, parse_teacher
    from storage.repositories.scores import TeacherRepository

    path = Path(args.file)
    try:
        rows = read_rows(path)
    except FileProblem as exc:
        print(f"错误：{exc}", file=sys.stderr)
        return 2
    tree = load_default_regions()
    good: list[TeacherRow] = []
    bad: list[tuple[int, str]] = []
    seen: dict[str, int] = {}
    for n, row in rows:
        try:
            t = parse_teacher(row)
        except ItemError as exc:
            bad.append((n, exc.reason))
            continue
        c = tree.city(t.city) or tree.match(t.city, levels=(RegionLevel.CITY,)).region
        if c is None:
            bad.append((n, f"设区市“{t.city}”不在{tree.province}"))
            continue
        k = tree.county(c.name, t.county) or tree.match(t.county, city=c.name, levels=(RegionLevel.COUNTY,)).region
        if k is None:
            bad.append((n, f"县(市、区)“{t.county}”不属于{c.name}"))
            continue
        if t.account in seen:
            bad.append((n, f"账号“{t.account}”与第 {seen[t.account]} 行重复"))
            continue
        seen[t.account] = n
        good.append(TeacherRow(t.account, t.name, t.school, k.name, c.name))
    settings, db = await _open_db(args)
    try:
        async with db.unit_of_work() as uow:
            added, updated, same = await uow.repo(TeacherRepository).upsert(good, _clock_now(settings))
    finally:
        await db.dispose()
    for n, reason in bad:
        print(f"第 {n} 行：{reason}")
    print(f"教师名单：新增 {added}，更新 {updated}，未变 {same}，未导入 {len(bad)}。")
    return 0


async def cmd_activity(args: argparse.Namespace) -> int:
    from handlers.scores.service import ScoresRuntime, ingest

    path = Path(args.file)
    try:
        items, numbers = read_activity(path)
    except FileProblem as exc:
        print(f"错误：{exc}", file=sys.stderr)
        return 2
    settings, db = await _open_db(args)
    try:
        from handlers.base_schools.feed import route_activity  # base-school action codes go there

        rest, merge_base = await route_activity(db, items, _clock_now(settings))
        report = await ingest(db, ScoresRuntime(), rest, _clock_now(settings))
        merge_base(report)
    finally:
        await db.dispose()
    word = "行" if not path.name.lower().endswith(".json") else "项"
    for i, reason in report.rejected:
        if isinstance(items[i], dict) and items[i].get("__bad__"):
            reason = "不是有效的 JSON"
        print(f"第 {numbers[i]} {word}：{reason}")
    print(
        f"活动记录：共 {report.received}，新计入 {report.accepted}，重复 {report.duplicates}，"
        f"未计入 {len(report.rejected)}。"
    )
    return 0


async def cmd_rules(args: argparse.Namespace) -> int:
    from domain.scores import Engine
    from storage.repositories.scores import RuleSetRepository, ScoreRepository

    if args.rules_cmd == "check":
        try:
            rules = load_rules(args.file)
        except RuleFileError as exc:
            print(f"错误：{exc}", file=sys.stderr)
            return 2
        print(describe_rules(rules))
        return 0
    settings, db = await _open_db(args)
    try:
        async with db.unit_of_work() as uow:
            repo = uow.repo(RuleSetRepository)
            if args.rules_cmd == "show":
                _id, rules = await repo.active()
                print(describe_rules(rules))
                return 0
            if args.rules_cmd == "load":
                path = Path(args.file)
                try:
                    text = path.read_text(encoding="utf-8")
                    _id, rules = await repo.load(text, path.name, "cli", _clock_now(settings))
                except (OSError, UnicodeDecodeError) as exc:
                    print(f"错误：读不到文件 {path}（{exc}）", file=sys.stderr)
                    return 2
                except RuleFileError as exc:
                    print(f"错误：{exc}", file=sys.stderr)
                    return 2
            else:  # default
                await repo.reset_default()
                rules = default_rules()
            n = await uow.repo(ScoreRepository).rebuild_totals(Engine(rules))
        print(describe_rules(rules))
        print(f"已启用，并按新规则重算了 {n} 位教师的积分。运行中的机器人会在下一条消息时改用新规则。")
        return 0
    finally:
        await db.dispose()


async def cmd_rebuild(args: argparse.Namespace) -> int:
    from handlers.scores.service import ScoresRuntime
    from storage.repositories.scores import ScoreRepository

    _settings, db = await _open_db(args)
    try:
        runtime = ScoresRuntime()
        async with db.unit_of_work() as uow:
            engine = await runtime.refresh(uow)
            n = await uow.repo(ScoreRepository).rebuild_totals(engine)
        print(f"已重算 {n} 位教师的积分。")
        return 0
    finally:
        await db.dispose()


def describe_rules(rules) -> str:
    lines = [
        f"规则集：{rules.name}（时区 {rules.timezone}，积分年度从 {rules.year_start[0]}月{rules.year_start[1]}日起）"
    ]
    for r in rules.rules:
        cond = (
            "；条件：" + (" 或 " if r.match == "any" else " 且 ").join(str(c) for c in r.conditions)
            if r.conditions
            else ""
        )
        caps = "、".join(c.label() for c in r.caps) or "不限"
        lines.append(
            f"- {r.group}/{r.name}（{r.code}）：{r.points_label()}，上限 {caps}；动作 {', '.join(r.actions)}{cond}"
        )
    return "\n".join(lines)


def register(subparsers: Subparsers) -> None:
    p = subparsers.add_parser("scores", help="积分：导入教师名单、活动记录，规则文件，重算")
    sub = p.add_subparsers(dest="scores_cmd", required=True)
    t = sub.add_parser("teachers", help="导入教师名单（CSV 或 xlsx：账号、姓名、学校、县(市、区)、设区市）")
    t.add_argument("file")
    t.set_defaults(func=cmd_teachers)
    a = sub.add_parser("activity", help="导入活动记录（CSV、xlsx、JSON 数组或 NDJSON）")
    a.add_argument("file")
    a.set_defaults(func=cmd_activity)
    r = sub.add_parser("rules", help="积分规则文件")
    rs = r.add_subparsers(dest="rules_cmd", required=True)
    for name, help_ in (("check", "检查规则文件"), ("load", "启用规则文件并重算")):
        q = rs.add_parser(name, help=help_)
        q.add_argument("file")
        q.set_defaults(func=cmd_rules)
    rs.add_parser("default", help="恢复内置规则（seed 001）并重算").set_defaults(func=cmd_rules)
    rs.add_parser("show", help="显示当前规则").set_defaults(func=cmd_rules)
    sub.add_parser("rebuild", help="按当前规则重算所有积分").set_defaults(func=cmd_rebuild)
