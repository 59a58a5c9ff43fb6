"""/基地校 [学校|列表] [时间|城市], /基地校排行 [城市] [时间], /基地校负责人 学校 @某人, /基地校微课 [学校] 课时数."""

from __future__ import annotations

from bot.commands import Arg, Args, GroupRole
from bot.context import Context
from bot.errors import UserError
from bot.replies import Reply
from domain.base_schools import (
    PERIOD_EXAMPLES,
    BaseSchool,
    Period,
    match_school,
    month_period,
    parse_period,
    year_of,
    year_period,
)
from handlers.base_schools.common import (
    Visibility,
    compute,
    compute_with_trend,
    definitions,
    figures_view,
    mask_name,
    ranked,
    ranking_view,
    resolve_city,
    router,
    today_of,
    visibility,
)
from handlers.permissions import (
    BASE_SCHOOL_LEAD_OR_OPERATOR,
    BASE_SCHOOL_VIEWER,
    CITY_OPERATOR,
)
from handlers.roster.common import regions
from storage.repositories.base_schools import BaseSchoolRepository

RANK_LIMIT = 20
WHERE = frozenset({GroupRole.ADMIN})  # the admin group and any 1:1 chat (leads ask privately)
LIST_WORDS = ("列表", "名单", "list")


def _period(ctx: Context, word: str | None, default: str) -> Period:
    today, defs = today_of(ctx), definitions(ctx.services)
    if not word:
        return month_period(today.year, today.month) if default == "month" else year_period(year_of(today, defs), defs)
    p = parse_period(word, today, defs)
    if p is None:
        raise UserError("base_schools/bad_period", word=word, examples=PERIOD_EXAMPLES)
    return p


async def _year_schools(ctx: Context, period: Period) -> tuple[int, list[BaseSchool]]:
    repo = ctx.uow.repo(BaseSchoolRepository)
    defs = definitions(ctx.services)
    year = await repo.latest_year(year_of(period.as_of(today_of(ctx)), defs))
    if year is None:
        raise UserError("base_schools/no_list")
    return year, await repo.schools(year)


async def _school_list(ctx: Context, vis: Visibility, where: str | None) -> Reply:
    city = resolve_city(ctx, where, vis) if where else None
    year, schools = await _year_schools(ctx, _period(ctx, None, "month"))
    shown = [s for s in schools if vis.sees(s) and (city is None or s.city == city)]
    rows = [
        {
            "name": s.name,
            "place": s.place,
            "subject": s.subject,
            "space_id": s.space_id,
            "lead": (s.lead if ctx.is_private else mask_name(s.lead)) or "—",
        }
        for s in shown
    ]
    return Reply(
        "base_schools/list", {"year": year, "where": city or ("全省" if vis.cities is None else ""), "rows": rows}
    )


def _pick(vis: Visibility, schools: list[BaseSchool], word: str) -> BaseSchool:
    found = match_school(schools, word)
    if not found:
        raise UserError(
            "base_schools/unknown_school", word=word, example=next((s.name for s in schools if vis.sees(s)), "某某中学")
        )
    visible = [s for s in found if vis.sees(s)]
    if not visible:
        raise UserError("base_schools/not_yours", name=found[0].name, city=found[0].city)
    if len(visible) > 1:
        raise UserError("base_schools/choose", word=word, names=[s.name for s in visible[:10]])
    return visible[0]


@router.command(
    "基地校",
    alias="baseschool",
    help="基地校：名单，或某校各项指标是否达标及较上月变化",
    args=[
        Arg("学校", "what", required=False, help="学校名称，或“列表”"),
        Arg("时间或城市", "extra", required=False, help=f"时间如 {PERIOD_EXAMPLES}；列表后写城市"),
    ],
    groups=WHERE,
    permission=BASE_SCHOOL_VIEWER,
    examples=("/基地校 列表", "/基地校 列表 杭州", "/基地校 杭州第十四中学", "/基地校 杭州第十四中学 本年"),
)
async def base_school(ctx: Context, args: Args) -> Reply:
    vis = await visibility(ctx)
    what, extra = args.optional("what", str), args.optional("extra", str)
    if what in LIST_WORDS or (what is None and vis.operator):
        return await _school_list(ctx, vis, extra)
    defs = definitions(ctx.services)
    if what is not None and extra is None and parse_period(what, today_of(ctx), defs) is not None:
        what, extra = None, what
    period = _period(ctx, extra, "month")
    year, schools = await _year_schools(ctx, period)
    if what is None:
        own = [s for s in schools if s.id in vis.led]
        if not own:
            raise UserError("base_schools/need_school", example=schools[0].name if schools else "某某中学")
        school = own[0]
    else:
        school = _pick(vis, schools, what)
    repo = ctx.uow.repo(BaseSchoolRepository)
    now, before = await compute_with_trend(repo, [school], period, today_of(ctx), defs)
    today = today_of(ctx)
    return Reply(
        "base_schools/school",
        {
            "year": year,
            "period": period.label,
            "as_of": f"{period.as_of(today).month}月{period.as_of(today).day}日",
            "days": period.days(today),
            "need_days": defs.required_days(period.days(today)),
            "school": figures_view(now[0], before[0] if before else None),
            "has_trend": bool(before),
        },
    )


