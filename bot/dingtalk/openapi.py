"""DingTalk OpenAPI and session-webhook calls on one shared aiohttp session.

Never the SDK's blocking ``requests`` helpers: every call here is async, has
timeouts, and classifies failures so the outbox can retry throttling and
transient errors later instead of dropping a message.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from dataclasses import dataclass, field
from typing import Any

import aiohttp

log = logging.getLogger("bot.dingtalk")

TIMEOUT = aiohttp.ClientTimeout(total=10, connect=5)


class SendError(Exception):
    def __init__(self, message: str, *, retry: bool, throttled: bool = False):
        super().__init__(message)
        self.retry = retry
        self.throttled = throttled


@dataclass
class SendResult:
    process_query_key: str = ""
    throttled_ids: list[str] = field(default_factory=list)  # flowControlledStaffIdList: send again later
    invalid_ids: list[str] = field(default_factory=list)


def markdown_body(
    title: str, text: str, at_user_ids: list[str] | None = None, *, markdown: bool = True
) -> dict[str, Any]:
    """A session-webhook body: markdown, or plain text when ``markdown`` is False."""
    body: dict[str, Any] = (
        {"msgtype": "markdown", "markdown": {"title": title, "text": text}}
        if markdown
        else {"msgtype": "text", "text": {"content": text}}
    )
    if at_user_ids:
        body["at"] = {"atUserIds": at_user_ids, "isAtAll": False}
    return body


class DingTalkAPI:
    def __init__(
        self, session: aiohttp.ClientSession, *, endpoint: str, client_id: str, client_secret: str, robot_code: str
    ):
        self.session = session
        self.endpoint = endpoint.rstrip("/")
        self.client_id = client_id
        self.client_secret = client_secret
        self.robot_code = robot_code
        self._token: str | None = None
        self._token_expires = 0.0
        self._token_lock = asyncio.Lock()

    # -- token -----------------------------------------------------------------
    async def access_token(self) -> str:
        if self._token and time.monotonic() < self._token_expires:
            return self._token
        async with self._token_lock:
            if self._token and time.monotonic() < self._token_expires:
                return self._token
            data = await self._request(
                "POST",
                "/v1.0/oauth2/accessToken",
                {"appKey": self.client_id, "appSecret": self.client_secret},
                auth=False,
            )
            token = data.get("accessToken")
            if not token:
                raise SendError(f"token response without accessToken: {data}", retry=True)
            expire_in = int(data.get("expireIn") or 7200)
            # Refresh 5 minutes early (or at half-life for very short tokens).
            margin = 300 if expire_in > 600 else expire_in / 2
            self._token = token
            self._token_expires = time.monotonic() + expire_in - margin
            return token

    def reset_token(self) -> None:
        self._token = None
        self._token_expires = 0.0

    async def _request(self, method: str, path: str, body: dict[str, Any], *, auth: bool = True) -> dict[str, Any]:
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if auth:
            headers["x-acs-dingtalk-access-token"] = await self.access_token()
        url = self.endpoint + path
        try:
            async with self.session.request(
                method, url, data=json.dumps(body, ensure_ascii=False).encode(), headers=headers, timeout=TIMEOUT
            ) as resp:
                raw = await resp.read()
                status = resp.status
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise SendError(f"{path}: network error {exc!r}", retry=True) from None
        try:
            data = json.loads(raw or b"{}")
        except ValueError:
            data = {"raw": raw[:200].decode("utf-8", "replace")}
        if status == 200:
            return data if isinstance(data, dict) else {"data": data}
        code = str(data.get("code", "")) if isinstance(data, dict) else ""
        if status == 401 and auth:
            self.reset_token()
            raise SendError(f"{path}: 401 {code}", retry=True)
        if status == 429 or "QpsLimit" in code or "send.too.fast" in code or (status == 403 and "Limit" in code):
            raise SendError(f"{path}: throttled {status} {code}", retry=True, throttled=True)
        if status >= 500 or (isinstance(data, dict) and data.get("status") == 1111):
            raise SendError(f"{path}: {status} {code}", retry=True)
        raise SendError(f"{path}: {status} {code} {data}", retry=False)

    # -- proactive sends -----------------------------------------------------------
    async def send_group(self, conversation_id: str, msg_key: str, msg_param: dict[str, Any]) -> SendResult:
        data = await self._request(
            "POST",
            "/v1.0/robot/groupMessages/send",
            {
                "msgParam": json.dumps(msg_param, ensure_ascii=False),
                "msgKey": msg_key,
                "openConversationId": conversation_id,
                "robotCode": self.robot_code,
            },
        )
        return SendResult(process_query_key=str(data.get("processQueryKey", "")))

    async def send_users(self, user_ids: list[str], msg_key: str, msg_param: dict[str, Any]) -> SendResult:
        if not 1 <= len(user_ids) <= 20:
            raise ValueError("batchSend takes 1 to 20 user ids")
        data = await self._request(
            "POST",
            "/v1.0/robot/oToMessages/batchSend",
            {
                "robotCode": self.robot_code,
                "userIds": user_ids,
                "msgKey": msg_key,
                "msgParam": json.dumps(msg_param, ensure_ascii=False),
            },
        )
        return SendResult(
            process_query_key=str(data.get("processQueryKey", "")),
            throttled_ids=list(data.get("flowControlledStaffIdList") or []),
            invalid_ids=list(data.get("invalidStaffIdList") or []),
        )

    # -- interactive cards (card instances, delivered to people's robot chats) -------------------
    async def send_card(
        self, staff_ids: list[str], template_id: str, out_track_id: str, params: dict[str, str]
    ) -> None:
        """Create a card instance and deliver it to each of ``staff_ids``' 1:1 chats with the robot (one
        ``createAndDeliver`` call, spaces joined by ``;``); its buttons come back on the stream
        (callbackType STREAM), and each person's presses can change their own view (privateData)."""
        if not 1 <= len(staff_ids) <= 20:
            raise ValueError("a card goes to 1 to 20 people")
        deliver = {
            "outTrackId": out_track_id,
            "userIdType": 1,
            "openSpaceId": ";".join(f"dtv1.card//IM_ROBOT.{s}" for s in staff_ids),
            "imRobotOpenDeliverModel": {"spaceType": "IM_ROBOT", "robotCode": self.robot_code},
        }
        try:
            await self._request(
                "POST",
                "/v1.0/card/instances/createAndDeliver",
                {
                    "cardTemplateId": template_id,
                    "callbackType": "STREAM",
                    "cardData": {"cardParamMap": params},
                    "imRobotOpenSpaceModel": {"supportForward": False},
                    **deliver,
                },
            )
        except SendError as exc:
            # a retry after the answer was lost: the instance exists already, deliver it
            if "outTrackId.duplicate" not in str(exc):
                raise
            await self._request("POST", "/v1.0/card/instances/deliver", deliver)

    async def update_card(
        self, out_track_id: str, params: dict[str, str] | None, private: dict[str, dict[str, str]] | None = None
    ) -> None:
        """Merge ``params`` into the card for everyone, and ``private`` ({staff id: params}) for those people only."""
        body: dict[str, Any] = {
            "outTrackId": out_track_id,
            "cardUpdateOptions": {"updateCardDataByKey": True, "updatePrivateDataByKey": True},
        }
        if params is not None:
            body["cardData"] = {"cardParamMap": params}
        if private:
            body["privateData"] = {uid: {"cardParamMap": p} for uid, p in private.items()}
        await self._request("PUT", "/v1.0/card/instances", body)

    # -- session webhook ---------------------------------------------------------------
    async def post_webhook(self, url: str, body: dict[str, Any]) -> bool:
        """POST a reply to a sessionWebhook; True when DingTalk accepted it."""
        try:
            async with self.session.post(
                url,
                data=json.dumps(body, ensure_ascii=False).encode(),
                headers={"Content-Type": "application/json"},
                timeout=TIMEOUT,
            ) as resp:
                raw = await resp.read()
                if resp.status != 200:
                    log.warning("webhook reply HTTP %s", resp.status)
                    return False
        except (TimeoutError, aiohttp.ClientError) as exc:
            log.warning("webhook reply failed: %r", exc)
            return False
        try:
            data = json.loads(raw or b"{}")
        except ValueError:
            return False
        ok = isinstance(data, dict) and int(data.get("errcode", 0) or 0) == 0
        if not ok:
            log.warning("webhook reply refused: %s", data)
        return ok
