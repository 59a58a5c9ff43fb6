"""A local fake DingTalk: Stream gateway, session webhooks, OpenAPI and a web chat page.

The bot connects to it through the real, unmodified ``dingtalk-stream`` SDK as it
would to DingTalk (see ``/work/shared/dingtalk-protocol.md`` §15). The server runs
an aiohttp application on its OWN event loop in a daemon thread: the SDK 0.24.3
makes blocking ``requests`` calls from its coroutines, so sharing a loop with it
would deadlock.

Everything the bot sends (ACK frames, webhook replies, OpenAPI calls) and every
message pushed to the bot becomes a :class:`Record`. Tests wait for records with
:meth:`FakeDingTalk.wait_for` / :meth:`FakeDingTalk.wait_reply` instead of sleeping.

Record kinds:

``open_connection``  POST /v1.0/gateway/connections/open accepted (payload: request body)
``connected``        a bot WebSocket was accepted (payload: connectionId, ticket)
``disconnected``     a bot WebSocket ended (payload: connectionId, close code)
``message``          a chat message pushed to the bot (payload: the callback ``data`` dict)
``push``             any other frame pushed to the bot (ping, disconnect, raw frames)
``ack``              a frame received from the bot (payload: the frame; ``msg_id``/``conversation_id``
                     are those of the chat message it acknowledges, ``None`` for SYSTEM frames)
``webhook_reply``    an accepted POST to a session webhook (payload: the body; ``msg_id`` is the
                     message whose session webhook was used)
``token``            an access token was issued
``group_send``       an accepted POST /v1.0/robot/groupMessages/send (payload: body)
``oto_send``         an accepted POST /v1.0/robot/oToMessages/batchSend (payload: body; ``response``
                     tells who was flow-controlled or invalid)
``card``             an interactive-card OpenAPI call (accepted, not rendered)
``file_download``    POST /v1.0/robot/messageFiles/download
``rejected``         any refused request (payload: ``api``, ``status``, ``error``, ``request``)

A proactive send (``group_send``/``oto_send``) gets the ``msg_id`` of the oldest
unanswered message (less than ``attribution_window`` seconds old) in the
conversation it goes to (for ``oto_send``: the 1:1 chats of its recipients), so
:meth:`wait_reply` also finds answers that fell back to the OpenAPI.
"""
from __future__ import annotations

import asyncio
import base64
import itertools
import json
import logging
import random
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from aiohttp import WSMsgType, web

log = logging.getLogger("simulator")

BOT_MESSAGE_TOPIC = "/v1.0/im/bot/messages/get"
WEBHOOK_TTL_MS = 90 * 60 * 1000          # sessionWebhookExpiredTime = createAt + ~90 min
TICKET_TTL_S = 90.0                       # a ticket is valid for 90 s and one connection
WEBHOOK_MAX_BYTES = 20000                 # "message too long, exceed 20000 bytes"
GROUP_MSGPARAM_MAX_BYTES = 15000          # groupMessages/send: msgParam <= 15,000 bytes
BATCH_MAX_USERS = 20
REPLY_KINDS = ("webhook_reply", "group_send", "oto_send")

# msgKey -> fields required in msgParam (protocol notes §10.2).
MSG_KEYS: dict[str, tuple[str, ...]] = {
    "sampleText": ("content",),
    "sampleMarkdown": ("title", "text"),
    "sampleLink": ("text", "title", "messageUrl"),
    "sampleImageMsg": ("photoURL",),
    "sampleActionCard": ("title", "text", "singleTitle", "singleURL"),
    **{f"sampleActionCard{n}": ("title", "text",
                                *itertools.chain.from_iterable((f"actionTitle{i}", f"actionURL{i}")
                                                               for i in range(1, n + 1)))
       for n in range(2, 6)},
}

THROTTLE_403 = {"code": "Forbidden.AccessDenied.QpsLimitForAppkeyAndApi",
                "message": "调用该接口的频率超过了应用级别的限流，请稍后重试"}
BAD_TOKEN = {"code": "InvalidAuthentication", "message": "不合法的access_token"}


# --------------------------------------------------------------------------- data


@dataclass(frozen=True)
class SimUser:
    """A simulated DingTalk user. ``external`` users are outside the org: no senderStaffId."""

    staff_id: str
    name: str
    external: bool = False
    org: str = ""                 # shown on the chat page, e.g. "杭州市西湖区"
    group_admin: bool = False     # the ``isAdmin`` flag of messages (group owner/admin)

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
    kind: str = "group"           # "group" | "private"

    @property
    def is_group(self) -> bool:
        return self.kind == "group"

    @property
    def conversation_type(self) -> str:
        return "2" if self.is_group else "1"


@dataclass(frozen=True)
class Record:
    seq: int
    kind: str
    at: float                     # time.time()
    payload: Any
    conversation_id: str | None = None
    msg_id: str | None = None
    response: Any = None          # what the fake answered (OpenAPI / webhook), when useful

    @property
    def data(self) -> Any:
        """``payload["data"]`` decoded when it is a JSON string (ACK frames, pushed frames)."""
        if isinstance(self.payload, dict):
            value = self.payload.get("data")
            if isinstance(value, str):
                try:
                    return json.loads(value)
                except ValueError:
                    return value
            return value
        return None

    def summary(self) -> str:
        bits = [f"#{self.seq} {self.kind}"]
        if self.conversation_id:
            bits.append(f"conv={self.conversation_id}")
        if self.msg_id:
            bits.append(f"msg={self.msg_id}")
        text = json.dumps(self.payload, ensure_ascii=False, default=str)
        bits.append(text if len(text) <= 160 else text[:157] + "...")
        return " ".join(bits)


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


@dataclass
class _Conn:
    id: str
    ws: web.WebSocketResponse
    ticket: str
    connected_at: float
    draining: bool = False        # got a SYSTEM disconnect: no new deliveries


@dataclass
class _Session:
    msg_id: str
    conversation_id: str
    staff_id: str | None
    expires_ms: int


@dataclass
class _Pushed:
    topic: str
    msg_id: str | None = None
    conversation_id: str | None = None


@dataclass
class _Prepared:
    msg_id: str
    frame: dict[str, Any]
    data: dict[str, Any]
    conversation: SimConversation
    user: SimUser
    redelivery: bool = False


def _ms() -> int:
    return int(time.time() * 1000)


def _code(prefix: str = "") -> str:
    return prefix + base64.b64encode(uuid.uuid4().bytes).decode().rstrip("=")


# --------------------------------------------------------------------------- server


