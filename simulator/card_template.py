"""Interactive cards in the fake DingTalk: the card template, card instances and their spaces.

**The card template** (what the chat page renders; any ``cardTemplateId`` is accepted, the bot
uses :data:`CARD_TEMPLATE_ID`). ``cardParamMap`` values are strings:

``title``     (required) the card's heading
``markdown``  (required) the body, in DingTalk's markdown subset (:mod:`simulator.markdown`)
``buttons``   (optional) a JSON string of a list of ``{"id": "pass-17", "text": "通过",
              "params": {...}, "task": "17"}``; ``id`` and ``text`` required, ``params`` an object
              sent back on a press, ``task`` (optional) groups the buttons of one task in a row
``status``    (optional) a JSON string of an object ``{task: text}`` — a task with a status shows
              that text (e.g. "已通过") instead of its buttons — or any other string: a status
              line for the whole card

``privateData`` of a user overlays the public ``cardParamMap`` for that user only.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from simulator.directory import P2P_PREFIX

CARD_TEMPLATE_ID = "zj-review-tasks.schema"
CARD_CALLBACK_TOPIC = "/v1.0/card/instances/callback"
SPACE_PREFIX = "dtv1.card//"
REQUIRED_KEYS = ("title", "markdown")


class CardError(ValueError):
    """A refused card call: ``code`` and ``message`` as DingTalk answers them."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass
class CardInstance:
    out_track_id: str
    template_id: str
    params: dict[str, str]
    private: dict[str, dict[str, str]] = field(default_factory=dict)
    space_models: frozenset[str] = frozenset()  # IM_ROBOT / IM_GROUP it may be delivered to
    conversations: list[str] = field(default_factory=list)
    callback_type: str = "STREAM"  # "" (no callbacks) | STREAM | HTTP

    def view(self, staff_id: str | None = None) -> dict[str, str]:
        return {**self.params, **(self.private.get(staff_id or "", {}))}


@dataclass(frozen=True)
class Space:
    kind: str  # IM_ROBOT | IM_GROUP
    target: str  # staff id | conversation id

    @property
    def conversation_id(self) -> str:
        return f"{P2P_PREFIX}{self.target}" if self.kind == "IM_ROBOT" else self.target


# --------------------------------------------------------------------------- template


def parse_buttons(raw: str | None) -> list[dict[str, Any]]:
    if raw in (None, ""):
        return []
    try:
        buttons = json.loads(str(raw))
    except ValueError as exc:
        raise CardError("invalidParameter.cardParamMap.buttons", "buttons 必须是按钮列表的 JSON 字符串") from exc
    if not isinstance(buttons, list):
        raise CardError("invalidParameter.cardParamMap.buttons", "buttons 必须是 JSON 数组")
    for i, b in enumerate(buttons, 1):
        if not isinstance(b, dict) or not all(isinstance(b.get(k), str) and b.get(k) for k in ("id", "text")):
            raise CardError("invalidParameter.cardParamMap.buttons", f"第 {i} 个按钮需要 id 和 text（字符串）")
        if not isinstance(b.get("params", {}), dict):
            raise CardError("invalidParameter.cardParamMap.buttons", f"第 {i} 个按钮的 params 必须是对象")
    return buttons


def parse_status(raw: str | None) -> tuple[str, dict[str, str]]:
    """(a status line for the whole card, per-task statuses)."""
    if not raw:
        return "", {}
    try:
        value = json.loads(raw)
    except ValueError:
        return raw, {}
    if isinstance(value, dict):
        return "", {str(k): str(v) for k, v in value.items()}
    return raw, {}


def check_template(params: dict[str, str]) -> None:
    missing = [k for k in REQUIRED_KEYS if not isinstance(params.get(k), str)]
    if missing:
        raise CardError("invalidParameter.cardParamMap.missing", f"cardParamMap 缺少 {', '.join(missing)}")
    parse_buttons(params.get("buttons"))


def card_view(params: dict[str, str]) -> dict[str, Any]:
    """What the chat page shows: title, markdown, status line and rows of buttons per task."""
    status, per_task = parse_status(params.get("status"))
    rows: list[dict[str, Any]] = []
    for b in parse_buttons(params.get("buttons")):
        task = str(b["task"]) if b.get("task") is not None else None
        row = next((r for r in rows if task is not None and r["task"] == task), None)
        if row is None:
            row = {"task": task, "status": per_task.get(task or "", ""), "buttons": []}
            rows.append(row)
        if not row["status"]:
            row["buttons"].append({"id": b["id"], "text": b["text"], "params": b.get("params") or {}})
    return {"title": params.get("title", ""), "markdown": params.get("markdown", ""), "status": status, "rows": rows}


def visible_buttons(params: dict[str, str]) -> list[dict[str, Any]]:
    return [b for row in card_view(params)["rows"] for b in row["buttons"]]


def card_text(params: dict[str, str]) -> str:
    view = card_view(params)
    lines = [view["title"], view["markdown"]]
    if view["status"]:
        lines.append(view["status"])
    for row in view["rows"]:
        lines.append(row["status"] or " ".join(b["text"] for b in row["buttons"]))
    return "\n".join(x for x in lines if x)


def param_map(obj: Any, where: str) -> dict[str, str]:
    if not isinstance(obj, dict) or not isinstance(obj.get("cardParamMap"), dict):
        raise CardError("invalidParameter.cardData.invalid", f"{where} 需要 cardParamMap 对象")
    pm = obj["cardParamMap"]
    bad = [k for k, v in pm.items() if not isinstance(v, str)]
    if bad:
        raise CardError(
            "invalidParameter.cardParamMap.invalid", f"cardParamMap 的值必须是字符串：{', '.join(map(str, bad))}"
        )
    return dict(pm)


def private_maps(obj: Any) -> dict[str, dict[str, str]]:
    if obj is None:
        return {}
    if not isinstance(obj, dict):
        raise CardError("invalidParameter.privateData.invalid", "privateData 必须是 {userId: {cardParamMap}}")
    return {str(uid): param_map(v, f"privateData.{uid}") for uid, v in obj.items()}


def str_field(body: dict[str, Any], key: str) -> str:
    value = body.get(key)
    if not isinstance(value, str) or not value:
        raise CardError(f"invalidParameter.{key}.missing", f"{key} 不能为空")
    return value


# --------------------------------------------------------------------------- the store and its API
