"""Scores: /积分, /排行, /我的账号; the activity API (POST /api/v1/activity); the scores CLI.

Chat: team members see their own points (their platform account: /我的账号, or the roster's 平台账号);
admins and operators query teachers and rankings of their territory.
HTTP: a JSON array or NDJSON of activity items, bearer token ACTIVITY_API_TOKEN, body limit
ACTIVITY_MAX_BYTES; the answer counts accepted items and lists each rejected one with its reason.
CLI: ``python3 run_bot.py scores teachers|activity|rules|rebuild …``.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any

from aiohttp import web

from bot.commands import Arg, Args, Router
from bot.context import Context, ServiceKey
from bot.errors import UserError
from bot.http import api_items, json_ok, with_bad_lines
from bot.replies import Reply
from domain.evaluation import share_reached
from domain.masking import mask_account
from domain.scores import Period, RuleSet, ScoreSummary, parse_period, period_of
from domain.territory import Level, Territory, resolve_territory
from handlers.evaluation import indicators
from handlers.permissions import SCOPE
from handlers.scores.people import access_of, regions
from handlers.scores.service import ScoresRuntime, county_shares, ingest, ranking, runtime_of, score_summary
from storage.cache import READ_CACHE_TTL, ReadCache
from storage.repositories.scores import Teacher, TeacherRepository

if TYPE_CHECKING:
    from bot.app import BotApp

router = Router("scores", section="积分")

RELATIVE = {"week": "本周", "month": "本月", "year": "本年", "day": "今天"}
RANK_LIMIT = 10
API_BATCH = 5_000


# ── helpers ──
def _period_label(p: Period, today: date) -> str:
    if p.kind == "year":
        return p.label
    if p.contains(today):
        return f"{RELATIVE[p.kind]} {p.label}" if p.kind == "week" else RELATIVE[p.kind]
    return p.label


def _split_words(args: Args, rules: RuleSet, today: date) -> tuple[str | None, Period | None, str | None]:
    """The two optional words of /积分 and /排行 in any order: (target, period, bad period word)."""
    target, period, bad = None, None, None
    for w in (args.optional("who", str) or args.optional("where", str), args.optional("when", str)):
        if not w:
            continue
        p = parse_period(w, rules, today)
        if p is not None and period is None:
            period = p
        elif target is None:
            target = w
        else:
            bad = w
    return target, period, bad


async def _query(ctx: Context, args: Args) -> tuple[ScoresRuntime, RuleSet, date, str | None, Period]:
    """What /积分 and /排行 share: the current rules, today in their time zone, and the two
    optional words (who/where, when; the year by default)."""
    runtime = runtime_of(ctx.services)
    await runtime.refresh(ctx.uow)
    rules = runtime.rules
    today = ctx.now().astimezone(rules.tz).date()
    word, period, bad = _split_words(args, rules, today)
    if bad:
        raise UserError("scores/bad_words", word=bad)
    return runtime, rules, today, word, period or period_of(rules, "year", today)


def render_score_context(teacher: Teacher, summary: ScoreSummary, today: date, *, show_account: bool) -> dict[str, Any]:
    current = summary.as_of == today
    lines = []
    for ln in summary.lines:
        caps = []
        for c in ln.caps:
            if c.cap.per == "day":
                continue
            if not current and c.cap.per != "year":
                continue
            word = {"week": "本周", "month": "本月", "year": "本年"}[c.cap.per] if current else c.period.label
            caps.append(f"{word} {c.used}/{c.cap.count}" + (" 已满" if c.full else ""))
        streak = ""
        if ln.rule.kind == "streak" and current and ln.streak_days:
            streak = f"已连续登录 {ln.streak_days} 天" + ("" if ln.streak_today else "，今天登录可续上")
        full = any(c.full for c in ln.caps if c.cap.per != "day") and current
        if not (ln.occurrences or ln.unqualified or full):
            continue
        lines.append(
            {
                "group": ln.rule.group,
                "name": ln.rule.name,
                "points": ln.points,
                "counted": ln.counted,
                "over": ln.over_cap,
                "unqualified": ln.unqualified,
                "cap": "，".join(caps),
                "streak": streak,
            }
        )
    return {
        "name": teacher.name,
        "period": _period_label(summary.period, today),
        "total": summary.total,
        "as_of": f"{summary.as_of.month}月{summary.as_of.day}日" if current else "",
        "lines": lines,
        "county": teacher.county,
        "school": teacher.school,
        "account": teacher.account if show_account else mask_account(teacher.account),
    }


# A person's own teacher record, by (user id, the accounts of their roster seats): what almost every /积分
# asks first. The seats come from the roster's own cache, so roster writes do not invalidate this one;
# a link or teacher written by this process is seen at once, by another within READ_CACHE_TTL. Not found
# is not kept (a teacher imported a moment ago is found on the next /积分).
OWN_TEACHER = ServiceKey[ReadCache[Teacher | None]](
    "scores.own_teacher", lambda _s: ReadCache(["score_account_links", "score_teachers"], READ_CACHE_TTL)
)


async def _own_teacher(ctx: Context, access) -> Teacher | None:
    accounts = tuple(m.account for m in access.seats if m.account)
    cache = ctx.services.use(OWN_TEACHER)
    key = (ctx.actor.id, accounts)
    teacher = await cache.get(ctx.uow, key, lambda: _load_own_teacher(ctx, accounts))
    if teacher is None:
        cache.forget(key)
    return teacher


async def _load_own_teacher(ctx: Context, seat_accounts: tuple[str, ...]) -> Teacher | None:
    repo = ctx.uow.repo(TeacherRepository)
    account = await repo.linked_account(ctx.actor.id)
    if account:
        t = await repo.by_account(account)
        if t:
            return t
    for a in seat_accounts:
        t = await repo.by_account(a)
        if t:
            return t
    return None


def _territory_of(province: str, t: Teacher) -> Territory:
    return Territory(province, t.city, t.county)


# ── /积分 ──
@router.command(
    "积分",
    alias="score",
    help="查积分：合计和各项明细，含本周上限情况",
    args=[
        Arg("对象", "who", required=False, help="账号或姓名；不填查本人"),
        Arg("时间", "when", required=False, help="本周、上周、本月、上月、本年、去年或年份，如 2026"),
    ],
    examples=("/积分", "/积分 本周", "/积分 李明 本月", "/积分 LiMing01 2026"),
)
async def score(ctx: Context, args: Args) -> Reply:
    runtime, _rules, today, target, period = await _query(ctx, args)
    if period.start > today:
        return Reply("scores/future", {"period": period.label})
    access = await access_of(ctx)
    repo = ctx.uow.repo(TeacherRepository)
    own = await _own_teacher(ctx, access)
    if target is None:
        if own is None:
            return Reply("scores/no_account", {})
        teacher = own
    else:
        found = await repo.find(target)
        if own is not None and any(t.id == own.id for t in found):
            found = [own]
        visible = [
            t
            for t in found
            if (own is not None and t.id == own.id) or access.can_see(_territory_of(access.province, t))
        ]
        if not found:
            return Reply("scores/not_found", {"who": target})
        if not visible:
            return Reply("scores/not_yours", {"who": target, "has_scope": bool(access.scopes)})
        if len(visible) > 1:
            return Reply(
                "scores/choose",
                {
                    "who": target,
                    "total": len(visible),
                    "options": [
                        {"account": t.account, "county": f"{t.city}{t.county}", "school": t.school}
                        for t in visible[:10]
                    ],
                },
                private=True,
            )
        teacher = visible[0]
    summary = await score_summary(ctx.uow, runtime, teacher, period, today)
    return Reply("scores/score", render_score_context(teacher, summary, today, show_account=ctx.is_private))


# ── /我的账号 ──
@router.command(
    "我的账号",
    alias="myaccount",
    help="绑定你的平台账号，之后发 /积分 即查本人",
    args=[Arg("平台账号", "account", help="之江汇平台账号，注意大小写")],
    examples=("/我的账号 LiMing01",),
)
async def my_account(ctx: Context, args: Args) -> Reply:
    account = args.value("account", str).strip()
    repo = ctx.uow.repo(TeacherRepository)
    teacher = await repo.by_account(account)
    if teacher is None:
        return Reply(
            "scores/account_unknown", {"account": account, "case_hint": bool(await repo.accounts_like(account))}
        )
    if teacher.name.replace(" ", "") != ctx.actor.name.replace(" ", "") and not ctx.actor.is_superadmin:
        return Reply("scores/account_mismatch", {"account": account})
    await repo.link(ctx.actor.id, teacher.account, ctx.now())
    await ctx.audit("scores.link_account", "score_account", ctx.actor.id, after={"account": teacher.account})
    return Reply(
        "scores/account_linked",
        {"name": teacher.name, "county": teacher.county, "account": mask_account(teacher.account)},
    )


# ── /排行 ──
@router.command(
    "排行",
    alias="rank",
    help="本地区教师积分排行；市、省还显示各县区年度积分≥60分的教师占比",
    args=[
        Arg("地区", "where", required=False, help="设区市或县区，如 杭州、西湖区、全省"),
        Arg("时间", "when", required=False, help="本周、本月、本年或年份"),
    ],
    permission=SCOPE,
    examples=("/排行", "/排行 杭州 本月", "/排行 全省"),
)
async def rank(ctx: Context, args: Args) -> Reply:
    runtime, rules, today, where, period = await _query(ctx, args)
    access = await access_of(ctx)
    tree = regions(ctx.services)
    territory: Territory | None
    if where:
        m = resolve_territory(tree, where)
        if m.territory is None:
            return Reply("scores/unknown_region", {"where": where, "candidates": [c.label for c in m.candidates[:5]]})
        territory = m.territory
    else:
        territory = access.widest
    if territory is None or not access.can_see(territory):
        return Reply(
            "scores/region_forbidden",
            {"where": territory.label if territory else where or "", "mine": [t.label for t in access.scopes]},
        )
    if territory.level is Level.SCHOOL:
        territory = territory.parent()
        assert territory is not None  # a school is inside a county
    rows = await ranking(ctx.uow, runtime, period, city=territory.city, county=territory.county, limit=RANK_LIMIT)
    ctx_out: dict[str, Any] = {
        "territory": territory.label,
        "period": _period_label(period, today),
        "rows": [
            {
                "rank": r.rank,
                "name": r.name,
                "place": r.county if territory.county is None else r.school,
                "points": r.points,
            }
            for r in rows
        ],
        "shares": [],
        "cities": [],
        "min_points": 0,
        "target": "",
        "year": "",
    }
    if territory.level <= Level.CITY:
        iset = indicators(ctx.services).for_year(rules.scoring_year(period.start))
        year = period_of(rules, "year", period.start)
        shares = await county_shares(ctx.uow, runtime, year.start, iset.min_points, city=territory.city)
        target = iset.target_share
        ctx_out.update(min_points=iset.min_points, target=f"{target:.0%}", year=year.label)
        if territory.level is Level.CITY:
            ctx_out["shares"] = [
                {
                    "name": s.county,
                    "qualified": s.qualified,
                    "total": s.total,
                    "pct": f"{s.share:.0%}",
                    "ok": share_reached(s.share, target),
                }
                for s in shares
            ]
        else:
            by_city: dict[str, list] = {}
            for s in shares:
                by_city.setdefault(s.city, []).append(s)
            order = [c.name for c in tree.cities] + sorted(set(by_city) - {c.name for c in tree.cities})
            for city in order:
                items = by_city.get(city)
                if not items:
                    continue
                q, n = sum(s.qualified for s in items), sum(s.total for s in items)
                below = [f"{s.county} {s.share:.0%}" for s in items if not share_reached(s.share, target)]
                ctx_out["cities"].append(
                    {
                        "name": city,
                        "pct": f"{q / n:.0%}" if n else "—",
                        "ok_count": len(items) - len(below),
                        "count": len(items),
                        "below": "、".join(below),
                    }
                )
    return Reply("scores/rank", ctx_out)


# ── HTTP: POST /api/v1/activity ──
async def activity_api(request: web.Request) -> web.Response:
    got = await api_items(request)
    if isinstance(got, web.Response):
        return got
    bot, items, bad_lines = got
    from handlers.base_schools.feed import route_activity  # base-school action codes go there

    items, merge_base = await route_activity(bot.db, items, bot.clock.now())
    runtime = runtime_of(bot.services)
    # small transactions: the bot keeps answering chat between them (SQLite has one connection)
    report = await ingest(bot.db, runtime, items, bot.clock.now(), batch=API_BATCH)
    merge_base(report)
    report.rejected = with_bad_lines(report.rejected, bad_lines)
    return json_ok(report.as_dict())


def setup_http(app: web.Application, bot: BotApp) -> None:
    app.router.add_post("/api/v1/activity", activity_api)
