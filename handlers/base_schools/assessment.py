"""The November assessment: every school's figures for the assessment year and the provincial ranking;
the job that posts it (no personal data) to the admin group; ``/导出 基地校考核`` as xlsx + docx."""

from __future__ import annotations

import asyncio
import re
from datetime import date
from typing import Any

from bot.context import Context
from bot.errors import UserError
from bot.replies import Reply
from domain.base_schools import BaseSchool, Definitions, Period, Ranked
from handlers.base_schools.common import (
    compute,
    definitions,
    ranked,
    ranking_view,
    resolve_city,
    visibility,
)
from handlers.downloads import form_links
from handlers.feature import ExportKind
from handlers.roster.common import regions
from scheduler import JobContext, JobSpec
from storage.forms.base_school_form import write_assessment_docx, write_assessment_xlsx
from storage.repositories.base_schools import BaseSchoolRepository

PURPOSE = "base-assessment"


def assessment_period(defs: Definitions, year: int) -> Period:
    start, end = defs.assessment_year(year)
    return Period("year", start, end)


def assessment_year_for(defs: Definitions, today: date) -> int:
    """The year whose assessment is current: this year's once its assessment year has begun."""
    start, _end = defs.assessment_year(today.year)
    return today.year if today >= start else today.year - 1


async def assess(
    repo: BaseSchoolRepository, defs: Definitions, year: int, today: date
) -> tuple[Period, list[BaseSchool], list[Ranked]]:
    period = assessment_period(defs, year)
    schools = await repo.schools(year)
    items = await compute(repo, schools, period, today, defs, all_spaces=True)
    return period, schools, ranked(items, defs)


def table_rows(rows: list[Ranked]) -> list[list[str]]:
    out = []
    for r in rows:
        f = r.figures
        cells = [f"{c.indicator.show(c.value)} {'达标' if c.met else '未达标'}" for c in f.checks]
        out.append(
            [
                str(r.rank),
                f.school.name,
                f.school.city,
                f.school.county or "市本级",
                f.school.subject,
                *cells,
                f"{f.met}/{len(f.checks)}",
                str(f.counts.effective_visits),
            ]
        )
    return out


def notes(defs: Definitions, period: Period) -> list[str]:
    return [
        (
            f"注：统计期 {period.start.isoformat()} 至 {period.end.isoformat()}。活跃用户：实名登录访问基地校学科空间、"
            f"访问天数不少于统计期天数的 {defs.day_share:.0%}（平均2天访问1次）。"
            "有效访问量：每位实名访问者每天计 1 次，用于按用付费。"
            "排名为全省排名：先比达标项数，再比活跃用户、有效访问量，完全相同者并列。"
        )
    ]


async def export_assessment(ctx: Context, where: str | None) -> Reply:
    vis = await visibility(ctx)
    if not vis.operator:
        raise UserError("base_schools/export_forbidden")
    defs, today = definitions(ctx.services), ctx.now().date()
    year, city = assessment_year_for(defs, today), None
    for word in (where or "").split():
        if re.fullmatch(r"\d{4}年?", word):
            year = int(word[:4])
            continue
        city = resolve_city(ctx, word, vis)
    if city is None and vis.cities is not None:
        if len(vis.cities) != 1:
            raise UserError("base_schools/need_city", mine=sorted(vis.cities))
        city = next(iter(vis.cities))
    repo = ctx.uow.repo(BaseSchoolRepository)
    period, schools, rows = await assess(repo, defs, year, today)
    if not schools:
        raise UserError("base_schools/no_list")
    rows = [r for r in rows if city is None or r.figures.school.city == city]
    labels = [i.label for i in defs.indicators]
    as_of = min(period.end, today)
    header = {
        "考核单位": f"{city}教育技术中心" if city else "浙江省教育技术中心",
        "考核年度": f"{year}年",
        "统计截至": as_of.isoformat(),
    }
    table = table_rows(rows)
    xlsx = await asyncio.to_thread(write_assessment_xlsx, labels, table, header, notes(defs, period))
    docx = await asyncio.to_thread(write_assessment_docx, labels, table, header, notes(defs, period))
    links = await form_links(ctx, f"{city or '全省'}-基地校考核-{year}", xlsx, docx)
    province = regions(ctx.services).province
    await ctx.audit(
        "base_schools.export",
        "base_school_assessment",
        f"{year}:{city or province}",
        after={"count": len(rows), "year": year},
        territory=f"{province}/{city}" if city else province,
    )
    return Reply(
        "base_schools/exported",
        {"year": year, "where": city or "全省", "count": len(rows), "as_of": as_of.isoformat(), "links": links},
        private=True,
    )


async def november_assessment(job: JobContext) -> dict[str, Any]:
    """On the assessment day: compute the year's figures, remember the ranking, post it to the admin
    group(s) once. Other days: nothing."""
    defs, today = definitions(job.services), job.now().date()
    year = today.year
    if today != defs.assessment_date(year):
        return {"posted": 0}
    repo = job.uow.repo(BaseSchoolRepository)
    if await repo.assessment_done(year):
        return {"posted": 0, "already": True}
    period, schools, rows = await assess(repo, defs, year, today)
    if not schools:
        return {"posted": 0, "schools": 0}
    view = ranking_view(rows, defs)
    groups = await job.uow.groups.for_role("admin")
    if not groups:  # nothing recorded: a run after the group is bound still posts
        return {"posted": 0, "schools": len(view)}
    await repo.record_assessment(year, view, job.now())
    reply = Reply(
        "base_schools/assessment",
        {
            "year": year,
            "rows": view,
            "count": len(view),
            "start": period.start.isoformat(),
            "end": period.end.isoformat(),
        },
    )
    for binding in groups:
        await job.send_to_group(binding.conversation_id, reply, purpose=f"{PURPOSE}:{year}")
    return {"posted": len(groups), "schools": len(view)}


async def assessment_done(uow: Any, year: int) -> bool:
    """The named "done" query for the obligations registry: was the year's assessment run?"""
    return await uow.repo(BaseSchoolRepository).assessment_done(year)


JOBS = [
    JobSpec(
        "base_school_assessment",
        "基地校年度考核：考核日 9:10 计算全省排名并发到管理员群",
        {"hour": 9, "minute": 10},
        november_assessment,
    )
]


EXPORTS = [ExportKind("基地校考核", ("基地校", "baseschools"), "基地校年度考核表", export_assessment)]
