"""Text of what was said, for tests (:func:`text_of`, :func:`read_text`) and the chat page (:func:`chat_items`).

``text_of`` gives the raw text the bot sent (markdown source included); ``read_text`` gives what
a person reads on the phone: DingTalk's markdown subset applied (:func:`simulator.markdown.to_plain_text`),
button titles on their own lines, cards as title, body, status and buttons.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from simulator.card_template import card_text, card_view
from simulator.directory import P2P_PREFIX
from simulator.markdown import linkify, to_html, to_plain_text
from simulator.records import Record

if TYPE_CHECKING:
    from simulator.server import FakeDingTalk

_PAGE_LABELS = {
    "picture": "[图片]",
    "file": "[文件]",
    "audio": "[语音]",
    "video": "[视频]",
    "unknownMsgType": "[暂不支持的消息]",
}
CARD_KINDS = ("card_create", "card_deliver", "card_update")


def message_text(data: dict[str, Any], for_page: bool = False) -> str:
    msgtype = data.get("msgtype")
    raw_content = data.get("content")
    content: dict[str, Any] = raw_content if isinstance(raw_content, dict) else {}
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


def _buttons_from_card(card: dict[str, Any]) -> list[dict[str, str]]:
    if card.get("singleTitle"):
        return [{"title": str(card["singleTitle"]), "url": str(card.get("singleURL", ""))}]
    return [
        {"title": str(b.get("title", "")), "url": str(b.get("actionURL", ""))}
        for b in card.get("btns") or []
        if isinstance(b, dict)
    ]


def _decode_param(param: Any) -> dict[str, Any]:
    if isinstance(param, dict):
        return param
    try:
        p = json.loads(param) if isinstance(param, str) else {}
    except ValueError:
        return {}
    return p if isinstance(p, dict) else {}


def _param_buttons(key: str, p: dict[str, Any]) -> list[dict[str, str]]:
    if key == "sampleActionCard":
        return [{"title": str(p.get("singleTitle", "")), "url": str(p.get("singleURL", ""))}]
    return [
        {"title": str(p[f"actionTitle{i}"]), "url": str(p.get(f"actionURL{i}", ""))}
        for i in range(1, 7)
        if p.get(f"actionTitle{i}")
    ]


def render_webhook(body: dict[str, Any]) -> dict[str, Any]:
    """Webhook body -> {format, title, text, buttons} for the chat page."""
    t = body.get("msgtype")
    if t == "text":
        return {"format": "text", "text": str((body.get("text") or {}).get("content", ""))}
    if t == "markdown":
        md = body.get("markdown") or {}
        return {"format": "markdown", "title": md.get("title", ""), "text": str(md.get("text", ""))}
    if t == "actionCard":
        card = body.get("actionCard") or {}
        return {
            "format": "markdown",
            "title": card.get("title", ""),
            "text": str(card.get("text", "")),
            "buttons": _buttons_from_card(card),
        }
    if t == "link":
        link = body.get("link") or {}
        return {
            "format": "markdown",
            "title": link.get("title", ""),
            "text": f"**{link.get('title', '')}**\n\n{link.get('text', '')}",
            "buttons": [{"title": "查看", "url": str(link.get("messageUrl", ""))}],
        }
    return {"format": "text", "text": webhook_text(body)}


def render_msg_param(key: Any, param: Any) -> dict[str, Any]:
    p = _decode_param(param)
    if key == "sampleText":
        return {"format": "text", "text": str(p.get("content", ""))}
    if key == "sampleMarkdown":
        return {"format": "markdown", "title": p.get("title", ""), "text": str(p.get("text", ""))}
    if key == "sampleLink":
        return {
            "format": "markdown",
            "title": p.get("title", ""),
            "text": f"**{p.get('title', '')}**\n\n{p.get('text', '')}",
            "buttons": [{"title": "查看", "url": str(p.get("messageUrl", ""))}],
        }
    if isinstance(key, str) and key.startswith("sampleActionCard"):
        return {
            "format": "markdown",
            "title": p.get("title", ""),
            "text": str(p.get("text", "")),
            "buttons": _param_buttons(key, p),
        }
    return {"format": "text", "text": msg_param_text(key, param) or f"[{key}]"}


def webhook_text(body: dict[str, Any]) -> str:
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


def msg_param_text(key: Any, param: Any) -> str:
    p = _decode_param(param)
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


def text_of(record: Record | dict[str, Any]) -> str:
    """The raw text of a reply: webhook bodies, OpenAPI sends, cards and pushed user messages."""
    if isinstance(record, Record):
        kind, payload = record.kind, record.payload
    else:
        kind, payload = "", record
    if not isinstance(payload, dict):
        return ""
    if kind == "message":
        return message_text(payload)
    if kind in CARD_KINDS:
        return card_text(payload.get("cardParamMap") or {})
    if "msgKey" in payload:
        return msg_param_text(payload.get("msgKey"), payload.get("msgParam"))
    return webhook_text(payload)


def read_text(record: Record | dict[str, Any]) -> str:
    """What a person reads: markdown applied, then the button titles (cards: title, body, buttons)."""
    kind = record.kind if isinstance(record, Record) else ""
    payload = record.payload if isinstance(record, Record) else record
    if not isinstance(payload, dict):
        return ""
    if kind == "message":
        return message_text(payload)
    if kind in CARD_KINDS:
        view = card_view(payload.get("cardParamMap") or {})
        rows = [r["status"] or " ".join(b["text"] for b in r["buttons"]) for r in view["rows"]]
        parts = [view["title"], to_plain_text(view["markdown"]), view["status"], *rows]
        return "\n".join(p for p in parts if p)
    shown = (
        render_msg_param(payload.get("msgKey"), payload.get("msgParam"))
        if "msgKey" in payload
        else render_webhook(payload)
    )
    text = to_plain_text(shown["text"]) if shown["format"] == "markdown" else shown["text"]
    titles = [b["title"] for b in shown.get("buttons") or [] if b.get("title")]
    return "\n".join([text, *titles])


# --------------------------------------------------------------------------- chat page


def _with_html(shown: dict[str, Any]) -> dict[str, Any]:
    text = str(shown.get("text", ""))
    return {**shown, "html": to_html(text) if shown.get("format") == "markdown" else linkify(text)}


def _card_item(sim: FakeDingTalk, out_track_id: str, viewer: str | None) -> dict[str, Any]:
    inst = sim.cards.card(out_track_id)
    view = card_view(inst.view(viewer))
    return {
        "role": "bot",
        "name": sim.robot_name,
        "proactive": True,
        "format": "card",
        "card": {**view, "out_track_id": out_track_id, "html": to_html(view["markdown"])},
    }


def _chat_item(sim: FakeDingTalk, r: Record, cid: str, viewer: str | None) -> dict[str, Any] | None:
    base = {"seq": r.seq, "at": int(r.at * 1000), "msg_id": r.msg_id}
    if r.kind == "message" and r.conversation_id == cid:
        d = r.payload
        staff = d.get("senderStaffId") or str(d.get("senderId", "")).removeprefix("$:LWCP_v1:$")
        return {
            **base,
            "role": "user",
            "name": d.get("senderNick", ""),
            "staff_id": staff,
            "msgtype": d.get("msgtype"),
            "format": "text",
            "text": message_text(d, for_page=True),
        }
    if r.kind == "webhook_reply" and r.conversation_id == cid:
        return {
            **base,
            "role": "bot",
            "name": sim.robot_name,
            "proactive": False,
            **_with_html(render_webhook(r.payload)),
        }
    if r.kind == "group_send" and r.conversation_id == cid:
        return {
            **base,
            "role": "bot",
            "name": sim.robot_name,
            "proactive": True,
            **_with_html(render_msg_param(r.payload.get("msgKey"), r.payload.get("msgParam"))),
        }
    if r.kind == "oto_send" and cid.startswith(P2P_PREFIX):
        resp = r.response or {}
        skipped = set(resp.get("invalidStaffIdList") or []) | set(resp.get("flowControlledStaffIdList") or [])
        uid = cid[len(P2P_PREFIX) :]
        if uid in (r.payload.get("userIds") or []) and uid not in skipped:
            return {
                **base,
                "role": "bot",
                "name": sim.robot_name,
                "proactive": True,
                **_with_html(render_msg_param(r.payload.get("msgKey"), r.payload.get("msgParam"))),
            }
    if r.kind == "card_deliver" and r.conversation_id == cid:
        return {**base, **_card_item(sim, r.payload["outTrackId"], viewer)}
    if r.kind == "card_update" and cid in (r.payload.get("conversations") or []):
        return {**base, **_card_item(sim, r.payload["outTrackId"], viewer), "replace": True}
    if r.kind == "rejected" and r.conversation_id == cid and r.payload.get("api") == "webhook":
        err = r.payload.get("error") or {}
        return {
            **base,
            "role": "system",
            "format": "text",
            "text": f"机器人的回复被拒绝：{err.get('errmsg', '')}（errcode {err.get('errcode')}）",
        }
    return None


def chat_items(
    sim: FakeDingTalk, conversation_id: str, since: int = 0, viewer: str | None = None
) -> tuple[list[dict[str, Any]], int]:
    """Messages of one conversation for the chat page: (items after ``since``, last seq).

    A card appears once, in its current state as ``viewer`` sees it; a later update of a card
    shown before comes as an item with ``replace: true`` (the page redraws that card)."""
    recs, last = sim.book.since(since)
    items: list[dict[str, Any]] = []
    cards_seen: dict[str, dict[str, Any]] = {}
    for r in recs:
        item = _chat_item(sim, r, conversation_id, viewer)
        if item is None:
            continue
        card = item.get("card")
        if card is not None:
            track = card["out_track_id"]
            if track in cards_seen:  # the first item already shows the current state
                continue
            cards_seen[track] = item
        items.append(item)
    return items, last
