"""Annual evaluation (附件2) and recommendation (附件3).

/报告 类型 …     a member reports evidence (培训、参训、文章 …); the city operator is told
/待确认          the city operator's list of reports waiting for a decision
/确认 编号       / /退回 编号 原因: the city operator decides
/考核 [@某人] [年份]  the checklist: each indicator of the member's role with 达成 / 未达成 / 待提交,
                 the evidence and where it came from (积分统计 / 审核记录 / 本人报告)
/推荐 @某人 备注 / /撤回推荐 @某人: the city operator marks excellent workers
/导出 推荐表 [城市]: 附件3 as xlsx and docx (through the roster's /导出 registry)

Reviewer indicators read ``services.use(REVIEW_STATS)`` (a domain.evaluation.ReviewStatsProvider
that the review-assignment work registers); without it they stay 待提交.
"""

from __future__ import annotations

import asyncio
from datetime import date
from typing import Any

from bot.commands import Arg, Args, Router, integer, positive_int, text
from bot.context import Context, Mention, ServiceKey, Services
from bot.errors import UserError
from bot.replies import Reply
from domain.evaluation import (
    ACHIEVED,
    CONFIRMED,
    NOT_ACHIEVED,
    PENDING,
    ROLE_NAMES,
    SUBMITTED,
    IndicatorLibrary,
    NoReviewStats,
    PointsShare,
    ReportError,
    ReviewStatsProvider,
    checklist,
    describe_report,
    kinds_matching,
    parse_report,
)
from domain.roster import Member, Role
from domain.territory import Territory
from handlers.downloads import form_links
from handlers.feature import ExportKind
from handlers.permissions import CITY_OPERATOR, TEAM_MEMBER
from handlers.roster.submission import form_header
from handlers.scores.people import Access, access_of, regions
from handlers.scores.service import county_shares, runtime_of
from storage.forms.recommendation_form import (
    write_recommendation_docx,
    write_recommendation_xlsx,
)
from storage.repositories.evaluation import EvaluationRepository, StoredReport
from storage.repositories.roster import GrantRepository, RosterRepository

router = Router("evaluation", section="考核与推荐")
STATE_MARK = {ACHIEVED: "✅", NOT_ACHIEVED: "❌", PENDING: "⏳"}


# ── helpers ──
REVIEW_STATS = ServiceKey[ReviewStatsProvider]("review_stats", lambda _services: NoReviewStats())
INDICATORS = ServiceKey[IndicatorLibrary]("evaluation.indicators", lambda _services: IndicatorLibrary())


def indicators(services: Services) -> IndicatorLibrary:
    """The 附件2 indicator sets (domain/data/evaluation), read once per bot."""
    return services.use(INDICATORS)


"""The review feature installs its provider with ``services.provide(REVIEW_STATS, ...)``."""


def _review_provider(services: Services) -> ReviewStatsProvider:
    return services.use(REVIEW_STATS)


def _pick_seat(ctx: Context, seats: list[Member]) -> Member | None:
    if not seats:
        return None
    if ctx.group_role is not None:
        for m in seats:
            if m.role.value == ctx.group_role.value:
                return m
    return seats[0]


async def _member_of_mention(ctx: Context, access: Access, who: Mention) -> Member:
    """The roster seat of an @mentioned person (by staff id, else by name inside the actor's territory)."""
    repo = ctx.uow.repo(RosterRepository)
    if who.staff_id:
        seats = [m for m in await repo.of_user(who.staff_id) if m.status.value == "active"]
        seat = _pick_seat(ctx, seats)
        if seat is None:
            raise UserError("evaluation/not_member", name=who.name)
        return seat
    found: list[Member] = []
    for t in access.scopes or [Territory(access.province)]:
        found += [m for m in await repo.in_territory(t, statuses=("active",)) if m.name == who.name]
    found = list({m.id: m for m in found}.values())
    if not found:
        if access.scopes and any(
            m.name == who.name for m in await repo.in_territory(Territory(access.province), statuses=("active",))
        ):
            # On the roster, but elsewhere: say so (no seat or territory named).
            raise UserError(
                "evaluation/outside_territory", name=who.name, scope="、".join(t.label for t in access.scopes)
            )
        raise UserError("evaluation/not_member", name=who.name)
    if len(found) > 1:
        picked = _pick_seat(ctx, found) if len({m.name for m in found}) == 1 and ctx.group_role else None
        if picked is None or sum(1 for m in found if m.role == picked.role) > 1:
            raise UserError(
                "evaluation/ambiguous_member",
                name=who.name,
                options=[f"{m.seat_label} {m.role.label}" for m in found[:8]],
            )
        return picked
    return found[0]


