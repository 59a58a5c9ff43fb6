"""Obligations as data: what is due when, who answers for it, and which named query says it is done."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import yaml

from domain.reminders.workdays import WorkCalendar
from domain.yamltext import safe_load


class ObligationError(ValueError):
    """An obligation in the cycle file or a chat item that cannot be used (the message says why)."""


class AudienceKind(str, enum.Enum):
    CITY = "city"  # each city centre (holders of a city grant), one subject per city
    COUNTY = "county"  # each county's system admin (roster seat), one subject per county
    MEMBER = "member"  # each active roster member (optionally one role), one subject per person


AUDIENCE_WORDS: dict[str, tuple[AudienceKind, str | None]] = {
    "市级中心": (AudienceKind.CITY, None),
    "县级管理员": (AudienceKind.COUNTY, None),
    "服务队伍成员": (AudienceKind.MEMBER, None),
    "体系管理员": (AudienceKind.MEMBER, "admin"),
    "培训讲师": (AudienceKind.MEMBER, "trainer"),
    "资源审核员": (AudienceKind.MEMBER, "reviewer"),
}


@dataclass(frozen=True)
class Audience:
    kind: AudienceKind
    role: str | None = None  # for MEMBER: admin / trainer / reviewer, None = every role

    @property
    def label(self) -> str:
        for word, (k, r) in AUDIENCE_WORDS.items():
            if k is self.kind and r == self.role:
                return word
        return self.kind.value

    @classmethod
    def parse(cls, word: str) -> Audience:
        kind, role = AUDIENCE_WORDS[word.strip()]
        return cls(kind, role)


@dataclass(frozen=True)
class Yearly:
    month: int
    day: int

    def instances(self, today: date) -> list[date]:
        return [date(y, self.month, self.day) for y in (today.year - 1, today.year, today.year + 1)]


@dataclass(frozen=True)
class OnDate:
    day: date

    def instances(self, today: date) -> list[date]:
        return [self.day]


@dataclass(frozen=True)
class Event:
    """Something the store recorded that starts an obligation's clock (a review assignment, a call's opening).

    ``people``: the staff ids it concerns (None: every subject of the obligation); ``due``: a deadline the
    store recorded with it (a review task's own due day), used when the obligation names no ``workdays``;
    ``ref`` / ``label``: what it is about (a task or call id, a call's name) for the "done" query.
    """

    day: date
    people: frozenset[str] | None = None
    due: date | None = None
    ref: str = ""
    label: str = ""


@dataclass(frozen=True)
class AfterEvent:
    """Due ``workdays`` working days after an event; without ``workdays``: the due day the event records."""

    event: str
    workdays: int | None

    def due_after(self, event: Event, cal: WorkCalendar) -> date | None:
        if self.workdays is None:
            return event.due
        return cal.add_workdays(event.day, self.workdays)


DueRule = Yearly | OnDate | AfterEvent


@dataclass(frozen=True)
class Ladder:
    """Calendar days before the due day, then working days after it, then escalation."""

    before: tuple[int, ...] = (14, 7, 3, 1)
    after_workdays: int = 3
    escalate: bool = True
    before_in_workdays: bool = False  # ``before`` counts working days (a task due in 5 working days)


DEFAULT_LADDER = Ladder()


@dataclass(frozen=True)
class Obligation:
    id: str
    title: str
    due: DueRule
    audience: Audience
    done: str  # name of a registered "done" query
    action: str = ""
    groups: tuple[str, ...] = ()  # group roles that get a digest (admin / trainer / reviewer)
    territory: str | None = None  # only inside this territory path (one-off items)
    ladder: Ladder = field(default=DEFAULT_LADDER)
    number: int = 0  # the short number people use in /收到 and /提醒 (set by storage)
    paused: bool = False

    def with_number(self, number: int, paused: bool) -> Obligation:
        from dataclasses import replace

        return replace(self, number=number, paused=paused)


GROUPS = ("admin", "trainer", "reviewer")


def _due(item: dict[str, Any], deadlines: dict[str, tuple[int, int]]) -> DueRule:
    if "deadline" in item:
        month, day = deadlines[str(item["deadline"])]
        return Yearly(month, day)
    if "month" in item:
        rule = Yearly(int(item["month"]), int(item["day"]))
        date(2024, rule.month, rule.day)
        return rule
    if "date" in item:
        return OnDate(item["date"] if isinstance(item["date"], date) else date.fromisoformat(str(item["date"])))
    if "after" in item:
        after = item["after"]
        n = None if after.get("workdays") is None else int(after["workdays"])
        if n is not None and n < 1:
            raise ValueError("workdays 至少为 1")
        return AfterEvent(str(after["event"]), n)
    raise KeyError("deadline / month+day / date / after")


def _ladder(raw: Any) -> Ladder:
    if raw is None:
        return DEFAULT_LADDER
    if "before" in raw and "before_workdays" in raw:
        raise ValueError("before 和 before_workdays 只能写一个")
    in_workdays = "before_workdays" in raw
    days = raw.get("before_workdays") if in_workdays else raw.get("before", DEFAULT_LADDER.before)
    before = tuple(sorted({int(x) for x in days or ()}, reverse=True))
    if any(x < 1 for x in before):
        raise ValueError("before 的天数应大于 0")
    after = int(raw.get("after_workdays", DEFAULT_LADDER.after_workdays))
    return Ladder(before, max(after, 0), bool(raw.get("escalate", True)), in_workdays)


def load_obligations(
    text: str, known_queries: set[str] | None = None, known_events: dict[str, bool] | None = None
) -> list[Obligation]:
    """The ``obligations`` of annual_cycle.yaml; ``deadline: roster`` takes the date of a deadline.

    ``known_events``: the registered event sources, each with whether it records its events' due days
    (an ``after:`` without ``workdays`` needs one that does)."""
    try:
        raw = safe_load(text) or {}
    except (yaml.YAMLError, ValueError) as exc:
        raise ObligationError(f"提醒事项文件读不懂：{exc}") from None
    deadlines = {str(d["id"]): (int(d["month"]), int(d["day"])) for d in raw.get("deadlines") or []}
    out: list[Obligation] = []
    seen: set[str] = set()
    for i, item in enumerate(raw.get("obligations") or [], start=1):
        try:
            ob = Obligation(
                id=str(item["id"]),
                title=str(item["title"]),
                due=_due(item, deadlines),
                audience=Audience.parse(str(item["who"])),
                done=str(item["done"]),
                action=str(item.get("action", "")),
                groups=tuple(item.get("groups") or ()),
                ladder=_ladder(item.get("ladder")),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ObligationError(f"第 {i} 个提醒事项有误：{exc}") from None
        if ob.id in seen:
            raise ObligationError(f"第 {i} 个提醒事项的 id “{ob.id}” 重复了")
        seen.add(ob.id)
        bad = [g for g in ob.groups if g not in GROUPS]
        if bad:
            raise ObligationError(f"第 {i} 个提醒事项的 groups 只能是 admin/trainer/reviewer，不能是 {bad}")
        if known_queries is not None and ob.done not in known_queries:
            raise ObligationError(f"第 {i} 个提醒事项的 done “{ob.done}” 不是已登记的完成条件")
        if isinstance(ob.due, AfterEvent) and known_events is not None:
            if ob.due.event not in known_events:
                raise ObligationError(f"第 {i} 个提醒事项的 event “{ob.due.event}” 不是已登记的事件")
            if ob.due.workdays is None and not known_events[ob.due.event]:
                raise ObligationError(f"第 {i} 个提醒事项需要 workdays：事件 “{ob.due.event}” 不记录截止日")
        out.append(ob)
    return out
