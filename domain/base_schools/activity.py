"""Base-school items of the activity feed (POST /api/v1/activity, ``scores activity FILE``).

Action codes (``action``):

- ``base.space_visit``: a real-name visit to a base school's subject space: ``space_id``,
  ``account`` (the visitor), ``time``; ``detail.real_name: false`` marks a visit without real-name
  login, which is rejected (it never counts);
- ``base.teacher_space_opened``: the state of a teacher space of the school: ``space_id`` (the
  school's subject space), ``account`` (the teacher), ``time``; ``detail.opened: false`` records a
  teacher whose space is not opened yet (the denominator of the opening rate);
- ``base.teacher_space_active``: that teacher space was active in a month: ``space_id``, ``account``,
  ``time`` or ``detail.month`` (``2026-11``);
- ``base.lesson_published``: a micro-course lesson was published: ``space_id``, ``time`` and
  ``detail.lesson`` (or ``event_id``) naming the lesson.

``space_id`` may also be written 空间编号 or inside ``detail``. Each item is checked on its own;
the reason of a rejection is a short Chinese sentence.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from domain.scores.activity import ItemError, parse_time

VISIT, OPENED, ACTIVE, LESSON = (
    "base.space_visit",
    "base.teacher_space_opened",
    "base.teacher_space_active",
    "base.lesson_published",
)
ACTIONS = frozenset({VISIT, OPENED, ACTIVE, LESSON})
ACTION_FIELDS = ("action", "动作", "code", "动作代码")
MAX_ACCOUNT = 64
FUTURE_TOLERANCE = timedelta(hours=1)
OLDEST = date(2000, 1, 1)
_ACCOUNT_RE = re.compile(r"^[^\s\x00-\x1f]{1,64}$")
_SPACE_RE = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")
_MONTH_RE = re.compile(r"^(\d{4})-(\d{1,2})$")
EXAMPLE = (
    '{"action": "base.space_visit", "space_id": "SP1001", "account": "LiMing01", "time": "2026-11-05T08:30:00+08:00"}'
)


@dataclass(frozen=True)
class BaseItem:
    action: str
    space_id: str
    account: str | None
    day: date  # local day (the bot's time zone) of the event
    lesson: str | None = None
    opened: bool = True


def action_of(item: object) -> str | None:
    """The item's action code if it is one of ours (the activity API routes on this)."""
    if not isinstance(item, Mapping):
        return None
    for name in ACTION_FIELDS:
        v = item.get(name)
        if isinstance(v, str) and v.strip() in ACTIONS:
            return v.strip()
    return None


def _first(item: Mapping[str, Any], detail: Mapping[str, Any], *names: str) -> Any:
    for src in (item, detail):
        for n in names:
            v = src.get(n)
            if v is not None and not (isinstance(v, str) and not v.strip()):
                return v
    return None


def _local_day(value: Any, tz: ZoneInfo, now: datetime) -> date:
    if value is None:
        raise ItemError("缺少时间 time，如 2026-11-05T08:30:00+08:00")
    at = parse_time(value, tz)  # the activity feed's one reading of a time
    if at > now + FUTURE_TOLERANCE:
        raise ItemError("时间在将来，请检查时钟或时区")
    day = at.astimezone(tz).date()
    if day < OLDEST:
        raise ItemError("时间早于 2000 年，请检查")
    return day


def _month(value: Any) -> date:
    m = _MONTH_RE.match(str(value).strip()) if value is not None else None
    if not m or not 1 <= int(m.group(2)) <= 12:
        raise ItemError(f"月份 month“{str(value)[:20]}”格式不对，如 2026-11")
    return date(int(m.group(1)), int(m.group(2)), 1)


def parse_item(item: object, *, tz: ZoneInfo, now: datetime) -> BaseItem:
    """Validate one base-school item (its space is checked against the list by the caller)."""
    if not isinstance(item, Mapping):
        raise ItemError("每一项应为 JSON 对象，如 " + EXAMPLE)
    action = action_of(item)
    if action is None:
        raise ItemError("动作 action 不是基地校动作")
    detail = item.get("detail", item.get("明细"))
    if detail is not None and not isinstance(detail, Mapping):
        raise ItemError('明细 detail 应为对象，如 {"lesson": "L01"}')
    detail = detail or {}
    space = _first(item, detail, "space_id", "空间编号", "space")
    if space is None:
        raise ItemError("缺少空间编号 space_id，如 " + EXAMPLE)
    space = str(space).strip()
    if not _SPACE_RE.match(space):
        raise ItemError(f"空间编号“{space[:40]}”格式不对：只能含字母、数字和 _ . : -")
    account = _first(item, detail, "account", "账号", "平台账号", "visitor")
    if account is not None:
        account = str(account).strip()
        if not _ACCOUNT_RE.match(account):
            raise ItemError(f"账号不能含空白，且不超过 {MAX_ACCOUNT} 个字符")
    if action != LESSON and account is None:
        raise ItemError("缺少账号 account（访问者或教师的平台账号）")
    lesson = None
    if action == ACTIVE and _first(item, detail, "month", "月份") is not None:
        day = _month(_first(item, detail, "month", "月份"))
        if day > now.astimezone(tz).date():
            raise ItemError("月份在将来，请检查")
    else:
        day = _local_day(_first(item, detail, "time", "时间", "at", "occurred_at"), tz, now)
    if action == VISIT:
        real = detail.get("real_name", detail.get("实名", True))
        if real is False or (isinstance(real, str) and real.strip().lower() in ("false", "否", "0")):
            raise ItemError("非实名访问不计入活跃用户，请只发送实名登录的访问")
    if action == LESSON:
        raw = _first(item, detail, "lesson", "课时", "event_id", "事件编号", "id")
        if raw is None:
            raise ItemError('微课发布缺少课时编号 detail.lesson，如 {"lesson": "L01"}')
        lesson = str(raw).strip()[:128]
    opened = True
    if action == OPENED:
        flag = detail.get("opened", detail.get("开通", True))
        opened = not (flag is False or (isinstance(flag, str) and flag.strip().lower() in ("false", "否", "0")))
    return BaseItem(action, space, account, day, lesson, opened)
