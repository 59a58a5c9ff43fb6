"""/考核: a member's 附件2 checklist (达成 / 未达成 / 待提交) with its evidence and sources."""

from __future__ import annotations

from datetime import date
from typing import Any

from bot.commands import Arg, Args, Router, integer
from bot.context import Context, Mention
from bot.replies import Reply
from domain.evaluation import ACHIEVED, NOT_ACHIEVED, PENDING, PointsShare, checklist
from domain.roster import Member
from handlers.evaluation.common import REVIEW_STATS, first_mention, indicators, member_of_mention, pick_seat
from handlers.scores.people import Access, access_of
from handlers.scores.service import county_shares, runtime_of
from storage.repositories.evaluation import EvaluationRepository

router = Router("evaluation-checklist", section="考核与推荐")
STATE_MARK = {ACHIEVED: "✅", NOT_ACHIEVED: "❌", PENDING: "⏳"}


def _can_manage_member(access: Access, m: Member) -> bool:
    return access.can_see(m.territory)


async def _points_share(ctx: Context, m: Member, year: int) -> PointsShare | None:
    runtime = runtime_of(ctx.services)
    await runtime.refresh(ctx.uow)
    iset = indicators(ctx.services).for_year(year)
    start, _end = runtime.rules.year_bounds(year)
    shares = await county_shares(
        ctx.uow, runtime, start, iset.min_points, city=m.territory.city, county=m.territory.county
    )
    total = sum(s.total for s in shares)
    if not total:
        return None
    qualified = sum(s.qualified for s in shares)
    return PointsShare(m.territory.label, qualified, total, iset.min_points, iset.target_share)


async def member_checklist(ctx: Context, m: Member, year: int) -> list:
    iset = indicators(ctx.services).for_year(year)
    role = m.role.value
    reports = [r.as_report() for r in await ctx.uow.repo(EvaluationRepository).reports_of(m.user_id or "", year, role)]
    points = await _points_share(ctx, m, year) if role == "admin" else None
    review = None
    if role == "reviewer" and m.user_id:
        review = await ctx.services.use(REVIEW_STATS).review_stats(m.user_id, date(year, 1, 1), date(year, 12, 31))
    return checklist(iset, role, reports=reports, points=points, review=review, today=ctx.now().date(), year=year)


def _checklist_view(iset, items, role: str) -> list[dict[str, Any]]:
    out = []
    for it in items:
        how = ""
        if it.state != ACHIEVED and it.indicator.source == "reported":
            how = "；".join(iset.kinds[k].usage for k in it.indicator.kinds)
        out.append(
            {
                "mark": STATE_MARK[it.state],
                "state": it.state,
                "title": it.indicator.title,
                "number": it.indicator.number,
                "source": it.source,
                "evidence": list(it.evidence),
                "note": it.note,
                "how": how,
            }
        )
    return out


# ── /考核 ──
@router.command(
    "考核",
    alias="eval",
    help="查看年度考核清单（附件2）：达成、未达成、待提交",
    args=[
        Arg("对象", "who", required=False, help="@某人；不填为本人"),
        Arg("年份", "year", integer, required=False, help="如 2026，不填为今年"),
    ],
    examples=("/考核", "/考核 @李明", "/考核 @李明 2026"),
)
async def evaluate(ctx: Context, args: Args) -> Reply:
    access = await access_of(ctx)
    today = ctx.now().date()
    year = args.optional("year", int) or today.year
    who = args.optional("who", str)
    if isinstance(who, str) and who.isdigit() and len(who) == 4 and args.optional("year", int) is None:
        year, who = int(who), None
    if not 2000 <= year <= today.year:
        return Reply("evaluation/bad_year", {"year": year})
    mention = first_mention(ctx) if who else None
    if who and mention is None:
        mention = Mention(who.lstrip("@"), None)
    if mention is None:
        seat = pick_seat(ctx, access.seats)
        if seat is None:
            return Reply("evaluation/not_member_self", {})
    else:
        seat = await member_of_mention(ctx, access, mention)
        if seat.user_id != ctx.actor.id and not _can_manage_member(access, seat):
            return Reply("evaluation/not_yours", {"name": seat.name})
    iset = indicators(ctx.services).for_year(year)
    items = await member_checklist(ctx, seat, year)
    counts = {s: sum(1 for i in items if i.state == s) for s in (ACHIEVED, NOT_ACHIEVED, PENDING)}
    return Reply(
        "evaluation/checklist",
        {
            "name": seat.name,
            "role": seat.role.label,
            "seat": seat.seat_label,
            "year": year,
            "items": _checklist_view(iset, items, seat.role.value),
            "achieved": counts[ACHIEVED],
            "missed": counts[NOT_ACHIEVED],
            "pending": counts[PENDING],
            "mine": seat.user_id == ctx.actor.id,
            "deadline": f"{iset.report_deadline[0]}月{iset.report_deadline[1]}日",
            "closed": today > iset.deadline(year),
            "next_year": max(year, today.year) + 1,
        },
    )
