"""Point the unmodified ``dingtalk-stream`` SDK (0.24.3) at another server.

The SDK reads ``DINGTALK_OPENAPI_ENDPOINT`` once, when it is first imported,
and freezes it into a class attribute and three module globals (protocol notes
§1.2). Setting those names after import works whatever the import order.
Setting them on an instance or a subclass has no effect: patch the class.
"""

from __future__ import annotations

import asyncio
import logging

import dingtalk_stream.card_replier as _card_replier
import dingtalk_stream.chatbot as _chatbot
import dingtalk_stream.stream as _stream

OPEN_CONNECTION_PATH = "/v1.0/gateway/connections/open"


def point_sdk_at(base_url: str) -> None:
    """Make every SDK call that would go to ``https://api.dingtalk.com`` go to ``base_url``.

    ``base_url`` is scheme + host (+ port), e.g. ``http://127.0.0.1:8790``; a trailing
    slash is removed. The WebSocket URL and the reply URLs come from the server's
    answers, so they need no patching.
    """
    endpoint = base_url.rstrip("/")
    _stream.DingTalkStreamClient.OPEN_CONNECTION_API = endpoint + OPEN_CONNECTION_PATH
    _stream.DINGTALK_OPENAPI_ENDPOINT = endpoint
    _chatbot.DINGTALK_OPENAPI_ENDPOINT = endpoint
    _card_replier.DINGTALK_OPENAPI_ENDPOINT = endpoint


def run_sdk_until_done(loop, task, *closers) -> None:
    """Run the SDK's ``start()`` task on its own thread's loop until it is cancelled, then
    cancel what is left, await each of the ``closers`` (e.g. an HTTP session's ``close``) and
    close the loop. 0.24.3's ``start()`` never returns on its own and swallows one cancel."""
    try:
        loop.run_until_complete(task)
    except BaseException:  # cancelled at shutdown
        pass
    finally:
        try:
            pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
            for t in pending:
                t.cancel()
            loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            for closer in closers:
                loop.run_until_complete(closer())
            loop.run_until_complete(loop.shutdown_asyncgens())
        except Exception:  # shutting down anyway: note it for whoever debugs
            logging.getLogger("bot.stream").debug("SDK loop clean-up failed", exc_info=True)
        finally:
            loop.close()
