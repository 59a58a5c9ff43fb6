"""Interactive-card callbacks (topic ``/v1.0/card/instances/callback``) as chat messages.

A button press is a message like any other: the callback becomes the bot-message data of a
1:1 text message from the presser (``/通过 12``), with a msgId derived from the stream frame, so
the dispatcher handles it once, audits it and answers it like typed text. Only the bot's own
actions are understood (review tasks: ``pass:12``, ``reject:12``, ``decline:12``; reminders:
``ack:3`` → ``/收到 3``, ``done:3`` → ``/已完成 3``); anything else is dropped. The message's
conversation id is ``card:<outTrackId>``, so a handler knows which card was pressed.
"""

from __future__ import annotations

import json
import re
from typing import Any

from dingtalk_stream.card_callback import CardCallbackMessage

CARD_TOPIC = "/v1.0/card/instances/callback"
ACTION_TEXT = {"pass": "/通过", "reject": "/不通过", "decline": "/不能审", "ack": "/收到", "done": "/已完成"}
_ACTION = re.compile(r"^(pass|reject|decline|ack|done):(\d{1,9})$")
CARD_CONVERSATION = "card:"  # conversation id prefix of a press: card:<outTrackId>


def _action_ids(content: Any) -> list[str]:
    if not isinstance(content, dict):
        return []
    private = content.get("cardPrivateData") or {}
    ids = list(private.get("actionIds") or []) if isinstance(private, dict) else []
    params = private.get("params") if isinstance(private, dict) else None
    if isinstance(params, dict) and params.get("action"):
        ids.append(str(params["action"]))
    return [str(i) for i in ids]


def card_callback_to_chat(data: dict[str, Any], stream_message_id: str | None) -> dict[str, Any] | None:
    """The callback ``data`` as the bot-message data of a text message, or None when it is not a
    button of ours."""
    try:
        msg = CardCallbackMessage.from_dict(data)
    except (ValueError, TypeError):
        return None
    if not msg.user_id:
        return None
    command = None
    for action in _action_ids(msg.content):
        m = _ACTION.match(action.strip())
        if m:
            command = f"{ACTION_TEXT[m[1]]} {m[2]}"
            break
    if command is None:
        return None
    key = stream_message_id or f"{msg.card_instance_id}:{json.dumps(msg.content, sort_keys=True)}"
    return {
        "msgId": f"card:{key}",
        "msgtype": "text",
        "text": {"content": command},
        "conversationId": f"{CARD_CONVERSATION}{msg.card_instance_id}",
        "conversationType": "1",
        "senderStaffId": msg.user_id,
        "senderId": msg.user_id,
        "senderNick": "",
        "cardInstanceId": msg.card_instance_id,
    }