class FakeDingTalk:
    """The fake DingTalk server. All public methods are thread-safe."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, client_id: str = "sim-client-id",
                 client_secret: str = "sim-client-secret", users: Iterable[SimUser] | None = None,
                 groups: Iterable[SimConversation] | None = None, token_expire_in: int = 7200, *,
                 disconnect_delay: float = 0.5, ping_interval: float | None = None,
                 delivery_timeout: float = 5.0, attribution_window: float = 600.0,
                 robot_name: str = "服务队伍助手", corp_id: str = "dingsimcorp"):
        self.host = host
        self.port = port
        # Several bot instances connected: spread each push over them at random, as DingTalk
        # does (protocol notes §13); by default the newest connection gets every push.
        self.spread = False
        self.client_id = client_id
        self.client_secret = client_secret
        self.robot_code = client_id
        self.token_expire_in = token_expire_in
        self.disconnect_delay = disconnect_delay
        self.ping_interval = ping_interval
        self.delivery_timeout = delivery_timeout
        self.attribution_window = attribution_window
        self.robot_name = robot_name
        self.corp_id = corp_id
        self.app_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"sim-app/{client_id}"))
        self.chatbot_user_id = f"$:LWCP_v1:$robot-{client_id}"
        self._users: list[SimUser] = list(users if users is not None else DEFAULT_USERS)
        self._groups: list[SimConversation] = list(groups if groups is not None else DEFAULT_GROUPS)
        self.base_url = ""

        self._cond = threading.Condition(threading.RLock())
        self._records: list[Record] = []
        self._seq = 0
        self._replies: dict[str, list[Record]] = {}
        self._unanswered: dict[str, list[tuple[str, float]]] = {}
        self._connections = 0
        self._conns: list[_Conn] = []
        self._tickets: dict[str, float] = {}
        self._used_tickets: set[str] = set()
        self._sessions: dict[str, _Session] = {}
        self._tokens: dict[str, float] = {}
        self._throttles: dict[str, deque[str]] = {"group": deque(), "oto": deque()}
        self._pushed: dict[str, _Pushed] = {}
        self._frames_by_msg_id: dict[str, _Prepared] = {}

        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self._has_conn: asyncio.Event | None = None
        self._tasks: set[asyncio.Task] = set()
        self._stopped = False

    # ----------------------------------------------------------------- users & conversations

    @property
    def users(self) -> list[SimUser]:
        return list(self._users)

    @property
    def groups(self) -> list[SimConversation]:
        with self._cond:
            return list(self._groups)

    @property
    def conversations(self) -> list[SimConversation]:
        """The groups, then one 1:1 chat per user."""
        return self.groups + [self.private(u) for u in self._users]

    def user(self, staff_id: str) -> SimUser:
        for u in self._users:
            if u.staff_id == staff_id:
                return u
        raise KeyError(f"no simulated user {staff_id!r}; known: {[u.staff_id for u in self._users]}")

    def group(self, conversation_id: str) -> SimConversation:
        with self._cond:
            for g in self._groups:
                if g.conversation_id == conversation_id:
                    return g
        raise KeyError(f"no simulated group {conversation_id!r}; known: "
                       f"{[g.conversation_id for g in self._groups]}")

    def private(self, user: SimUser | str) -> SimConversation:
        u = self.user(user) if isinstance(user, str) else user
        return SimConversation(f"cid-p2p-{u.staff_id}", f"{u.name}（单聊）", "private")

    def conversation(self, conversation_id: str) -> SimConversation:
        """A group, or a ``cid-p2p-<staff_id>`` 1:1 chat, by id."""
        if conversation_id.startswith("cid-p2p-"):
            return self.private(conversation_id[len("cid-p2p-"):])
        return self.group(conversation_id)

    def _user_or_none(self, staff_id: str) -> SimUser | None:
        try:
            return self.user(staff_id)
        except KeyError:
            return None

    # ----------------------------------------------------------------- lifecycle

    def start_in_thread(self, timeout: float = 10.0) -> "FakeDingTalk":
        """Start the server on its own loop in a daemon thread; return once it listens."""
        if self._thread is not None:
            raise RuntimeError("FakeDingTalk already started")
        ready = threading.Event()
        errors: list[BaseException] = []

        def main() -> None:
            loop = asyncio.new_event_loop()
            asyncio.set_event_loop(loop)
            self._loop = loop
            try:
                loop.run_until_complete(self._astart())
            except BaseException as exc:  # e.g. port in use
                errors.append(exc)
                ready.set()
                loop.close()
                return
            ready.set()
            try:
                loop.run_forever()
            finally:
                pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
                for t in pending:
                    t.cancel()
                if pending:
                    loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
                loop.run_until_complete(loop.shutdown_asyncgens())
                loop.close()

        self._thread = threading.Thread(target=main, name=f"fake-dingtalk-{self.port}", daemon=True)
        self._thread.start()
        if not ready.wait(timeout):
            raise TimeoutError("fake DingTalk did not start in time")
        if errors:
            self._thread = None
            raise errors[0]
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Close bot WebSockets, stop the HTTP server and join the thread. Idempotent."""
        loop, thread = self._loop, self._thread
        if loop is None or thread is None or self._stopped:
            return
        self._stopped = True
        if not loop.is_closed():
            try:
                asyncio.run_coroutine_threadsafe(self._ashutdown(), loop).result(timeout)
            except Exception as exc:  # pragma: no cover - best effort
                log.warning("fake DingTalk shutdown: %r", exc)
            loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout)

    def __enter__(self) -> "FakeDingTalk":
        if self._thread is None:
            self.start_in_thread()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    async def _astart(self) -> None:
        self._has_conn = asyncio.Event()
        app = web.Application(middlewares=[self._json_errors], client_max_size=8 * 1024 * 1024)
        r = app.router
        r.add_post("/v1.0/gateway/connections/open", self._h_open_connection)
        r.add_get("/connect", self._h_connect)
        r.add_post("/robot/sendBySession", self._h_session_webhook)
        r.add_post("/v1.0/oauth2/accessToken", self._h_token)
        r.add_post("/v1.0/robot/groupMessages/send", self._h_group_send)
        r.add_post("/v1.0/robot/oToMessages/batchSend", self._h_oto_send)
        r.add_post("/v1.0/robot/messageFiles/download", self._h_file_download)
        r.add_get("/sim/files/{code}", self._h_file)
        for method, path in (("POST", "/v1.0/im/v1.0/robot/interactiveCards/send"),
                             ("PUT", "/v1.0/im/robots/interactiveCards"),
                             ("POST", "/v1.0/card/instances"), ("POST", "/v1.0/card/instances/deliver"),
                             ("POST", "/v1.0/card/instances/createAndDeliver"), ("PUT", "/v1.0/card/instances"),
                             ("PUT", "/v1.0/card/streaming")):
            r.add_route(method, path, self._h_card)
        from simulator.page import setup_page
        setup_page(app, self)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        self.port = self._runner.addresses[0][1]
        shown = "127.0.0.1" if self.host in ("0.0.0.0", "", "::") else self.host
        self.base_url = f"http://{shown}:{self.port}"
        if self.ping_interval:
            self._spawn(self._ping_loop(self.ping_interval))

    async def _ashutdown(self) -> None:
        for t in list(self._tasks):
            t.cancel()
        with self._cond:
            conns = list(self._conns)
        await asyncio.gather(*(c.ws.close(code=1001, message=b"server shutdown") for c in conns),
                             return_exceptions=True)
        if self._runner:
            await self._runner.cleanup()

    def _spawn(self, coro) -> asyncio.Task:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def _run(self, coro, timeout: float | None = None) -> Any:
        """Run a coroutine on the server loop from any other thread and wait for its result."""
        loop = self._loop
        if loop is None or loop.is_closed():
            coro.close()
            raise RuntimeError("FakeDingTalk is not running (call start_in_thread())")
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            coro.close()
            raise RuntimeError("blocking FakeDingTalk call made from its own event loop")
        return asyncio.run_coroutine_threadsafe(coro, loop).result(timeout)

    # ----------------------------------------------------------------- records & waiting

    def _record(self, kind: str, payload: Any, *, conversation_id: str | None = None, msg_id: str | None = None,
                response: Any = None) -> Record:
        with self._cond:
            self._seq += 1
            rec = Record(self._seq, kind, time.time(), payload, conversation_id, msg_id, response)
            self._records.append(rec)
            if kind in REPLY_KINDS and msg_id:
                self._replies.setdefault(msg_id, []).append(rec)
                if conversation_id and conversation_id in self._unanswered:
                    self._unanswered[conversation_id] = [p for p in self._unanswered[conversation_id]
                                                         if p[0] != msg_id]
            elif kind == "message" and msg_id and conversation_id:
                pending = self._unanswered.setdefault(conversation_id, [])
                if msg_id not in self._replies and all(p[0] != msg_id for p in pending):
                    pending.append((msg_id, time.monotonic()))
            self._cond.notify_all()
        log.debug("record %s", rec.summary())
        return rec

    def _attribute(self, conversation_ids: Iterable[str]) -> str | None:
        """The oldest recent unanswered message in these conversations (removed from the pending list)."""
        limit = time.monotonic() - self.attribution_window
        best: tuple[float, str, str] | None = None
        with self._cond:
            for cid in conversation_ids:
                pending = [p for p in self._unanswered.get(cid, []) if p[1] >= limit]
                self._unanswered[cid] = pending
                if pending and (best is None or pending[0][1] < best[0]):
                    best = (pending[0][1], pending[0][0], cid)
            if best is None:
                return None
            self._unanswered[best[2]] = [p for p in self._unanswered[best[2]] if p[0] != best[1]]
            return best[1]

    @property
    def records(self) -> list[Record]:
        """A snapshot of all records, oldest first."""
        with self._cond:
            return list(self._records)

    @property
    def last_seq(self) -> int:
        """The seq of the newest record (pass it as ``since=`` to wait only for later ones)."""
        with self._cond:
            return self._seq

    def _recent(self, n: int = 15) -> str:
        with self._cond:
            recs = self._records[-n:]
            state = f"bot connected: {self._active_count() > 0}, connections so far: {self._connections}"
        lines = "\n".join("  " + r.summary() for r in recs) or "  (no records)"
        return f"{state}; most recent records:\n{lines}"

    def wait_for(self, predicate: Callable[[Record], bool], timeout: float = 5.0, *, since: int = 0) -> Record:
        """Block until a record with ``seq > since`` (past or future) matches; return the first match.

        The predicate is re-evaluated over all records whenever a record is added, so it may
        also look at server state (e.g. ``sim.connections``). A predicate that raises counts
        as no match. Raises TimeoutError listing the most recent records.
        """
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for rec in self._records:
                    if rec.seq <= since:
                        continue
                    try:
                        if predicate(rec):
                            return rec
                    except Exception:
                        continue
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(f"no record matched {getattr(predicate, '__name__', predicate)} "
                                       f"within {timeout} s. {self._recent()}")
                self._cond.wait(remaining)

    async def awaits(self, predicate: Callable[[Record], bool], timeout: float = 5.0, *, since: int = 0) -> Record:
        """Async form of :meth:`wait_for` (runs it in a worker thread)."""
        return await asyncio.to_thread(self.wait_for, predicate, timeout, since=since)

    def wait_reply(self, msg_id: str, timeout: float = 5.0) -> Record:
        """The first webhook reply or proactive send answering message ``msg_id``."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while not self._replies.get(msg_id):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(f"no reply to message {msg_id!r} within {timeout} s. {self._recent()}")
                self._cond.wait(remaining)
            return self._replies[msg_id][0]

    def clear_records(self) -> None:
        """Forget all records (e.g. between benchmark rounds). Sessions and tickets stay valid."""
        with self._cond:
            self._records.clear()
            self._replies.clear()
            self._unanswered.clear()

    async def await_reply(self, msg_id: str, timeout: float = 5.0) -> Record:
        return await asyncio.to_thread(self.wait_reply, msg_id, timeout)

    def replies_to(self, msg_id: str) -> list[Record]:
        """Every webhook reply / proactive send answering message ``msg_id`` so far."""
        with self._cond:
            return list(self._replies.get(msg_id, []))

    @staticmethod
    def text_of(record: Record | dict[str, Any]) -> str:
        """The visible text of a reply: webhook bodies (text, markdown, actionCard, link, feedCard),
        OpenAPI sends (``msgParam`` of sampleText/sampleMarkdown/sampleActionCard*/sampleLink) and
        pushed user messages."""
        if isinstance(record, Record):
            kind, payload = record.kind, record.payload
        else:
            kind, payload = "", record
        if not isinstance(payload, dict):
            return ""
        if kind == "message":
            return _message_text(payload)
        if "msgKey" in payload:
            return _msg_param_text(payload.get("msgKey"), payload.get("msgParam"))
        return _webhook_text(payload)

    # ----------------------------------------------------------------- connection state

    def _active(self) -> list[_Conn]:
        with self._cond:
            return [c for c in self._conns if not c.draining and not c.ws.closed]

    def _active_count(self) -> int:
        return len(self._active())

    def _refresh_conn_state(self) -> None:
        """Loop thread only: keep the asyncio event in step with the connection list."""
        if self._has_conn is None:
            return
        if self._active():
            self._has_conn.set()
        else:
            self._has_conn.clear()
        with self._cond:
            self._cond.notify_all()

    @property
    def connections(self) -> int:
        """How many times a bot WebSocket was accepted (a reconnect increments it)."""
        with self._cond:
            return self._connections

    @property
    def bot_connected(self) -> bool:
        return self._active_count() > 0

    def wait_connected(self, timeout: float = 10.0) -> None:
        """Block until a bot WebSocket is connected (and not draining after a disconnect)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._active_count() == 0:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(f"no bot connected within {timeout} s. {self._recent()}")
                self._cond.wait(remaining)

    # ----------------------------------------------------------------- pushing frames

    async def _wait_conn(self, timeout: float) -> _Conn:
        assert self._has_conn is not None
        deadline = time.monotonic() + timeout
        while True:
            active = self._active()
            if active:
                return random.choice(active) if self.spread else active[-1]   # newest gets the push
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise RuntimeError(f"no bot connected to the fake DingTalk (waited {timeout} s)")
            try:
                await asyncio.wait_for(self._has_conn.wait(), remaining)
            except asyncio.TimeoutError:
                pass

    async def _push(self, frame: dict[str, Any], *, timeout: float | None = None, kind: str = "push",
                    record_payload: Any = None, msg_id: str | None = None,
                    conversation_id: str | None = None) -> _Conn:
        timeout = self.delivery_timeout if timeout is None else timeout
        deadline = time.monotonic() + timeout
        while True:
            conn = await self._wait_conn(max(0.0, deadline - time.monotonic()))
            headers = frame.setdefault("headers", {})
            if isinstance(headers, dict):
                headers["connectionId"] = conn.id
                sid = headers.get("messageId")
                if sid:
                    with self._cond:
                        self._pushed[sid] = _Pushed(str(headers.get("topic", "")), msg_id, conversation_id)
            text = json.dumps(frame, ensure_ascii=False)
            # Record first: the bot may answer before send_str returns control to us.
            self._record(kind, frame if record_payload is None else record_payload,
                         conversation_id=conversation_id, msg_id=msg_id)
            try:
                await conn.ws.send_str(text)
                return conn
            except (ConnectionError, RuntimeError) as exc:
                log.info("push to %s failed (%r); trying another connection", conn.id, exc)
                conn.draining = True
                self._refresh_conn_state()
                if time.monotonic() >= deadline:
                    raise RuntimeError("bot WebSocket closed while pushing") from exc

    def push_frame(self, frame: dict[str, Any] | str, timeout: float | None = None) -> None:
        """Push a raw frame (dict, or an already-encoded JSON string) to the connected bot."""
        if isinstance(frame, str):
            frame = json.loads(frame)
        frame = json.loads(json.dumps(frame))      # private copy
        msg_id = conv = None
        if frame.get("type") == "CALLBACK" and isinstance(frame.get("data"), str):
            try:
                data = json.loads(frame["data"])
                msg_id, conv = data.get("msgId"), data.get("conversationId")
            except ValueError:
                pass
        self._run(self._push(frame, timeout=timeout, msg_id=msg_id, conversation_id=conv),
                  (timeout or self.delivery_timeout) + 5)

    def _system_frame(self, topic: str, data: dict[str, Any]) -> dict[str, Any]:
        return {"specVersion": "1.0", "type": "SYSTEM",
                "headers": {"appId": self.app_id, "contentType": "application/json",
                            "messageId": f"{uuid.uuid4().hex[:8]}_{topic}_{_ms():x}", "time": str(_ms()),
                            "topic": topic},
                "data": json.dumps(data, ensure_ascii=False)}

    def send_ping(self, opaque: str | None = None) -> str:
        """Push a SYSTEM ping; the SDK ACKs it with the same ``opaque``. Returns the opaque."""
        opaque = opaque or str(uuid.uuid4())
        self._run(self._push(self._system_frame("ping", {"opaque": opaque})), self.delivery_timeout + 5)
        return opaque

    async def _ping_loop(self, interval: float) -> None:
        while True:
            await asyncio.sleep(interval)
            for conn in self._active():
                frame = self._system_frame("ping", {"opaque": str(uuid.uuid4())})
                frame["headers"]["connectionId"] = conn.id
                try:
                    self._record("push", frame)
                    await conn.ws.send_str(json.dumps(frame))
                except Exception:  # closing socket
                    pass

    def send_disconnect(self, reason: str = "persistent connection is timeout", delay: float | None = None) -> None:
        """Push a SYSTEM ``disconnect`` to the current connection, then close it after ``delay``
        seconds (default ``disconnect_delay``, 0.5 s; DingTalk waits 10 s). The connection gets no
        more deliveries; new messages wait for the bot's next connection."""
        delay = self.disconnect_delay if delay is None else delay
        self._run(self._adisconnect(reason, delay), self.delivery_timeout + 5)

    async def _adisconnect(self, reason: str, delay: float) -> None:
        conn = await self._wait_conn(self.delivery_timeout)
        frame = self._system_frame("disconnect", {"reason": reason})
        frame["headers"]["connectionId"] = conn.id
        conn.draining = True
        self._refresh_conn_state()
        self._record("push", frame)
        await conn.ws.send_str(json.dumps(frame))

        async def close_later() -> None:
            await asyncio.sleep(delay)
            if not conn.ws.closed:
                await conn.ws.close(code=1000, message=b"disconnect")
        self._spawn(close_later())

    def close_socket(self, code: int = 1000, *, all_connections: bool = False) -> bool:
        """Close the current bot WebSocket (or all of them). 1000: the SDK reconnects at once;
        an error code such as 1011: it waits 10 s. Returns False when none was connected."""
        return self._run(self._aclose(code, all_connections), 15)

    async def _aclose(self, code: int, all_connections: bool) -> bool:
        with self._cond:
            conns = [c for c in self._conns if not c.ws.closed]
        if not conns:
            return False
        targets = conns if all_connections else [conns[-1]]
        for c in targets:
            c.draining = True
        self._refresh_conn_state()
        await asyncio.gather(*(c.ws.close(code=code, message=b"closed by simulator") for c in targets),
                             return_exceptions=True)
        return True

    # ----------------------------------------------------------------- chat messages

    def _resolve(self, user: SimUser | str, conversation: SimConversation | str) -> tuple[SimUser, SimConversation]:
        u = self.user(user) if isinstance(user, str) else user
        if isinstance(conversation, str):
            conv = self.private(u) if conversation in ("p2p", "private") else self.conversation(conversation)
        else:
            conv = conversation
        if conv.is_group:
            with self._cond:
                if all(g.conversation_id != conv.conversation_id for g in self._groups):
                    self._groups.append(conv)   # an ad-hoc group becomes known (for groupMessages/send)
        return u, conv

    def _prepare(self, text: str, *, user: SimUser | str, conversation: SimConversation | str,
                 msg_id: str | None = None, msgtype: str = "text", content: Any = None,
                 webhook_expired: bool = False, redeliver_same_message_id: bool = False) -> _Prepared:
        u, conv = self._resolve(user, conversation)
        if redeliver_same_message_id and msg_id:
            with self._cond:
                previous = self._frames_by_msg_id.get(msg_id)
            if previous is not None:
                frame = json.loads(json.dumps(previous.frame))
                return _Prepared(msg_id, frame, previous.data, previous.conversation, previous.user, True)
        msg_id = msg_id or _code("msg")
        now = _ms()
        session = uuid.uuid4().hex
        expires = now - 60_000 if webhook_expired else now + WEBHOOK_TTL_MS
        with self._cond:
            self._sessions[session] = _Session(msg_id, conv.conversation_id,
                                               None if u.external else u.staff_id, expires)
        data: dict[str, Any] = {
            "conversationId": conv.conversation_id,
            "chatbotCorpId": self.corp_id,
            "chatbotUserId": self.chatbot_user_id,
            "msgId": msg_id,
            "senderNick": u.name,
            "isAdmin": bool(u.group_admin),
            "sessionWebhookExpiredTime": expires,
            "createAt": now,
            "senderCorpId": "dingexternalcorp" if u.external else self.corp_id,
            "conversationType": conv.conversation_type,
            "senderId": u.sender_id,
            "sessionWebhook": f"{self.base_url}/robot/sendBySession?session={session}",
            "robotCode": self.robot_code,
            "msgtype": msgtype,
        }
        if not u.external:
            data["senderStaffId"] = u.staff_id
        if conv.is_group:
            data["conversationTitle"] = conv.title
            data["isInAtList"] = True
            at_users: list[dict[str, Any]] = [{"dingtalkId": self.chatbot_user_id}]
            # "@张三" in the text mentions that user; entries in the order the names appear
            mentioned = sorted((o for o in self._users if o.name and f"@{o.name}" in (text or "")),
                               key=lambda o: text.find(f"@{o.name}"))
            for other in mentioned:
                entry: dict[str, Any] = {"dingtalkId": other.sender_id}
                if not other.external:
                    entry["staffId"] = other.staff_id
                at_users.append(entry)
            data["atUsers"] = at_users
        body_text = (" " + text) if conv.is_group else text   # DingTalk leaves a space after the stripped @bot
        if msgtype == "text":
            data["text"] = {"content": body_text}
            if content is not None:
                data["content"] = content
        else:
            data["content"] = content if content is not None else _default_content(msgtype, text)
        stream_id = f"{uuid.uuid4().hex[:8]}_{random.randint(100, 999)}_{now:x}_{random.randint(0, 0xfffff):x}"
        frame = {"specVersion": "1.0", "type": "CALLBACK",
                 "headers": {"appId": self.app_id, "connectionId": "", "contentType": "application/json",
                             "messageId": stream_id, "time": str(now), "topic": BOT_MESSAGE_TOPIC},
                 "data": json.dumps(data, ensure_ascii=False)}
        prepared = _Prepared(msg_id, frame, data, conv, u)
        with self._cond:
            self._frames_by_msg_id[msg_id] = prepared
            while len(self._frames_by_msg_id) > 10000:      # only needed for redelivery of recent ones
                del self._frames_by_msg_id[next(iter(self._frames_by_msg_id))]
        return prepared

    async def _deliver(self, prepared: _Prepared, timeout: float | None = None) -> str:
        await self._push(prepared.frame, timeout=timeout, kind="message", record_payload=prepared.data,
                         msg_id=prepared.msg_id, conversation_id=prepared.conversation.conversation_id)
        return prepared.msg_id

    def send_message(self, text: str, *, user: SimUser | str, conversation: SimConversation | str,
                     msg_id: str | None = None, msgtype: str = "text", content: Any = None,
                     webhook_expired: bool = False, redeliver_same_message_id: bool = False) -> str:
        """Push a chat message (CALLBACK on ``/v1.0/im/bot/messages/get``) to the connected bot.

        ``user``/``conversation`` may be objects or ids (``"p2p"`` = the user's 1:1 chat). In groups
        the text gets DingTalk's leading space. ``msgtype``: text, picture, richText, file, audio,
        video, unknownMsgType (``content`` overrides the realistic default content).
        ``webhook_expired``: the session webhook already expired (replies to it are refused).
        ``redeliver_same_message_id``: push the earlier frame of ``msg_id`` again unchanged (same
        stream ``headers.messageId``), as DingTalk does when it re-pushes. Waits up to
        ``delivery_timeout`` for a bot connection (e.g. during a reconnect); RuntimeError if none.
        Returns the ``msgId``.
        """
        prepared = self._prepare(text, user=user, conversation=conversation, msg_id=msg_id, msgtype=msgtype,
                                 content=content, webhook_expired=webhook_expired,
                                 redeliver_same_message_id=redeliver_same_message_id)
        return self._run(self._deliver(prepared), self.delivery_timeout + 5)

    async def asend_message(self, text: str, **kw: Any) -> str:
        """:meth:`send_message` for async code (runs it in a worker thread)."""
        return await asyncio.to_thread(lambda: self.send_message(text, **kw))

    # ----------------------------------------------------------------- failure injection

    def throttle(self, api: str, mode: str = "403", times: int = 1) -> None:
        """The next ``times`` calls to ``api`` ("group" | "oto") are throttled.

        mode "403": HTTP 403 ``Forbidden.AccessDenied.QpsLimitForAppkeyAndApi`` (recorded as
        ``rejected``). mode "flow" (oto only): HTTP 200 with every requested userId in
        ``flowControlledStaffIdList`` (recorded as ``oto_send``; those users got nothing).
        """
        if api not in self._throttles:
            raise ValueError(f"api must be 'group' or 'oto', not {api!r}")
        if mode not in ("403", "flow"):
            raise ValueError(f"mode must be '403' or 'flow', not {mode!r}")
        if mode == "flow" and api != "oto":
            raise ValueError("mode 'flow' exists only for oToMessages/batchSend ('oto')")
        with self._cond:
            self._throttles[api].extend([mode] * times)

    def expire_tokens(self) -> None:
        """Invalidate every issued access token (the next OpenAPI call gets 401)."""
        with self._cond:
            self._tokens.clear()

    # ----------------------------------------------------------------- HTTP handlers

    @web.middleware
    async def _json_errors(self, request: web.Request, handler):
        try:
            return await handler(request)
        except web.HTTPException as exc:
            if exc.status < 400:
                raise
            self._record("rejected", {"api": "http", "status": exc.status, "method": request.method,
                                      "path": request.path_qs, "error": exc.reason})
            return web.json_response({"code": "NotFound" if exc.status == 404 else f"Http{exc.status}",
                                      "message": f"{request.method} {request.path} is not served by the "
                                                 f"fake DingTalk ({exc.reason})"}, status=exc.status)
        except Exception as exc:
            log.exception("fake DingTalk handler failed")
            self._record("rejected", {"api": "http", "status": 500, "method": request.method,
                                      "path": request.path_qs, "error": repr(exc)})
            return web.json_response({"code": "ServiceUnavailable", "message": repr(exc)}, status=500)

    async def _json_body(self, request: web.Request) -> Any:
        raw = await request.read()
        try:
            return json.loads(raw or b"null")
        except ValueError:
            return _Invalid(raw[:500].decode("utf-8", "replace"))

    def _reject(self, api: str, status: int, error: dict[str, Any], request_body: Any, *,
                msg_id: str | None = None, conversation_id: str | None = None) -> web.Response:
        body = {**error, "requestid": uuid.uuid4().hex.upper()} if "code" in error else error
        req = request_body.text if isinstance(request_body, _Invalid) else request_body
        self._record("rejected", {"api": api, "status": status, "error": error, "request": req},
                     msg_id=msg_id, conversation_id=conversation_id, response=body)
        return web.json_response(body, status=status)

    async def _h_open_connection(self, request: web.Request) -> web.Response:
        body = await self._json_body(request)
        if not isinstance(body, dict):
            return self._reject("open_connection", 400, {"code": "invalidParameter", "message": "body must be JSON"},
                                body)
        if body.get("clientId") != self.client_id or body.get("clientSecret") != self.client_secret:
            return self._reject("open_connection", 401, {"code": "InvalidAuthentication",
                                                         "message": "clientId 或 clientSecret 不正确"}, body)
        ticket = str(uuid.uuid4())
        with self._cond:
            self._tickets[ticket] = time.monotonic()
        self._record("open_connection", body)
        host = request.host or f"127.0.0.1:{self.port}"
        return web.json_response({"endpoint": f"ws://{host}/connect", "ticket": ticket})

    async def _h_connect(self, request: web.Request) -> web.StreamResponse:
        ticket = request.query.get("ticket", "")
        with self._cond:
            issued = self._tickets.pop(ticket, None)
            reused = ticket in self._used_tickets
            if issued is not None:
                self._used_tickets.add(ticket)
        if issued is None or time.monotonic() - issued > TICKET_TTL_S:
            why = "ticket already used" if reused else ("ticket expired" if issued else "unknown ticket")
            return self._reject("connect", 401, {"code": "InvalidTicket", "message": why}, {"ticket": ticket})
        ws = web.WebSocketResponse(autoping=True, heartbeat=None, max_msg_size=4 * 1024 * 1024)
        await ws.prepare(request)
        conn = _Conn(id=str(uuid.uuid4()), ws=ws, ticket=ticket, connected_at=time.time())
        with self._cond:
            self._conns.append(conn)
            self._connections += 1
        self._refresh_conn_state()
        self._record("connected", {"connectionId": conn.id, "ticket": ticket})
        try:
            async for msg in ws:
                if msg.type == WSMsgType.TEXT:
                    self._on_bot_frame(conn, msg.data)
                elif msg.type == WSMsgType.BINARY:
                    self._record("rejected", {"api": "websocket", "status": 0, "error": "binary frame",
                                              "request": msg.data[:200].hex()})
        finally:
            with self._cond:
                if conn in self._conns:
                    self._conns.remove(conn)
            self._refresh_conn_state()
            self._record("disconnected", {"connectionId": conn.id, "code": ws.close_code})
        return ws

    def _on_bot_frame(self, conn: _Conn, raw: str) -> None:
        try:
            frame = json.loads(raw)
        except ValueError:
            self._record("rejected", {"api": "websocket", "status": 0, "error": "frame is not JSON",
                                      "request": raw[:500]})
            return
        headers = frame.get("headers") if isinstance(frame, dict) else None
        sid = headers.get("messageId") if isinstance(headers, dict) else None
        with self._cond:
            pushed = self._pushed.get(sid) if sid else None
        self._record("ack", frame, msg_id=pushed.msg_id if pushed else None,
                     conversation_id=pushed.conversation_id if pushed else None)

    async def _h_session_webhook(self, request: web.Request) -> web.Response:
        token = request.query.get("session", "")
        raw = await request.read()
        try:
            body: Any = json.loads(raw or b"null")
        except ValueError:
            body = _Invalid(raw[:500].decode("utf-8", "replace"))
        with self._cond:
            sess = self._sessions.get(token)
        msg_id = sess.msg_id if sess else None
        conv = sess.conversation_id if sess else None

        def refuse(errcode: int, errmsg: str) -> web.Response:
            return self._reject("webhook", 200, {"errcode": errcode, "errmsg": errmsg}, body,
                                msg_id=msg_id, conversation_id=conv)

        if sess is None:
            return refuse(300001, "token is not exist")
        if _ms() > sess.expires_ms:
            return refuse(300001, "session webhook expired")
        if isinstance(body, _Invalid):
            return refuse(40035, "缺少参数 json：请求体不是合法的 JSON")
        if len(raw) > WEBHOOK_MAX_BYTES:
            return refuse(460101, f"message too long, exceed {WEBHOOK_MAX_BYTES} bytes")
        problem = _check_webhook_body(body)
        if problem:
            return refuse(40035, problem)
        answer = {"errcode": 0, "errmsg": "ok"}
        self._record("webhook_reply", body, msg_id=msg_id, conversation_id=conv, response=answer)
        return web.json_response(answer)

    async def _h_token(self, request: web.Request) -> web.Response:
        body = await self._json_body(request)
        if not isinstance(body, dict) or body.get("appKey") != self.client_id \
                or body.get("appSecret") != self.client_secret:
            return self._reject("token", 400, {"code": "invalidClientIdOrSecret",
                                               "message": "无效的clientId或者clientSecret"}, body)
        token = uuid.uuid4().hex
        with self._cond:
            self._tokens[token] = time.monotonic() + self.token_expire_in
        answer = {"accessToken": token, "expireIn": self.token_expire_in}
        self._record("token", {"appKey": body.get("appKey")}, response=answer)
        return web.json_response(answer)

    def _token_ok(self, request: web.Request) -> bool:
        token = request.headers.get("x-acs-dingtalk-access-token", "")
        with self._cond:
            expires = self._tokens.get(token)
        return expires is not None and time.monotonic() < expires

    def _take_throttle(self, api: str) -> str | None:
        with self._cond:
            q = self._throttles[api]
            return q.popleft() if q else None

    def _check_common(self, body: Any) -> tuple[str, str] | None:
        """(code, message) of the first problem shared by both send APIs."""
        if not isinstance(body, dict):
            return "invalidParameter.body.invalid", "请求体必须是 JSON 对象"
        robot = body.get("robotCode")
        if not robot:
            return "invalidParameter.robotCode.missing", "robotCode 不能为空"
        if robot != self.robot_code:
            return "invalidParameter.robotCode.notExsit", f"robotCode {robot!r} 不存在"
        key = body.get("msgKey")
        if key not in MSG_KEYS:
            return "invalidParameter.msgKey.invalid", f"msgKey {key!r} 不支持，可选：{', '.join(MSG_KEYS)}"
        param = body.get("msgParam")
        if not isinstance(param, str):
            return "invalidParameter.msgParam.invalid", "msgParam 必须是 JSON 字符串（不是对象）"
        try:
            decoded = json.loads(param)
        except ValueError:
            return "invalidParameter.msgParam.invalid", "msgParam 不是合法的 JSON"
        if not isinstance(decoded, dict):
            return "invalidParameter.msgParam.invalid", "msgParam 必须是 JSON 对象的字符串"
        missing = [f for f in MSG_KEYS[key] if not isinstance(decoded.get(f), str) or not decoded.get(f)]
        if missing:
            return "invalidParameter.msgParam.invalid", f"{key} 的 msgParam 缺少字段：{', '.join(missing)}"
        return None

    async def _h_group_send(self, request: web.Request) -> web.Response:
        body = await self._json_body(request)
        if not self._token_ok(request):
            return self._reject("group", 401, BAD_TOKEN, body)
        if self._take_throttle("group"):
            return self._reject("group", 403, THROTTLE_403, body)
        problem = self._check_common(body)
        if problem is None:
            cid = body.get("openConversationId")
            if not cid:
                problem = ("invalidParameter.openConversationId.missing", "openConversationId 不能为空")
            elif all(g.conversation_id != cid for g in self.groups):
                problem = ("invalid.openConversationId", f"群 {cid!r} 不存在或机器人不在群内")
            elif len(body["msgParam"].encode()) > GROUP_MSGPARAM_MAX_BYTES:
                problem = ("invalidParameter.msgParam.tooLong", f"msgParam 超过 {GROUP_MSGPARAM_MAX_BYTES} 字节")
        if problem:
            return self._reject("group", 400, {"code": problem[0], "message": problem[1]}, body)
        cid = body["openConversationId"]
        answer = {"processQueryKey": _code()}
        with self._cond:
            msg_id = self._attribute([cid])
            self._record("group_send", body, conversation_id=cid, msg_id=msg_id, response=answer)
        return web.json_response(answer)

    async def _h_oto_send(self, request: web.Request) -> web.Response:
        body = await self._json_body(request)
        if not self._token_ok(request):
            return self._reject("oto", 401, BAD_TOKEN, body)
        mode = self._take_throttle("oto")
        if mode == "403":
            return self._reject("oto", 403, THROTTLE_403, body)
        problem = self._check_common(body)
        if problem is None:
            ids = body.get("userIds")
            if not isinstance(ids, list) or not ids or not all(isinstance(i, str) and i for i in ids):
                problem = ("invalidParameter.userIds.invalid", "userIds 必须是非空的 userId 字符串数组")
            elif len(ids) > BATCH_MAX_USERS:
                problem = ("invalidParameter.userIds.tooMany", f"userIds 最多 {BATCH_MAX_USERS} 个，收到 {len(ids)} 个")
        if problem:
            return self._reject("oto", 400, {"code": problem[0], "message": problem[1]}, body)
        ids = list(body["userIds"])
        invalid = [i for i in ids if (u := self._user_or_none(i)) is not None and u.external]
        flow = [i for i in ids if i not in invalid] if mode == "flow" else []
        answer = {"processQueryKey": _code(), "invalidStaffIdList": invalid, "flowControlledStaffIdList": flow}
        delivered = [i for i in ids if i not in invalid and i not in flow]
        conv = f"cid-p2p-{ids[0]}" if len(ids) == 1 else None
        with self._cond:
            msg_id = self._attribute([f"cid-p2p-{i}" for i in delivered])
            self._record("oto_send", body, conversation_id=conv, msg_id=msg_id, response=answer)
        return web.json_response(answer)

    async def _h_file_download(self, request: web.Request) -> web.Response:
        body = await self._json_body(request)
        if not self._token_ok(request):
            return self._reject("file_download", 401, BAD_TOKEN, body)
        if not isinstance(body, dict) or not body.get("downloadCode"):
            return self._reject("file_download", 400, {"code": "invalidParameter.downloadCode.missing",
                                                       "message": "downloadCode 不能为空"}, body)
        self._record("file_download", body)
        return web.json_response({"downloadUrl": f"{self.base_url}/sim/files/{body['downloadCode']}"})

    async def _h_file(self, request: web.Request) -> web.Response:
        # A 1x1 PNG stands in for every downloaded picture/file.
        png = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg==")
        return web.Response(body=png, content_type="image/png")

    async def _h_card(self, request: web.Request) -> web.Response:
        body = await self._json_body(request)
        if not self._token_ok(request):
            return self._reject("card", 401, BAD_TOKEN, body)
        self._record("card", {"method": request.method, "path": request.path, "body": body})
        return web.json_response({"success": True, "result": {}})

    # ----------------------------------------------------------------- chat page support

    def chat_items(self, conversation_id: str, since: int = 0) -> tuple[list[dict[str, Any]], int]:
        """Messages of one conversation for the chat page: (items after ``since``, last seq)."""
        with self._cond:
            recs = [r for r in self._records if r.seq > since]
            last = self._seq
        items = []
        for r in recs:
            item = self._chat_item(r, conversation_id)
            if item:
                items.append(item)
        return items, last

    def _chat_item(self, r: Record, cid: str) -> dict[str, Any] | None:
        base = {"seq": r.seq, "at": int(r.at * 1000), "msg_id": r.msg_id}
        if r.kind == "message" and r.conversation_id == cid:
            d = r.payload
            staff = d.get("senderStaffId") or str(d.get("senderId", "")).removeprefix("$:LWCP_v1:$")
            return {**base, "role": "user", "name": d.get("senderNick", ""), "staff_id": staff,
                    "msgtype": d.get("msgtype"), "format": "text", "text": _message_text(d, for_page=True)}
        if r.kind == "webhook_reply" and r.conversation_id == cid:
            return {**base, "role": "bot", "name": self.robot_name, "proactive": False,
                    **_render_webhook(r.payload)}
        if r.kind == "group_send" and r.conversation_id == cid:
            return {**base, "role": "bot", "name": self.robot_name, "proactive": True,
                    **_render_msg_param(r.payload.get("msgKey"), r.payload.get("msgParam"))}
        if r.kind == "oto_send" and cid.startswith("cid-p2p-"):
            resp = r.response or {}
            skipped = set(resp.get("invalidStaffIdList") or []) | set(resp.get("flowControlledStaffIdList") or [])
            uid = cid[len("cid-p2p-"):]
            if uid in (r.payload.get("userIds") or []) and uid not in skipped:
                return {**base, "role": "bot", "name": self.robot_name, "proactive": True,
                        **_render_msg_param(r.payload.get("msgKey"), r.payload.get("msgParam"))}
        if r.kind == "rejected" and r.conversation_id == cid and r.payload.get("api") == "webhook":
            err = r.payload.get("error") or {}
            return {**base, "role": "system", "format": "text",
                    "text": f"机器人的回复被拒绝：{err.get('errmsg', '')}（errcode {err.get('errcode')}）"}
        return None


