"""Reminders as interactive cards: one card per ≤ 20 people with the same items, 收到 / 已完成 buttons per
item, and each presser's own view of the card (privateData) updated after the press.

A press arrives as ``/收到 N`` or ``/已完成 N`` from the presser (``bot/dingtalk/cards.py``); the handler
records it and :func:`show_on_card` rewrites that person's status rows of the card the item went out on
(``reminder_deliveries.card``). The card's ``fallback`` (the markdown reminder with dtmd links) is sent
instead when DingTalk refuses the card for good; with ``REMINDER_CARDS`` off the markdown goes directly.
"""

from __future__ import annotations

import hashlib
import json
from datetime import date, datetime
from typing import Any

from bot.replies import Renderer, Reply
from domain.reminders.planner import ACK, DONE, Item
from storage.db import UnitOfWork
from storage.repositories.reminders import ReminderRepository

CARD_TEMPLATE = "zj-review-tasks.schema"  # the robot's card template (title, markdown, buttons, status)


def card_id(dedup_key: str) -> str:
    return "rm" + hashlib.sha1(dedup_key.encode()).hexdigest()[:38]


def items_view(items: tuple[Item, ...]) -> list[dict[str, Any]]:
    return [
        {
            "number": i.number,
            "title": i.title,
            "due": f"{i.due.month}月{i.due.day}日",
            "step": i.step_text,
            "missing": i.missing,
            "action": i.action,
        }
        for i in items
    ]


def card_params(renderer: Renderer, items: tuple[Item, ...]) -> dict[str, str]:
    """The card's data (strings): the items, and per item a 收到 row and an 已完成 row (a row shows its
    status text instead of its button once the person pressed it)."""
    rendered = renderer.reply(Reply("reminders/card", {"items": items_view(items)}))
    buttons = []
    for i in items:
        n, suffix = i.number, f"（{i.number}）" if len(items) > 1 else ""
        buttons += [
            {"id": f"ack:{n}", "text": "收到" + suffix, "task": f"ack-{n}", "params": {"action": f"ack:{n}"}},
            {"id": f"done:{n}", "text": "已完成" + suffix, "task": f"done-{n}", "params": {"action": f"done:{n}"}},
        ]
    body = rendered.text
    if body.startswith("#") and "\n" in body:  # the heading is the card's title
        body = body.split("\n", 1)[1].lstrip("\n")
    return {
        "title": rendered.title,
        "markdown": body,
        "buttons": json.dumps(buttons, ensure_ascii=False),
        "status": "{}",
    }


async def show_on_card(
    uow: UnitOfWork,
    numbers: dict[str, int],
    obligation: str,
    due: date,
    person: str,
    now: datetime,
    note: str = "",
) -> bool:
    """Queue an update of ``person``'s view of the card that carried (obligation, due): every item of that
    card shows what they answered; ``note`` replaces the 已完成 button of this item (what is still missing).
    False when it went out as a plain message (no card)."""
    repo = uow.repo(ReminderRepository)
    card = await repo.card_of(obligation, due, person)
    if card is None:
        return False
    on_card = await repo.card_items(card, person)
    acks = await repo.acks(on_card)
    status: dict[str, str] = {}
    for ob, d in on_card:
        n, kind = numbers.get(ob), acks.get((ob, d, person))
        if n is None:
            continue
        if kind == DONE:
            status[f"ack-{n}"], status[f"done-{n}"] = "已收到", "已完成（已核对）"
        elif kind == ACK:
            status[f"ack-{n}"] = "已收到：截止日前不再提醒"
    if note and obligation in numbers:
        status[f"done-{numbers[obligation]}"] = note
    await uow.outbox.enqueue(
        kind="card_update",
        conversation_id=card,
        msg_key="card",
        msg_param={"outTrackId": card, "private": {person: {"status": json.dumps(status, ensure_ascii=False)}}},
        now=now,
        purpose="reminder:card_update",
    )
    return True
