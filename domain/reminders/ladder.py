"""The working-day ladder: on which day each step of an obligation's due date falls.

Default: T-14, T-7, T-3, T-1 (calendar days), the due day, then each of the 3 working days
after it, then escalation on the working day after that. A step whose day is not a working
day moves to the working day before; when two steps land on one day, the later step wins.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from domain.reminders.model import AfterEvent, Event, Ladder, Obligation
from domain.reminders.workdays import WorkCalendar

ESCALATE = "ESC"
DUE = "T0"


def step_label(step: str, workdays: bool = False) -> str:
    """Chinese words for a step (shown to people); ``workdays``: the ladder counts working days before."""
    if step == ESCALATE:
        return "逾期上报"
    if step == DUE:
        return "今天截止"
    if step.startswith("URGE"):
        return "请尽快完成"
    n = int(step[1:])
    if n < 0:
        return f"还有 {-n} 个工作日截止" if workdays else f"还有 {-n} 天截止"
    return f"已逾期 {n} 个工作日"


def is_after_due(step: str) -> bool:
    return step == ESCALATE or step.startswith("T+")


@dataclass(frozen=True, order=True)
class Step:
    day: date
    due: date
    step: str  # T-14 … T-1, T0, T+1 … T+3, ESC
    obligation: str

    @property
    def overdue(self) -> bool:
        return is_after_due(self.step)


def ladder_days(due: date, ladder: Ladder, cal: WorkCalendar) -> list[tuple[str, date]]:
    steps: list[tuple[str, date]] = []
    for n in ladder.before:
        day = cal.workdays_before(due, n) if ladder.before_in_workdays else cal.on_or_before(due - timedelta(days=n))
        steps.append((f"T-{n}", day))
    steps.append((DUE, cal.on_or_before(due)))
    for j in range(1, ladder.after_workdays + 1):
        steps.append((f"T+{j}", cal.add_workdays(due, j)))
    if ladder.escalate:
        steps.append((ESCALATE, cal.add_workdays(due, ladder.after_workdays + 1)))
    by_day: dict[date, str] = {}
    for name, day in steps:  # in ladder order: a later step overwrites an earlier one on its day
        by_day[day] = name
    return sorted(((name, day) for day, name in by_day.items()), key=lambda s: s[1])


def due_dates(ob: Obligation, today: date, cal: WorkCalendar, events: list[Event] | None = None) -> list[date]:
    """The due dates of ``ob`` around ``today``; for an ``after:`` obligation, one per distinct due of ``events``."""
    if isinstance(ob.due, AfterEvent):
        rule = ob.due
        return sorted({d for d in (rule.due_after(e, cal) for e in events or []) if d is not None})
    return ob.due.instances(today)


def events_due(ob: Obligation, due: date, cal: WorkCalendar, events: list[Event]) -> list[Event]:
    """The events whose due date (by ``ob``'s rule) is ``due``."""
    if not isinstance(ob.due, AfterEvent):
        return []
    rule = ob.due
    return [e for e in events if rule.due_after(e, cal) == due]


def steps_on(ob: Obligation, day: date, cal: WorkCalendar, events: list[Event] | None = None) -> list[Step]:
    """The steps of ``ob`` that fall on ``day`` (none on a non-working day)."""
    if ob.paused or not cal.is_workday(day):
        return []
    out = []
    for due in due_dates(ob, day, cal, events):
        if abs((due - day).days) > 60:
            continue
        for name, d in ladder_days(due, ob.ladder, cal):
            if d == day:
                out.append(Step(day, due, name, ob.id))
    return out


def running_dues(ob: Obligation, today: date, cal: WorkCalendar, events: list[Event] | None = None) -> list[date]:
    """The due dates whose ladder is not over yet (and has begun, or begins within 60 days), nearest first."""
    out = []
    for due in sorted(due_dates(ob, today, cal, events)):
        days = ladder_days(due, ob.ladder, cal)
        if days[-1][1] >= today and (due - today).days <= 60:
            out.append(due)
    return out


def next_due(ob: Obligation, today: date, cal: WorkCalendar, events: list[Event] | None = None) -> date | None:
    """The nearest due date whose ladder is not over yet."""
    for due in sorted(due_dates(ob, today, cal, events)):
        last = ladder_days(due, ob.ladder, cal)[-1][1]
        if last >= today:
            return due
    return None
