"""Reminders: obligations as data, the working-day ladder and the run planner (pure)."""
from domain.reminders.ladder import (
    DUE,
    ESCALATE,
    Step,
    ladder_days,
    next_due,
    step_label,
    steps_on,
)
from domain.reminders.model import (
    AUDIENCE_WORDS,
    AfterEvent,
    Audience,
    AudienceKind,
    Ladder,
    Obligation,
    ObligationError,
    OnDate,
    Yearly,
    load_obligations,
)
from domain.reminders.planner import (
    Item,
    Key,
    Line,
    Plan,
    RunInput,
    Status,
    Subject,
    plan_run,
)
from domain.reminders.workdays import HolidayFileError, WorkCalendar, parse_holiday_file

__all__ = ["AUDIENCE_WORDS", "DUE", "ESCALATE", "AfterEvent", "Audience", "AudienceKind", "HolidayFileError",
           "Item", "Key", "Ladder", "Line", "Obligation", "ObligationError", "OnDate", "Plan", "RunInput", "Status",
           "Step", "Subject", "WorkCalendar", "Yearly", "ladder_days", "load_obligations", "next_due",
           "parse_holiday_file", "plan_run", "step_label", "steps_on"]
