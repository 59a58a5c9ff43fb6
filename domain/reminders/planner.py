"""Who is due what in one run: only the laggards, one message per person, escalation up the chain.

Pure: the caller reads subjects, "done" statuses, acknowledgements and what was already sent from
the store, and writes the result through the outbox under the keys returned here.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import NamedTuple

from domain.reminders.ladder import DUE, ESCALATE, Step, step_label
from domain.reminders.model import Obligation

ACK = "ack"
DONE = "done"
CITY_UNACKED = "CITY-UNACK"
CITY_OVERDUE = "CITY-LATE"
PROVINCE = "PROV"


class Subject(NamedTuple):
    """What one obligation is about for one responsible unit: a city, a county or a person."""

    key: str
    label: str  # 西湖区 / 杭州市 / 西湖区资源审核员 (no personal data)
    city: str | None
    people: tuple[str, ...]  # staff ids of who answers for it
    territory: str = ""  # path of the territory it belongs to (浙江省/杭州市/西湖区)


class Status(NamedTuple):
    done: bool
    missing: str = ""  # 西湖区还缺资源审核员 2 名


class Key(NamedTuple):
    obligation: str
    due: date
    step: str
    person: str


class Item(NamedTuple):
    """One line of a personal reminder."""

    number: int
    title: str
    due: date
    step: str
    missing: str
    action: str
    workdays: bool = False  # the ladder counts working days before the due day

    @property
    def step_text(self) -> str:
        return step_label(self.step, self.workdays)


class Line(NamedTuple):
    """One laggard in an operator's escalation list or a group digest (no personal data)."""

    title: str
    due: date
    label: str
    missing: str


@dataclass
class Plan:
    personal: list[tuple[Key, Item]] = field(default_factory=list)
    city: list[tuple[Key, Line]] = field(default_factory=list)
    province: list[tuple[Key, Line]] = field(default_factory=list)
    digests: dict[str, list[Line]] = field(default_factory=lambda: defaultdict(list))
    laggards: int = 0
    done: int = 0


NOT_DONE = Status(False)


@dataclass(frozen=True)
class RunInput:
    steps: list[Step]
    obligations: Mapping[str, Obligation]
    subjects: Mapping[tuple[str, date], list[Subject]]  # per (obligation id, due date)
    statuses: Mapping[tuple[str, date], Mapping[str, Status]]  # per (obligation id, due date), per subject key
    acks: Mapping[tuple[str, date, str], str] = field(default_factory=dict)  # (ob, due, person) → ack/done
    delivered: Mapping[tuple[str, date, str], int] = field(default_factory=dict)  # steps already sent
    city_operators: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    province_operators: tuple[str, ...] = ()


def plan_run(inp: RunInput) -> Plan:
    plan = Plan()
    for step in inp.steps:
        ob = inp.obligations[step.obligation]
        statuses = inp.statuses.get((ob.id, step.due), {})
        items: dict[str, Item] = {}  # one Item per distinct "missing" text (100,000 people, few texts)
        escalate, overdue = step.step == ESCALATE, step.overdue
        for subject in inp.subjects.get((ob.id, step.due), []):
            status = statuses.get(subject.key) or NOT_DONE
            if status.done:
                plan.done += 1
                continue
            plan.laggards += 1
            if escalate:
                line = Line(ob.title, step.due, subject.label, status.missing)
                for op in inp.province_operators:
                    plan.province.append((Key(ob.id, step.due, PROVINCE, op), line))
                continue
            if ob.groups:
                line = Line(ob.title, step.due, subject.label, status.missing)
                for g in ob.groups:
                    plan.digests[g].append(line)
            item = items.get(status.missing)
            if item is None:
                item = items[status.missing] = Item(
                    ob.number, ob.title, step.due, step.step, status.missing, ob.action, ob.ladder.before_in_workdays
                )
            if _personal(plan, inp, ob, step, subject, item) or overdue:
                line = Line(ob.title, step.due, subject.label, status.missing)
                ops = [op for op in inp.city_operators.get(subject.city or "", ()) if op not in subject.people]
                reason = CITY_OVERDUE if overdue else CITY_UNACKED
                plan.city.extend((Key(ob.id, step.due, reason, op), line) for op in ops)
    return plan


def _personal(plan: Plan, inp: RunInput, ob: Obligation, step: Step, subject: Subject, item: Item) -> bool:
    """The subject's people who get this step (not acknowledged, or the store disagrees with their 已完成);
    True when one of them left two steps unacknowledged (their city operator hears of it)."""
    if not inp.acks and not inp.delivered:  # the common case of a large run: everyone, nothing to check
        plan.personal.extend((Key(ob.id, step.due, step.step, person), item) for person in subject.people)
        return False
    unacked_person = False
    before_due = step.step.startswith("T-")
    for person in subject.people:
        ack = inp.acks.get((ob.id, step.due, person))
        if ack == DONE:
            ack = None  # said 已完成 but the store disagrees (the subject is not done): keep reminding
        if not (ack == ACK and before_due):  # acknowledged: silent until the due day
            plan.personal.append((Key(ob.id, step.due, step.step, person), item))
        if ack is None and inp.delivered.get((ob.id, step.due, person), 0) >= 2:
            unacked_person = True
    return unacked_person


def group_by_content(pairs: Iterable[tuple[str, Item]]) -> list[tuple[tuple[Item, ...], list[str]]]:
    """One message per person (all of today's items), then people with identical messages together."""
    per_person: dict[str, list[Item]] = defaultdict(list)
    for person, item in pairs:
        if item not in per_person[person]:
            per_person[person].append(item)
    by_content: dict[tuple[Item, ...], list[str]] = defaultdict(list)
    for person, items in per_person.items():
        by_content[tuple(sorted(items, key=lambda i: (i.due, i.number)))].append(person)
    return [(items, sorted(people)) for items, people in by_content.items()]


def lines_by_person(pairs: Iterable[tuple[Key, Line]]) -> dict[str, list[Line]]:
    out: dict[str, list[Line]] = defaultdict(list)
    for key, line in pairs:
        if line not in out[key.person]:
            out[key.person].append(line)
    return dict(out)


def progress(subjects: list[Subject], statuses: Mapping[str, Status]) -> tuple[int, int]:
    """(done, total) of one obligation."""
    done = sum(1 for s in subjects if statuses.get(s.key, Status(False)).done)
    return done, len(subjects)


__all__ = [
    "ACK",
    "CITY_OVERDUE",
    "CITY_UNACKED",
    "DONE",
    "DUE",
    "PROVINCE",
    "Item",
    "Key",
    "Line",
    "Plan",
    "RunInput",
    "Status",
    "Subject",
    "group_by_content",
    "lines_by_person",
    "plan_run",
    "progress",
]
