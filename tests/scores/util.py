"""Helpers shared by the scores tests (pure: no database)."""

from __future__ import annotations

from datetime import date, datetime
from itertools import count
from zoneinfo import ZoneInfo

from domain.scores import Engine, Event, default_rules, year_period

SH = ZoneInfo("Asia/Shanghai")
_seq = count(1)

# code → (group, name, action, points, cap count, cap period, a qualifying detail, a detail just below)
DEFAULT_TABLE = {
    "login": ("空间建设", "空间登录", "login", 1, 1, "day", None, None),
    "profile_complete": (
        "空间建设",
        "信息完善",
        "profile_update",
        20,
        1,
        "year",
        {"avatar": True, "contact": True, "school": True, "subject": True},
        {"avatar": True, "contact": True, "school": True, "subject": False},
    ),
    "resource_upload": ("空间建设", "资源建设", "resource_share", 1, 5, "week", None, None),
    "space_record": ("空间建设", "空间记录", "photo_post", 1, 5, "week", None, None),
    "teaching_result": ("空间建设", "教学成果", "article_publish", 5, 1, "week", None, None),
    "result_share": ("空间建设", "成果传播", "result_share", 1, 5, "week", None, None),
    "interactive_teaching": ("教学应用", "互动授课", "class_teaching", 5, 2, "week", {"minutes": 15}, {"minutes": 14}),
    "guided_assignment": (
        "教学应用",
        "导学检测",
        "assignment",
        5,
        2,
        "week",
        {"completions_30d": 10},
        {"completions_30d": 9},
    ),
    "exercise_marking": ("教学应用", "练习批阅", "marking", 5, 2, "week", {"marked": 10}, {"marked": 9}),
    "resource_search": (
        "教学应用",
        "资源检索",
        "textbook_resource_collect",
        2,
        1,
        "week",
        {"downloads": 5},
        {"downloads": 4},
    ),
    "courseware": ("教学应用", "课件制作", "courseware_upload", 10, 1, "week", None, None),
    "class_setup": ("师生互动", "班级组建", "class_create", 50, 1, "year", {"students": 25}, {"students": 24}),
    "class_notice": ("师生互动", "班级通知", "class_notice", 5, 2, "week", {"participants": 10}, {"participants": 9}),
    "class_activity": (
        "师生互动",
        "班级活动",
        "class_activity",
        5,
        1,
        "week",
        {"participants": 15},
        {"participants": 14, "works_commented": 4},
    ),
    "habit_checkin": ("师生互动", "习惯养成", "habit_checkin", 1, 5, "week", None, None),
    "research_activity": ("教师研修", "教研活动", "research_join", 5, 1, "week", None, None),
    "office_workflow": ("校园管理", "校园办公", "office_workflow", 1, 10, "week", None, None),
}


def at(y: int, m: int, d: int, h: int = 10, mi: int = 0, s: int = 0) -> datetime:
    return datetime(y, m, d, h, mi, s, tzinfo=SH)


def ev(action: str, when: datetime, detail: dict | None = None, key: str | None = None) -> Event:
    return Event(key or f"k{next(_seq)}", action, when, detail)


def engine(rules=None) -> Engine:
    return Engine(rules or default_rules())


def points(events, start: date, end: date, rules=None) -> int:
    e = engine(rules)
    return e.score(events).total(start, end)


def year_total(events, year: int, rules=None) -> int:
    rs = rules or default_rules()
    p = year_period(rs, year)
    return engine(rs).score(events).total(p.start, p.end)
