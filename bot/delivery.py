"""A reply's way out: by the message's session webhook, else by the outbox (OpenAPI).

A reply whose handler wrote something is committed first: its outbox rows go in with the
handler's writes and the message's "handled" mark (``reply_drafts`` builds them). A row the bot
can send by the session webhook is *held* (status 'sending'): it is posted at once and marked
sent as soon as DingTalk accepted it, so it is never sent twice; when the webhook has expired or
refuses it, the outbox sends it by OpenAPI to the same conversation. If the process dies while
holding it, the outbox takes it over after ``REPLY_LEASE``.

A reply whose handler wrote nothing, on a database only this process handles (SQLite: one
instance per file), is posted first and then finished with one write (:meth:`ReplyDelivery.post_first`):
the "handled" mark, plus an outbox row only for what the webhook refused. A crash between
DingTalk's acceptance and that write leaves the message unhandled: it is handled again and
answered twice, the same window as a held row accepted but not yet marked sent. (With several
instances on PostgreSQL another one may be handling the same stored message, after a start-up or
a sweep: there the conditional "handled" mark is committed before anything is sent, so one of
them answers.)

A reply whose full text is private goes to the sender's 1:1 chat by OpenAPI and the group gets a
pointer.
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
FINISH_RETRY_MAX = 5.0  # seconds between tries of a handled mark the database refused
REFUSED = "session webhook refused or expired"
UNREACHABLE = "webhook refused; no staff id"


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
        """Send the committed rows ``ids`` of ``drafts``: the held ones by webhook, the rest by the outbox."""
        wake = False
        for draft, oid in zip(drafts, ids, strict=True):
            if draft.webhook_body is None:
                wake = True
                continue
            if await self._post(msg.session_webhook, draft.webhook_body):
                await self.inbox.sent(oid)
            elif _unreachable(msg, draft):
                await self.inbox.retry(oid, UNREACHABLE, failed=True)
            else:
                await self.inbox.retry(oid, REFUSED)
                wake = True
        if wake:
            self.wake_outbox()

    async def post_first(self, msg: IncomingMessage, drafts: list[Draft]) -> list[int] | None:
        """Answer a message whose handler wrote nothing, every draft held for the webhook: post them,
        then mark the message handled in one write, with outbox rows only for what the webhook refused.
        Returns the ids of those rows, or None if the message had been handled already."""
        refused = [
            d for d in drafts if d.webhook_body is None or not await self._post(msg.session_webhook, d.webhook_body)
        ]
        ids = await self._finish(msg.msg_id, [{**d.row, "held": False} for d in refused])
        if ids is None:  # nobody else handles this database's messages: a bug, say so
            log.error("msgId=%s was handled meanwhile: answered twice", msg.msg_id)
            return None
        for draft, oid in zip(refused, ids, strict=True):
            if _unreachable(msg, draft):
                await self.inbox.retry(oid, UNREACHABLE, failed=True)
        if refused:
            self.wake_outbox()
        return ids

    async def _finish(self, msg_id: str, rows: list[dict[str, Any]]) -> list[int] | None:
        """The handled mark after a webhook answer: retried while the database fails, because a message
        left unhandled would be handled again and answered twice."""
        delay = 0.1
        while True:
            try:
                return await self.inbox.finish(msg_id, rows)
            except Exception:
                log.exception("could not mark msgId=%s handled after its reply went out: retrying", msg_id)
            await asyncio.sleep(delay)
            delay = min(delay * 2, FINISH_RETRY_MAX)

    async def _post(self, url: str, body: dict[str, Any]) -> bool:
        try:
            async with asyncio.timeout(WEBHOOK_TIMEOUT):
                return await self.api.post_webhook(url, body)
        except TimeoutError:
            log.warning("webhook reply timed out after %.0f s", WEBHOOK_TIMEOUT)
            return False


def _unreachable(msg: IncomingMessage, draft: Draft) -> bool:
    """A refused reply the outbox cannot send either (a 1:1 chat with someone without a staff id)."""
    if draft.row["kind"] == "users" and not draft.row.get("user_ids"):
        log.error("reply to %s lost: webhook refused and no staff id; msgId=%s", msg.sender_id, msg.msg_id)
        return True
    return False
