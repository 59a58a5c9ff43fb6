"""Point the unmodified SDK at DINGTALK_OPENAPI_ENDPOINT.

The SDK reads DINGTALK_OPENAPI_ENDPOINT once, when first imported, and
freezes it into a class attribute and three module globals. Setting those
names at runtime lets one setting point the whole bot (SDK and our own
OpenAPI calls) at another server, whatever the import order.
"""
from __future__ import annotations

import dingtalk_stream.card_replier as _card_replier
import dingtalk_stream.chatbot as _chatbot
import dingtalk_stream.stream as _stream


def point_sdk_at(endpoint: str) -> None:
    endpoint = endpoint.rstrip("/")
    _stream.DINGTALK_OPENAPI_ENDPOINT = endpoint
    _stream.DingTalkStreamClient.OPEN_CONNECTION_API = endpoint + "/v1.0/gateway/connections/open"
    _chatbot.DINGTALK_OPENAPI_ENDPOINT = endpoint
    _card_replier.DINGTALK_OPENAPI_ENDPOINT = endpoint
