"""Push: one interactive card per reviewer per batch (buttons 通过 / 退回 / 不能审 per task), a
summary per subject to the reviewer group (no personal data), and card updates after verdicts.

Every send goes through the outbox. A key per batch and reviewer (``review_sends``) is written in
the same transaction as the outbox rows, so a batch is never pushed twice. When a card cannot be
sent, the outbox sends the card's ``fallback``: an action card with the same tasks and the text
commands.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter, defaultdict
from collections.abc import Sequence
from typing import Any

from bot.replies import Reply
from domain.review.calls import ReviewCall
from domain.review.flow import VERDICT_NAMES, TaskState
from handlers.review.common import Env, task_view
from storage.models.review import ReviewTask

CARD_TEMPLATE = "zj-review-tasks.schema"  # the card template registered for the robot
ACTIONS = (("pass", "通过"), ("reject", "退回"), ("decline", "不能审"))


def card_id(batch_key: str, reviewer_id: str) -> str:
    return "rv" + hashlib.sha1(f"{batch_key}:{reviewer_id}".encode()).hexdigest()[:38]


def task_status(t: ReviewTask) -> str:
    if t.state == TaskState.DONE.value and t.verdict:
        return f"已{VERDICT_NAMES[t.verdict]}"
    if t.state == TaskState.OPEN.value:
        return "待审"
    return TaskState(t.state).label


async def card_params(env: Env, call: ReviewCall | None, tasks: Sequence[ReviewTask]) -> dict[str, str]:
    """The card's data: markdown for any client, plus the tasks and buttons as JSON (strings, as
    DingTalk card parameters are)."""
    repo = env.repo
    views = []
    for t in tasks:
        r = await repo.resource(t.resource_id)
        if r is None:
            continue
        view = task_view(t, r, call) | {"status": task_status(t), "open": t.state == TaskState.OPEN.value}
        views.append(view)
    rendered = env.services.renderer.reply(
        Reply("review/tasks_card", {"tasks": views, "call": call.name if call else ""})
    )
    buttons = [
        {
            "id": f"{a}:{v['n']}",
            "text": f"{label} #{v['n']}",
            "task": str(v["n"]),
            "params": {"action": f"{a}:{v['n']}"},
        }
        for v in views
        for a, label in ACTIONS
    ]
    status = {str(v["n"]): v["status"] for v in views if not v["open"]}
    return {
        "title": rendered.title,
        "markdown": rendered.text,
        "tasks": json.dumps(views, ensure_ascii=False),
        "buttons": json.dumps(buttons, ensure_ascii=False),
        "status": json.dumps(status, ensure_ascii=False),
    }


def fallback(env: Env, params: dict[str, str], first_link: str) -> dict[str, Any]:
    text = params["markdown"] + "\n\n" + env.services.renderer.reply(Reply("review/card_commands", {})).text
    return {
        "msgKey": "sampleActionCard",
        "msgParam": {"title": params["title"], "text": text, "singleTitle": "打开第一个资源", "singleURL": first_link},
    }


async def push_tasks(env: Env, call: ReviewCall, tasks: Sequence[ReviewTask], batch_key: str) -> int:
    """Queue one card per reviewer and the group summary; returns the cards queued."""
    by_reviewer: dict[str, list[ReviewTask]] = defaultdict(list)
    for t in tasks:
        by_reviewer[t.reviewer_id].append(t)
    repo = env.repo
    sent = 0
    fresh = await repo.claim_sends([f"push:{batch_key}:{r}" for r in by_reviewer], env.now)
    mine_of = {r: mine for r, mine in by_reviewer.items() if f"push:{batch_key}:{r}" in fresh}
    for reviewer_id, mine in mine_of.items():
        for t in mine:
            t.card_id = card_id(batch_key, reviewer_id)
    await repo.flush()  # one flush for all card ids; the cards are flushed together below
    for reviewer_id, mine in mine_of.items():
        cid = card_id(batch_key, reviewer_id)
        params = await card_params(env, call, mine)
        first = await repo.resource(mine[0].resource_id)
        card = {
            "template": CARD_TEMPLATE,
            "outTrackId": cid,
            "params": params,
            "fallback": fallback(env, params, first.link if first else ""),
        }
        await env.enqueue_card(reviewer_id, card, purpose="review.push")
        sent += 1
    if sent and await repo.claim_send(f"push:{batch_key}:group", env.now):
        counts: Counter[str] = Counter()
        for t in tasks:
            r = await repo.resource(t.resource_id)
            if r is not None:
                counts[f"{r.stage}·{r.subject}"] += 1
        await env.to_reviewer_groups(
            Reply(
                "review/group_summary",
                {
                    "call": call.name,
                    "reviewers": len(by_reviewer),
                    "total": len(tasks),
                    "subjects": [{"name": k, "count": v} for k, v in sorted(counts.items())],
                },
            ),
            purpose="review.summary",
        )
    await repo.flush()
    return sent


async def refresh_card(env: Env, call: ReviewCall | None, card: str) -> None:
    """Show the verdicts given so far on the reviewer's card."""
    tasks = await env.repo.task_by_card(card)
    if tasks:
        await env.update_card(card, await card_params(env, call, tasks), purpose="review.card_update")
