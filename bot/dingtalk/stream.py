"""The DingTalk Stream transport around the unmodified ``dingtalk-stream`` SDK.

The SDK 0.24.3 makes blocking ``requests`` calls inside its coroutines (open
connection, tokens) and swallows the first cancel. So it runs on its own event
loop in a daemon thread: nothing it does can block the bot's loop. The SDK
ACKs a frame when the handler's ``process`` returns, so ``process`` hands the
callback data to the bot's loop and waits only until the frame is stored in the
durable inbox (one group commit for a burst, see ``bot.claims``): a frame is
never ACKed before it is stored, and the work itself runs afterwards. A frame
that cannot be stored gets an error ACK (DingTalk may push it again). A
watchdog on the bot's loop forces a reconnect when no frame (pings included)
has arrived for ``watchdog_seconds``.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import threading
import time
from collections.abc import Callable
from functools import partial
from typing import Any

import dingtalk_stream
from dingtalk_stream import AckMessage, ChatbotMessage

from bot.dingtalk.cards import CARD_TOPIC, card_callback_to_chat
from bot.dingtalk.endpoint import point_sdk_at, run_sdk_until_done

log = logging.getLogger("bot.stream")

STORE_TIMEOUT = 15.0  # seconds a frame may wait for its inbox write before an error ACK


class _QuietSdk(logging.Filter):
    """The SDK logs every SYSTEM ping as a WARNING 'unknown message topic', and an ERROR
    '[start] network exception' when we cancel it at shutdown."""

    def __init__(self, transport: StreamTransport):
        super().__init__()
        self.transport = transport

    def filter(self, record: logging.LogRecord) -> bool:
        text = record.getMessage()
        if "unknown message topic" in text:
            return False
        return not (self.transport._stopping and "network exception" in text)


class _Client(dingtalk_stream.DingTalkStreamClient):
    """Subclass only to observe the stream (frame times, connections); behaviour unchanged."""

    transport: StreamTransport

    async def route_message(self, json_message):
        self.transport._frame_seen()
        return await super().route_message(json_message)

    def open_connection(self):
        self.transport._connecting()
        return super().open_connection()


class _ChatbotHandler(dingtalk_stream.ChatbotHandler):
    def __init__(self, transport: StreamTransport):
        super().__init__()
        self.transport = transport

    async def process(self, callback: dingtalk_stream.CallbackMessage):
        data = callback.data if isinstance(callback.data, dict) else {}
        stored = self.transport._deliver(data, callback.headers.message_id)
        if stored is None:
            return AckMessage.STATUS_SYSTEM_EXCEPTION, "stopping"
        try:
            async with asyncio.timeout(STORE_TIMEOUT):
                await asyncio.wrap_future(stored)
        except Exception as exc:  # not stored: no OK ACK, so the frame is not lost
            log.error("frame %s not stored (%r): not acknowledged", callback.headers.message_id, exc)
            return AckMessage.STATUS_SYSTEM_EXCEPTION, "not stored"
        return AckMessage.STATUS_OK, "OK"


class _CardCallbackHandler(dingtalk_stream.CallbackHandler):
    """A card button press: handed over as a 1:1 text message of the presser (bot/dingtalk/cards.py)."""

    def __init__(self, transport: StreamTransport):
        super().__init__()
        self.transport = transport

    async def process(self, callback: dingtalk_stream.CallbackMessage):
        data = callback.data if isinstance(callback.data, dict) else {}
        message = card_callback_to_chat(data, callback.headers.message_id)
        if message is not None:
            self.transport._deliver(message, callback.headers.message_id)
        return AckMessage.STATUS_OK, {}


class StreamTransport:
    def __init__(
        self,
        *,
        client_id: str,
        client_secret: str,
        endpoint: str,
        on_message: Callable[[dict[str, Any], str | None], asyncio.Future[Any]],
        watchdog_seconds: float = 120.0,
        on_connect: Callable[[], None] | None = None,
    ):
        self.client_id = client_id
        self.client_secret = client_secret
        self.endpoint = endpoint
        self.on_message = on_message
        self.on_connect = on_connect or (lambda: None)
        self.watchdog_seconds = watchdog_seconds
        self.connects = 0
        self.forced_reconnects = 0
        self._last_frame = time.monotonic()
        self._bot_loop: asyncio.AbstractEventLoop | None = None
        self._sdk_loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._client: _Client | None = None
        self._sdk_task: asyncio.Task | None = None
        self._watchdog: asyncio.Task | None = None
        self._stopping = False

    # -- called on the SDK thread ------------------------------------------------
    def _frame_seen(self) -> None:
        self._last_frame = time.monotonic()

    def _connecting(self) -> None:
        self.connects += 1
        self._last_frame = time.monotonic()
        if self._bot_loop:
            self._bot_loop.call_soon_threadsafe(self.on_connect)

    def _deliver(self, data: dict[str, Any], stream_message_id: str | None) -> concurrent.futures.Future[Any] | None:
        """Hand a frame to the bot's loop; the future is done once the frame is stored."""
        loop = self._bot_loop
        if loop is None or self._stopping:
            return None
        stored: concurrent.futures.Future[Any] = concurrent.futures.Future()
        try:
            loop.call_soon_threadsafe(self._store, data, stream_message_id, stored)
        except RuntimeError:  # the bot's loop is closing
            return None
        return stored

    # -- called on the bot loop ---------------------------------------------------------
    def _store(self, data: dict[str, Any], stream_message_id: str | None, stored: concurrent.futures.Future) -> None:
        """A plain callback, not a task per frame: ``on_message`` returns a future of the inbox write."""
        try:
            done = self.on_message(data, stream_message_id)
        except Exception as exc:
            stored.set_exception(exc)
            return
        done.add_done_callback(partial(_settle, stored))

    # -- state ------------------------------------------------------------------------
    @property
    def connected(self) -> bool:
        ws = self._client.websocket if self._client else None
        if ws is None:
            return False
        try:
            from websockets.protocol import State

            return ws.state is State.OPEN
        except Exception:  # pragma: no cover - older websockets
            return not getattr(ws, "closed", True)

    @property
    def seconds_since_frame(self) -> float:
        return time.monotonic() - self._last_frame

    # -- lifecycle (bot loop) -----------------------------------------------------------
    async def start(self) -> None:
        self._bot_loop = asyncio.get_running_loop()
        point_sdk_at(self.endpoint)
        started = threading.Event()
        self._thread = threading.Thread(target=self._thread_main, args=(started,), name="dingtalk-stream", daemon=True)
        self._thread.start()
        await asyncio.to_thread(started.wait, 10)
        self._watchdog = asyncio.create_task(self._watch(), name="stream-watchdog")

    def _thread_main(self, started: threading.Event) -> None:
        loop = asyncio.new_event_loop()
        self._sdk_loop = loop
        asyncio.set_event_loop(loop)
        sdk_log = logging.getLogger("bot.sdk")
        quiet = _QuietSdk(self)
        sdk_log.addFilter(quiet)
        try:
            client = _Client(dingtalk_stream.Credential(self.client_id, self.client_secret), logger=sdk_log)
            client.transport = self
            client.register_callback_handler(ChatbotMessage.TOPIC, _ChatbotHandler(self))
            client.register_callback_handler(CARD_TOPIC, _CardCallbackHandler(self))
            self._client = client
            self._sdk_task = loop.create_task(client.start())
            started.set()
            run_sdk_until_done(loop, self._sdk_task)
        finally:
            # The logger is global and the filter holds this transport (and through it the whole bot):
            # a stopped transport leaves nothing behind.
            sdk_log.removeFilter(quiet)

    async def _watch(self) -> None:
        interval = max(0.2, min(self.watchdog_seconds / 4, 15))
        while not self._stopping:
            await asyncio.sleep(interval)
            if self.seconds_since_frame > self.watchdog_seconds:
                log.warning("no frame for %.0f s: forcing a reconnect", self.seconds_since_frame)
                self.forced_reconnects += 1
                self._last_frame = time.monotonic()
                self.force_reconnect()

    def force_reconnect(self) -> None:
        loop = self._sdk_loop
        if self._client is None or loop is None or loop.is_closed():
            return
        try:
            loop.call_soon_threadsafe(self._close_socket)
        except RuntimeError:  # the SDK loop closed meanwhile
            pass

    def _close_socket(self) -> None:
        """Runs on the SDK loop: the close coroutine is created there, so it is always awaited
        (or cancelled with the loop's other tasks at shutdown)."""
        ws = self._client.websocket if self._client else None
        if ws is not None:
            asyncio.get_running_loop().create_task(ws.close())

    async def stop(self) -> None:
        self._stopping = True
        if self._watchdog:
            self._watchdog.cancel()
        loop, task = self._sdk_loop, self._sdk_task
        if loop and task and not loop.is_closed():
            # 0.24.3 swallows the first cancel (closes the socket, then sleeps 10 s): cancel until it is done,
            # looking every 10 ms (the socket closes within milliseconds: a stop took 100 ms at 50 ms steps).
            for i in range(100):
                if task.done():
                    break
                try:
                    loop.call_soon_threadsafe(task.cancel)
                except RuntimeError:
                    break
                if i == 0:
                    self.force_reconnect()  # after the cancel: close the socket, no reconnect
                await asyncio.sleep(0.01)
        if self._thread:
            await asyncio.to_thread(self._thread.join, 5)


def _settle(stored: concurrent.futures.Future, done: asyncio.Future[Any]) -> None:
    """Pass the inbox write's outcome to the SDK thread's future."""
    if done.cancelled():
        stored.cancel()
    elif (exc := done.exception()) is not None:
        stored.set_exception(exc)
    else:
        stored.set_result(done.result())
