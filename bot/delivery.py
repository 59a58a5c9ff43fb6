"""A reply's way out: written to the outbox with the message's "handled" mark, then sent.

The reply rows are committed before anything is sent (``reply_drafts`` builds them). A row
the bot can send by the message's session webhook is *held* (status 'sending'): it is
posted at once and marked sent as soon as DingTalk accepted it, so it is never sent twice;
when the webhook has expired or refuses it, the outbox sends it by OpenAPI to the same
conversation. If the process dies while holding it, the outbox takes it over after
``REPLY_LEASE``. A reply whose full text is private goes to the sender's 1:1 chat by
OpenAPI and the group gets a pointer.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from bot.dingtalk.openapi import markdown_body
from bot.incoming import IncomingMessage
from bot.replies import Rendered, Renderer, Reply

if TYPE_CHECKING:
    from bot.claims import Inbox
    from bot.dingtalk.openapi import DingTalkAPI

log = logging.getLogger("bot.delivery")

WEBHOOK_TIMEOUT = 5.0  # well below storage.repositories.outbox.REPLY_LEASE


@dataclass
class Draft:
    row: dict[str, Any]  # OutboxRepository.enqueue keywords (without ``now``)
    webhook_body: dict[str, Any] | None = None  # set when the row is held for the webhook


def _row(msg: IncomingMessage, rendered: Rendered, *, to_user: bool, held: bool, purpose: str) -> dict[str, Any]:
    base: dict[str, Any] = {
        "msg_key": rendered.msg_key,
        "msg_param": rendered.msg_param,
        "reply_to_msg_id": msg.msg_id,
        "purpose": purpose,
        "held": held,
    }
    if to_user:
        return {**base, "kind": "users", "user_ids": [msg.sender_staff_id] if msg.sender_staff_id else []}
    return {**base, "kind": "group", "conversation_id": msg.conversation_id}


def reply_drafts(msg: IncomingMessage, reply: Reply | None, renderer: Renderer, now: datetime) -> list[Draft]:
    """The outbox rows answering ``msg`` with ``reply`` (none for no reply)."""
    if reply is None:
        return []
    rendered = renderer.reply(reply)
    drafts: list[Draft] = []
    if reply.private and msg.is_group and msg.sender_staff_id:
        # Full personal data goes to the person's 1:1 chat; the group gets a pointer.
        drafts.append(Draft(_row(msg, rendered, to_user=True, held=False, purpose="reply_private")))
        rendered = renderer.render("common/sent_privately", {})
    at = [msg.sender_staff_id] if (reply.at_sender and msg.is_group and msg.sender_staff_id) else None
    to_user = not msg.is_group
    if msg.webhook_usable(now):
        drafts.append(
            Draft(
                _row(msg, rendered, to_user=to_user, held=True, purpose="reply"),
                markdown_body(rendered.title, rendered.text, at, markdown=rendered.markdown),
            )
        )
    elif to_user and not msg.sender_staff_id:
        log.error("cannot reach %s (webhook expired, no staff id); msgId=%s", msg.sender_id, msg.msg_id)
    else:
        drafts.append(Draft(_row(msg, rendered, to_user=to_user, held=False, purpose="reply")))
    return drafts


class ReplyDelivery:
    """Sends the held rows of a committed reply by webhook; wakes the outbox for the rest."""

    def __init__(self, api: DingTalkAPI, inbox: Inbox, wake_outbox: Any):
        self.api = api
        self.inbox = inbox
        self.wake_outbox = wake_outbox

    async def deliver(self, msg: IncomingMessage, drafts: list[Draft], ids: list[int]) -> None:
        wake = False
        for draft, oid in zip(drafts, ids, strict=True):
            if draft.webhook_body is None:
                wake = True
                continue
            if await self._post(msg.session_webhook, draft.webhook_body):
                await self.inbox.sent(oid)
            elif draft.row["kind"] == "users" and not draft.row.get("user_ids"):
                log.error("reply to %s lost: webhook refused and no staff id; msgId=%s", msg.sender_id, msg.msg_id)
                await self.inbox.retry(oid, "webhook refused; no staff id", failed=True)
            else:
                await self.inbox.retry(oid, "session webhook refused or expired")
                wake = True
        if wake:
            self.wake_outbox()

    async def _post(self, url: str, body: dict[str, Any]) -> bool:
        try:
            return await asyncio.wait_for(self.api.post_webhook(url, body), WEBHOOK_TIMEOUT)
        except TimeoutError:
            log.warning("webhook reply timed out after %.0f s", WEBHOOK_TIMEOUT)
            return False