class _Invalid:
    """A request body that was not JSON."""

    def __init__(self, text: str):
        self.text = text


# --------------------------------------------------------------------------- helpers


def _default_content(msgtype: str, text: str) -> dict[str, Any]:
    code = _code("dc")
    if msgtype == "picture":
        return {"pictureDownloadCode": _code("pdc"), "downloadCode": code}
    if msgtype == "richText":
        parts: list[dict[str, Any]] = []
        if text:
            parts.append({"text": text})
        parts.append({"pictureDownloadCode": _code("pdc"), "downloadCode": code, "type": "picture"})
        return {"richText": parts}
    if msgtype == "file":
        return {"spaceId": "21000000001", "fileName": text or "2026年度培训名单.xlsx", "downloadCode": code,
                "fileId": "190000000001"}
    if msgtype == "audio":
        return {"duration": 4000, "downloadCode": code, "recognition": text}
    if msgtype == "video":
        return {"duration": "5", "videoType": "mp4", "downloadCode": code}
    if msgtype == "unknownMsgType":
        return {"unknownMsgType": "用户发送了一条消息，机器人暂不支持接收。"}
    return {}


_PAGE_LABELS = {"picture": "[图片]", "file": "[文件]", "audio": "[语音]", "video": "[视频]",
                "unknownMsgType": "[暂不支持的消息]"}