def _mention(ctx: Context) -> Mention | None:
    ms = ctx.mentions()
    return ms[0] if ms else None


def _can_manage_member(access: Access, m: Member) -> bool:
    return access.can_see(m.territory)


def _year_of(fields: dict, today: date) -> int:
    d = fields.get("date")
    return d.year if isinstance(d, date) else today.year


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
        review = await _review_provider(ctx.services).review_stats(m.user_id, date(year, 1, 1), date(year, 12, 31))
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


# ── /报告 ──
@router.command(
    "报告",
    alias="report",
    help="报告考核材料（培训、参训、文章等），由市级确认",
    args=[
        Arg("类型", "kind", help="培训、参训、文章、课程、资源、数据、场景、安全、建议"),
        Arg("内容", "fields", required=False, greedy=True, help="按类型填写，如 日期 主题 人数"),
    ],
    permission=TEAM_MEMBER,
    examples=(
        "/报告 培训 2026-05-10 平台应用培训 45",
        "/报告 文章 https://example.cn/a/1 2300",
        "/报告 参训 2026-04-20 省级讲师培训",
    ),
)
async def report(ctx: Context, args: Args) -> Reply:
    access = await access_of(ctx)
    seat = _pick_seat(ctx, access.seats)
    assert seat is not None  # TEAM_MEMBER: the sender holds a seat
    today = ctx.now().date()
    iset = indicators(ctx.services).for_year(today.year)
    kind = kinds_matching(iset, seat.role.value, args.value("kind", str))
    if kind is None:
        return Reply(
            "evaluation/kinds",
            {
                "word": args.value("kind", str),
                "role": seat.role.label,
                "kinds": [k.usage for k in iset.kinds_for(seat.role.value)],
            },
        )
    try:
        fields = parse_report(kind, (args.optional("fields", str) or "").split(), today)
    except ReportError as exc:
        return Reply("evaluation/report_error", {"reason": exc.reason, "usage": kind.usage})
    year = _year_of(fields, today)
    repo = ctx.uow.repo(EvaluationRepository)
    stored = await repo.add_report(
        year=year,
        user_id=ctx.actor.id,
        member_name=seat.name,
        role=seat.role.value,
        territory=seat.territory.path,
        kind=kind.word,
        fields=fields,
        now=ctx.now(),
    )
    await ctx.audit(
        "evaluation.report",
        "eval_report",
        str(stored.id),
        after=stored.fields | {"kind": kind.word},
        territory=seat.territory.path,
    )
    city = seat.territory.city_territory
    assert city is not None  # a seat is in a city
    operators = [g.user_id for g in await ctx.uow.repo(GrantRepository).holders(city)]
    if operators:
        await ctx.send_to_users(
            operators,
            Reply(
                "evaluation/notify_new",
                {
                    "id": stored.id,
                    "name": seat.name,
                    "seat": seat.seat_label,
                    "role": seat.role.label,
                    "evidence": describe_report(kind, fields),
                },
            ),
            purpose=f"eval-report:{stored.id}",
        )
    return Reply(
        "evaluation/reported",
        {"id": stored.id, "evidence": describe_report(kind, fields), "year": year, "notified": bool(operators)},
    )


# ── the city operator: /待确认, /确认, /退回 ──
async def _decidable(ctx: Context, report_id: int) -> StoredReport:
    access = await access_of(ctx)
    r = await ctx.uow.repo(EvaluationRepository).report(report_id)
    if r is None:
        raise UserError("evaluation/no_report", id=report_id)
    if not access.operates(r.city):
        raise UserError("evaluation/not_your_city", id=report_id, city=r.city or "")
    if r.status != SUBMITTED:
        raise UserError(
            "evaluation/already_decided", id=report_id, status="已确认" if r.status == CONFIRMED else "已退回"
        )
    return r


