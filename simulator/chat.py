"""Chat messages pushed to the bot, and the session webhooks it answers them through.

A message is a CALLBACK frame on ``/v1.0/im/bot/messages/get`` whose ``data`` is what DingTalk
sends (protocol notes §8). Each message gets its own session webhook (``/robot/sendBySession``,
valid ~90 min); an accepted POST to it is a ``webhook_reply`` record answering that message.
"""

from __future__ import annotations

import base64
import json
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypedDict, Unpack

from aiohttp import web

from simulator.directory import SimConversation, SimUser
from simulator.gateway import ms
from simulator.openapi import Invalid

if TYPE_CHECKING:
    from simulator.server import FakeDingTalk

BOT_MESSAGE_TOPIC = "/v1.0/im/bot/messages/get"
WEBHOOK_TTL_MS = 90 * 60 * 1000  # sessionWebhookExpiredTime = createAt + ~90 min
WEBHOOK_MAX_BYTES = 20000  # "message too long, exceed 20000 bytes"


def code(prefix: str = "") -> str:
    return prefix + base64.b64encode(uuid.uuid4().bytes).decode().rstrip("=")


class MessageOptions(TypedDict, total=False):
    """How a pushed message differs from a plain text one (see ``FakeDingTalk.send_message``)."""

    msg_id: str | None
    msgtype: str
    content: Any
    webhook_expired: bool
    webhook_refused: bool
    redeliver_same_message_id: bool


@dataclass
class Session:
    msg_id: str
    conversation_id: str
    staff_id: str | None
    expires_ms: int


@dataclass
class Prepared:
    msg_id: str
    frame: dict[str, Any]
    data: dict[str, Any]
    conversation: SimConversation
    user: SimUser
    redelivery: bool = False


class ChatMessages:
    def __init__(self, sim: FakeDingTalk) -> None:
        self.sim = sim
        self.book = sim.book
        self._sessions: dict[str, Session] = {}
        self._frames_by_msg_id: dict[str, Prepared] = {}

    def setup(self, app: web.Application) -> None:
        app.router.add_post("/robot/sendBySession", self._h_session_webhook)

    def resolve(self, user: SimUser | str, conversation: SimConversation | str) -> tuple[SimUser, SimConversation]:
        d = self.sim.directory
        u = d.user(user) if isinstance(user, str) else user
        if isinstance(conversation, str):
            conv = d.private(u) if conversation in ("p2p", "private") else d.conversation(conversation)
        else:
            conv = conversation
        if conv.is_group:
            d.add_group(conv)  # an ad-hoc group becomes known (for groupMessages/send)
        return u, conv

    def prepare(
        self, text: str, *, user: SimUser | str, conversation: SimConversation | str, **options: Unpack[MessageOptions]
    ) -> Prepared:
        u, conv = self.resolve(user, conversation)
        msg_id, msgtype, content = options.get("msg_id"), options.get("msgtype", "text"), options.get("content")
        webhook_expired = options.get("webhook_expired", False)
        redeliver_same_message_id = options.get("redeliver_same_message_id", False)
        if redeliver_same_message_id and msg_id:
            with self.book.cond:
                previous = self._frames_by_msg_id.get(msg_id)
            if previous is not None:
                frame = json.loads(json.dumps(previous.frame))
                return Prepared(msg_id, frame, previous.data, previous.conversation, previous.user, True)
        msg_id = msg_id or code("msg")
        data = self._message_data(text, u, conv, msg_id, webhook_expired, options.get("webhook_refused", False))
        if msgtype == "text":
            data["text"] = {"content": (" " + text) if conv.is_group else text}  # DingTalk's space after @bot
            if content is not None:
                data["content"] = content
        else:
            data["msgtype"] = msgtype
            data["content"] = content if content is not None else default_content(msgtype, text)
        frame = self.sim.gateway.callback_frame(BOT_MESSAGE_TOPIC, data)
        prepared = Prepared(msg_id, frame, data, conv, u)
        with self.book.cond:
            self._frames_by_msg_id[msg_id] = prepared
            while len(self._frames_by_msg_id) > 10000:  # only needed for redelivery of recent ones
                del self._frames_by_msg_id[next(iter(self._frames_by_msg_id))]
        return prepared

    def _message_data(
        self, text: str, u: SimUser, conv: SimConversation, msg_id: str, webhook_expired: bool, refused: bool = False
    ) -> dict[str, Any]:
        sim = self.sim
        now = ms()
        session = uuid.uuid4().hex
        expires = now - 60_000 if webhook_expired else now + WEBHOOK_TTL_MS
        staff_id = None if u.external else u.staff_id
        with self.book.cond:  # refused: expired by DingTalk's clock although the message says otherwise
            self._sessions[session] = Session(msg_id, conv.conversation_id, staff_id, now - 1 if refused else expires)
        data: dict[str, Any] = {
            "conversationId": conv.conversation_id,
            "chatbotCorpId": sim.corp_id,
            "chatbotUserId": sim.chatbot_user_id,
            "msgId": msg_id,
            "senderNick": u.name,
            "isAdmin": bool(u.group_admin),
            "sessionWebhookExpiredTime": expires,
            "createAt": now,
            "senderCorpId": "dingexternalcorp" if u.external else sim.corp_id,
            "conversationType": conv.conversation_type,
            "senderId": u.sender_id,
            "sessionWebhook": f"{sim.base_url}/robot/sendBySession?session={session}",
            "robotCode": sim.robot_code,
            "msgtype": "text",
        }
        if not u.external:
            data["senderStaffId"] = u.staff_id
        if conv.is_group:
            data["conversationTitle"] = conv.title
            data["isInAtList"] = True
            at_users: list[dict[str, Any]] = [{"dingtalkId": sim.chatbot_user_id}]
            # "@张三" in the text mentions that user; entries in the order the names appear
            mentioned = sorted(
                (o for o in sim.directory.users if o.name and f"@{o.name}" in (text or "")),
                key=lambda o: text.find(f"@{o.name}"),
            )
            for other in mentioned:
                entry: dict[str, Any] = {"dingtalkId": other.sender_id}
                if not other.external:
                    entry["staffId"] = other.staff_id
                at_users.append(entry)
            data["atUsers"] = at_users
        return data

    async def deliver(self, prepared: Prepared, wait: float | None = None) -> str:
        await self.sim.gateway.push(
            prepared.frame,
            wait=wait,
            kind="message",
            record_payload=prepared.data,
            msg_id=prepared.msg_id,
            conversation_id=prepared.conversation.conversation_id,
        )
        return prepared.msg_id

    async def _h_session_webhook(self, request: web.Request) -> web.Response:
        token = request.query.get("session", "")
        raw = await request.read()
        try:
            body: Any = json.loads(raw or b"null")
        except ValueError:
            body = Invalid(raw[:500].decode("utf-8", "replace"))
        with self.book.cond:
            sess = self._sessions.get(token)
        msg_id = sess.msg_id if sess else None
        conv = sess.conversation_id if sess else None

        def refuse(errcode: int, errmsg: str) -> web.Response:
            return self.sim.openapi.reject(
                "webhook", 200, {"errcode": errcode, "errmsg": errmsg}, body, msg_id=msg_id, conversation_id=conv
            )

        if sess is None:
            return refuse(300001, "token is not exist")
        if ms() > sess.expires_ms:
            return refuse(300001, "session webhook expired")
        if isinstance(body, Invalid):
            return refuse(40035, "缺少参数 json：请求体不是合法的 JSON")
        if len(raw) > WEBHOOK_MAX_BYTES:
            return refuse(460101, f"message too long, exceed {WEBHOOK_MAX_BYTES} bytes")
        problem = check_webhook_body(body)
        if problem:
            return refuse(40035, problem)
        answer = {"errcode": 0, "errmsg": "ok"}
        self.book.add("webhook_reply", body, msg_id=msg_id, conversation_id=conv, response=answer)
        return web.json_response(answer)


