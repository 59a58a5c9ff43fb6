"""``python3 run_bot.py reviews …``:

    reviews import FILE        resources from CSV or xlsx (columns: 外部编号, 资源名称, 资源类型, 类别, 学段,
                               学科, 教材版本, 章节, 链接, 征集活动, 提交人账号, 提交人, 学校, 县区, 设区市)
                               — the API's checks
    reviews feedback FILE      platform feedback (资源编号/resource_id, 评分/rating or 评价/like,
                               点击/clicks, 下载/downloads)
    reviews calls FILE.yaml    create or change calls (征集活动) from a YAML file (see domain/data/review.yaml)

One line per refused row (第 N 行「字段」…：怎么改) and a summary; exit 0 when the file was processed, 2 when
it could not be used at all.
"""

from __future__ import annotations

import sys
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from storage.repositories.core import Auditor


async def _setup(args):
    from handlers.scores.cli import _clock_now, _open_db

    settings, db = await _open_db(args)
    return settings, db, _clock_now(settings)


def _rows(path: str):
    from handlers.scores.cli import FileProblem, read_rows

    try:
        rows = read_rows(Path(path))
    except FileProblem as exc:
        print(f"错误：{exc}", file=sys.stderr)
        return None
    return rows


async def _with_rows(args, work: Callable[[Any, list[tuple[int, dict]], datetime], Awaitable[Any]]) -> Any:
    """The rows of ``args.file``, then ``work(uow, rows, now)`` in one unit of work; None when the file
    cannot be used (the reason is printed)."""
    rows = _rows(args.file)
    if rows is None:
        return None
    _settings, db, now = await _setup(args)
    try:
        async with db.unit_of_work() as uow:
            return await work(uow, rows, now)
    finally:
        await db.dispose()


def _print_refusals(report) -> None:
    for _i, reason in report.rejected:
        print(reason)


async def cmd_import(args) -> int:
    from domain.regions import load_default_regions
    from domain.review.calls import load_config
    from handlers.review.intake import ingest

    async def work(uow, rows, now):
        items, numbers = [r for _n, r in rows], [n for n, _r in rows]
        cfg, tree = load_config(), load_default_regions()
        return await ingest(uow, cfg, tree, items, now, actor=("cli", "命令行导入"), rows=numbers)

    report = await _with_rows(args, work)
    if report is None:
        return 2
    _print_refusals(report)
    print(
        f"共 {report.received} 行：新增 {report.accepted}，更新 {report.updated}，未变 {report.duplicates}，"
        f"退回 {len(report.rejected)}"
    )
    return 0


async def cmd_feedback(args) -> int:
    from handlers.review.stats import ingest_feedback

    async def work(uow, rows, now):
        return await ingest_feedback(uow, [r for _n, r in rows], now, rows=[n for n, _r in rows])

    report = await _with_rows(args, work)
    if report is None:
        return 2
    _print_refusals(report)
    print(f"共 {report.received} 行：记录 {report.accepted}，退回 {len(report.rejected)}")
    return 0


async def cmd_calls(args) -> int:
    from domain.review.calls import CallError, load_calls_file
    from storage.repositories.review import ReviewRepository

    try:
        calls = load_calls_file(Path(args.file).read_text("utf-8"))
    except (OSError, CallError) as exc:
        print(f"错误：{exc}", file=sys.stderr)
        return 2
    _settings, db, now = await _setup(args)
    try:
        async with db.unit_of_work() as uow:
            for c in calls:
                before, after = await uow.repo(ReviewRepository).save_call(c, now)
                await uow.audit.record(
                    Auditor.cli(now).entry(
                        "review.call_save",
                        "review_call",
                        after.id,
                        after={"name": after.name, "levels": after.pipeline},
                    )
                )
                print(f"{'已更新' if before else '已新建'}：{after.name}（{after.pipeline}，截止 {after.deadline}）")
    finally:
        await db.dispose()
    return 0


def register(subparsers) -> None:
    p = subparsers.add_parser("reviews", help="资源审核：导入资源、平台反馈、征集活动")
    sub = p.add_subparsers(dest="reviews_cmd", required=True)
    for name, fn, help_ in (
        ("import", cmd_import, "导入待审资源（CSV 或 xlsx）"),
        ("feedback", cmd_feedback, "导入平台反馈（评分、点赞、点击、下载）"),
        ("calls", cmd_calls, "从 YAML 文件新建或修改征集活动"),
    ):
        q = sub.add_parser(name, help=help_)
        q.add_argument("file")
        q.set_defaults(func=fn)