def _message_text(data: dict[str, Any], for_page: bool = False) -> str:
    msgtype = data.get("msgtype")
    content = data.get("content") if isinstance(data.get("content"), dict) else {}
    if msgtype == "text":
        text = str((data.get("text") or {}).get("content", ""))
        return text.lstrip(" ") if for_page else text
    if msgtype == "richText":
        parts = content.get("richText") or []
        text = "".join(str(p.get("text", "")) for p in parts if isinstance(p, dict))
        if for_page and any(isinstance(p, dict) and p.get("type") == "picture" for p in parts):
            text = (text + " [图片]").strip()
        return text
    if msgtype == "audio":
        text = str(content.get("recognition", ""))
        return f"[语音] {text}".strip() if for_page else text
    if msgtype == "file" and for_page:
        return f"[文件] {content.get('fileName', '')}".strip()
    return _PAGE_LABELS.get(str(msgtype), f"[{msgtype}]") if for_page else ""


def _check_webhook_body(body: Any) -> str | None:
    if not isinstance(body, dict):
        return "请求体必须是 JSON 对象"
    msgtype = body.get("msgtype")

    def need(obj: Any, *keys: str) -> str | None:
        if not isinstance(obj, dict):
            return f"缺少 {msgtype} 对象"
        missing = [k for k in keys if not isinstance(obj.get(k), str) or not obj.get(k)]
        return f"{msgtype} 缺少字段：{', '.join(missing)}" if missing else None

    if msgtype == "text":
        return need(body.get("text"), "content")
    if msgtype == "markdown":
        return need(body.get("markdown"), "title", "text")
    if msgtype == "link":
        return need(body.get("link"), "title", "text", "messageUrl")
    if msgtype == "actionCard":
        card = body.get("actionCard")
        problem = need(card, "title", "text")
        if problem:
            return problem
        if card.get("singleTitle") or card.get("singleURL"):
            return need(card, "singleTitle", "singleURL")
        btns = card.get("btns")
        if not isinstance(btns, list) or not btns or not all(
                isinstance(b, dict) and b.get("title") and b.get("actionURL") for b in btns):
            return "actionCard 需要 singleTitle/singleURL 或 btns[{title, actionURL}]"
        return None
    if msgtype == "feedCard":
        links = (body.get("feedCard") or {}).get("links") if isinstance(body.get("feedCard"), dict) else None
        if not isinstance(links, list) or not links:
            return "feedCard 缺少 links"
        return None
    return f"不支持的 msgtype：{msgtype!r}"


