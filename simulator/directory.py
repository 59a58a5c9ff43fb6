"""Who is in the fake DingTalk: simulated users, groups and the 1:1 chats with the bot."""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class SimUser:
    """A simulated DingTalk user. ``external`` users are outside the org: no senderStaffId."""

    staff_id: str
    name: str
    external: bool = False
    org: str = ""  # shown on the chat page, e.g. "杭州市西湖区"
    group_admin: bool = False  # the ``isAdmin`` flag of messages (group owner/admin)

    @property
    def sender_id(self) -> str:
        """The encrypted-looking ``senderId`` DingTalk sends (``$:LWCP_v1:$<id>``)."""
        return f"$:LWCP_v1:${self.staff_id}"

    @property
    def label(self) -> str:
        org = f" · {self.org}" if self.org else ""
        return f"{self.name}{org}"


@dataclass(frozen=True)
class SimConversation:
    """A group (conversationType "2") or a 1:1 chat with the bot (conversationType "1")."""

    conversation_id: str
    title: str
    kind: str = "group"  # "group" | "private"

    @property
    def is_group(self) -> bool:
        return self.kind == "group"

    @property
    def conversation_type(self) -> str:
        return "2" if self.is_group else "1"


DEFAULT_USERS: tuple[SimUser, ...] = (
    SimUser("op-zj-001", "王芳", org="省中心", group_admin=True),
    SimUser("city-hz-001", "陈建国", org="杭州市教育技术中心"),
    SimUser("city-nb-001", "林晓燕", org="宁波市教育技术中心"),
    SimUser("t-hz-001", "李明", org="杭州市西湖区"),
    SimUser("t-hz-002", "张丽", org="杭州市萧山区"),
    SimUser("t-nb-001", "刘洋", org="宁波市鄞州区"),
    SimUser("t-wz-001", "陈静", org="温州市瑞安市"),
    SimUser("t-jh-001", "周强", org="金华市义乌市"),
    SimUser("t-ls-001", "吴婷", org="丽水市龙泉市"),
    SimUser("ext-001", "赵老师", external=True, org="组织外成员"),
)

DEFAULT_GROUPS: tuple[SimConversation, ...] = (
    SimConversation("cid-admin-group", "体系管理员省群", "group"),
    SimConversation("cid-trainer-group", "省级培训师省群", "group"),
    SimConversation("cid-reviewer-group", "省级资源审核员省群", "group"),
)

P2P_PREFIX = "cid-p2p-"


class Directory:
    """Users and conversations by id. Groups may grow (an ad-hoc group a test talks in)."""

    def __init__(self, users: Iterable[SimUser] | None, groups: Iterable[SimConversation] | None) -> None:
        self._users: list[SimUser] = list(users if users is not None else DEFAULT_USERS)
        self._by_id = {u.staff_id: u for u in self._users}
        self._groups: list[SimConversation] = list(groups if groups is not None else DEFAULT_GROUPS)
        self._lock = threading.Lock()

    @property
    def users(self) -> list[SimUser]:
        return list(self._users)

    @property
    def groups(self) -> list[SimConversation]:
        with self._lock:
            return list(self._groups)

    def user(self, staff_id: str) -> SimUser:
        found = self._by_id.get(staff_id)
        if found is None:
            raise KeyError(f"no simulated user {staff_id!r}; known: {[u.staff_id for u in self._users]}")
        return found

    def user_or_none(self, staff_id: str) -> SimUser | None:
        return self._by_id.get(staff_id)

    def add_users(self, users: Iterable[SimUser]) -> None:
        """More people in the organisation (a test's or a benchmark's own, e.g. 700 reviewers)."""
        with self._lock:
            for u in users:
                if u.staff_id not in self._by_id:
                    self._users.append(u)
                    self._by_id[u.staff_id] = u

    def group(self, conversation_id: str) -> SimConversation:
        with self._lock:
            for g in self._groups:
                if g.conversation_id == conversation_id:
                    return g
        raise KeyError(f"no simulated group {conversation_id!r}; known: {[g.conversation_id for g in self._groups]}")

    def has_group(self, conversation_id: str) -> bool:
        with self._lock:
            return any(g.conversation_id == conversation_id for g in self._groups)

    def add_group(self, conv: SimConversation) -> None:
        with self._lock:
            if all(g.conversation_id != conv.conversation_id for g in self._groups):
                self._groups.append(conv)

    def private(self, user: SimUser | str) -> SimConversation:
        u = self.user(user) if isinstance(user, str) else user
        return SimConversation(f"{P2P_PREFIX}{u.staff_id}", f"{u.name}（单聊）", "private")

    def conversation(self, conversation_id: str) -> SimConversation:
        """A group, or a ``cid-p2p-<staff_id>`` 1:1 chat, by id."""
        if conversation_id.startswith(P2P_PREFIX):
            return self.private(conversation_id[len(P2P_PREFIX) :])
        return self.group(conversation_id)
