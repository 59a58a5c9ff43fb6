"""Shared glue of the review feature: its router, configuration, sending through the outbox
(from a message or a job), territory checks and the views handed to templates."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Unpack

from bot.commands import GroupRole, Router
from bot.context import Context, ServiceKey, Services
from bot.errors import UserError
from bot.proactive import Outgoing
from bot.replies import Reply
from domain.review.calls import ReviewCall, ReviewConfig, load_config
from domain.territory import Level, Territory
from handlers.roster.common import held, regions
from storage.models.review import ReviewResource, ReviewTask
from storage.repositories.core import AuditChange, Auditor
from storage.repositories.review import ReviewRepository
from storage.repositories.roster import GrantRepository

if TYPE_CHECKING:
    from storage.db import UnitOfWork

router = Router("review", section="资源审核")
OPERATOR_GROUPS = frozenset({GroupRole.ADMIN})  # operators' commands: the admin group and 1:1 chats

REVIEW_CONFIG = ServiceKey[ReviewConfig]("review.config", lambda _s: load_config())
ENTITY = "review_resource"
TASK = "review_task"
BOT_ACTOR = ("bot", "机器人")


def config(services: Services) -> ReviewConfig:
    return services.use(REVIEW_CONFIG)


@dataclass
class Env(Outgoing):
    """What handlers and jobs share: a unit of work, the services, the time and who acts."""

    uow: UnitOfWork
    services: Services
    now: datetime
    actor_id: str = BOT_ACTOR[0]
    actor_name: str = BOT_ACTOR[1]
    ctx: Context | None = None

    @classmethod
    def of(cls, ctx: Context) -> Env:
        return cls(ctx.uow, ctx.services, ctx.now(), ctx.actor.id, ctx.actor.name, ctx)

    @property
    def repo(self) -> ReviewRepository:
        return self.uow.repo(ReviewRepository)

    @property
    def config(self) -> ReviewConfig:
        return config(self.services)

    @property
    def province(self) -> str:
        return regions(self.services).province

    def _wrote(self) -> None:
        if self.ctx is not None:
            self.ctx.outbox_written = True

    async def audit(self, action: str, entity: str, entity_id: str, **change: Unpack[AuditChange]) -> None:
        auditor = Auditor(self.actor_id, self.actor_name, self.now)
        await self.uow.audit.record(auditor.entry(action, entity, entity_id, **change))

    def _sending_at(self) -> datetime:
        return self.now

    def _sent(self) -> None:
        self._wrote()

    async def to_users(self, user_ids: list[str], reply: Reply, purpose: str) -> None:
        ids = list(dict.fromkeys(u for u in user_ids if u))
        if ids:
            await self.send_to_users(ids, reply, purpose)

    async def to_reviewer_groups(self, reply: Reply, purpose: str) -> None:
        for g in await self.uow.groups.for_role("reviewer"):
            await self.send_to_group(g.conversation_id, reply, purpose)

    async def enqueue_card(self, staff_id: str, card: dict[str, Any], purpose: str) -> None:
        await self.uow.outbox.enqueue(
            kind="card",
            user_ids=[staff_id],
            msg_key=card["template"],
            msg_param=card,
            now=self.now,
            purpose=purpose,
            flush=False,
        )  # push_tasks flushes once
        self._wrote()

    async def update_card(self, card_id: str, params: dict[str, str], purpose: str) -> None:
        await self.uow.outbox.enqueue(
            kind="card_update",
            conversation_id=card_id,
            msg_key="card",
            msg_param={"outTrackId": card_id, "params": params},
            now=self.now,
            purpose=purpose,
        )
        self._wrote()

    async def city_operators(self, city: str) -> list[str]:
        holders = await self.uow.repo(GrantRepository).holders(Territory(self.province, city))
        return [h.user_id for h in holders]


# --- calls and territories ------------------------------------------------------------------


async def pick_call(repo: ReviewRepository, name: str | None) -> ReviewCall:
    calls = await repo.calls()
    if name:
        call = next((c for c in calls if c.name == name.strip()), None)
        if call is None:
            raise UserError("review/unknown_call", name=name, names=[c.name for c in calls])
        return call
    active = [c for c in calls if c.active]
    if len(active) == 1:
        return active[0]
    raise UserError("review/choose_call", names=[c.name for c in active])


@dataclass(frozen=True)
class Scope:
    city: str | None  # None: every city (provincial operators only)
    province: bool  # may act on provincial levels


async def operator_scope(ctx: Context, city_word: str | None) -> Scope:
    """The territory an operator acts on: their own city, or (provincial) any city or all."""
    mine = await held(ctx)
    tree = regions(ctx.services)
    is_province = any(t.level is Level.PROVINCE for t in mine)
    cities = sorted({t.city for t in mine if t.level is Level.CITY and t.city})
    if city_word:
        c = tree.city(city_word) or tree.city(city_word + "市")
        if c is None:
            raise UserError("review/unknown_city", city=city_word)
        if not is_province and c.name not in cities:
            raise UserError("review/not_your_city", city=c.name, mine=cities)
        return Scope(c.name, is_province)
    if is_province:
        return Scope(None, True)
    if len(cities) == 1:
        return Scope(cities[0], False)
    raise UserError("review/choose_city", mine=cities)


@dataclass(frozen=True)
class CallView:
    """What /进度 and /导出 审核结果 look at: a call's resources (in the operator's scope) and their tasks."""

    env: Env
    call: ReviewCall
    scope: Scope
    resources: list[ReviewResource]
    tasks: list[ReviewTask]


async def call_in_scope(ctx: Context, words: list[str]) -> CallView:
    """The call and city named among ``words`` (either may be left out: the one active call, the
    operator's own city), with its resources and their tasks."""
    tree = regions(ctx.services)
    city_word = next((w for w in words if tree.city(w) or tree.city(w + "市")), None)
    call_word = next((w for w in words if w != city_word), None)
    scope = await operator_scope(ctx, city_word)
    env = Env.of(ctx)
    call = await pick_call(env.repo, call_word)
    resources = list(await env.repo.resources(call_id=call.id, city=scope.city))
    tasks = list(await env.repo.tasks_of(r.id for r in resources))
    return CallView(env, call, scope, resources, tasks)


# --- views -----------------------------------------------------------------------------------


def catalogue(r: ReviewResource) -> str:
    parts = [f"{r.stage}·{r.subject}", r.edition, r.chapter, r.rtype]
    return " / ".join(p for p in parts if p)


def task_view(t: ReviewTask, r: ReviewResource, call: ReviewCall | None) -> dict[str, Any]:
    level = call.levels[t.level_index].name if call and t.level_index < len(call.levels) else ""
    return {
        "n": r.id,
        "task": t.id,
        "title": r.title,
        "catalogue": catalogue(r),
        "link": r.link,
        "due": f"{t.due_on.month}月{t.due_on.day}日",
        "level": level,
        "category": r.category,
    }
