"""The OpenAPI of the fake DingTalk: access tokens, group sends, batchSend, file downloads, and the
limits DingTalk enforces on them (protocol notes §10).

Every API is named for counting, throttling and rate limiting: ``group``
(``/v1.0/robot/groupMessages/send``), ``oto`` (``/v1.0/robot/oToMessages/batchSend``),
``file_download``, ``card`` (the legacy robot interactive-card paths) and the card-instance APIs
of :mod:`simulator.cards` (``card_create``, ``card_deliver``, ``card_create_and_deliver``,
``card_update``). Tokens are not limited.

Limits, switchable per :class:`~simulator.server.FakeDingTalk`:

* ``rate_limit=N``: at most N calls a second per API (a sliding one-second window over the
  calls it let through, whatever their answer); beyond it HTTP 403 ``Forbidden.AccessDenied.QpsLimitForAppkeyAndApi``.
  Default ``None``: no limit.
* at most 20 userIds per batchSend (always);
* ``flow_control_ratio=0.02``: each deliverable user of a batchSend lands in
  ``flowControlledStaffIdList`` with that probability (seeded by ``seed``); they got nothing.

:meth:`OpenApi.calls_per_second` counts the calls answered 200 per API and wall-clock second;
:meth:`OpenApi.delivered_counts` how many 1:1 messages (batchSend, cards delivered to the robot
chat) reached each user, and :meth:`OpenApi.group_delivered_counts` how many messages (group sends,
cards) reached each group, so a benchmark can report duplicates and losses.
"""

from __future__ import annotations

import base64
import itertools
import json
import random
import time
import uuid
from collections import Counter, deque
from typing import TYPE_CHECKING, Any

from aiohttp import web

if TYPE_CHECKING:
    from simulator.server import FakeDingTalk

GROUP_MSGPARAM_MAX_BYTES = 15000  # groupMessages/send: msgParam <= 15,000 bytes
BATCH_MAX_USERS = 20

# msgKey -> fields required in msgParam (protocol notes §10.2).
MSG_KEYS: dict[str, tuple[str, ...]] = {
    "sampleText": ("content",),
    "sampleMarkdown": ("title", "text"),
    "sampleLink": ("text", "title", "messageUrl"),
    "sampleImageMsg": ("photoURL",),
    "sampleActionCard": ("title", "text", "singleTitle", "singleURL"),
    **{
        f"sampleActionCard{n}": (
            "title",
            "text",
            *itertools.chain.from_iterable((f"actionTitle{i}", f"actionURL{i}") for i in range(1, n + 1)),
        )
        for n in range(2, 6)
    },
}

THROTTLE_403 = {
    "code": "Forbidden.AccessDenied.QpsLimitForAppkeyAndApi",
    "message": "调用该接口的频率超过了应用级别的限流，请稍后重试",
}
BAD_TOKEN = {"code": "InvalidAuthentication", "message": "不合法的access_token"}
PNG_1X1 = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg=="
)
LEGACY_CARD_ROUTES = (
    ("POST", "/v1.0/im/v1.0/robot/interactiveCards/send"),
    ("PUT", "/v1.0/im/robots/interactiveCards"),
    ("PUT", "/v1.0/card/streaming"),
)


class Invalid:
    """A request body that was not JSON."""

    def __init__(self, text: str):
        self.text = text