def _buttons_from_card(card: dict[str, Any]) -> list[dict[str, str]]:
    if card.get("singleTitle"):
        return [{"title": str(card["singleTitle"]), "url": str(card.get("singleURL", ""))}]
    return [{"title": str(b.get("title", "")), "url": str(b.get("actionURL", ""))}
            for b in card.get("btns") or [] if isinstance(b, dict)]


def _render_webhook(body: dict[str, Any]) -> dict[str, Any]:
    """Webhook body -> {format, title, text, buttons} for the chat page."""
    t = body.get("msgtype")
    if t == "text":
        return {"format": "text", "text": str((body.get("text") or {}).get("content", ""))}
    if t == "markdown":
        md = body.get("markdown") or {}
        return {"format": "markdown", "title": md.get("title", ""), "text": str(md.get("text", ""))}
    if t == "actionCard":
        card = body.get("actionCard") or {}
        return {"format": "markdown", "title": card.get("title", ""), "text": str(card.get("text", "")),
                "buttons": _buttons_from_card(card)}
    if t == "link":
        link = body.get("link") or {}
        return {"format": "markdown", "title": link.get("title", ""),
                "text": f"**{link.get('title', '')}**\n\n{link.get('text', '')}",
                "buttons": [{"title": "查看", "url": str(link.get("messageUrl", ""))}]}
    return {"format": "text", "text": _webhook_text(body)}


