"""IncomingMessage → command spec → handler → Reply → outbox row → webhook or OpenAPI.

The dispatcher owns the error boundary and the unit of work. A message was stored in the
durable inbox before its ACK (``bot.claims``); here it is handled once: a handler's changes,
the inbox's "handled" mark and the reply's outbox rows commit in ONE transaction, only if it
returns a Reply. A UserError rolls back and its template is the reply; anything else rolls
back, is logged with the msgId and an error reference, and the user gets a short apology.
Then the reply is sent (``bot.delivery``). A crash at any instant leaves the message either
unhandled (handled again after the restart) or handled with its reply in the outbox.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import secrets
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bot.claims import Inbox
from bot.commands import (
    Args,
    Chat,
    CommandSpec,
    GroupRole,
    ParseFailure,
    Permission,
    parse_args,
    split_command,
)
from bot.context import Actor, Context, Services
from bot.delivery import Draft, ReplyDelivery, reply_drafts
from bot.errors import UserError
from bot.incoming import MAX_TEXT_CHARS, IncomingMessage, is_command
from bot.metrics import Metrics
from bot.replies import Reply
from storage.cache import READ_CACHE_TTL, ReadCache
from storage.db import Database, UnitOfWork
from storage.models import Base
from storage.repositories.core import InboxRepository

log = logging.getLogger("bot.dispatcher")

CANCEL_NAMES = {"取消", "cancel", "退出"}
_ALL_TABLES = tuple(Base.metadata.tables)
HANDLER_SLOTS = {"sqlite": 4, "postgresql": 8}  # SQLite: one connection; PostgreSQL: a pool of 10
CONFIRM_NAMES = {"确认", "确定"}


class _AlreadyHandled(Exception):
    """Another instance (or an earlier run) committed this message first."""


@dataclass
class Outcome:
    """What happened to one message (returned for tests and metrics)."""

    status: str  # ok | user_error | error | duplicate | timeout
    reply: Reply | None
    command: str | None = None
    error_ref: str | None = None
    # Set once the handled mark and the reply rows are committed:
    drafts: list[Draft] = field(default_factory=list)
    outbox_ids: list[int] | None = None


class Dispatcher:
    def __init__(self, services: Services, db: Database, delivery: ReplyDelivery, metrics: Metrics, inbox: Inbox):
        self.services = services
        self.db = db
        self.delivery = delivery
        self.metrics = metrics
        self.inbox = inbox
        self.registry = services.registry
        self._tasks: set[asyncio.Task] = set()
        self.in_flight: set[str] = set()  # msgIds being handled by this process
        # Handlers running at once: the rest wait here, not in the connection pool's queue, so
        # the inbox's group commits (frames waiting for their ACK, "sent" marks) never queue
        # behind a whole burst of handler transactions.
        self._slots = asyncio.Semaphore(HANDLER_SLOTS.get(db.dialect, 8))
        self._roles: ReadCache[GroupRole | None] = ReadCache(["group_bindings"], READ_CACHE_TTL)
        # One instance per SQLite file: no other process handles its messages, so a read-only reply
        # may be posted before the handled mark (bot.delivery). PostgreSQL may have several instances.
        self._post_first = db.dialect == "sqlite"

    # -- entry points ---------------------------------------------------------
    def submit(self, msg: IncomingMessage) -> asyncio.Task | None:
        """Handle a stored message in its own task (None if this process is handling it already)."""
        if msg.msg_id in self.in_flight:
            return None
        self.in_flight.add(msg.msg_id)
        task = asyncio.get_running_loop().create_task(self.handle(msg), name=f"msg-{msg.msg_id}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        msg_id = msg.msg_id
        task.add_done_callback(lambda _t: self.in_flight.discard(msg_id))
        return task

    async def drain(self, timeout: float = 10) -> None:  # noqa: ASYNC109  (a deadline for several tasks)
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=timeout)
        await self.inbox.flush()

    async def handle(self, msg: IncomingMessage) -> Outcome:
        """Handle one message that is in the inbox: commit handled + reply, then send the reply."""
        started = time.perf_counter()
        try:
            async with self._slots, asyncio.timeout(self.services.settings.bot_handler_timeout):
                outcome = await self._run(msg)
        except _AlreadyHandled:
            outcome = Outcome("duplicate", None)
        except TimeoutError:
            ref = _ref()
            log.error("handler timeout msgId=%s ref=%s text=%r", msg.msg_id, ref, msg.text[:200])
            outcome = Outcome("timeout", Reply("errors/timeout", {"ref": ref}), error_ref=ref)
        except Exception:  # the boundary of last resort: never let a message kill the loop
            ref = _ref()
            log.exception("dispatch failed msgId=%s ref=%s", msg.msg_id, ref)
            outcome = Outcome("error", Reply("errors/internal", {"ref": ref}), error_ref=ref)
        try:
            if outcome.status != "duplicate" and outcome.outbox_ids is None:
                outcome = await self._finish_read_only(msg, outcome)
            elif outcome.outbox_ids is not None:
                await self.delivery.deliver(msg, outcome.drafts, outcome.outbox_ids)
            if outcome.status == "duplicate":
                log.info("msgId=%s already handled", msg.msg_id)
        except Exception:  # the database is gone: the message stays unhandled, handled after a restart
            log.exception("could not finish msgId=%s (it stays in the inbox)", msg.msg_id)
        self.metrics.observe(outcome.status, outcome.command, time.perf_counter() - started)
        return outcome

    async def _finish_read_only(self, msg: IncomingMessage, outcome: Outcome) -> Outcome:
        """Nothing written by the handler: its handled mark and reply rows share the inbox's group commit.
        Where only this process handles the database's messages, a reply going by webhook is posted first
        and needs no outbox row (``ReplyDelivery.post_first``). Not after an error or a timeout: the
        handler's own commit may have gone through just before it (its reply is then in the outbox, and
        the conditional mark keeps the apology from going too)."""
        outcome.drafts = drafts = reply_drafts(msg, outcome.reply, self.services.renderer, self.services.clock.now())
        clean = outcome.status in ("ok", "user_error")  # _run returned: it committed nothing
        if self._post_first and clean and drafts and all(d.webhook_body is not None for d in drafts):
            outcome.outbox_ids = await self.delivery.post_first(msg, drafts)
        else:
            outcome.outbox_ids = await self.inbox.finish(msg.msg_id, [d.row for d in drafts])
            if outcome.outbox_ids is not None:
                await self.delivery.deliver(msg, drafts, outcome.outbox_ids)
        return outcome if outcome.outbox_ids is not None else Outcome("duplicate", None)

    # -- the pipeline -----------------------------------------------------------
    async def _run(self, msg: IncomingMessage) -> Outcome:
        """One unit of work: route, handle; a handler that wrote commits its writes, the handled
        mark and the reply rows together. Raises _AlreadyHandled when someone else did."""
        now = self.services.clock.now()
        async with self.db.unit_of_work() as uow:
            actor = Actor(
                id=msg.sender_id,
                name=msg.sender_nick,
                staff_id=msg.sender_staff_id,
                is_superadmin=bool(msg.sender_staff_id)
                and msg.sender_staff_id in self.services.settings.bot_superadmins,
            )
            ctx = Context(message=msg, uow=uow, services=self.services, group_role=None, actor=actor)
            try:
                outcome = await self._prepare_and_route(ctx, now)
            except UserError as exc:
                outcome = Outcome("user_error", Reply(exc.template, exc.context))
            if outcome.status != "ok":
                await uow.rollback()  # undo whatever the handler wrote
            elif await _wrote(uow):
                await self._commit_with_reply(uow, msg, outcome, self.services.clock.now())
        # Committed: wake the outbox if the handler queued sends.
        if ctx.outbox_written and outcome.status == "ok":
            self.services.on_outbox()
        return outcome

    async def _commit_with_reply(self, uow: UnitOfWork, msg: IncomingMessage, outcome: Outcome, now: datetime) -> None:
        if not await uow.repo(InboxRepository).mark_handled([msg.msg_id], now):
            raise _AlreadyHandled(msg.msg_id)
        outcome.drafts = reply_drafts(msg, outcome.reply, self.services.renderer, now)
        ids: list[int] = []
        for d in outcome.drafts:
            ids.extend(r.id for r in await uow.outbox.enqueue(now=now, **d.row))
        outcome.outbox_ids = ids

    async def _prepare_and_route(self, ctx: Context, now) -> Outcome:
        msg = ctx.message
        # Input that is not a command at all.
        if msg.msgtype not in ("text", "richText"):
            return Outcome("user_error", Reply("input/unsupported", {"msgtype": msg.msgtype}))
        if len(msg.text) > MAX_TEXT_CHARS:
            return Outcome("user_error", Reply("input/too_long", {"length": len(msg.text), "limit": MAX_TEXT_CHARS}))
        if msg.is_group:
            ctx.group_role = await self.group_role(ctx.uow, msg.conversation_id, now)
        command_name = split_command(msg.text)[0].lower() if is_command(msg.text) else None
        if command_name is None or command_name in CANCEL_NAMES or command_name in CONFIRM_NAMES:
            # Only plain answers and /取消 need the dialogue state (saves a query per command).
            dialogue = await ctx.uow.dialogues.get_any(msg.conversation_id, ctx.actor.id)
            if dialogue is not None and dialogue.expires_at <= now:
                await ctx.uow.dialogues.end(msg.conversation_id, ctx.actor.id)
                if msg.text and command_name is None:
                    # An answer to a question asked too long ago: say so instead of "not understood".
                    return Outcome(
                        "ok", Reply("dialogue/expired", {"minutes": self.services.settings.bot_dialogue_minutes})
                    )
                dialogue = None
            ctx.dialogue = dialogue
        return await self._route(ctx)

    async def group_role(self, uow: UnitOfWork, conversation_id: str, now: datetime) -> GroupRole | None:
        """The role bound to a group (cached: see READ_CACHE_TTL)."""

        async def load() -> GroupRole | None:
            binding = await uow.groups.get(conversation_id)
            return GroupRole(binding.role) if binding else None

        return await self._roles.get(uow, conversation_id, load)

    async def _route(self, ctx: Context) -> Outcome:
        msg = ctx.message
        text = msg.text
        if not text:
            return Outcome("user_error", Reply("input/empty", {}))
        if not is_command(text):
            word = text.strip().lower()
            if ctx.dialogue is not None:
                if word in CANCEL_NAMES:  # a bare 取消 inside a dialogue does what it says
                    return await self._cancel(ctx)
                return await self._dialogue_step(ctx)
            bare = self.registry.find(text.split(maxsplit=1)[0]) if text.split() else None
            if bare is None or word in CONFIRM_NAMES:
                return Outcome("user_error", Reply("input/not_command", {"text": text[:20]}))
            text = "/" + text.strip()  # 帮助 without the slash: the command it names
        elif (
            ctx.dialogue is not None and split_command(text)[0].lower() in CONFIRM_NAMES and not split_command(text)[1]
        ):
            # /确认 inside a dialogue answers the dialogue (the form's last step), not /确认 of reports.
            ctx.message = _with_text(msg, split_command(text)[0])
            return await self._dialogue_step(ctx)

        name, rest = split_command(text)
        if not name:
            return Outcome("user_error", Reply("input/empty", {}))
        if name.lower() in CANCEL_NAMES:
            return await self._cancel(ctx)

        spec = self.registry.find(name)
        if spec is None:
            return Outcome("user_error", unknown_command(ctx, name))
        if not spec.allowed_in(ctx.group_role, msg.is_group):
            return Outcome(
                "user_error",
                Reply(
                    "errors/not_here",
                    {
                        "command": spec.name,
                        "groups": _where(spec),
                        "bound": ctx.group_role is not None or msg.is_private,
                    },
                ),
                command=spec.name,
            )
        try:
            args = parse_args(spec, rest)
        except ParseFailure as exc:
            return Outcome(
                "user_error",
                Reply(
                    "errors/usage",
                    {
                        "command": spec.name,
                        "arg": exc.arg.label if exc.arg else None,
                        "value": exc.value,
                        "expected": exc.expected,
                        "missing": exc.missing,
                        "usage": spec.usage,
                        "examples": list(spec.examples),
                    },
                ),
                command=spec.name,
            )
        if spec.permission is not None and not await spec.permission.allows(ctx):
            return Outcome(
                "user_error",
                Reply("errors/forbidden", {"command": spec.name, "who": spec.permission.who}),
                command=spec.name,
            )
        reply = await spec.handler(ctx, args)
        return Outcome("ok", reply, command=spec.name)

    async def _cancel(self, ctx: Context) -> Outcome:
        if ctx.dialogue is not None:
            kind = ctx.dialogue.kind
            await ctx.end_dialogue()
            return Outcome("ok", Reply("dialogue/cancelled", {"kind": kind}), command="取消")
        return Outcome("ok", Reply("dialogue/nothing_to_cancel", {}), command="取消")

    async def _dialogue_step(self, ctx: Context) -> Outcome:
        step = self.registry.dialogues.get(ctx.dialogue.kind)
        if step is None:  # a kind from an older version: end it cleanly
            await ctx.end_dialogue()
            kind = (ctx.dialogue and ctx.dialogue.kind) or ""
            return Outcome("user_error", Reply("dialogue/cancelled", {"kind": kind}))
        args = Args(rest=ctx.text)
        reply = await step(ctx, args)
        return Outcome("ok", reply, command=f"dialogue:{ctx.dialogue.kind if ctx.dialogue else ''}")


async def usable_commands(ctx: Context) -> list[CommandSpec]:
    """Commands this person may use here: allowed in this chat, and permitted (each permission asked once)."""
    verdicts: dict[Permission, bool] = {}
    out = []
    for spec in ctx.services.registry.allowed_in(ctx.group_role, ctx.is_group):
        permission = spec.permission
        if permission is not None:
            allowed = verdicts.get(permission)
            if allowed is None:
                try:
                    allowed = verdicts[permission] = await permission.allows(ctx)
                except UserError:
                    allowed = verdicts[permission] = False
            if not allowed:
                continue
        out.append(spec)
    return out


async def _wrote(uow: UnitOfWork) -> bool:
    """Whether the handler changed anything (flushes what it added but did not flush)."""
    if not uow.started:
        return False
    await uow.session.flush()
    return uow.has_written(_ALL_TABLES)


def unknown_command(ctx: Context, name: str) -> Reply:
    """Near commands usable here, and near commands that work elsewhere with where they work."""
    registry = ctx.services.registry
    near_all = registry.suggest(name)
    near = [s for s in near_all if s.allowed_in(ctx.group_role, ctx.is_group)]
    elsewhere = [s for s in near_all if s not in near]
    if not near_all:  # nothing close anywhere: what is close among the usable ones
        near = registry.suggest(name, [s for s in registry.commands if s.allowed_in(ctx.group_role, ctx.is_group)])
    return Reply(
        "errors/unknown_command",
        {
            "name": name,
            "suggestions": [_brief(s) for s in near],
            "elsewhere": [{**_brief(s), "where": _where(s)} for s in elsewhere],
            "unbound": ctx.is_group and ctx.group_role is None,
        },
    )


def _with_text(msg: IncomingMessage, text: str) -> IncomingMessage:
    return dataclasses.replace(msg, text=text)


def _ref() -> str:
    return secrets.token_hex(4).upper()


def _brief(spec: CommandSpec) -> dict[str, Any]:
    return {"name": spec.name, "alias": spec.alias, "help": spec.help, "usage": spec.usage}


def _where(spec: CommandSpec) -> str:
    if spec.chat is Chat.PRIVATE:
        return "与机器人的单聊"
    parts = []
    if spec.groups is not None:
        parts.append("、".join(g.label for g in sorted(spec.groups, key=lambda g: g.value)))
    else:
        parts.append("群聊")
    if spec.chat is Chat.ANY:
        parts.append("单聊")
    return " 或 ".join(parts)
