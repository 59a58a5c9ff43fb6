"""附件3: /推荐 and /撤回推荐 by the city operator, /导出 推荐表 (xlsx and docx)."""

from __future__ import annotations

import asyncio
from datetime import date
from typing import Any

from bot.commands import Arg, Args, Router
from bot.context import Context, Mention, Services
from bot.errors import UserError
from bot.replies import Reply
from domain.evaluation import ACHIEVED, CONFIRMED
from domain.roster import Member, Role
from handlers.downloads import form_links
from handlers.evaluation.checklist import member_checklist
from handlers.evaluation.common import first_mention, member_of_mention
from handlers.feature import ExportKind
from handlers.permissions import CITY_OPERATOR
from handlers.roster.submission import form_header
from handlers.scores.people import access_of, regions
from storage.forms.recommendation_form import write_recommendation_docx, write_recommendation_xlsx
from storage.repositories.evaluation import EvaluationRepository
from storage.repositories.roster import RosterRepository

router = Router("evaluation-recommend", section="考核与推荐")


async def form_row(ctx: Context, m: Member, note: str, year: int) -> dict[str, Any]:
    """The 附件3 columns of a member (county, name, … as in storage.forms.recommendation_form.KEYS)."""
    v = m.values
    row: dict[str, Any] = {
        "role": m.role.value,
        "county": m.county_label,
        "name": m.name,
        "mobile": v.get("mobile", ""),
        "note": note,
    }
    if m.role is Role.ADMIN:
        row.update(org=v.get("org", ""), title=v.get("title", ""), post=v.get("post", ""))
    else:
        row.update(
            stage=v.get("stage", ""),
            subject=v.get("subject", ""),
            school=v.get("school", "") or v.get("org", ""),
            title_post=v.get("title_post", ""),
        )
    if m.role is Role.TRAINER:
        url = ""
        for r in await ctx.uow.repo(EvaluationRepository).reports_of(m.user_id or "", year, "trainer"):
            if r.kind == "文章" and r.status == CONFIRMED:
                url = r.fields.get("url", "")
        row["url"] = url or note
    return row


@router.command(
    "推荐",
    alias="recommend",
    help="推荐优秀工作者（附件3），可写备注",
    args=[Arg("对象", "who", help="@某人、姓名或 /名单 里的编号"), Arg("备注", "note", required=False, greedy=True)],
    permission=CITY_OPERATOR,
    examples=("/推荐 @李明 组织培训12场，覆盖教师900人", "/推荐 12 组织培训12场"),
)
async def recommend(ctx: Context, args: Args) -> Reply:
    seat = await _operated_seat(ctx, args)
    year = ctx.now().year
    repo = ctx.uow.repo(EvaluationRepository)
    if await repo.active_recommendation(recommendee(seat), year, seat.role.value):
        return Reply("evaluation/already_recommended", {"name": seat.name, "year": year})
    note = (args.optional("note", str) or "").strip()[:200]
    row = await form_row(ctx, seat, note, year)
    rec = await repo.recommend(
        year=year,
        user_id=recommendee(seat),
        member_name=seat.name,
        role=seat.role.value,
        city=seat.territory.city or "",
        territory=seat.territory.path,
        note=note,
        row=row,
        by=ctx.actor.id,
        now=ctx.now(),
    )
    await ctx.audit(
        "evaluation.recommend",
        "recommendation",
        str(rec.id),
        after={"member": seat.id, "note": note},
        territory=seat.territory.path,
    )
    items = await member_checklist(ctx, seat, year)
    return Reply(
        "evaluation/recommended",
        {
            "name": seat.name,
            "role": seat.role.label,
            "seat": seat.seat_label,
            "year": year,
            "count": len(await repo.recommendations(rec.city, year)),
            "achieved": sum(1 for i in items if i.state == ACHIEVED),
            "total": len(items),
        },
    )


@router.command(
    "撤回推荐",
    alias="unrecommend",
    help="撤回对某人的推荐",
    args=[Arg("对象", "who", help="@某人、姓名或 /名单 里的编号")],
    permission=CITY_OPERATOR,
    examples=("/撤回推荐 @李明", "/撤回推荐 12"),
)
async def unrecommend(ctx: Context, args: Args) -> Reply:
    seat = await _operated_seat(ctx, args)
    year = ctx.now().year
    repo = ctx.uow.repo(EvaluationRepository)
    rec = await repo.active_recommendation(recommendee(seat), year, seat.role.value)
    if rec is None:
        return Reply("evaluation/not_recommended", {"name": seat.name, "year": year})
    await repo.withdraw(rec.id, by=ctx.actor.id, now=ctx.now())
    await ctx.audit(
        "evaluation.unrecommend", "recommendation", str(rec.id), before={"note": rec.note}, territory=rec.territory
    )
    return Reply("evaluation/withdrawn", {"name": seat.name, "year": year})