def _render_msg_param(key: Any, param: Any) -> dict[str, Any]:
    try:
        p = json.loads(param) if isinstance(param, str) else {}
    except ValueError:
        p = {}
    if not isinstance(p, dict):
        p = {}
    if key == "sampleText":
        return {"format": "text", "text": str(p.get("content", ""))}
    if key == "sampleMarkdown":
        return {"format": "markdown", "title": p.get("title", ""), "text": str(p.get("text", ""))}
    if key == "sampleLink":
        return {"format": "markdown", "title": p.get("title", ""),
                "text": f"**{p.get('title', '')}**\n\n{p.get('text', '')}",
                "buttons": [{"title": "查看", "url": str(p.get("messageUrl", ""))}]}
    if isinstance(key, str) and key.startswith("sampleActionCard"):
        if key == "sampleActionCard":
            buttons = [{"title": str(p.get("singleTitle", "")), "url": str(p.get("singleURL", ""))}]
        else:
            buttons = [{"title": str(p[f"actionTitle{i}"]), "url": str(p.get(f"actionURL{i}", ""))}
                       for i in range(1, 7) if p.get(f"actionTitle{i}")]
        return {"format": "markdown", "title": p.get("title", ""), "text": str(p.get("text", "")),
                "buttons": buttons}
    return {"format": "text", "text": _msg_param_text(key, param) or f"[{key}]"}


