"""/提醒 新增|暂停|恢复|列表, /收到, /已完成, /催办, /发送统计, /重发失败."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from bot.commands import (
    Arg,
    ArgError,
    Args,
    Chat,
    GroupRole,
    Router,
    iso_date,
    positive_int,
    text,
    tokenize,
)
from bot.context import Context
from bot.errors import UserError
from bot.replies import Reply
from domain.reminders import AUDIENCE_WORDS, Obligation
from domain.reminders.planner import ACK, DONE, Item, Key, Plan, Subject
from domain.territory import Territory, resolve_territory
from handlers.permissions import PROVINCE_OPERATOR, REMINDER_OPERATOR
from handlers.reminders.cards import show_on_card
from handlers.reminders.done import DONE_QUERIES
from handlers.reminders.events import instances, subjects_at
from handlers.reminders.job import send_plan
from handlers.reminders.service import due_text, env, find, obligations
from handlers.roster.common import held, regions
from scheduler import JobContext
from storage.repositories.reminders import ReminderRepository

router = Router("reminders", section="审批与管理")
USAGE_ADD = "/提醒 新增 标题 截止日期 对象 [地区]，如 /提醒 新增 上报培训计划 2026-12-20 县级管理员 杭州市"
WHO = "、".join(AUDIENCE_WORDS)


def _bad(field: str, problem: str, fix: str) -> UserError:
    return UserError("reminders/bad_input", field=field, problem=problem, fix=fix)


async def _territory(ctx: Context, where: str | None) -> Territory:
    """The named territory (default: the sender's widest), refused when outside what they hold."""
    mine = await held(ctx)
    if not where:
        return min(mine, key=lambda t: t.level)
    m = resolve_territory(regions(ctx.services), where)
    if m.territory is None:
        raise _bad("地区", f"没有找到“{where}”。", "请写市或县（市、区）的名称，如 杭州市、西湖区。")
    if not any(h == m.territory or h.strictly_contains(m.territory) for h in mine):
        raise _bad(
            "地区",
            f"{m.territory.label}不在你管理的范围内。",
            "只能给自己管理的地区添加或催办提醒；请换成你管理的地区，或请上级操作。",
        )
    return m.territory


async def _item(ctx: Context, raw: str) -> Obligation:
    try:
        number = positive_int(raw)
    except ArgError:
        raise _bad("编号", f"“{raw}”不是编号。", "请写 /提醒 列表 里的数字编号，如 3。") from None
    ob = find(await obligations(ctx.uow, ctx.services, ctx.now()), number)
    if ob is None:
        raise UserError("reminders/unknown_item", number=number)
    return ob


async def _add(ctx: Context, words: list[str]) -> Reply:
    if len(words) < 3 or len(words) > 4:
        raise _bad("格式", "新增提醒需要标题、截止日期和对象。", "用法：" + USAGE_ADD)
    title, raw_due, who = words[0], words[1], words[2]
    try:
        due = iso_date(raw_due)
    except ArgError as exc:
        raise _bad("截止日期", f"“{raw_due}”不对：应为{exc.expected}。", "请写成 2026-12-20 这样的日期。") from None
    if due < ctx.now().date():
        raise _bad("截止日期", f"{due.isoformat()} 已经过去了。", "请写今天或以后的日期。")
    if who not in AUDIENCE_WORDS:
        raise _bad("对象", f"“{who}”不是可提醒的对象。", f"请写以下之一：{WHO}。")
    if len(title) > 60:
        raise _bad("标题", "标题太长了。", "请控制在 60 字以内。")
    where = await _territory(ctx, words[3] if len(words) == 4 else None)
    item = await ctx.uow.repo(ReminderRepository).add(
        title=title,
        due_date=due,
        audience=who,
        done_query="self_reported",
        territory=None if where.level == 0 else where.path,
        action="完成后请回复 已完成",
        by=ctx.actor.id,
        now=ctx.now(),
    )
    await ctx.audit(
        "reminders.add",
        "reminder",
        str(item.id),
        after={"title": title, "due": due.isoformat(), "who": who, "territory": where.path},
        territory=where.path,
    )
    return Reply(
        "reminders/added",
        {"number": item.id, "title": title, "due": due_text(due), "who": who, "territory": where.label},
    )


async def _pause(ctx: Context, words: list[str], paused: bool) -> Reply:
    if len(words) != 1:
        raise _bad("编号", "需要一个编号。", f"用法：/提醒 {'暂停' if paused else '恢复'} 编号，编号见 /提醒 列表。")
    ob = await _item(ctx, words[0])
    where = Territory.from_path(ob.territory) if ob.territory else Territory(regions(ctx.services).province)
    mine = await held(ctx)
    if not any(h == where or h.strictly_contains(where) for h in mine):
        raise _bad("编号", f"提醒 {ob.number} 属于{where.label}，不在你管理的范围内。", "请联系上级管理员操作。")
    await ctx.uow.repo(ReminderRepository).set_paused(ob.number, paused)
    await ctx.audit(
        "reminders.pause" if paused else "reminders.resume",
        "reminder",
        str(ob.number),
        before={"paused": ob.paused},
        after={"paused": paused},
        territory=where.path,
    )
    return Reply("reminders/paused", {"number": ob.number, "title": ob.title, "paused": paused})


async def _list(ctx: Context) -> Reply:
    today = ctx.now().date()
    items = []
    e = env(ctx.services)
    for ob in await obligations(ctx.uow, ctx.services, ctx.now()):
        running = await instances(ctx.uow, ob, today, e)
        due = running[0][0] if running else None
        items.append(
            {
                "number": ob.number,
                "title": ob.title,
                "who": ob.audience.label,
                "due": f"{due_text(due)}截止" if due else "已结束",
                "territory": Territory.from_path(ob.territory).label if ob.territory else "",
                "paused": ob.paused,
            }
        )
    return Reply("reminders/list", {"items": items})


@router.command(
    "提醒",
    alias="remind",
    help="截止提醒：新增、暂停、恢复、列表",
    raw=True,
    permission=REMINDER_OPERATOR,
    examples=("/提醒 列表", "/提醒 新增 上报培训计划 2026-12-20 县级管理员 杭州市", "/提醒 暂停 3"),
)
async def remind(ctx: Context, args: Args) -> Reply:
    try:
        words = tokenize(args.rest)
    except ArgError:
        raise _bad("格式", "引号没有闭合。", "用法：" + USAGE_ADD) from None
    op, rest = (words[0], words[1:]) if words else ("列表", [])
    if op in ("新增", "添加", "add"):
        return await _add(ctx, rest)
    if op in ("暂停", "pause"):
        return await _pause(ctx, rest, True)
    if op in ("恢复", "resume"):
        return await _pause(ctx, rest, False)
    if op in ("列表", "list"):
        return await _list(ctx)
    raise _bad("操作", f"“{op}”不是提醒的操作。", "请写 新增、暂停、恢复 或 列表，如 /提醒 列表。")


# --- acknowledgement ---------------------------------------------------------------------------


async def _mine(ctx: Context, number: int) -> tuple[Obligation, date]:
    ob = find(await obligations(ctx.uow, ctx.services, ctx.now()), number)
    if ob is None:
        raise UserError("reminders/unknown_item", number=number)
    due = await ctx.uow.repo(ReminderRepository).latest_due_for(ob.id, ctx.actor.id)
    if due is None:
        raise UserError("reminders/not_yours", number=number, title=ob.title)
    return ob, due


NUMBER = Arg("编号", "number", positive_int, help="提醒里写的编号")


@router.command(
    "收到", alias="ack", help="收到提醒：截止当天前不再提醒你", args=[NUMBER], chat=Chat.PRIVATE, examples=("/收到 3",)
)
async def ack(ctx: Context, args: Args) -> Reply:
    ob, due = await _mine(ctx, args.value("number", int))
    repo = ctx.uow.repo(ReminderRepository)
    view = {"number": ob.number, "title": ob.title, "due": due_text(due)}
    before = (await repo.acks([(ob.id, due)])).get((ob.id, due, ctx.actor.id))
    if before is not None:  # pressed twice, or after 已完成: recorded once
        return Reply("reminders/acked", view | {"again": True})
    await repo.acknowledge(ob.id, due, ctx.actor.id, ACK, ctx.now())
    await ctx.audit("reminders.ack", "reminder", str(ob.number), after={"due": due.isoformat(), "kind": ACK})
    await _show(ctx, ob, due)
    return Reply("reminders/acked", view | {"again": False})


async def _show(ctx: Context, ob: Obligation, due: date, note: str = "") -> None:
    """The person's view of the reminder card that carried it shows what they answered."""
    numbers = {o.id: o.number for o in await obligations(ctx.uow, ctx.services, ctx.now())}
    if await show_on_card(ctx.uow, numbers, ob.id, due, ctx.actor.id, ctx.now(), note):
        ctx.outbox_written = True


@router.command(
    "已完成", alias="done", help="提醒的事已完成（会核对）", args=[NUMBER], chat=Chat.PRIVATE, examples=("/已完成 3",)
)
async def done(ctx: Context, args: Args) -> Reply:
    ob, due = await _mine(ctx, args.value("number", int))
    repo = ctx.uow.repo(ReminderRepository)
    if ob.done == "self_reported":
        missing: list[str] = []
    else:
        e = env(ctx.services)
        subjects = [s for s in await subjects_at(ctx.uow, ob, due, e) if ctx.actor.id in s.people]
        statuses = await DONE_QUERIES[ob.done](ctx.uow, ob, due, subjects, e)
        missing = [statuses[s.key].missing for s in subjects if not statuses[s.key].done]
    if missing:
        await ctx.audit(
            "reminders.done_refused", "reminder", str(ob.number), after={"due": due.isoformat(), "missing": missing}
        )
        await _show(ctx, ob, due, note=f"还没有完成：{'；'.join(missing)}（完成后发 /已完成 {ob.number}）")
        return Reply("reminders/not_done", {"number": ob.number, "title": ob.title, "missing": "；".join(missing)})
    if (await repo.acks([(ob.id, due)])).get((ob.id, due, ctx.actor.id)) != DONE:
        await repo.acknowledge(ob.id, due, ctx.actor.id, DONE, ctx.now())
        await ctx.audit("reminders.done", "reminder", str(ob.number), after={"due": due.isoformat(), "kind": DONE})
        await _show(ctx, ob, due)
    return Reply("reminders/done_ok", {"title": ob.title})


# --- /催办 -----------------------------------------------------------------------------------------


@router.command(
    "催办",
    alias="urge",
    help="立即提醒未完成的人（每人每天一次）",
    args=[Arg("事项", "item", text, help="/提醒 列表 里的编号"), Arg("地区", "where", text, required=False)],
    permission=REMINDER_OPERATOR,
    examples=("/催办 1", "/催办 1 西湖区"),
)
async def urge(ctx: Context, args: Args) -> Reply:
    ob = await _item(ctx, args.value("item", str))
    where = await _territory(ctx, args.optional("where", str))
    now, today = ctx.now(), ctx.now().date()
    running = await instances(ctx.uow, ob, today, env(ctx.services))
    if not running:
        raise _bad("事项", f"提醒 {ob.number} 的提醒期已结束。", "请选一个还在提醒期内的事项（见 /提醒 列表）。")
    plan, limited = Plan(), set[str]()
    total = lagging = 0
    for due, everyone in running:
        subjects = [s for s in everyone if s.territory == where.path or s.territory.startswith(where.path + "/")]
        total += len(subjects)
        lagging += await _urge_due(ctx, ob, due, subjects, plan, limited)
    if not plan.personal and not limited:
        return Reply("reminders/nothing_to_urge", {"title": ob.title, "where": where.label})
    counts = await send_plan(JobContext(ctx.uow, ctx.services), plan, today, now, purpose="urge")
    ctx.outbox_written = True
    await ctx.audit(
        "reminders.urge",
        "reminder",
        str(ob.number),
        after={"due": [d.isoformat() for d, _ in running], "sent": counts["people"], "limited": len(limited)},
        territory=where.path,
    )
    return Reply(
        "reminders/urged",
        {"title": ob.title, "sent": counts["people"], "limited": len(limited), "done": total - lagging},
    )


async def _urge_due(
    ctx: Context, ob: Obligation, due: date, subjects: list[Subject], plan: Plan, limited: set[str]
) -> int:
    """Plan an extra reminder for the laggards of one due date (each person at most the day's limit); the laggards."""
    if not subjects:
        return 0
    today = ctx.now().date()
    statuses = await DONE_QUERIES[ob.done](ctx.uow, ob, due, subjects, env(ctx.services))
    lagging = [s for s in subjects if not statuses[s.key].done]
    people = sorted({p for s in lagging for p in s.people})
    urged = await ctx.uow.repo(ReminderRepository).urged(ob.id, due, today, people)
    limit = ctx.settings.reminder_urge_per_day
    for s in lagging:
        item = Item(ob.number, ob.title, due, "URGE", statuses[s.key].missing, ob.action)
        for p in s.people:
            n = urged.get(p, 0)
            if n >= limit:
                limited.add(p)
                continue
            plan.personal.append((Key(ob.id, due, f"URGE-{today:%Y%m%d}-{n + 1}", p), item))
    return len(lagging)


# --- /发送统计 -------------------------------------------------------------------------------------

API_LABELS = {"oToMessages/batchSend": "单聊消息（批量）", "groupMessages/send": "群消息"}


@router.command(
    "发送统计",
    alias="sendstats",
    help="本月调用钉钉接口的次数和上限",
    permission=REMINDER_OPERATOR,
    examples=("/发送统计",),
)
async def send_stats(ctx: Context, args: Args) -> Reply:
    now = ctx.now()
    month = now.strftime("%Y-%m")
    calls = await ctx.uow.outbox.calls_in(month)
    total = sum(calls.values())
    cap = max(ctx.settings.dingtalk_monthly_cap, 1)
    apis: list[dict[str, Any]] = [{"label": API_LABELS.get(k, k), "calls": v} for k, v in sorted(calls.items())]
    return Reply(
        "reminders/stats",
        {
            "month": month,
            "total": total,
            "cap": cap,
            "percent": total * 100 // cap,
            "apis": apis,
            "pending": await ctx.uow.outbox.depth(),
            "failed": await ctx.uow.outbox.failed_since(now - timedelta(days=7)),
        },
    )


@router.command(
    "重发失败",
    alias="resend",
    help="问题解决后，重新发送近 7 天发送失败的消息",
    groups={GroupRole.ADMIN},  # the admin group and 1:1 chats
    permission=PROVINCE_OPERATOR,
    examples=("/重发失败",),
)
async def resend_failed(ctx: Context, args: Args) -> Reply:
    now = ctx.now()
    count = await ctx.uow.outbox.retry_failed(now - timedelta(days=7), now)
    if count:
        await ctx.audit("outbox.retry_failed", "outbox", "failed", after={"count": count})
        ctx.outbox_written = True  # the worker is woken after the commit
    return Reply("reminders/resent", {"count": count})