MEMBER_KEY = "member:"
"""A recommendation of someone who never wrote to the bot is kept under their roster record, not a staff id."""


def recommendee(m: Member) -> str:
    """Who a recommendation is of: the staff id, else the roster record (never shown to anyone)."""
    return m.user_id or f"{MEMBER_KEY}{m.id}"


async def _operated_seat(ctx: Context, args: Args) -> Member:
    """The member of /推荐 and /撤回推荐 (@某人, a name, or a roster record number as /名单 shows it),
    who must be in a city the sender operates."""
    access = await access_of(ctx)
    who = args.value("who", str).strip().lstrip("#＃")
    mention = first_mention(ctx)
    if mention is None and who.isdigit():
        found = await ctx.uow.repo(RosterRepository).get(int(who))
        if found is None or found.status.value != "active":
            raise UserError("roster/not_found", number=int(who))
        seat = found
    else:
        seat = await member_of_mention(ctx, access, mention or Mention(who.lstrip("@"), None))
    if not access.operates(seat.territory.city):
        raise UserError("evaluation/not_yours", name=seat.name)
    return seat


def recommendation_deadline(services: Services, today: date) -> tuple[date, str]:
    """The 附件3 deadline from the annual cycle (domain/data/annual_cycle.yaml, id recommendation)."""
    from domain.calendar import deadline
    from handlers.calendar import ANNUAL_CYCLE

    cycle = services.use(ANNUAL_CYCLE)
    try:
        d = deadline(cycle, "recommendation").due_in(today.year)
    except KeyError:  # the cycle file has no recommendation entry: the notice's date
        d = date(today.year, 10, 31)
    return d, f"{d.month}月{d.day}日"


async def export_recommendations(ctx: Context, where: str | None) -> Reply:
    access = await access_of(ctx)
    tree = regions(ctx.services)
    cities = access.operator_cities()
    if where:
        from handlers.roster.views import resolve_where

        t, _ = resolve_where(tree, where, access.scopes)
        city = t.city
    elif cities and len(cities) == 1:
        city = cities[0]
    else:
        city = None
    if city is None:
        return Reply("evaluation/need_city", {})
    if not access.operates(city):
        return Reply("evaluation/not_your_city", {"id": "", "city": city})
    today = ctx.now().date()
    year = today.year
    recs = await ctx.uow.repo(EvaluationRepository).recommendations(city, year)
    roster = ctx.uow.repo(RosterRepository)
    rows = []
    for rec in recs:
        if rec.user_id.startswith(MEMBER_KEY):
            one = await roster.get(int(rec.user_id[len(MEMBER_KEY) :]))
            seats = [one] if one is not None and one.status.value == "active" else []
        else:
            seats = [
                m for m in await roster.of_user(rec.user_id) if m.role.value == rec.role and m.status.value == "active"
            ]
        rows.append(await form_row(ctx, seats[0], rec.note, year) if seats else dict(rec.row))
    order = {c.name: i for i, c in enumerate(tree.counties_of(city))}
    rows.sort(
        key=lambda r: (
            r["role"] != "admin",
            r["role"] != "trainer",
            r["county"] != "市本级",
            order.get(r["county"], 999),
            r["name"],
        )
    )
    _due, deadline_text = recommendation_deadline(ctx.services, today)
    header = await form_header(ctx, city)
    xlsx = await asyncio.to_thread(write_recommendation_xlsx, rows, header, deadline=deadline_text)
    docx = await asyncio.to_thread(write_recommendation_docx, rows, header, deadline=deadline_text)
    links = await form_links(ctx, f"{city}-附件3", xlsx, docx)
    await ctx.audit(
        "evaluation.export",
        "recommendation_export",
        f"{access.province}/{city}",
        after={"count": len(rows), "year": year},
        territory=f"{access.province}/{city}",
    )
    return Reply(
        "evaluation/exported",
        {"city": city, "year": year, "count": len(rows), "links": links, "deadline": deadline_text},
        private=True,
    )


EXPORTS = [
    ExportKind("推荐表", ("recommendation", "附件3", "推荐"), "优秀工作者推荐表（附件3）", export_recommendations)
]
