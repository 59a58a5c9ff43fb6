"""Interactive cards in the fake DingTalk: card instances, delivery, updates and button callbacks.

The card-instance OpenAPI (protocol notes §9.3), every call with ``x-acs-dingtalk-access-token``:

``POST /v1.0/card/instances``                 create: ``cardTemplateId``, ``outTrackId``,
                                              ``cardData.cardParamMap``, ``callbackType`` "STREAM"
                                              (without it presses do not reach the stream),
                                              ``imRobotOpenSpaceModel`` / ``imGroupOpenSpaceModel``
                                              (needed to deliver to that kind of space), optional
                                              ``privateData`` → ``{"success": true, "result": outTrackId}``
``POST /v1.0/card/instances/deliver``         ``outTrackId``, ``openSpaceId`` =
                                              ``dtv1.card//IM_ROBOT.<staffId>`` (the user's 1:1 chat with
                                              the robot; needs ``imRobotOpenDeliverModel``) or
                                              ``dtv1.card//IM_GROUP.<conversationId>`` (needs
                                              ``imGroupOpenDeliverModel.robotCode``); several spaces
                                              joined by ``;`` → ``{"success": true, "result":
                                              [{"spaceType", "spaceId", "success": true}]}``
``POST /v1.0/card/instances/createAndDeliver`` both bodies in one
``PUT /v1.0/card/instances``                  ``outTrackId``, ``cardData.cardParamMap`` and/or
                                              ``privateData`` = ``{userId: {"cardParamMap": {...}}}``;
                                              ``cardUpdateOptions.updateCardDataByKey`` /
                                              ``updatePrivateDataByKey`` merge key by key, otherwise
                                              the map is replaced

A bad body or an unknown ``outTrackId`` gets HTTP 400 ``{"code", "message", "requestid"}`` and
a ``rejected`` record; nothing is half-applied.

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

**A button press** (:meth:`Cards.press`) is a CALLBACK frame on ``/v1.0/card/instances/callback``
whose ``data`` holds ``outTrackId``, ``corpId``, ``userId`` (staff id), ``type``
"actionCallback", ``spaceType`` (IM_ROBOT | IM_GROUP), ``spaceId`` (the conversation id),
``userIdType`` 1, ``content`` = JSON string ``{"cardPrivateData": {"actionIds": [id], "params":
{...}}}`` and ``extension`` "{}". It is recorded as ``card_callback`` (``msg_id`` "cb-…", so
``wait_reply`` finds what answers it); its ACK is recorded as ``ack``. When the ACK's
``data.response`` is (or is the JSON string of) ``{"cardData": {"cardParamMap": {...}},
"privateData": {userId: {"cardParamMap": {...}}}}``, those keys are merged into the card
(a ``card_update`` record answering the press).

Records: ``card_create`` (no conversation), ``card_deliver`` (one per space, with its
conversation; answers the oldest unanswered message there, like ``oto_send``), ``card_update``
(the conversation the card was first delivered to). Payload: ``{"outTrackId", "body",
"cardParamMap"}`` (the public map after the call; ``conversations`` for updates).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiohttp import web

from simulator.chat import code
from simulator.directory import P2P_PREFIX

if TYPE_CHECKING:
    from simulator.records import Record
    from simulator.server import FakeDingTalk

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


def _param_map(obj: Any, where: str) -> dict[str, str]:
    if not isinstance(obj, dict) or not isinstance(obj.get("cardParamMap"), dict):
        raise CardError("invalidParameter.cardData.invalid", f"{where} 需要 cardParamMap 对象")
    pm = obj["cardParamMap"]
    bad = [k for k, v in pm.items() if not isinstance(v, str)]
    if bad:
        raise CardError(
            "invalidParameter.cardParamMap.invalid", f"cardParamMap 的值必须是字符串：{', '.join(map(str, bad))}"
        )
    return dict(pm)


def _private_maps(obj: Any) -> dict[str, dict[str, str]]:
    if obj is None:
        return {}
    if not isinstance(obj, dict):
        raise CardError("invalidParameter.privateData.invalid", "privateData 必须是 {userId: {cardParamMap}}")
    return {str(uid): _param_map(v, f"privateData.{uid}") for uid, v in obj.items()}


def _str_field(body: dict[str, Any], key: str) -> str:
    value = body.get(key)
    if not isinstance(value, str) or not value:
        raise CardError(f"invalidParameter.{key}.missing", f"{key} 不能为空")
    return value


# --------------------------------------------------------------------------- the store and its API


class Cards:
    """Card instances by ``outTrackId``, their HTTP API and button presses."""

    def __init__(self, sim: FakeDingTalk) -> None:
        self.sim = sim
        self.book = sim.book
        self._cards: dict[str, CardInstance] = {}

    def setup(self, app: web.Application) -> None:
        r = app.router
        r.add_post("/v1.0/card/instances", self._endpoint("card_create", self._create))
        r.add_post("/v1.0/card/instances/deliver", self._endpoint("card_deliver", self._deliver))
        r.add_post(
            "/v1.0/card/instances/createAndDeliver", self._endpoint("card_create_and_deliver", self._create_and_deliver)
        )
        r.add_put("/v1.0/card/instances", self._endpoint("card_update", self._update))

    def card(self, out_track_id: str) -> CardInstance:
        with self.book.cond:
            found = self._cards.get(out_track_id)
        if found is None:
            raise KeyError(f"no card instance {out_track_id!r}")
        return found

    def all(self) -> list[CardInstance]:
        with self.book.cond:
            return list(self._cards.values())

    def _endpoint(self, api: str, action: Any) -> Any:
        async def handler(request: web.Request) -> web.Response:
            body = await self.sim.openapi.json_body(request)
            refusal, _ = self.sim.openapi.gate(request, api, body)
            if refusal is not None:
                return refusal
            try:
                if not isinstance(body, dict):
                    raise CardError("invalidParameter.body.invalid", "请求体必须是 JSON 对象")
                with self.book.cond:
                    answer = action(body)
                    self.sim.openapi.accepted(api)
            except CardError as exc:
                return self.sim.openapi.bad_request(api, exc.code, exc.message, body)
            return web.json_response(answer)

        return handler

    # ----------------------------------------------------------------- create, deliver, update

    def _new_instance(self, body: dict[str, Any]) -> CardInstance:
        template = _str_field(body, "cardTemplateId")
        track = _str_field(body, "outTrackId")
        if track in self._cards:
            raise CardError("invalidParameter.outTrackId.duplicate", f"outTrackId {track!r} 已存在")
        params = _param_map(body.get("cardData"), "cardData")
        check_template(params)
        private = _private_maps(body.get("privateData"))
        callback = body.get("callbackType", "")
        if callback not in ("STREAM", "HTTP", ""):
            raise CardError("invalidParameter.callbackType.invalid", "callbackType 只能是 STREAM 或 HTTP")
        models = frozenset(
            kind
            for kind, key in (("IM_ROBOT", "imRobotOpenSpaceModel"), ("IM_GROUP", "imGroupOpenSpaceModel"))
            if isinstance(body.get(key), dict)
        )
        return CardInstance(track, template, params, private, models, callback_type=str(callback))

    def _store(self, inst: CardInstance, body: dict[str, Any]) -> None:
        self._cards[inst.out_track_id] = inst
        self.book.add("card_create", {"outTrackId": inst.out_track_id, "body": body, "cardParamMap": dict(inst.params)})

    def _create(self, body: dict[str, Any]) -> dict[str, Any]:
        inst = self._new_instance(body)
        self._store(inst, body)
        return {"success": True, "result": inst.out_track_id}

    def _spaces(self, body: dict[str, Any], inst: CardInstance) -> list[Space]:
        raw = _str_field(body, "openSpaceId")
        spaces = []
        for part in filter(None, (p.strip() for p in raw.split(";"))):
            kind, _, target = part.removeprefix(SPACE_PREFIX).partition(".")
            if not part.startswith(SPACE_PREFIX) or kind not in ("IM_ROBOT", "IM_GROUP") or not target:
                raise CardError(
                    "invalidParameter.openSpaceId.invalid",
                    f"openSpaceId {part!r} 应为 dtv1.card//IM_ROBOT.<userId> 或 "
                    "dtv1.card//IM_GROUP.<openConversationId>",
                )
            spaces.append(self._check_space(Space(kind, target), body, inst))
        if not spaces:
            raise CardError("invalidParameter.openSpaceId.missing", "openSpaceId 不能为空")
        return spaces

    def _check_space(self, space: Space, body: dict[str, Any], inst: CardInstance) -> Space:
        if space.kind not in inst.space_models:
            needed = "imRobotOpenSpaceModel" if space.kind == "IM_ROBOT" else "imGroupOpenSpaceModel"
            raise CardError(
                "invalidParameter.openSpace.notSupported", f"卡片创建时没有 {needed}，不能投放到 {space.kind}"
            )
        if space.kind == "IM_ROBOT":
            model = body.get("imRobotOpenDeliverModel")
            if not isinstance(model, dict) or model.get("spaceType", "IM_ROBOT") != "IM_ROBOT":
                raise CardError(
                    "invalidParameter.imRobotOpenDeliverModel.invalid",
                    "投放到单聊需要 imRobotOpenDeliverModel: {spaceType: IM_ROBOT}",
                )
            user = self.sim.directory.user_or_none(space.target)
            if user is None or user.external:
                raise CardError("invalidParameter.openSpaceId.invalid", f"用户 {space.target!r} 不存在或不在组织内")
        else:
            model = body.get("imGroupOpenDeliverModel")
            if not isinstance(model, dict) or model.get("robotCode") != self.sim.robot_code:
                raise CardError(
                    "invalidParameter.imGroupOpenDeliverModel.invalid",
                    "投放到群需要 imGroupOpenDeliverModel.robotCode（机器人的 robotCode）",
                )
            if not self.sim.directory.has_group(space.target):
                raise CardError("invalid.openConversationId", f"群 {space.target!r} 不存在或机器人不在群内")
        return space

    def _put_in(self, inst: CardInstance, spaces: list[Space], body: dict[str, Any]) -> list[dict[str, Any]]:
        result = []
        for space in spaces:
            cid = space.conversation_id
            if cid not in inst.conversations:
                inst.conversations.append(cid)
            msg_id = self.book.attribute([cid])
            self.book.add(
                "card_deliver",
                {
                    "outTrackId": inst.out_track_id,
                    "body": body,
                    "cardParamMap": dict(inst.params),
                    "spaceType": space.kind,
                },
                conversation_id=cid,
                msg_id=msg_id,
            )
            if space.kind == "IM_ROBOT":
                self.sim.openapi.delivered([space.target])
            else:
                self.sim.openapi.group_delivered(space.target)
            result.append({"spaceType": space.kind, "spaceId": space.target, "success": True})
        return result

    def _deliver(self, body: dict[str, Any]) -> dict[str, Any]:
        track = _str_field(body, "outTrackId")
        inst = self._cards.get(track)
        if inst is None:
            raise CardError("invalidParameter.outTrackId.notExist", f"卡片实例 {track!r} 不存在")
        return {"success": True, "result": self._put_in(inst, self._spaces(body, inst), body)}

    def _create_and_deliver(self, body: dict[str, Any]) -> dict[str, Any]:
        inst = self._new_instance(body)
        spaces = self._spaces(body, inst)  # checked before anything is stored
        self._store(inst, body)
        return {
            "success": True,
            "result": {"outTrackId": inst.out_track_id, "deliverResults": self._put_in(inst, spaces, body)},
        }

    def _update(self, body: dict[str, Any]) -> dict[str, Any]:
        track = _str_field(body, "outTrackId")
        inst = self._cards.get(track)
        if inst is None:
            raise CardError("invalidParameter.outTrackId.notExist", f"卡片实例 {track!r} 不存在")
        if body.get("cardData") is None and body.get("privateData") is None:
            raise CardError("invalidParameter.cardData.missing", "cardData 和 privateData 不能都为空")
        raw_options = body.get("cardUpdateOptions")
        options: dict[str, Any] = raw_options if isinstance(raw_options, dict) else {}
        self._apply(
            inst,
            body.get("cardData"),
            body.get("privateData"),
            by_key=bool(options.get("updateCardDataByKey")),
            private_by_key=bool(options.get("updatePrivateDataByKey")),
        )
        msg_id = self.book.attribute(inst.conversations)
        self._record_update(inst, body, msg_id)
        return {"success": True, "result": True}

    def _apply(
        self, inst: CardInstance, card_data: Any, private_data: Any, *, by_key: bool, private_by_key: bool
    ) -> None:
        """Check everything, then change the card (never half-applied)."""
        params = inst.params
        if card_data is not None:
            new = _param_map(card_data, "cardData")
            params = {**inst.params, **new} if by_key else new
            check_template(params)
        private = {
            uid: ({**inst.private.get(uid, {}), **m} if private_by_key else m)
            for uid, m in _private_maps(private_data).items()
        }
        for m in private.values():
            check_template({**params, **m})
        inst.params = params
        inst.private.update(private)

    def _record_update(
        self, inst: CardInstance, body: Any, msg_id: str | None, conversation_id: str | None = None
    ) -> Record:
        first = inst.conversations[0] if inst.conversations else None
        return self.book.add(
            "card_update",
            {
                "outTrackId": inst.out_track_id,
                "body": body,
                "cardParamMap": dict(inst.params),
                "conversations": list(inst.conversations),
            },
            conversation_id=conversation_id or first,
            msg_id=msg_id,
        )

    # ----------------------------------------------------------------- button presses

    def prepare_press(
        self,
        out_track_id: str,
        staff_id: str,
        action_id: str,
        params: dict[str, Any] | None,
        conversation_id: str | None,
        force: bool,
    ) -> tuple[dict[str, Any], str, str]:
        """(callback data, conversation id, msg id) of a press; ValueError/KeyError when impossible."""
        inst = self.card(out_track_id)
        user = self.sim.directory.user(staff_id)
        with self.book.cond:
            convs = list(inst.conversations)
            view = inst.view(user.staff_id)
        own = f"{P2P_PREFIX}{user.staff_id}"
        cid = conversation_id or (
            own if own in convs else next((c for c in convs if not c.startswith(P2P_PREFIX)), None)
        )
        if cid is None or cid not in convs or (cid.startswith(P2P_PREFIX) and cid != own):
            raise ValueError(f"card {out_track_id!r} is not in a conversation {user.name} sees (delivered to {convs})")
        if inst.callback_type != "STREAM":
            raise ValueError(
                f"card {out_track_id!r} was created with callbackType {inst.callback_type!r}: "
                "button presses reach the stream only with callbackType STREAM"
            )
        button = next((b for b in visible_buttons(view) if b["id"] == action_id), None)
        if button is None and not force:
            raise ValueError(
                f"card {out_track_id!r} shows no button {action_id!r} to {user.staff_id}: "
                f"{[b['id'] for b in visible_buttons(view)]}"
            )
        sent = params if params is not None else (button or {}).get("params", {})
        data = {
            "outTrackId": out_track_id,
            "corpId": self.sim.corp_id,
            "userId": user.staff_id,
            "type": "actionCallback",
            "spaceType": "IM_ROBOT" if cid.startswith(P2P_PREFIX) else "IM_GROUP",
            "spaceId": cid,
            "userIdType": 1,
            "content": json.dumps({"cardPrivateData": {"actionIds": [action_id], "params": sent}}, ensure_ascii=False),
            "extension": "{}",
        }
        return data, cid, code("cb-")

    async def press(
        self,
        out_track_id: str,
        staff_id: str,
        action_id: str,
        params: dict[str, Any] | None = None,
        *,
        conversation_id: str | None = None,
        force: bool = False,
        wait: float | None = None,
    ) -> str:
        data, cid, msg_id = self.prepare_press(out_track_id, staff_id, action_id, params, conversation_id, force)
        frame = self.sim.gateway.callback_frame(CARD_CALLBACK_TOPIC, data)
        await self.sim.gateway.push(
            frame,
            wait=wait,
            kind="card_callback",
            record_payload=data,
            msg_id=msg_id,
            conversation_id=cid,
            on_ack=lambda rec: self._on_ack(out_track_id, msg_id, cid, rec),
        )
        return msg_id

    def _on_ack(self, out_track_id: str, msg_id: str, cid: str, ack: Record) -> None:
        data = ack.data
        response = data.get("response") if isinstance(data, dict) else None
        if isinstance(response, str):
            try:
                response = json.loads(response)
            except ValueError:
                return
        if not isinstance(response, dict) or not ({"cardData", "privateData"} & response.keys()):
            return
        inst = self.card(out_track_id)
        with self.book.cond:
            try:
                self._apply(
                    inst, response.get("cardData"), response.get("privateData"), by_key=True, private_by_key=True
                )
            except CardError as exc:
                self.book.add(
                    "rejected",
                    {
                        "api": "card_callback_ack",
                        "status": 400,
                        "error": {"code": exc.code, "message": exc.message},
                        "request": response,
                    },
                    msg_id=msg_id,
                )
                return
            self._record_update(inst, {"source": "callback_ack", "response": response}, msg_id, cid)
