"""/导出 (download links) and ``python run_bot.py roster import|export``.

``/导出 <种类> [城市]`` dispatches on the export kinds the features declare (``EXPORTS = [ExportKind(...)]``
beside their code, listed in handlers/features.py), so another feature adds a kind (e.g. the 附件3
recommendation form) without declaring a second /导出. ``ExportKind.run`` is ``async def run(ctx, where) -> Reply``.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from bot.commands import Arg, ArgError, Args, Router
from bot.context import Context
from bot.errors import UserError
from bot.replies import Reply
from domain.regions import RegionLevel, RegionTree
from domain.roster import SECTIONS, Member, Status, province_completion
from domain.roster.config import RosterConfig
from domain.territory import Level, Territory
from handlers.downloads import form_links
from handlers.feature import ExportKind, Subparsers
from handlers.permissions import OPERATOR
from handlers.roster.common import (
    ACTION_LABELS,
    MEMBER,
    ROLE_GROUPS,
    config,
    held,
    regions,
)
from handlers.roster.submission import form_header, roster_header
from handlers.roster.views import managed_city
from storage.forms import FormData, FormSpec, SectionSpec, write_docx, write_xlsx
from storage.forms.docx_io import write_docx_many
from storage.forms.roster_form import roster_form_data, roster_form_spec, write_roster_docx, write_roster_xlsx
from storage.forms.xlsx_io import write_xlsx_book
from storage.repositories.roster import RosterRepository

if TYPE_CHECKING:
    from bot.app import BotApp

router = Router("roster-export", section="审批与管理")


def export_kind(value: str) -> ExportKind:
    from handlers.features import export_kinds  # the explicit feature list imports this module

    kinds = export_kinds()
    kind = kinds.get(value.strip().lower())
    if kind is None:
        names = list(dict.fromkeys(k.name for k in kinds.values()))
        raise ArgError("以下之一：" + "、".join(names))
    return kind


# --- the files --------------------------------------------------------------------------------


def roster_files(
    tree: RegionTree, cfg: RosterConfig, members: list[Member], header: dict[str, str]
) -> tuple[bytes, bytes]:
    spec = roster_form_spec(rules=cfg.quotas)
    return (
        write_roster_xlsx(members, header, tree=tree, spec=spec),
        write_roster_docx(members, header, tree=tree, spec=spec),
    )


CHANGES_FORM = FormSpec(
    title="教育资源公共服务体系服务队伍人员调整情况表",
    attachment="",
    sheet_name="人员调整",
    sections=(
        SectionSpec(
            "changes", "人员调整", ("时间", "操作", "角色", "县(市、区)", "姓名", "变更内容", "原因", "操作人")
        ),
    ),
    notes=("注：后续人员如有调整，设区市须及时书面告知省教育技术中心。",),
)


def change_rows(entries, members: dict[int, Member], tz) -> list[list[str]]:
    rows = []
    for e in sorted(entries, key=lambda e: (e.at, e.id)):
        m = members.get(int(e.entity_id)) if e.entity_id.isdigit() else None
        before, after = e.before or {}, e.after or {}
        labels = {c.key: c.label for c in SECTIONS[m.role].columns} if m else {}
        if e.action == "roster.update":
            detail = "；".join(
                f"{labels.get(k, k)}：{before.get(k, '') or '（空）'}→{after.get(k, '') or '（空）'}"
                for k in after
                if k != "status"
            )
        elif e.action in ("roster.register", "roster.import"):
            detail = "新登记"
        elif e.action == "roster.remove":
            detail = "注销"
        elif "status" in after:
            detail = f"状态：{_status(before.get('status'))}→{_status(after.get('status'))}"
        else:
            detail = ACTION_LABELS.get(e.action, e.action)
        rows.append(
            [
                e.at.astimezone(tz).strftime("%Y-%m-%d %H:%M"),
                ACTION_LABELS.get(e.action, e.action),
                m.role.label if m else "",
                m.county_label if m else "",
                m.name if m else "",
                detail,
                e.reason or "",
                e.actor_name or e.actor_id,
            ]
        )
    return rows


def _status(value: str | None) -> str:
    try:
        return Status(value).label
    except ValueError:
        return value or ""


def _wants_province(tree: RegionTree, where: str | None) -> bool:
    return where is not None and where.strip() in ("全省", "省", tree.province)


def province_files(
    tree: RegionTree, cfg: RosterConfig, members: list[Member], headers: dict[str, dict[str, str]]
) -> tuple[bytes, bytes]:
    """The province's 附件1: a workbook with a summary sheet and one sheet per city, and one printable docx."""
    spec = roster_form_spec(rules=cfg.quotas)
    cities = province_completion(tree, members, cfg.quotas)
    summary = [
        [
            c.city,
            len(c.territories),
            c.complete_count,
            c.required,
            c.filled,
            c.required - c.filled,
            f"已齐 {c.complete_count}/{len(c.territories)} 个地区",
        ]
        for c in cities
    ]
    by_city = {c.city: [m for m in members if m.city == c.city] for c in cities}
    forms = [(c.city, roster_form_data(by_city[c.city], headers[c.city], tree)) for c in cities]
    xlsx = write_xlsx_book(
        f"{tree.province}服务队伍名单汇总",
        ["城市", "地区数", "已齐地区", "最低名额", "已登记", "缺额", "完成情况"],
        summary,
        [(city, spec, data) for city, data in forms],
    )
    return xlsx, write_docx_many(spec, [data for _city, data in forms])