def default_content(msgtype: str, text: str) -> dict[str, Any]:
    dc = code("dc")
    if msgtype == "picture":
        return {"pictureDownloadCode": code("pdc"), "downloadCode": dc}
    if msgtype == "richText":
        parts: list[dict[str, Any]] = []
        if text:
            parts.append({"text": text})
        parts.append({"pictureDownloadCode": code("pdc"), "downloadCode": dc, "type": "picture"})
        return {"richText": parts}
    if msgtype == "file":
        return {
            "spaceId": "21000000001",
            "fileName": text or "2026年度培训名单.xlsx",
            "downloadCode": dc,
            "fileId": "190000000001",
        }
    if msgtype == "audio":
        return {"duration": 4000, "downloadCode": dc, "recognition": text}
    if msgtype == "video":
        return {"duration": "5", "videoType": "mp4", "downloadCode": dc}
    if msgtype == "unknownMsgType":
        return {"unknownMsgType": "用户发送了一条消息，机器人暂不支持接收。"}
    return {}


def _need(obj: Any, msgtype: Any, *keys: str) -> str | None:
    if not isinstance(obj, dict):
        return f"缺少 {msgtype} 对象"
    missing = [k for k in keys if not isinstance(obj.get(k), str) or not obj.get(k)]
    return f"{msgtype} 缺少字段：{', '.join(missing)}" if missing else None


def check_webhook_body(body: Any) -> str | None:
    """The refusal text for a session-webhook body, or None when DingTalk would take it."""
    if not isinstance(body, dict):
        return "请求体必须是 JSON 对象"
    msgtype = body.get("msgtype")
    if msgtype == "text":
        return _need(body.get("text"), msgtype, "content")
    if msgtype == "markdown":
        return _need(body.get("markdown"), msgtype, "title", "text")
    if msgtype == "link":
        return _need(body.get("link"), msgtype, "title", "text", "messageUrl")
    if msgtype == "actionCard":
        card = body.get("actionCard")
        problem = _need(card, msgtype, "title", "text")
        if problem or not isinstance(card, dict):
            return problem
        if card.get("singleTitle") or card.get("singleURL"):
            return _need(card, msgtype, "singleTitle", "singleURL")
        btns = card.get("btns")
        if (
            not isinstance(btns, list)
            or not btns
            or not all(isinstance(b, dict) and b.get("title") and b.get("actionURL") for b in btns)
        ):
            return "actionCard 需要 singleTitle/singleURL 或 btns[{title, actionURL}]"
        return None
    if msgtype == "feedCard":
        links = (body.get("feedCard") or {}).get("links") if isinstance(body.get("feedCard"), dict) else None
        if not isinstance(links, list) or not links:
            return "feedCard 缺少 links"
        return None
    return f"不支持的 msgtype：{msgtype!r}"
