"""The minimal bot on the real ``dingtalk-stream`` SDK: replies ``echo: <text>``.

A benchmark baseline and a smoke test of the fake server: it does nothing but
echo through the session webhook, on one shared aiohttp session (never the
SDK's blocking ``reply_text``).

The SDK 0.24.3 ``start()`` never returns, swallows the first cancel (then sleeps
10 s) and makes blocking ``requests`` calls. So it runs on its own event loop
in a daemon thread, and :meth:`EchoBot.stop` cancels until it is really done.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from typing import Any

import aiohttp
import dingtalk_stream
from dingtalk_stream import AckMessage, ChatbotMessage

from bot.dingtalk.endpoint import point_sdk_at, run_sdk_until_done

log = logging.getLogger("simulator.echo_bot")


class _QuietSdkLog(logging.Filter):
    """Drop the SDK's noise: a WARNING 'unknown message topic' for every SYSTEM ping, and the
    '[start] network exception' it logs when stop() cancels it."""

    def __init__(self, bot: EchoBot):
        super().__init__()
        self.bot = bot

    def filter(self, record: logging.LogRecord) -> bool:
        text = record.getMessage()
        if "unknown message topic" in text:
            return False
        return not (self.bot.stopping and "network exception" in text)


def echo_text(message: ChatbotMessage) -> str:
    parts: list[str] = []
    try:
        parts = [p for p in (message.get_text_list() or []) if p]
    except Exception:  # e.g. a richText without text parts
        parts = []
    text = "".join(parts).strip()
    return text if text else f"[{message.message_type}]"


class EchoHandler(dingtalk_stream.ChatbotHandler):
    def __init__(self, bot: EchoBot):
        super().__init__()
        self.bot = bot

    async def process(self, callback: dingtalk_stream.CallbackMessage):
        message = ChatbotMessage.from_dict(callback.data)
        body = {"msgtype": "text", "text": {"content": f"echo: {echo_text(message)}"}}
        if message.sender_staff_id:
            body["at"] = {"atUserIds": [message.sender_staff_id], "isAtAll": False}
        session = self.bot.session
        assert session is not None
        try:
            async with session.post(message.session_webhook, json=body) as resp:
                answer: Any = await resp.json(content_type=None)
                if resp.status != 200 or not isinstance(answer, dict) or answer.get("errcode", 0) != 0:
                    log.warning("echo reply refused: %s %s", resp.status, answer)
        except (TimeoutError, aiohttp.ClientError, ValueError) as exc:
            log.warning("echo reply failed: %r", exc)
        self.bot.handled += 1
        return AckMessage.STATUS_OK, "OK"


class EchoBot:
    """``bot = EchoBot().run_in_thread(base_url, client_id, client_secret)`` … ``bot.stop()``.

    ``handlers``: more SDK callback handlers by topic, e.g. ``{"/v1.0/card/instances/callback":
    MyCardHandler()}`` (a ``dingtalk_stream.CallbackHandler``) for card button presses."""

    def __init__(self, handlers: dict[str, dingtalk_stream.CallbackHandler] | None = None) -> None:
        self.handlers = dict(handlers or {})
        self.client: dingtalk_stream.DingTalkStreamClient | None = None
        self.session: aiohttp.ClientSession | None = None
        self.handled = 0
        self.stopping = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task | None = None
        self._thread: threading.Thread | None = None

    def run_in_thread(self, base_url: str, client_id: str, client_secret: str, timeout: float = 10.0) -> EchoBot:
        """Point the SDK at ``base_url`` and run the client on its own loop in a daemon thread.

        Returns once the client is started (not necessarily connected: use the fake server's
        ``wait_connected``)."""
        if self._thread is not None:
            raise RuntimeError("EchoBot already running")
        point_sdk_at(base_url)
        self.stopping = False
        started = threading.Event()

        def main() -> None:
            loop = asyncio.new_event_loop()
            asyncio.set_event_loop(loop)
            self._loop = loop
            sdk_log = logging.getLogger(f"simulator.echo_bot.sdk.{id(self):x}")
            sdk_log.addFilter(_QuietSdkLog(self))
            client = dingtalk_stream.DingTalkStreamClient(
                dingtalk_stream.Credential(client_id, client_secret), logger=sdk_log
            )
            client.register_callback_handler(ChatbotMessage.TOPIC, EchoHandler(self))
            for topic, handler in self.handlers.items():
                client.register_callback_handler(topic, handler)
            self.client = client

            async def make_session() -> aiohttp.ClientSession:
                return aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10, connect=5))

            self.session = loop.run_until_complete(make_session())
            self._task = loop.create_task(client.start())
            started.set()
            run_sdk_until_done(loop, self._task, self.session.close)

        self._thread = threading.Thread(target=main, name="echo-bot", daemon=True)
        self._thread.start()
        if not started.wait(timeout):
            raise TimeoutError("EchoBot did not start")
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the SDK client (cancelling until the task is done) and join the thread."""
        loop, task, thread = self._loop, self._task, self._thread
        if loop is None or task is None or thread is None:
            return
        self.stopping = True

        async def close_ws() -> None:
            ws = self.client.websocket if self.client else None
            if ws is not None:
                await ws.close()

        # 0.24.3 catches the first CancelledError and sleeps 10 s: cancel again until it ends.
        if not loop.is_closed():
            try:
                asyncio.run_coroutine_threadsafe(close_ws(), loop)
            except RuntimeError:  # loop closed meanwhile
                pass
        deadline = timeout
        while thread.is_alive() and deadline > 0:
            if not loop.is_closed():
                try:
                    loop.call_soon_threadsafe(task.cancel)
                except RuntimeError:  # loop closed meanwhile
                    pass
            thread.join(0.05)
            deadline -= 0.05
        thread.join(max(0.0, deadline))
        self._thread = None

    def __enter__(self) -> EchoBot:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()