@router.command(
    "待确认", section="审批与管理", alias="toconfirm", help="列出本市待确认的考核材料", permission=CITY_OPERATOR
)
async def pending_reports(ctx: Context, args: Args) -> Reply:
    access = await access_of(ctx)
    items = await ctx.uow.repo(EvaluationRepository).pending(access.operator_cities(), access.province)
    iset = indicators(ctx.services).for_year(ctx.now().year)
    return Reply(
        "evaluation/pending",
        {
            "items": [
                {
                    "id": r.id,
                    "name": r.member_name,
                    "role": ROLE_NAMES.get(r.role, r.role),
                    "place": Territory.from_path(r.territory).label,
                    "evidence": describe_report(iset.kinds[r.kind], r.fields) if r.kind in iset.kinds else r.kind,
                }
                for r in items
            ]
        },
    )


@router.command(
    "确认",
    section="审批与管理",
    alias="confirm",
    help="确认一条考核材料",
    args=[Arg("编号", "id", positive_int, help="/待确认 列出的编号")],
    permission=CITY_OPERATOR,
    examples=("/确认 12",),
)
async def confirm(ctx: Context, args: Args) -> Reply:
    r = await _decidable(ctx, args.value("id", int))
    done = await ctx.uow.repo(EvaluationRepository).decide(r.id, confirm=True, by=ctx.actor.id, now=ctx.now())
    assert done is not None  # _decidable found it
    await ctx.audit(
        "evaluation.confirm",
        "eval_report",
        str(r.id),
        before={"status": r.status},
        after={"status": done.status},
        territory=r.territory,
    )
    await ctx.send_to_users(
        [r.user_id],
        Reply("evaluation/notify_decided", {"id": r.id, "confirmed": True, "reason": "", "kind": r.kind}),
        purpose=f"eval-decided:{r.id}",
    )
    return Reply("evaluation/decided", {"id": r.id, "name": r.member_name, "confirmed": True, "reason": ""})


@router.command(
    "退回",
    section="审批与管理",
    alias="decline",
    help="退回一条考核材料，须写原因",
    args=[
        Arg("编号", "id", positive_int, help="/待确认 列出的编号"),
        Arg("原因", "reason", text, greedy=True, help="退回原因，如 缺少培训通知"),
    ],
    permission=CITY_OPERATOR,
    examples=("/退回 12 缺少培训通知",),
)
async def decline(ctx: Context, args: Args) -> Reply:
    r = await _decidable(ctx, args.value("id", int))
    reason = args.value("reason", str).strip()[:200]
    done = await ctx.uow.repo(EvaluationRepository).decide(
        r.id, confirm=False, by=ctx.actor.id, now=ctx.now(), reason=reason
    )
    assert done is not None  # _decidable found it
    await ctx.audit(
        "evaluation.reject",
        "eval_report",
        str(r.id),
        before={"status": r.status},
        after={"status": done.status},
        reason=reason,
        territory=r.territory,
    )
    await ctx.send_to_users(
        [r.user_id],
        Reply("evaluation/notify_decided", {"id": r.id, "confirmed": False, "reason": reason, "kind": r.kind}),
        purpose=f"eval-decided:{r.id}",
    )
    return Reply("evaluation/decided", {"id": r.id, "name": r.member_name, "confirmed": False, "reason": reason})


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
    mention = _mention(ctx) if who else None
    if who and mention is None:
        mention = Mention(who.lstrip("@"), None)
    if mention is None:
        seat = _pick_seat(ctx, access.seats)
        if seat is None:
            return Reply("evaluation/not_member_self", {})
    else:
        seat = await _member_of_mention(ctx, access, mention)
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


# ── 附件3: /推荐, /撤回推荐, /导出 推荐表 ──
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
    mention = _mention(ctx)
    if mention is None and who.isdigit():
        found = await ctx.uow.repo(RosterRepository).get(int(who))
        if found is None or found.status.value != "active":
            raise UserError("roster/not_found", number=int(who))
        seat = found
    else:
        seat = await _member_of_mention(ctx, access, mention or Mention(who.lstrip("@"), None))
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