async def export_province(ctx: Context) -> Reply:
    tree, cfg = regions(ctx.services), config(ctx.services)
    province = Territory(tree.province)
    members = await ctx.uow.repo(RosterRepository).in_territory(province, statuses=(Status.ACTIVE.value,))
    headers = {c.name: await form_header(ctx, c.name) for c in tree.cities}
    xlsx, docx = await asyncio.to_thread(province_files, tree, cfg, members, headers)
    links = await form_links(ctx, f"{tree.province}-附件1", xlsx, docx)
    await ctx.audit(
        "roster.export", "roster_export", province.path, after={"count": len(members)}, territory=province.path
    )
    return Reply(
        "roster/exported",
        {
            "what": "服务队伍汇总表（附件1，含汇总表和各市分表）",
            "city": tree.province,
            "count": len(members),
            "links": links,
        },
        private=True,
    )


async def export_roster(ctx: Context, where: str | None) -> Reply:
    tree, cfg = regions(ctx.services), config(ctx.services)
    scope = await held(ctx)
    if _wants_province(tree, where):
        if not any(t.level is Level.PROVINCE for t in scope):
            raise UserError("roster/outside", seat=tree.province, scope=[s.label for s in scope], registering=False)
        return await export_province(ctx)
    city = await managed_city(ctx, where)
    members = await ctx.uow.repo(RosterRepository).in_territory(city, statuses=(Status.ACTIVE.value,))
    assert city.city is not None  # managed_city gives a city
    header = await form_header(ctx, city.city)
    xlsx, docx = await asyncio.to_thread(roster_files, tree, cfg, members, header)
    links = await form_links(ctx, f"{city.city}-附件1", xlsx, docx)
    await ctx.audit("roster.export", "roster_export", city.path, after={"count": len(members)}, territory=city.path)
    return Reply(
        "roster/exported",
        {"what": "服务队伍汇总表（附件1）", "city": city.city, "count": len(members), "links": links},
        private=True,
    )


async def export_changes(ctx: Context, where: str | None) -> Reply:
    city = await managed_city(ctx, where)
    entries = await ctx.uow.audit.list(entity=MEMBER, territory_prefix=city.path, limit=100_000)
    members = await ctx.uow.repo(RosterRepository).get_many(int(e.entity_id) for e in entries if e.entity_id.isdigit())
    data = FormData(
        header={
            "报送单位": f"{city.city}教育技术中心",
            "联系人姓名": ctx.actor.name,
            "报送日期": ctx.now().date().isoformat(),
        },
        sections={"changes": change_rows(entries, members, ctx.clock.tz)},
    )
    xlsx = await asyncio.to_thread(write_xlsx, CHANGES_FORM, data)
    docx = await asyncio.to_thread(write_docx, CHANGES_FORM, data)
    links = await form_links(ctx, f"{city.city}-人员调整", xlsx, docx)
    return Reply(
        "roster/exported",
        {"what": "人员调整情况表", "city": city.city, "count": len(entries), "links": links},
        private=True,
    )


EXPORTS = [
    ExportKind("名单", ("roster", "附件1", "汇总表"), "服务队伍汇总表（附件1）", export_roster),
    ExportKind("变更", ("changes", "人员调整", "变更记录"), "人员调整情况表", export_changes),
]


@router.command(
    "导出",
    alias="export",
    groups=ROLE_GROUPS,
    permission=OPERATOR,
    help="导出名单、变更表或推荐表（单聊发下载链接）",
    args=[
        Arg("种类", "kind", export_kind, help="名单 或 变更"),
        Arg("城市", "where", required=False, greedy=True, help="不写为你管辖的城市"),
    ],
    examples=("/导出 名单", "/导出 名单 杭州市", "/导出 变更 杭州市"),
)
async def export(ctx: Context, args: Args) -> Reply:
    return await args.value("kind", ExportKind).run(ctx, args.optional("where", str))


# --- command line ----------------------------------------------------------------------------------


def register_cli(subparsers: Subparsers) -> None:
    p = subparsers.add_parser("roster", help="roster (附件1): import a filled workbook, export a city")
    sub = p.add_subparsers(dest="roster_cmd", required=True)
    imp = sub.add_parser("import", help="register the rows of a filled 附件1 (.xlsx or .docx) for a city")
    imp.add_argument("file", help="FILE.xlsx")
    imp.add_argument("--city", required=True, help="the city the form is for, e.g. 杭州市")
    imp.add_argument("--all-or-nothing", action="store_true", help="save nothing unless every row is valid")
    imp.add_argument("--dry-run", action="store_true", help="check only, save nothing")
    imp.set_defaults(func=cli_import)
    exp = sub.add_parser("export", help="write a city's 附件1 as .xlsx or .docx")
    exp.add_argument("--city", required=True, help="e.g. 杭州市")
    exp.add_argument("--format", choices=("xlsx", "docx"), default="xlsx")
    exp.add_argument("--out", help="output file (default: <城市>-附件1.<format>)")
    exp.add_argument("--contact", default="", help="联系人姓名 in the header")
    exp.set_defaults(func=cli_export)