def _webhook_text(body: dict[str, Any]) -> str:
    t = body.get("msgtype")
    if t == "text":
        return str((body.get("text") or {}).get("content", ""))
    if t == "markdown":
        return str((body.get("markdown") or {}).get("text", ""))
    if t == "actionCard":
        card = body.get("actionCard") or {}
        titles = [b["title"] for b in _buttons_from_card(card) if b["title"]]
        return "\n".join([str(card.get("text", "")), *titles])
    if t == "link":
        link = body.get("link") or {}
        return f"{link.get('title', '')}\n{link.get('text', '')}"
    if t == "feedCard":
        links = (body.get("feedCard") or {}).get("links") or []
        return "\n".join(str(x.get("title", "")) for x in links if isinstance(x, dict))
    return ""


def _msg_param_text(key: Any, param: Any) -> str:
    try:
        p = json.loads(param) if isinstance(param, str) else (param if isinstance(param, dict) else {})
    except ValueError:
        return ""
    if not isinstance(p, dict):
        return ""
    if key == "sampleText":
        return str(p.get("content", ""))
    if key == "sampleMarkdown":
        return str(p.get("text", ""))
    if key == "sampleLink":
        return f"{p.get('title', '')}\n{p.get('text', '')}"
    if isinstance(key, str) and key.startswith("sampleActionCard"):
        titles = [str(p["singleTitle"])] if p.get("singleTitle") else []
        titles += [str(p[f"actionTitle{i}"]) for i in range(1, 7) if p.get(f"actionTitle{i}")]
        return "\n".join([str(p.get("text", "")), *titles])
    return str(p.get("text") or p.get("content") or "")

