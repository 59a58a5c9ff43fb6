"""Sending on the bot's own initiative: render a reply and write it to the outbox in the caller's unit of work.

The chat context (``ctx.send_to_users`` / ``ctx.send_to_group``) and the job context (``job.send_to_users`` /
``job.send_to_group``) both go through :func:`enqueue_reply`; the outbox worker sends after the commit.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from bot.replies import Renderer, Reply

if TYPE_CHECKING:
    from bot.context import Services
    from storage.db import UnitOfWork
    from storage.models.core import OutboxMessage


async def enqueue_reply(
    uow: UnitOfWork,
    renderer: Renderer,
    reply: Reply,
    *,
    now: datetime,
    user_ids: Sequence[str] | None = None,
    conversation_id: str | None = None,
    reply_to_msg_id: str | None = None,
    purpose: str = "",
    dedup_key: str | None = None,
) -> list[OutboxMessage]:
    """Queue ``reply`` to people (``user_ids``) or to one group (``conversation_id``), as the renderer says
    (markdown, or plain text when its values could form markup). Returns the new outbox rows (none when
    ``dedup_key`` was used before)."""
    if (user_ids is None) == (conversation_id is None):
        raise ValueError("give either user_ids or conversation_id")
    rendered = renderer.reply(reply)
    return await uow.outbox.enqueue(
        kind="users" if user_ids is not None else "group",
        user_ids=list(user_ids) if user_ids is not None else None,
        conversation_id=conversation_id,
        msg_key=rendered.msg_key,
        msg_param=rendered.msg_param,
        now=now,
        reply_to_msg_id=reply_to_msg_id,
        purpose=purpose,
        dedup_key=dedup_key,
    )


class Outgoing:
    """``send_to_users`` / ``send_to_group`` for whatever holds a unit of work and the services: the chat
    ``Context``, the scheduler's ``JobContext``, the review feature's ``Env``. Each may say when it sends
    (``_sending_at``, default: the services' clock), which message it answers (``_replying_to``) and what
    follows a send (``_sent``)."""

    uow: UnitOfWork
    services: Services

    def _sending_at(self) -> datetime:
        return self.services.clock.now()

    def _replying_to(self) -> str | None:
        return None

    def _sent(self) -> None:
        """Called after each queued send."""

    async def send_to_users(self, user_ids: Sequence[str], reply: Reply, purpose: str = "") -> None:
        """Queue a 1:1 message to people (committed with the unit of work)."""
        await self._send(reply, purpose, user_ids=user_ids)

    async def send_to_group(self, conversation_id: str, reply: Reply, purpose: str = "") -> None:
        """Queue a message to a group (committed with the unit of work)."""
        await self._send(reply, purpose, conversation_id=conversation_id)

    async def _send(
        self, reply: Reply, purpose: str, user_ids: Sequence[str] | None = None, conversation_id: str | None = None
    ) -> None:
        await enqueue_reply(
            self.uow,
            self.services.renderer,
            reply,
            now=self._sending_at(),
            user_ids=user_ids,
            conversation_id=conversation_id,
            reply_to_msg_id=self._replying_to(),
            purpose=purpose,
        )
        self._sent()