@router.command(
    "基地校排行",
    alias="baserank",
    help="基地校动态排名：达标指标数、活跃用户、有效访问量",
    args=[
        Arg("城市", "where", required=False, help="设区市，或 全省"),
        Arg("时间", "when", required=False, help=f"如 {PERIOD_EXAMPLES}，不写为本年"),
    ],
    groups=WHERE,
    permission=BASE_SCHOOL_VIEWER,
    examples=("/基地校排行", "/基地校排行 杭州 本月", "/基地校排行 全省 本年"),
)
async def base_rank(ctx: Context, args: Args) -> Reply:
    vis = await visibility(ctx)
    today, defs = today_of(ctx), definitions(ctx.services)
    where, when = args.optional("where", str), args.optional("when", str)
    if where and when is None and parse_period(where, today, defs) is not None:
        where, when = None, where
    period = _period(ctx, when, "year")
    year, schools = await _year_schools(ctx, period)
    if where:
        city = resolve_city(ctx, where, vis)
    elif vis.cities is None:
        city = None
    else:
        own_cities = sorted(vis.cities) or sorted({s.city for s in schools if s.id in vis.led})
        city = own_cities[0] if len(own_cities) == 1 else None
        if city is None and own_cities:
            raise UserError("base_schools/need_city", mine=own_cities)
    pool = [s for s in schools if city is None or s.city == city]
    repo = ctx.uow.repo(BaseSchoolRepository)
    items = await compute(repo, pool, period, today, defs, all_spaces=True)
    rows = ranking_view(ranked(items, defs), defs)
    mine = {s.name for s in schools if s.id in vis.led}
    shown = [r for i, r in enumerate(rows) if i < RANK_LIMIT or r["name"] in mine]
    return Reply(
        "base_schools/rank",
        {
            "year": year,
            "period": period.label,
            "where": city or "全省",
            "rows": shown,
            "count": len(rows),
            "more": len(rows) - len(shown),
        },
    )


@router.command(
    "基地校负责人",
    alias="baselead",
    help="登记基地校项目负责人，登记后本人可查看本校指标",
    args=[Arg("学校", "school", help="基地校名称"), Arg("负责人", "who", required=False, help="@负责人")],
    groups=WHERE,
    permission=CITY_OPERATOR,
    examples=("/基地校负责人 杭州第十四中学 @李明",),
)
async def set_lead(ctx: Context, args: Args) -> Reply:
    vis = await visibility(ctx)
    year, schools = await _year_schools(ctx, _period(ctx, None, "month"))
    school = _pick(vis, schools, args.value("school", str))
    if vis.cities is not None and school.city not in vis.cities:
        raise UserError("base_schools/not_yours", name=school.name, city=school.city)
    who = ctx.mentions()
    if not who or not who[0].staff_id:
        raise UserError("base_schools/need_mention", school=school.name)
    repo = ctx.uow.repo(BaseSchoolRepository)
    await repo.set_lead(school.id or 0, who[0].staff_id, who[0].name)
    await ctx.audit(
        "base_schools.lead",
        "base_school",
        str(school.id),
        before={"lead": school.lead},
        after={"lead": who[0].name, "year": year},
        territory=f"{regions(ctx.services).province}/{school.city}",
    )
    return Reply("base_schools/lead_set", {"school": school.name, "name": who[0].name})


@router.command(
    "基地校微课",
    alias="baselessons",
    help="报告本校精品微课程已发布的课时数",
    args=[
        Arg("学校", "school", required=False, help="基地校名称；负责人可不写"),
        Arg("课时数", "lessons", required=False, help="已发布的课时数，如 18"),
    ],
    groups=WHERE,
    permission=BASE_SCHOOL_LEAD_OR_OPERATOR,
    examples=("/基地校微课 18", "/基地校微课 杭州第十四中学 18"),
)
async def report_lessons(ctx: Context, args: Args) -> Reply:
    vis = await visibility(ctx)
    word, number = args.optional("school", str), args.optional("lessons", str)
    if word is not None and number is None:  # one word: the count (a lead's own school)
        word, number = None, word
    if number is None or not number.isdigit() or not 0 <= int(number) <= 1000:
        raise UserError("base_schools/bad_lessons", value=number or "")
    _year, schools = await _year_schools(ctx, _period(ctx, None, "month"))
    if word is None:
        own = [s for s in schools if s.id in vis.led]
        if not own:
            raise UserError("base_schools/need_school", example=schools[0].name if schools else "某某中学")
        school = own[0]
    else:
        school = _pick(vis, schools, word)
    repo = ctx.uow.repo(BaseSchoolRepository)
    await repo.report_lessons(school.id or 0, int(number), today_of(ctx), ctx.actor.id, ctx.now())
    await ctx.audit(
        "base_schools.lessons",
        "base_school",
        str(school.id),
        after={"lessons": int(number)},
        territory=f"{regions(ctx.services).province}/{school.city}",
    )
    need = definitions(ctx.services).indicator("lessons").min
    return Reply(
        "base_schools/lessons_reported",
        {"school": school.name, "lessons": int(number), "need": f"{need:g}", "met": int(number) >= need},
    )
