"""The web chat page of the fake DingTalk (same aiohttp app) and its small JSON API.

``GET /`` and ``GET /sim/``: the page (``chat_page.html``: inline CSS/JS, no external resources).
``GET /sim/api/state``: users, conversations, whether a bot is connected.
``POST /sim/api/send`` ``{staff_id, conversation_id, text, msgtype?}``: push a message to the bot
(``conversation_id`` may be ``"p2p"`` for the user's 1:1 chat with the bot).
``GET /sim/api/messages?conversation_id=&since=<seq>&staff_id=``: the conversation's messages after
``since`` (cards as ``staff_id`` sees them; markdown already rendered to ``html`` by
:func:`simulator.markdown.to_html`, so the page shows exactly DingTalk's subset).
``POST /sim/api/card_action`` ``{out_track_id, staff_id, conversation_id, action_id}``: press a card
button as that user (the same card callback as ``FakeDingTalk.press_card_button``).
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aiohttp import web

if TYPE_CHECKING:
    from simulator.server import FakeDingTalk

PAGE_FILE = Path(__file__).with_name("chat_page.html")
_dumps = functools.partial(json.dumps, ensure_ascii=False)
MSGTYPES = ("text", "picture", "richText", "file", "audio", "video", "unknownMsgType")


def _json(data: object, status: int = 200) -> web.Response:
    return web.json_response(data, status=status, dumps=_dumps)


async def _body(request: web.Request) -> dict[str, Any] | web.Response:
    try:
        body = await request.json()
    except ValueError:
        return _json({"error": "请求不是合法的 JSON"}, status=400)
    if not isinstance(body, dict):
        return _json({"error": "请求必须是 JSON 对象"}, status=400)
    return body


class _Page:
    def __init__(self, sim: FakeDingTalk) -> None:
        self.sim = sim
        self.html = PAGE_FILE.read_text(encoding="utf-8")

    async def page(self, request: web.Request) -> web.Response:
        return web.Response(
            text=self.html, content_type="text/html", charset="utf-8", headers={"Cache-Control": "no-store"}
        )

    async def state(self, request: web.Request) -> web.Response:
        sim = self.sim
        return _json(
            {
                "robot_name": sim.robot_name,
                "connected": sim.bot_connected,
                "connections": sim.connections,
                "users": [
                    {"staff_id": u.staff_id, "name": u.name, "org": u.org, "external": u.external} for u in sim.users
                ],
                "conversations": [
                    {"conversation_id": g.conversation_id, "title": g.title, "kind": g.kind} for g in sim.groups
                ]
                + [{"conversation_id": "p2p", "title": "单聊（与机器人）", "kind": "private"}],
            }
        )

    async def send(self, request: web.Request) -> web.Response:
        sim = self.sim
        body = await _body(request)
        if isinstance(body, web.Response):
            return body
        text = str(body.get("text") or "")
        msgtype = str(body.get("msgtype") or "text")
        if msgtype not in MSGTYPES:
            return _json({"error": f"不支持的消息类型：{msgtype}"}, status=400)
        if msgtype == "text" and not text.strip():
            return _json({"error": "消息不能为空"}, status=400)
        if len(text) > 20000:
            return _json({"error": "消息太长"}, status=400)
        try:
            user = sim.user(str(body.get("staff_id") or ""))
            cid = str(body.get("conversation_id") or "")
            conv = sim.private(user) if cid in ("p2p", "", f"cid-p2p-{user.staff_id}") else sim.group(cid)
        except KeyError as exc:
            return _json({"error": f"没有这个用户或会话：{exc}"}, status=400)
        if not sim.bot_connected:
            return _json({"error": "机器人未连接，消息没有发出"}, status=409)
        prepared = sim.chat.prepare(text, user=user, conversation=conv, msgtype=msgtype)
        try:
            msg_id = await sim.chat.deliver(prepared, wait=2.0)
        except RuntimeError:
            return _json({"error": "机器人未连接，消息没有发出"}, status=409)
        return _json({"msg_id": msg_id, "conversation_id": conv.conversation_id})

    async def messages(self, request: web.Request) -> web.Response:
        cid = request.query.get("conversation_id", "")
        try:
            since = int(request.query.get("since", "0") or 0)
        except ValueError:
            since = 0
        items, last = self.sim.chat_items(cid, since, request.query.get("staff_id") or None)
        return _json({"items": items, "last_seq": last, "connected": self.sim.bot_connected})

    async def card_action(self, request: web.Request) -> web.Response:
        body = await _body(request)
        if isinstance(body, web.Response):
            return body
        staff = str(body.get("staff_id") or "")
        cid = str(body.get("conversation_id") or "")
        cid = f"cid-p2p-{staff}" if cid in ("p2p", "") else cid
        try:
            msg_id = await self.sim.cards.press(
                str(body.get("out_track_id") or ""),
                staff,
                str(body.get("action_id") or ""),
                conversation_id=cid,
                wait=2.0,
            )
        except (KeyError, ValueError) as exc:
            return _json({"error": f"不能点这个按钮：{exc}"}, status=400)
        except RuntimeError:
            return _json({"error": "机器人未连接，点击没有发出"}, status=409)
        return _json({"msg_id": msg_id})


def setup_page(app: web.Application, sim: FakeDingTalk) -> None:
    page = _Page(sim)
    for path in ("/", "/sim/", "/sim"):
        app.router.add_get(path, page.page)
    app.router.add_get("/sim/api/state", page.state)
    app.router.add_post("/sim/api/send", page.send)
    app.router.add_get("/sim/api/messages", page.messages)
    app.router.add_post("/sim/api/card_action", page.card_action)
