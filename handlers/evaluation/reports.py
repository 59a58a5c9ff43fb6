"""/报告: a member reports evidence; /待确认, /确认, /退回: the city operator decides."""

from __future__ import annotations

from datetime import date

from bot.commands import Arg, Args, Router, positive_int, text
from bot.context import Context
from bot.errors import UserError
from bot.replies import Reply
from domain.evaluation import (
    CONFIRMED,
    ROLE_NAMES,
    SUBMITTED,
    ReportError,
    describe_report,
    kinds_matching,
    parse_report,
)
from domain.territory import Territory
from handlers.evaluation.common import indicators, pick_seat
from handlers.permissions import CITY_OPERATOR, TEAM_MEMBER
from handlers.scores.people import access_of
from storage.repositories.evaluation import EvaluationRepository, StoredReport
from storage.repositories.roster import GrantRepository

router = Router("evaluation-reports", section="考核与推荐")


def _year_of(fields: dict, today: date) -> int:
    d = fields.get("date")
    return d.year if isinstance(d, date) else today.year


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
    seat = pick_seat(ctx, access.seats)
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
    return await _decide(ctx, args.value("id", int), reason=None)


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
    return await _decide(ctx, args.value("id", int), reason=args.value("reason", str).strip()[:200])


async def _decide(ctx: Context, report_id: int, reason: str | None) -> Reply:
    """Confirm (no reason) or send back (with the reason) a submitted report; the member is told."""
    r = await _decidable(ctx, report_id)
    confirmed = reason is None
    done = await ctx.uow.repo(EvaluationRepository).decide(
        r.id, confirm=confirmed, by=ctx.actor.id, now=ctx.now(), reason=reason
    )
    assert done is not None  # _decidable found it
    await ctx.audit(
        "evaluation.confirm" if confirmed else "evaluation.reject",
        "eval_report",
        str(r.id),
        before={"status": r.status},
        after={"status": done.status},
        reason=reason,
        territory=r.territory,
    )
    said = {"id": r.id, "confirmed": confirmed, "reason": reason or ""}
    await ctx.send_to_users(
        [r.user_id], Reply("evaluation/notify_decided", said | {"kind": r.kind}), purpose=f"eval-decided:{r.id}"
    )
    return Reply("evaluation/decided", said | {"name": r.member_name})
