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

The card template and its parsing: :mod:`simulator.card_template`.

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
from typing import TYPE_CHECKING, Any

from aiohttp import web

from simulator.card_template import (
    CARD_CALLBACK_TOPIC,
    CARD_TEMPLATE_ID,
    SPACE_PREFIX,
    CardError,
    CardInstance,
    Space,
    card_text,
    card_view,
    check_template,
    param_map,
    private_maps,
    str_field,
    visible_buttons,
)
from simulator.chat import code
from simulator.directory import P2P_PREFIX

if TYPE_CHECKING:
    from simulator.records import Record
    from simulator.server import FakeDingTalk

__all__ = ["CARD_CALLBACK_TOPIC", "CARD_TEMPLATE_ID", "CardInstance", "Cards", "card_text", "card_view"]


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
        template = str_field(body, "cardTemplateId")
        track = str_field(body, "outTrackId")
        if track in self._cards:
            raise CardError("invalidParameter.outTrackId.duplicate", f"outTrackId {track!r} 已存在")
        params = param_map(body.get("cardData"), "cardData")
        check_template(params)
        private = private_maps(body.get("privateData"))
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
        raw = str_field(body, "openSpaceId")
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
        track = str_field(body, "outTrackId")
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
        track = str_field(body, "outTrackId")
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
            new = param_map(card_data, "cardData")
            params = {**inst.params, **new} if by_key else new
            check_template(params)
        private = {
            uid: ({**inst.private.get(uid, {}), **m} if private_by_key else m)
            for uid, m in private_maps(private_data).items()
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
