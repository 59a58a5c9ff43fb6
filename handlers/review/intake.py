"""Resource intake: ``POST /api/v1/resources`` (the activity API's token, size limit and answer
shape), ``python3 run_bot.py reviews import FILE``, and ``/提交资源`` for operators in chat.

The same external id twice is one resource; a changed field is an audited update; every refusal
names the row (or item), the field and the fix.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from aiohttp import web

from bot.commands import Args, Chat
from bot.context import Context
from bot.http import api_items, json_ok, with_bad_lines
from bot.replies import Reply
from domain.regions import RegionTree
from domain.review.calls import ReviewConfig
from domain.review.intake import LABELS, validate
from domain.territory import Territory, can_manage
from handlers.permissions import OPERATOR
from handlers.review.common import ENTITY, OPERATOR_GROUPS, config, router
from handlers.roster.common import held, regions
from storage.repositories.core import Auditor
from storage.repositories.review import ReviewRepository, resource_snapshot

API_BATCH = 500


@dataclass
class IntakeReport:
    received: int = 0
    accepted: int = 0  # new resources
    updated: int = 0  # known external id, some field changed (audited)
    duplicates: int = 0  # known external id, nothing changed
    rejected: list[tuple[int, str]] = field(default_factory=list)  # (0-based index, reason)
    ids: list[int] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "received": self.received,
            "accepted": self.accepted,
            "updated": self.updated,
            "duplicates": self.duplicates,
            "rejected_count": len(self.rejected),
            "rejected": [{"index": i, "reason": r} for i, r in self.rejected[:1000]],
        }


async def ingest(
    uow,
    cfg: ReviewConfig,
    tree: RegionTree,
    items: list[Any],
    now: datetime,
    *,
    actor: tuple[str, str],
    rows: list[int] | None = None,
    allowed: list[Territory] | None = None,
) -> IntakeReport:
    """Validate and store ``items``; ``rows`` are the numbers refusals name (default: item number)."""
    repo = uow.repo(ReviewRepository)
    calls = await repo.calls()
    call_ids = {c.name: c.id for c in calls}
    report = IntakeReport(received=len(items))
    good = []
    for i, raw in enumerate(items):
        n = rows[i] if rows else i + 1
        item, errors = validate(raw, n, config=cfg, calls=calls, tree=tree)
        if item is not None and allowed is not None and not can_manage(allowed, Territory(tree.province, item.city)):
            errors = [_outside(n, item.city)]
            item = None
        if item is None:
            report.rejected.append((i, "；".join(e.text() for e in errors)))
            continue
        good.append(item)
    known = await repo.by_external(g.external_id for g in good)
    auditor = Auditor(*actor, now)
    for item in good:
        call_id = call_ids[item.call]
        row = known.get(item.external_id)
        territory = f"{tree.province}/{item.city}"
        if row is None:
            row = repo.add_resource(item, call_id, now)
            await repo.flush()
            known[item.external_id] = row
            report.accepted += 1
            await uow.audit.record(
                auditor.entry("review.resource_add", ENTITY, row.id, after=resource_snapshot(row), territory=territory)
            )
        else:
            changes = repo.changes(row, item, call_id)
            if not changes:
                report.duplicates += 1
            else:
                repo.apply(row, changes, call_id, now)
                report.updated += 1
                await uow.audit.record(
                    auditor.entry(
                        "review.resource_update",
                        ENTITY,
                        row.id,
                        before={k: old for k, (old, _new) in changes.items()},
                        after={k: new for k, (_old, new) in changes.items()},
                        territory=territory,
                    )
                )
        report.ids.append(row.id)
    await repo.flush()
    return report


def _outside(n: int, city: str):
    from domain.review.intake import Refusal

    return Refusal(n, LABELS["city"], city, "不在你管理的地区，只能提交本地区的资源")


# ── HTTP: POST /api/v1/resources ──
async def resources_api(request: web.Request) -> web.Response:
    got = await api_items(request)
    if isinstance(got, web.Response):
        return got
    bot, items, bad_lines = got
    cfg, tree = config(bot.services), regions(bot.services)
    total = IntakeReport(received=len(items))
    for start in range(0, len(items), API_BATCH):  # small transactions: chat keeps flowing
        async with bot.db.unit_of_work() as uow:
            part = await ingest(
                uow, cfg, tree, items[start : start + API_BATCH], bot.clock.now(), actor=("api", "资源接口")
            )
        total.accepted += part.accepted
        total.updated += part.updated
        total.duplicates += part.duplicates
        total.rejected.extend((start + i, r) for i, r in part.rejected)
    total.rejected = with_bad_lines(total.rejected, bad_lines)
    return json_ok(total.as_dict())


# ── chat: one resource ──
@router.command(
    "提交资源",
    groups=OPERATOR_GROUPS,
    chat=Chat.ANY,
    alias="addresource",
    help="登记一个待审资源（运营人员）",
    raw=True,
    permission=OPERATOR,
    examples=(
        (
            "/提交资源 外部编号=R001 资源名称=分数的意义 资源类型=微课 学段=小学 学科=数学 "
            "链接=https://example.cn/r/1 提交人=李明 提交人账号=LiMing01 学校=西湖小学 "
            "县区=西湖区 设区市=杭州市"
        ),
    ),
)
async def add_resource(ctx: Context, args: Args) -> Reply:
    values = dict(re.findall(r"(\S+?)\s*[=＝]\s*(\S+)", args.rest or ""))
    if not values:
        return Reply("review/add_usage", {"fields": [label for label in LABELS.values()]})
    report = await ingest(
        ctx.uow,
        config(ctx.services),
        regions(ctx.services),
        [values],
        ctx.now(),
        actor=(ctx.actor.id, ctx.actor.name),
        allowed=await held(ctx),
    )
    if report.rejected:
        return Reply("review/add_refused", {"reason": report.rejected[0][1]})
    return Reply(
        "review/added", {"n": report.ids[0], "created": bool(report.accepted), "updated": bool(report.updated)}
    )