async def _open_db():
    from run_bot import load_settings_or_exit
    from storage.db import Database
    from storage.migrate import upgrade

    settings = load_settings_or_exit()
    await upgrade(settings.resolved_database_url)
    return settings, Database(settings.resolved_database_url)


def _cli_setup(city_name: str):
    """(config, region tree, city) for a CLI command; None after printing one error line."""
    from domain.roster.config import RosterConfigError, load_roster_config
    from run_bot import load_settings_or_exit

    try:
        cfg = load_roster_config(load_settings_or_exit().roster_config or None)
        tree = cfg.load_regions()
    except (RosterConfigError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return None
    m = tree.match(city_name, levels=(RegionLevel.CITY,))
    if m.region is None:
        print(f"error: {city_name} 不是{tree.province}的设区市", file=sys.stderr)
        return None
    return cfg, tree, m.region.name


async def cli_import(args: argparse.Namespace) -> int:
    from bot.clock import SystemClock
    from handlers.roster.common import register_rows
    from storage.forms.roster_form import FormReadError, read_roster

    setup = _cli_setup(args.city)
    if setup is None:
        return 2
    cfg, tree, city = setup
    path = Path(args.file)
    try:
        data = path.read_bytes()
        form = read_roster(data, path.name)
    except OSError as exc:
        print(f"error: cannot read {path}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    except FormReadError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    settings, db = await _open_db()
    report = None
    try:
        async with db.unit_of_work() as uow:
            report = await register_rows(
                uow,
                tree,
                cfg,
                form.rows,
                scope=[Territory(tree.province, city)],
                city=city,
                actor_id="cli",
                actor_name="命令行导入",
                now=SystemClock(settings.tz).now(),
                all_or_nothing=args.all_or_nothing,
            )
            if args.dry_run:
                await uow.rollback()  # a dry run reports, saves nothing
    except UserError:
        print("error: 并发登记冲突（他人同时在登记），请重试", file=sys.stderr)
        return 1
    finally:
        await db.dispose()
    print(format_report(report, city, dry_run=args.dry_run))
    return 0 if not report.rejected else 1


def format_report(report, city: str, *, dry_run: bool = False) -> str:
    lines = []
    errors_by_row: dict[int, list] = {}
    for e in report.errors:
        errors_by_row.setdefault(e.row, []).append(e)
    for r in report.results:
        who = r.name or "（无姓名）"
        if r.ok:
            lines.append(f"第{r.row}行 {r.role.label} {who}：通过")
        else:
            for e in errors_by_row.get(r.row, []):
                lines.append(f"{e.text}（{who}）")
    saved = len(report.saved)
    if dry_run:
        tail = (
            f"{city}：共{len(report.results)}行，{len(report.accepted)}行通过，"
            f"{len(report.rejected)}行有问题（试运行，未保存）"
        )
    elif report.all_or_nothing and report.rejected:
        tail = f"{city}：共{len(report.results)}行，{len(report.rejected)}行有问题；按“全部或不导”，一行也没有保存"
    else:
        tail = f"{city}：共{len(report.results)}行，已登记{saved}行，{len(report.rejected)}行有问题"
    return "\n".join([*lines, tail])


async def cli_export(args: argparse.Namespace) -> int:
    from bot.clock import SystemClock

    setup = _cli_setup(args.city)
    if setup is None:
        return 2
    cfg, tree, city = setup
    settings, db = await _open_db()
    try:
        async with db.unit_of_work() as uow:
            members = await uow.repo(RosterRepository).in_territory(
                Territory(tree.province, city), statuses=(Status.ACTIVE.value,)
            )
    finally:
        await db.dispose()
    header = roster_header(city, args.contact, SystemClock(settings.tz).now().date().isoformat())
    spec = roster_form_spec(rules=cfg.quotas)
    if args.format == "xlsx":
        data = write_roster_xlsx(members, header, tree=tree, spec=spec)
    else:
        data = write_roster_docx(members, header, tree=tree, spec=spec)
    out = Path(args.out or f"{city}-附件1.{args.format}")
    out.write_bytes(data)
    print(f"{city}：{len(members)}人 → {out}")
    return 0


# --- start-up ------------------------------------------------------------------------------------------


async def on_startup(bot: BotApp) -> None:
    # Load the roster configuration and region tree now: a bad file stops start-up with its line and reason.
    # openpyxl (which pulls numpy when installed) and python-docx are NOT imported here: they cost ~25 MB
    # of resident memory for the bot's whole life; the first /导出 imports them in its worker thread.
    regions(bot.services)
