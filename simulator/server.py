"""A local fake DingTalk: Stream gateway, session webhooks, OpenAPI, interactive cards and a web chat page.

The bot connects to it through the real, unmodified ``dingtalk-stream`` SDK as it
would to DingTalk (see ``/work/shared/dingtalk-protocol.md`` §15). The server runs
an aiohttp application on its OWN event loop in a daemon thread: the SDK 0.24.3
makes blocking ``requests`` calls from its coroutines, so sharing a loop with it
would deadlock.

The parts, one module each: :mod:`simulator.gateway` (tickets, WebSockets, frames, pings),
:mod:`simulator.chat` (messages pushed to the bot, session webhooks), :mod:`simulator.openapi`
(token, group send, batchSend, files; rate limits and counters), :mod:`simulator.cards`
(card instances, deliveries, updates, button callbacks), :mod:`simulator.card_template` (the
card template, instances and their parsing),
:mod:`simulator.records` (:class:`Record`, waiting: ``RecordQueries``), :mod:`simulator.render` (the text of a
record and the chat page's items), :mod:`simulator.markdown` (DingTalk's markdown subset),
:mod:`simulator.page` (the chat page). This module composes them into :class:`FakeDingTalk`
(with ``openapi.OpenApiControls``: failure injection, limits and counters).

Everything the bot sends (ACK frames, webhook replies, OpenAPI calls) and every
message pushed to the bot becomes a :class:`Record`. Tests wait for records with
:meth:`FakeDingTalk.wait_for` / :meth:`FakeDingTalk.wait_reply` instead of sleeping.

Record kinds and reply attribution: see :mod:`simulator.records`.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import uuid
from collections.abc import Awaitable, Callable, Coroutine, Iterable
from typing import Any, Unpack

from aiohttp import web

from simulator.cards import CARD_CALLBACK_TOPIC, CARD_TEMPLATE_ID, CardInstance, Cards
from simulator.chat import BOT_MESSAGE_TOPIC, WEBHOOK_MAX_BYTES, WEBHOOK_TTL_MS, ChatMessages, MessageOptions
from simulator.directory import DEFAULT_GROUPS, DEFAULT_USERS, Directory, SimConversation, SimUser
from simulator.gateway import TICKET_TTL_S, StreamGateway
from simulator.openapi import (
    BAD_TOKEN,
    BATCH_MAX_USERS,
    GROUP_MSGPARAM_MAX_BYTES,
    MSG_KEYS,
    THROTTLE_403,
    OpenApi,
    OpenApiControls,
)
from simulator.records import REPLY_KINDS, Record, RecordBook, RecordQueries
from simulator.render import chat_items

log = logging.getLogger("simulator")

__all__ = [
    "BAD_TOKEN",
    "BATCH_MAX_USERS",
    "BOT_MESSAGE_TOPIC",
    "CARD_CALLBACK_TOPIC",
    "CARD_TEMPLATE_ID",
    "DEFAULT_GROUPS",
    "DEFAULT_USERS",
    "GROUP_MSGPARAM_MAX_BYTES",
    "MSG_KEYS",
    "REPLY_KINDS",
    "THROTTLE_403",
    "TICKET_TTL_S",
    "WEBHOOK_MAX_BYTES",
    "WEBHOOK_TTL_MS",
    "CardInstance",
    "FakeDingTalk",
    "Record",
    "SimConversation",
    "SimUser",
]


class FakeDingTalk(RecordQueries, OpenApiControls):
    """The fake DingTalk server. All public methods are thread-safe.

    Limits for benchmarks (off by default): ``rate_limit`` calls a second per API (HTTP 403
    QpsLimit beyond), ``flow_control_ratio`` of batchSend users answered as flow-controlled
    (``seed`` seeds it). See :mod:`simulator.openapi`.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        client_id: str = "sim-client-id",
        client_secret: str = "sim-client-secret",
        users: Iterable[SimUser] | None = None,
        groups: Iterable[SimConversation] | None = None,
        token_expire_in: int = 7200,
        *,
        disconnect_delay: float = 0.5,
        ping_interval: float | None = None,
        delivery_timeout: float = 5.0,
        attribution_window: float = 600.0,
        robot_name: str = "服务队伍助手",
        corp_id: str = "dingsimcorp",
        rate_limit: int | None = None,
        flow_control_ratio: float = 0.0,
        seed: int = 0,
    ):
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
        self.robot_name = robot_name
        self.corp_id = corp_id
        self.app_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"sim-app/{client_id}"))
        self.chatbot_user_id = f"$:LWCP_v1:$robot-{client_id}"
        self.base_url = ""
        self.book = RecordBook(attribution_window, self._state_line)
        self.directory = Directory(users, groups)
        self.gateway = StreamGateway(self)
        self.chat = ChatMessages(self)
        self.openapi = OpenApi(self, rate_limit=rate_limit, flow_control_ratio=flow_control_ratio, seed=seed)
        self.cards = Cards(self)

        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._stopped = False

    # ----------------------------------------------------------------- users & conversations

    @property
    def users(self) -> list[SimUser]:
        return self.directory.users

    @property
    def groups(self) -> list[SimConversation]:
        return self.directory.groups

    @property
    def conversations(self) -> list[SimConversation]:
        """The groups, then one 1:1 chat per user."""
        return self.groups + [self.private(u) for u in self.users]

    def user(self, staff_id: str) -> SimUser:
        return self.directory.user(staff_id)

    def group(self, conversation_id: str) -> SimConversation:
        return self.directory.group(conversation_id)

    def private(self, user: SimUser | str) -> SimConversation:
        return self.directory.private(user)

    def conversation(self, conversation_id: str) -> SimConversation:
        """A group, or a ``cid-p2p-<staff_id>`` 1:1 chat, by id."""
        return self.directory.conversation(conversation_id)

    # ----------------------------------------------------------------- lifecycle

    def start_in_thread(self, timeout: float = 10.0) -> FakeDingTalk:
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

    def __enter__(self) -> FakeDingTalk:
        if self._thread is None:
            self.start_in_thread()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    async def _astart(self) -> None:
        app = web.Application(middlewares=[self._json_errors], client_max_size=8 * 1024 * 1024)
        for part in (self.gateway, self.chat, self.openapi, self.cards):
            part.setup(app)
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
            self.spawn(self.gateway.ping_loop(self.ping_interval))

    async def _ashutdown(self) -> None:
        for t in list(self._tasks):
            t.cancel()
        await self.gateway.shutdown()
        if self._runner:
            await self._runner.cleanup()

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        """Loop thread only: run a background task that stops with the server."""
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def _run(self, coro: Coroutine[Any, Any, Any], timeout: float | None = None) -> Any:
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

    @web.middleware
    async def _json_errors(
        self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        try:
            return await handler(request)
        except web.HTTPException as exc:
            if exc.status < 400:
                raise
            self.book.add(
                "rejected",
                {
                    "api": "http",
                    "status": exc.status,
                    "method": request.method,
                    "path": request.path_qs,
                    "error": exc.reason,
                },
            )
            return web.json_response(
                {
                    "code": "NotFound" if exc.status == 404 else f"Http{exc.status}",
                    "message": f"{request.method} {request.path} is not served by the fake DingTalk ({exc.reason})",
                },
                status=exc.status,
            )
        except Exception as exc:
            log.exception("fake DingTalk handler failed")
            self.book.add(
                "rejected",
                {"api": "http", "status": 500, "method": request.method, "path": request.path_qs, "error": repr(exc)},
            )
            return web.json_response({"code": "ServiceUnavailable", "message": repr(exc)}, status=500)

    # ----------------------------------------------------------------- records & waiting: RecordQueries

    def _state_line(self) -> str:
        return f"bot connected: {self.bot_connected}, connections so far: {self.connections}"

    # ----------------------------------------------------------------- connection state

    @property
    def connections(self) -> int:
        """How many times a bot WebSocket was accepted (a reconnect increments it)."""
        return self.gateway.connections

    @property
    def bot_connected(self) -> bool:
        return bool(self.gateway.active())

    def wait_connected(self, timeout: float = 10.0) -> None:
        """Block until a bot WebSocket is connected (and not draining after a disconnect)."""
        self.gateway.wait_connected(timeout)

    # ----------------------------------------------------------------- pushing frames

    def push_frame(self, frame: dict[str, Any] | str, timeout: float | None = None) -> None:
        """Push a raw frame (dict, or an already-encoded JSON string) to the connected bot."""
        copy: dict[str, Any] = json.loads(frame if isinstance(frame, str) else json.dumps(frame))  # private
        msg_id = conv = None
        if copy.get("type") == "CALLBACK" and isinstance(copy.get("data"), str):
            try:
                data = json.loads(copy["data"])
                msg_id, conv = data.get("msgId"), data.get("conversationId")
            except ValueError:
                pass
        self._run(
            self.gateway.push(copy, wait=timeout, msg_id=msg_id, conversation_id=conv),
            (timeout or self.delivery_timeout) + 5,
        )

    def send_ping(self, opaque: str | None = None) -> str:
        """Push a SYSTEM ping; the SDK ACKs it with the same ``opaque``. Returns the opaque."""
        opaque = opaque or str(uuid.uuid4())
        self._run(self.gateway.push(self.gateway.system_frame("ping", {"opaque": opaque})), self.delivery_timeout + 5)
        return opaque

    def send_disconnect(self, reason: str = "persistent connection is timeout", delay: float | None = None) -> None:
        """Push a SYSTEM ``disconnect`` to the current connection, then close it after ``delay``
        seconds (default ``disconnect_delay``, 0.5 s; DingTalk waits 10 s). The connection gets no
        more deliveries; new messages wait for the bot's next connection."""
        delay = self.disconnect_delay if delay is None else delay
        self._run(self.gateway.disconnect(reason, delay), self.delivery_timeout + 5)

    def close_socket(self, code: int = 1000, *, all_connections: bool = False) -> bool:
        """Close the current bot WebSocket (or all of them). 1000: the SDK reconnects at once;
        an error code such as 1011: it waits 10 s. Returns False when none was connected."""
        return bool(self._run(self.gateway.close(code, all_connections), 15))

    # ----------------------------------------------------------------- chat messages

    def send_message(
        self, text: str, *, user: SimUser | str, conversation: SimConversation | str, **options: Unpack[MessageOptions]
    ) -> str:
        """Push a chat message (CALLBACK on ``/v1.0/im/bot/messages/get``) to the connected bot.

        ``user``/``conversation`` may be objects or ids (``"p2p"`` = the user's 1:1 chat). In groups
        the text gets DingTalk's leading space. ``msgtype``: text, picture, richText, file, audio,
        video, unknownMsgType (``content`` overrides the realistic default content).
        ``webhook_expired``: the session webhook already expired (replies to it are refused).
        ``webhook_refused``: the message says its webhook is valid, but DingTalk refuses replies to it
        ("session webhook expired": its clock disagrees), so the bot learns it only by posting.
        ``redeliver_same_message_id``: push the earlier frame of ``msg_id`` again unchanged (same
        stream ``headers.messageId``), as DingTalk does when it re-pushes. Waits up to
        ``delivery_timeout`` for a bot connection (e.g. during a reconnect); RuntimeError if none.
        Returns the ``msgId``.
        """
        prepared = self.chat.prepare(text, user=user, conversation=conversation, **options)
        return str(self._run(self.chat.deliver(prepared), self.delivery_timeout + 5))

    async def asend_message(self, text: str, **kw: Any) -> str:
        """:meth:`send_message` for async code (runs it in a worker thread)."""
        return await asyncio.to_thread(lambda: self.send_message(text, **kw))

    # ----------------------------------------------------------------- cards

    def card(self, out_track_id: str) -> CardInstance:
        """The card instance (``params``: public cardParamMap, ``private``, ``conversations``)."""
        return self.cards.card(out_track_id)

    def card_params(self, out_track_id: str, user: SimUser | str | None = None) -> dict[str, str]:
        """The cardParamMap as ``user`` sees it (their privateData over the public map)."""
        staff = user.staff_id if isinstance(user, SimUser) else user
        with self.book.cond:
            return self.cards.card(out_track_id).view(staff)

    def press_card_button(
        self,
        out_track_id: str,
        user: SimUser | str,
        action_id: str,
        params: dict[str, Any] | None = None,
        *,
        conversation: str | None = None,
        force: bool = False,
        timeout: float | None = None,
    ) -> str:
        """Press button ``action_id`` of a delivered card as ``user``: a card callback through the stream.

        ``params`` default to the button's own; ``conversation`` defaults to the user's 1:1 chat when
        the card is there, else its first group. ValueError when the user does not see that button
        (``force=True`` presses anyway, like a stale card). Returns the press's ``msg_id`` ("cb-…"):
        ``wait_reply`` gives what answers it (a card update from the ACK, a message…)."""
        staff = user.staff_id if isinstance(user, SimUser) else user
        self.cards.prepare_press(out_track_id, staff, action_id, params, conversation, force)  # fail here
        timeout = self.delivery_timeout if timeout is None else timeout
        return str(
            self._run(
                self.cards.press(
                    out_track_id, staff, action_id, params, conversation_id=conversation, force=force, wait=timeout
                ),
                timeout + 5,
            )
        )

    async def apress_card_button(
        self, out_track_id: str, user: SimUser | str, action_id: str, params: dict[str, Any] | None = None, **kw: Any
    ) -> str:
        """:meth:`press_card_button` for async code (runs it in a worker thread)."""
        return await asyncio.to_thread(lambda: self.press_card_button(out_track_id, user, action_id, params, **kw))

    # ----------------------------------------------------------------- chat page support

    def chat_items(
        self, conversation_id: str, since: int = 0, viewer: str | None = None
    ) -> tuple[list[dict[str, Any]], int]:
        """Messages of one conversation for the chat page: (items after ``since``, last seq)."""
        return chat_items(self, conversation_id, since, viewer)
