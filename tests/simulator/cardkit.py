"""Cards for the simulator tests: a create body with the project's template, and an SDK handler for presses."""

from __future__ import annotations

import json
import threading
from typing import Any

import dingtalk_stream
from dingtalk_stream import AckMessage
from dingtalk_stream.card_callback import CardCallbackMessage

from simulator.cards import CARD_TEMPLATE_ID

BUTTONS = [
    {"id": "pass-17", "text": "通过", "params": {"task": "17", "verdict": "pass"}, "task": "17"},
    {"id": "reject-17", "text": "退回", "params": {"task": "17", "verdict": "reject"}, "task": "17"},
    {"id": "pass-18", "text": "通过", "params": {"task": "18", "verdict": "pass"}, "task": "18"},
]


def card_body(fake: Any, track: str, **extra: Any) -> dict[str, Any]:
    """A create body as the SDK's CardReplier sends it, with the project's card template."""
    return {
        "cardTemplateId": CARD_TEMPLATE_ID,
        "outTrackId": track,
        "callbackType": "STREAM",
        "cardData": {
            "cardParamMap": {
                "title": "审核任务（2 项）",
                "markdown": "1. **初中·化学** 酸碱盐\n2. *小学·语文* 古诗",
                "buttons": json.dumps(BUTTONS, ensure_ascii=False),
            }
        },
        "imGroupOpenSpaceModel": {"supportForward": True},
        "imRobotOpenSpaceModel": {"supportForward": True},
        **extra,
    }


def robot_space(staff: str) -> dict[str, Any]:
    return {
        "openSpaceId": f"dtv1.card//IM_ROBOT.{staff}",
        "userIdType": 1,
        "imRobotOpenDeliverModel": {"spaceType": "IM_ROBOT"},
    }


class ReviewCardHandler(dingtalk_stream.CallbackHandler):
    """The bot side of a press: remember it, and answer with the verdict shown on the card."""

    def __init__(self) -> None:
        super().__init__()
        self.presses: list[tuple[CardCallbackMessage, dict[str, Any]]] = []
        self.lock = threading.Lock()

    async def process(self, callback: dingtalk_stream.CallbackMessage):
        msg = CardCallbackMessage.from_dict(callback.data)
        with self.lock:
            self.presses.append((msg, dict(callback.data)))
        action = msg.content["cardPrivateData"]["actionIds"][0]
        task = msg.content["cardPrivateData"]["params"].get("task", "")
        if action.startswith("noop"):
            return AckMessage.STATUS_OK, "OK"
        word = "已通过" if action.startswith("pass") else "已退回"
        return AckMessage.STATUS_OK, {
            "cardData": {"cardParamMap": {"status": json.dumps({task: f"{word}（{msg.user_id}）"}, ensure_ascii=False)}}
        }
