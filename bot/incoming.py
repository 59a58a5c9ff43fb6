"""The normalised incoming message, independent of the DingTalk SDK's classes."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

MAX_TEXT_CHARS = 5000

# Full-width punctuation people type on phones, mapped to what the parser expects.
_FULLWIDTH = str.maketrans(
    {
        "／": "/",
        "，": ",",
        "：": ":",
        "＝": "=",
        "　": " ",
        "＂": '"',
        "＇": "'",
        "“": '"',
        "”": '"',
        "‘": "'",
        "’": "'",
        "（": "(",
        "）": ")",
        "－": "-",
        "＠": "@",
    }
)
_AT_MENTION = re.compile(r"(?:^|\s)@\S+")
_SPACES = re.compile(r"[ \t\u00a0\u3000]+")


def normalise_text(text: str, *, bot_names: tuple[str, ...] = ()) -> str:
    """Strip the @mention of the bot and surrounding (full-width too) spaces.

    Only a leading @mention is removed (DingTalk usually strips it already; some
    clients leave ``@机器人`` at the start). @mentions of other people inside
    the text stay: commands like ``/授权 @张三 杭州市`` need them.
    """
    text = unicodedata.normalize("NFC", text or "")
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    stripped = text.strip(" \t\n\u00a0\u3000")
    for name in bot_names:
        for prefix in (f"@{name}", f"＠{name}"):
            if stripped.startswith(prefix):
                stripped = stripped[len(prefix) :].strip(" \t\n\u00a0\u3000")
    return stripped


def to_halfwidth(text: str) -> str:
    """Map the full-width punctuation that matters for commands to half-width."""
    return text.translate(_FULLWIDTH)


def is_command(text: str) -> bool:
    return text.startswith(("/", "／"))


@dataclass(frozen=True)
class AtUser:
    dingtalk_id: str
    staff_id: str | None


@dataclass(frozen=True)
class IncomingMessage:
    msg_id: str
    conversation_id: str
    is_group: bool
    sender_id: str  # senderStaffId, or senderId for people outside the org
    sender_staff_id: str | None
    sender_nick: str
    msgtype: str  # text | richText | picture | audio | video | file | unknownMsgType
    text: str  # normalised text ("" for non-text messages)
    raw_text: str = ""
    conversation_title: str = ""
    session_webhook: str = ""
    webhook_expires_at: datetime | None = None
    robot_code: str = ""
    created_at: datetime | None = None
    at_users: tuple[AtUser, ...] = ()
    is_admin: bool = False
    chatbot_user_id: str = ""
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def is_private(self) -> bool:
        return not self.is_group

    def webhook_usable(self, now: datetime, margin_seconds: float = 30) -> bool:
        if not self.session_webhook:
            return False
        if self.webhook_expires_at is None:
            return True
        return (self.webhook_expires_at - now).total_seconds() > margin_seconds

    @property
    def mentioned_staff_ids(self) -> list[str]:
        return [u.staff_id for u in self.at_users if u.staff_id]


def _ms(value: Any) -> datetime | None:
    try:
        return datetime.fromtimestamp(int(value) / 1000, tz=UTC)
    except (TypeError, ValueError):
        return None


def from_callback_data(data: dict[str, Any]) -> IncomingMessage:
    """Build an IncomingMessage from the JSON ``data`` of a bot-message callback."""
    msgtype = str(data.get("msgtype") or "unknownMsgType")
    raw = ""
    if msgtype == "text":
        raw = str((data.get("text") or {}).get("content") or "")
    elif msgtype == "richText":
        parts = (data.get("content") or {}).get("richText") or []
        raw = "".join(str(p.get("text", "")) for p in parts if isinstance(p, dict))
    elif msgtype == "audio":
        raw = str((data.get("content") or {}).get("recognition") or "")
    at_users = tuple(
        AtUser(str(u.get("dingtalkId", "")), u.get("staffId") or None)
        for u in (data.get("atUsers") or [])
        if isinstance(u, dict)
    )
    staff_id = data.get("senderStaffId") or None
    sender = staff_id or str(data.get("senderId") or "")
    text = normalise_text(raw) if msgtype in ("text", "richText") else ""
    return IncomingMessage(
        msg_id=str(data.get("msgId") or ""),
        conversation_id=str(data.get("conversationId") or ""),
        is_group=str(data.get("conversationType")) == "2",
        sender_id=sender,
        sender_staff_id=staff_id,
        sender_nick=str(data.get("senderNick") or ""),
        msgtype=msgtype,
        text=text,
        raw_text=raw,
        conversation_title=str(data.get("conversationTitle") or ""),
        session_webhook=str(data.get("sessionWebhook") or ""),
        webhook_expires_at=_ms(data.get("sessionWebhookExpiredTime")),
        robot_code=str(data.get("robotCode") or ""),
        created_at=_ms(data.get("createAt")),
        at_users=at_users,
        is_admin=bool(data.get("isAdmin")),
        chatbot_user_id=str(data.get("chatbotUserId") or ""),
    )
