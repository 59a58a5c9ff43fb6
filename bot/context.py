"""What a handler gets: the message, its unit of work, time, settings and helpers."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Generic, TypeVar, Unpack

from bot.commands import GroupRole
from bot.incoming import IncomingMessage
from bot.proactive import Outgoing
from storage.repositories.core import AuditChange, Auditor

if TYPE_CHECKING:
    from bot.clock import Clock
    from bot.commands import Registry
    from bot.config import Settings
    from bot.replies import Renderer
    from storage.db import UnitOfWork

T = TypeVar("T")


class ServiceKey(Generic[T]):
    """A typed name of a process-wide shared object, built on first use by ``factory``.

    Declare one per shared object next to the code that owns it::

        REGIONS = ServiceKey[RegionTree]("roster.regions", lambda services: ...)
        tree = ctx.services.use(REGIONS)
    """

    __slots__ = ("factory", "name")

    def __init__(self, name: str, factory: Callable[[Services], T]):
        self.name = name
        self.factory = factory

    def __repr__(self) -> str:
        return f"ServiceKey({self.name!r})"


class MemoKey(Generic[T]):
    """A typed name of a value computed once per message (``ctx.memo``)."""

    __slots__ = ("name",)

    def __init__(self, name: str):
        self.name = name


class Memo:
    """Per-message memo: what several permission checks and the handler would compute again."""

    __slots__ = ("_values",)

    def __init__(self) -> None:
        self._values: dict[MemoKey[Any], Any] = {}

    def get(self, key: MemoKey[T]) -> T | None:
        return self._values.get(key)

    def set(self, key: MemoKey[T], value: T) -> T:
        self._values[key] = value
        return value


@dataclass(frozen=True)
class Actor:
    id: str  # staff id, or senderId for people outside the organisation
    name: str
    staff_id: str | None
    is_superadmin: bool


@dataclass
class Services:
    """Process-wide collaborators shared by handlers and jobs."""

    settings: Settings
    clock: Clock
    renderer: Renderer
    registry: Registry
    on_outbox: Callable[[], None] = lambda: None  # wakes the outbox worker after a commit
    _shared: dict[ServiceKey[Any], Any] = field(default_factory=dict)

    def use(self, key: ServiceKey[T]) -> T:
        """The shared object named by ``key``, built by its factory on first use."""
        try:
            return self._shared[key]
        except KeyError:
            value = self._shared[key] = key.factory(self)
            return value

    def provide(self, key: ServiceKey[T], value: T) -> None:
        """Install a shared object (a feature's provider, or a test's replacement)."""
        self._shared[key] = value

    def download_url(self, file_id: str, expires_at: datetime) -> str:
        from bot.links import LINK_SECRET, sign_download

        return sign_download(self.settings.public_url, self.use(LINK_SECRET), file_id, expires_at)


@dataclass
class Mention:
    name: str
    staff_id: str | None


class Context(Outgoing):
    def __init__(
        self,
        *,
        message: IncomingMessage,
        uow: UnitOfWork,
        services: Services,
        group_role: GroupRole | None,
        actor: Actor,
        dialogue: Any = None,
    ):
        self.message = message
        self.uow = uow
        self.services = services
        self.group_role = group_role
        self.actor = actor
        self.dialogue = dialogue  # storage.repositories.core.Dialogue or None
        self.outbox_written = False
        self.memo = Memo()  # typed per-message memo (see MemoKey)

    # -- basics -------------------------------------------------------------
    @property
    def settings(self) -> Settings:
        return self.services.settings

    @property
    def clock(self) -> Clock:
        return self.services.clock

    def now(self) -> datetime:
        return self.services.clock.now()

    @property
    def text(self) -> str:
        return self.message.text

    @property
    def is_group(self) -> bool:
        return self.message.is_group

    @property
    def is_private(self) -> bool:
        return not self.message.is_group

    def mentions(self) -> list[Mention]:
        """People @mentioned in the text, in order, with staff ids where DingTalk gave them.

        DingTalk lists mentioned users in ``atUsers`` (without names) and keeps
        ``@名字`` in the text: we pair them in order, skipping the bot itself.
        """
        names = re.findall(r"@([^\s@]+)", self.message.raw_text or self.message.text)
        others = [
            u for u in self.message.at_users if u.dingtalk_id != self.message.chatbot_user_id or not u.dingtalk_id
        ]
        if len(others) == len(names):
            ids = [u.staff_id for u in others]  # people outside the org have no staff id
        else:  # names and entries disagree: pair the staff ids
            ids = [u.staff_id for u in others if u.staff_id]
        out = []
        for i, n in enumerate(names):
            out.append(Mention(n, ids[i] if i < len(ids) else None))
        return out

    # -- dialogues ------------------------------------------------------------
    async def start_dialogue(self, kind: str, data: dict[str, Any]) -> None:
        ttl = timedelta(minutes=self.settings.bot_dialogue_minutes)
        self.dialogue = await self.uow.dialogues.save(
            self.message.conversation_id, self.actor.id, kind, data, self.now(), ttl
        )

    async def update_dialogue(self, data: dict[str, Any]) -> None:
        kind = self.dialogue.kind if self.dialogue else ""
        await self.start_dialogue(kind, data)

    async def end_dialogue(self) -> None:
        await self.uow.dialogues.end(self.message.conversation_id, self.actor.id)
        self.dialogue = None

    # -- side effects (same unit of work) --------------------------------------
    async def audit(self, action: str, entity: str, entity_id: str, **change: Unpack[AuditChange]) -> None:
        """One audit-log row by the sender, now (in this unit of work)."""
        auditor = Auditor(self.actor.id, self.actor.name, self.now())
        await self.uow.audit.record(auditor.entry(action, entity, entity_id, **change))

    def _replying_to(self) -> str | None:
        return self.message.msg_id

    def _sent(self) -> None:
        self.outbox_written = True

    async def download_link(
        self, filename: str, content_type: str, data: bytes, ttl: timedelta = timedelta(hours=24)
    ) -> str:
        """Store a generated file; return its signed link (expires after ``ttl``)."""
        row = await self.uow.downloads.add(
            filename=filename, content_type=content_type, data=data, created_by=self.actor.id, now=self.now(), ttl=ttl
        )
        return self.services.download_url(row.id, row.expires_at)
