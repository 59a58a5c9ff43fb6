"""/资源排行 [学科] [城市] [本月|本年] (by clicks and downloads, seed 002) and /导出 审核结果 [征集] [城市]
(xlsx and printable docx through the same signed links as 附件1)."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from datetime import date

from bot.commands import Arg, Args, Chat
from bot.context import Context
from bot.errors import UserError
from bot.replies import Reply
from domain.review.flow import Status, TaskState
from domain.review.stats import Period, ResourceRow, rank_by_use
from handlers.downloads import form_links
from handlers.feature import ExportKind
from handlers.permissions import SCOPE
from handlers.review.common import (
    OPERATOR_GROUPS,
    Env,
    call_in_scope,
    config,
    router,
)
from handlers.review.stats import feedback_row
from handlers.roster.common import regions
from storage.forms.review_form import (
    review_form_data,
    review_form_spec,
    write_docx,
    write_xlsx,
)

RANK_LIMIT = 10
SECTION = {Status.SHELVED.value: "shelved", Status.REJECTED.value: "rejected"}


def _period(word: str | None, today: date) -> tuple[Period, str]:
    if word in (None, "", "本年", "今年"):
        return Period.year(today), "本年"
    if word in ("本月", "这个月"):
        return Period.month(today), "本月"
    raise UserError("review/bad_period", word=word)


@router.command(
    "资源排行",
    groups=OPERATOR_GROUPS,
    chat=Chat.ANY,
    alias="toprs",
    help="资源按点击和下载排行",
    args=[
        Arg("学科", "a", required=False),
        Arg("城市", "b", required=False),
        Arg("时间", "c", required=False, help="本月 或 本年"),
    ],
    permission=SCOPE,
    examples=("/资源排行", "/资源排行 数学 杭州市 本月"),
)
async def top_resources(ctx: Context, args: Args) -> Reply:
    tree, cfg = regions(ctx.services), config(ctx.services)
    subject = city = when = None
    for w in (args.optional("a", str), args.optional("b", str), args.optional("c", str)):
        if not w:
            continue
        if w in ("本月", "本年", "今年", "这个月"):
            when = w
        elif c := (tree.city(w) or tree.city(w + "市")):
            city = c.name
        elif s := cfg.subject(w):
            subject = s
        else:
            raise UserError("review/bad_rank_word", word=w)
    period, label = _period(when, ctx.now().date())
    env = Env.of(ctx)
    resources = await env.repo.resources(city=city)
    by_id = {r.id: r for r in resources}
    ranked = rank_by_use(
        [ResourceRow(str(r.id), r.title, r.stage, r.subject, r.city) for r in resources],
        [feedback_row(f) for f in await env.repo.feedback(by_id)],
        period,
        subject=subject,
        limit=RANK_LIMIT,
    )
    rows = [
        {
            "rank": x.rank,
            "n": x.resource.resource_id,
            "title": x.resource.title,
            "place": x.resource.city,
            "subject": f"{x.resource.stage}·{x.resource.subject}",
            "clicks": x.clicks,
            "downloads": x.downloads,
        }
        for x in ranked
    ]
    return Reply("review/top", {"rows": rows, "period": label, "where": city or "全省", "subject": subject or ""})


async def export_results(ctx: Context, where: str | None) -> Reply:
    view = await call_in_scope(ctx, (where or "").split())
    call, scope, resources = view.call, view.scope, view.resources
    by_res = defaultdict(list)
    for t in view.tasks:
        by_res[t.resource_id].append(t)
    rows: list[dict[str, str]] = []
    for r in resources:
        notes = "；".join(
            f"{call.levels[t.level_index].name}{'通过' if t.verdict == 'pass' else '退回'}"
            + (f"：{t.reason}" if t.reason else "")
            for t in by_res[r.id]
            if t.state == TaskState.DONE.value
        )
        rows.append(
            {
                "section": SECTION.get(r.status, "reviewing"),
                "n": str(r.id),
                "title": r.title,
                "category": r.category,
                "stage": r.stage,
                "subject": r.subject,
                "edition": r.edition,
                "chapter": r.chapter,
                "type": r.rtype,
                "county": r.county,
                "school": r.school,
                "submitter": r.submitter_name,
                "level": call.levels[r.level_index].name,
                "notes": notes,
            }
        )
    place = scope.city or regions(ctx.services).province
    header = {
        "报送单位": f"{place}教育技术中心",
        "联系人姓名": ctx.actor.name,
        "报送日期": ctx.now().date().isoformat(),
    }
    spec, data = review_form_spec(call.name), review_form_data(rows, header)
    xlsx = await asyncio.to_thread(write_xlsx, spec, data)
    docx = await asyncio.to_thread(write_docx, spec, data)
    links = await form_links(ctx, f"{place}-审核结果", xlsx, docx)
    await ctx.audit("review.export", "review_export", call.name, after={"count": len(rows), "city": place})
    return Reply(
        "roster/exported",
        {"what": f"{call.name}审核结果", "city": place, "count": len(rows), "links": links},
        private=True,
    )


EXPORTS = [ExportKind("审核结果", ("reviews", "审核"), "资源审核结果汇总表", export_results)]