def minimum_seconds(calls: int, rate: int | None) -> float:
    """The least wall time ``calls`` calls to one API can take at ``rate`` a second (sliding window):
    ``rate`` at once, then ``rate`` more each second, so ``ceil(calls / rate) - 1`` seconds."""
    if not rate or calls <= 0:
        return 0.0
    return float(-(-calls // rate) - 1)


def new_code() -> str:
    return base64.b64encode(uuid.uuid4().bytes).decode().rstrip("=")


class OpenApi:
    def __init__(
        self, sim: FakeDingTalk, *, rate_limit: int | None = None, flow_control_ratio: float = 0.0, seed: int = 0
    ) -> None:
        self.sim = sim
        self.book = sim.book
        self.rate_limit = rate_limit
        self.flow_control_ratio = flow_control_ratio
        self.rng = random.Random(seed)
        self._tokens: dict[str, float] = {}
        self._throttles: dict[str, deque[str]] = {"group": deque(), "oto": deque()}
        self._windows: dict[str, deque[float]] = {}
        self._per_second: dict[str, Counter[int]] = {}
        self._delivered: Counter[str] = Counter()
        self._group_delivered: Counter[str] = Counter()

    def setup(self, app: web.Application) -> None:
        r = app.router
        r.add_post("/v1.0/oauth2/accessToken", self._h_token)
        r.add_post("/v1.0/robot/groupMessages/send", self._h_group_send)
        r.add_post("/v1.0/robot/oToMessages/batchSend", self._h_oto_send)
        r.add_post("/v1.0/robot/messageFiles/download", self._h_file_download)
        r.add_get("/sim/files/{code}", self._h_file)
        for method, path in LEGACY_CARD_ROUTES:
            r.add_route(method, path, self._h_legacy_card)

    # ----------------------------------------------------------------- shared by every API

    async def json_body(self, request: web.Request) -> Any:
        raw = await request.read()
        try:
            return json.loads(raw or b"null")
        except ValueError:
            return Invalid(raw[:500].decode("utf-8", "replace"))

    def reject(
        self,
        api: str,
        status: int,
        error: dict[str, Any],
        request_body: Any,
        *,
        msg_id: str | None = None,
        conversation_id: str | None = None,
    ) -> web.Response:
        body = {**error, "requestid": uuid.uuid4().hex.upper()} if "code" in error else error
        req = request_body.text if isinstance(request_body, Invalid) else request_body
        self.book.add(
            "rejected",
            {"api": api, "status": status, "error": error, "request": req},
            msg_id=msg_id,
            conversation_id=conversation_id,
            response=body,
        )
        return web.json_response(body, status=status)

    def bad_request(self, api: str, code: str, message: str, body: Any) -> web.Response:
        return self.reject(api, 400, {"code": code, "message": message}, body)

    def token_ok(self, request: web.Request) -> bool:
        token = request.headers.get("x-acs-dingtalk-access-token", "")
        with self.book.cond:
            expires = self._tokens.get(token)
        return expires is not None and time.monotonic() < expires

    def gate(self, request: web.Request, api: str, body: Any) -> tuple[web.Response | None, str | None]:
        """Token, injected throttles and the rate limit: (a refusal or None, the injected mode)."""
        if not self.token_ok(request):
            return self.reject(api, 401, BAD_TOKEN, body), None
        with self.book.cond:
            q = self._throttles.get(api)
            mode = q.popleft() if q else None
        if mode == "403" or not self._admit(api):
            return self.reject(api, 403, THROTTLE_403, body), None
        return None, mode

    def _admit(self, api: str) -> bool:
        if not self.rate_limit:
            return True
        now = time.monotonic()
        with self.book.cond:
            window = self._windows.setdefault(api, deque())
            while window and window[0] <= now - 1.0:
                window.popleft()
            if len(window) >= self.rate_limit:
                return False
            window.append(now)
            return True

    def accepted(self, api: str) -> None:
        """Count a call answered 200."""
        with self.book.cond:
            self._per_second.setdefault(api, Counter())[int(time.time())] += 1

    def delivered(self, staff_ids: list[str]) -> None:
        with self.book.cond:
            self._delivered.update(staff_ids)

    def group_delivered(self, conversation_id: str) -> None:
        with self.book.cond:
            self._group_delivered[conversation_id] += 1

    # ----------------------------------------------------------------- counters and switches

    def calls_per_second(self) -> dict[str, dict[int, int]]:
        with self.book.cond:
            return {api: dict(sorted(c.items())) for api, c in self._per_second.items()}

    def delivered_counts(self) -> dict[str, int]:
        with self.book.cond:
            return dict(self._delivered)

    def group_delivered_counts(self) -> dict[str, int]:
        with self.book.cond:
            return dict(self._group_delivered)

    def reset_counts(self) -> None:
        with self.book.cond:
            self._per_second.clear()
            self._delivered.clear()
            self._group_delivered.clear()
            self._windows.clear()

    def throttle(self, api: str, mode: str = "403", times: int = 1) -> None:
        if api not in self._throttles:
            raise ValueError(f"api must be 'group' or 'oto', not {api!r}")
        if mode not in ("403", "flow"):
            raise ValueError(f"mode must be '403' or 'flow', not {mode!r}")
        if mode == "flow" and api != "oto":
            raise ValueError("mode 'flow' exists only for oToMessages/batchSend ('oto')")
        with self.book.cond:
            self._throttles[api].extend([mode] * times)

    def expire_tokens(self) -> None:
        with self.book.cond:
            self._tokens.clear()

    # ----------------------------------------------------------------- handlers

    async def _h_token(self, request: web.Request) -> web.Response:
        sim = self.sim
        body = await self.json_body(request)
        if (
            not isinstance(body, dict)
            or body.get("appKey") != sim.client_id
            or body.get("appSecret") != sim.client_secret
        ):
            return self.reject(
                "token", 400, {"code": "invalidClientIdOrSecret", "message": "无效的clientId或者clientSecret"}, body
            )
        token = uuid.uuid4().hex
        with self.book.cond:
            self._tokens[token] = time.monotonic() + sim.token_expire_in
        answer = {"accessToken": token, "expireIn": sim.token_expire_in}
        self.book.add("token", {"appKey": body.get("appKey")}, response=answer)
        return web.json_response(answer)

    def check_common(self, body: Any) -> tuple[str, str] | None:
        """(code, message) of the first problem shared by both send APIs."""
        if not isinstance(body, dict):
            return "invalidParameter.body.invalid", "请求体必须是 JSON 对象"
        robot = body.get("robotCode")
        if not robot:
            return "invalidParameter.robotCode.missing", "robotCode 不能为空"
        if robot != self.sim.robot_code:
            return "invalidParameter.robotCode.notExsit", f"robotCode {robot!r} 不存在"
        key = body.get("msgKey")
        if key not in MSG_KEYS:
            return "invalidParameter.msgKey.invalid", f"msgKey {key!r} 不支持，可选：{', '.join(MSG_KEYS)}"
        param = body.get("msgParam")
        if not isinstance(param, str):
            return "invalidParameter.msgParam.invalid", "msgParam 必须是 JSON 字符串（不是对象）"
        try:
            decoded = json.loads(param)
        except ValueError:
            return "invalidParameter.msgParam.invalid", "msgParam 不是合法的 JSON"
        if not isinstance(decoded, dict):
            return "invalidParameter.msgParam.invalid", "msgParam 必须是 JSON 对象的字符串"
        missing = [f for f in MSG_KEYS[key] if not isinstance(decoded.get(f), str) or not decoded.get(f)]
        if missing:
            return "invalidParameter.msgParam.invalid", f"{key} 的 msgParam 缺少字段：{', '.join(missing)}"
        return None

    async def _h_group_send(self, request: web.Request) -> web.Response:
        body = await self.json_body(request)
        refusal, _ = self.gate(request, "group", body)
        if refusal is not None:
            return refusal
        problem = self.check_common(body)
        if problem is None:
            cid = body.get("openConversationId")
            if not cid:
                problem = ("invalidParameter.openConversationId.missing", "openConversationId 不能为空")
            elif not self.sim.directory.has_group(cid):
                problem = ("invalid.openConversationId", f"群 {cid!r} 不存在或机器人不在群内")
            elif len(body["msgParam"].encode()) > GROUP_MSGPARAM_MAX_BYTES:
                problem = ("invalidParameter.msgParam.tooLong", f"msgParam 超过 {GROUP_MSGPARAM_MAX_BYTES} 字节")
        if problem:
            return self.bad_request("group", *problem, body)
        cid = body["openConversationId"]
        answer = {"processQueryKey": new_code()}
        with self.book.cond:
            msg_id = self.book.attribute([cid])
            self.book.add("group_send", body, conversation_id=cid, msg_id=msg_id, response=answer)
            self.accepted("group")
            self.group_delivered(cid)
        return web.json_response(answer)

    async def _h_oto_send(self, request: web.Request) -> web.Response:
        body = await self.json_body(request)
        refusal, mode = self.gate(request, "oto", body)
        if refusal is not None:
            return refusal
        problem = self.check_common(body)
        if problem is None:
            ids = body.get("userIds")
            if not isinstance(ids, list) or not ids or not all(isinstance(i, str) and i for i in ids):
                problem = ("invalidParameter.userIds.invalid", "userIds 必须是非空的 userId 字符串数组")
            elif len(ids) > BATCH_MAX_USERS:
                problem = ("invalidParameter.userIds.tooMany", f"userIds 最多 {BATCH_MAX_USERS} 个，收到 {len(ids)} 个")
        if problem:
            return self.bad_request("oto", *problem, body)
        ids = list(body["userIds"])
        directory = self.sim.directory
        invalid = [i for i in ids if (u := directory.user_or_none(i)) is not None and u.external]
        with self.book.cond:
            flow = [
                i
                for i in ids
                if i not in invalid
                and (mode == "flow" or (self.flow_control_ratio > 0 and self.rng.random() < self.flow_control_ratio))
            ]
        answer = {"processQueryKey": new_code(), "invalidStaffIdList": invalid, "flowControlledStaffIdList": flow}
        delivered = [i for i in ids if i not in invalid and i not in flow]
        conv = f"cid-p2p-{ids[0]}" if len(ids) == 1 else None
        with self.book.cond:
            msg_id = self.book.attribute([f"cid-p2p-{i}" for i in delivered])
            self.book.add("oto_send", body, conversation_id=conv, msg_id=msg_id, response=answer)
            self.accepted("oto")
            self.delivered(delivered)
        return web.json_response(answer)

    async def _h_file_download(self, request: web.Request) -> web.Response:
        body = await self.json_body(request)
        refusal, _ = self.gate(request, "file_download", body)
        if refusal is not None:
            return refusal
        if not isinstance(body, dict) or not body.get("downloadCode"):
            return self.bad_request(
                "file_download", "invalidParameter.downloadCode.missing", "downloadCode 不能为空", body
            )
        self.book.add("file_download", body)
        self.accepted("file_download")
        return web.json_response({"downloadUrl": f"{self.sim.base_url}/sim/files/{body['downloadCode']}"})

    async def _h_file(self, request: web.Request) -> web.Response:
        # A 1x1 PNG stands in for every downloaded picture/file.
        return web.Response(body=PNG_1X1, content_type="image/png")

    async def _h_legacy_card(self, request: web.Request) -> web.Response:
        body = await self.json_body(request)
        refusal, _ = self.gate(request, "card", body)
        if refusal is not None:
            return refusal
        self.book.add("card", {"method": request.method, "path": request.path, "body": body})
        self.accepted("card")
        return web.json_response({"success": True, "result": {}})


class OpenApiControls:
    """:class:`simulator.server.FakeDingTalk`'s failure injection, limits and counters (of its :class:`OpenApi`)."""

    openapi: OpenApi

    def throttle(self, api: str, mode: str = "403", times: int = 1) -> None:
        """The next ``times`` calls to ``api`` ("group" | "oto") are throttled.

        mode "403": HTTP 403 ``Forbidden.AccessDenied.QpsLimitForAppkeyAndApi`` (recorded as
        ``rejected``). mode "flow" (oto only): HTTP 200 with every requested userId in
        ``flowControlledStaffIdList`` (recorded as ``oto_send``; those users got nothing).
        """
        self.openapi.throttle(api, mode, times)

    def expire_tokens(self) -> None:
        """Invalidate every issued access token (the next OpenAPI call gets 401)."""
        self.openapi.expire_tokens()

    @property
    def rate_limit(self) -> int | None:
        """Calls a second per API beyond which the answer is 403 QpsLimit (None: unlimited)."""
        return self.openapi.rate_limit

    @rate_limit.setter
    def rate_limit(self, value: int | None) -> None:
        self.openapi.rate_limit = value

    @property
    def flow_control_ratio(self) -> float:
        return self.openapi.flow_control_ratio

    @flow_control_ratio.setter
    def flow_control_ratio(self, value: float) -> None:
        self.openapi.flow_control_ratio = value

    def calls_per_second(self) -> dict[str, dict[int, int]]:
        """Accepted (HTTP 200) calls per API ("group", "oto", "card_deliver", …) and Unix second."""
        return self.openapi.calls_per_second()

    def call_counts(self) -> dict[str, int]:
        """Accepted calls per API in total."""
        return {api: sum(per.values()) for api, per in self.calls_per_second().items()}

    def minimum_seconds(self, rate: int | None = None) -> float:
        """The least time the accepted calls so far could take under ``rate`` (default ``rate_limit``)
        calls a second per API: the slowest API's ``ceil(calls / rate) - 1`` (APIs run side by side)."""
        rate = rate or self.rate_limit
        return max((minimum_seconds(n, rate) for n in self.call_counts().values()), default=0.0)

    def delivered_counts(self) -> dict[str, int]:
        """Per staff id: how many 1:1 messages reached them (batchSend minus invalid and
        flow-controlled users, cards delivered to their robot chat). >1 for one send is a duplicate."""
        return self.openapi.delivered_counts()

    def group_delivered_counts(self) -> dict[str, int]:
        """Per group conversation id: how many messages reached it (group sends, cards delivered there)."""
        return self.openapi.group_delivered_counts()

    def reset_counts(self) -> None:
        """Zero the call and delivery counters (and the rate-limit windows)."""
        self.openapi.reset_counts()
