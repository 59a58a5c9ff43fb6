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
    from storage.db import UnitOfWork


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
) -> None:
    """Queue ``reply`` to people (``user_ids``) or to one group (``conversation_id``), as the renderer says
    (markdown, or plain text when its values could form markup)."""
    if (user_ids is None) == (conversation_id is None):
        raise ValueError("give either user_ids or conversation_id")
    rendered = renderer.reply(reply)
    if user_ids is not None:
        await uow.outbox.enqueue(
            kind="users",
            user_ids=list(user_ids),
            msg_key=rendered.msg_key,
            msg_param=rendered.msg_param,
            now=now,
            reply_to_msg_id=reply_to_msg_id,
            purpose=purpose,
            dedup_key=dedup_key,
        )
    else:
        await uow.outbox.enqueue(
            kind="group",
            conversation_id=conversation_id,
            msg_key=rendered.msg_key,
            msg_param=rendered.msg_param,
            now=now,
            reply_to_msg_id=reply_to_msg_id,
            purpose=purpose,
            dedup_key=dedup_key,
        )
