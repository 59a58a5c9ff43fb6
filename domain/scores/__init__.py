"""Scores: the points rules engine (pure; no SQL, DingTalk or Jinja; no clock of its own).

Design note
===========
Rules are data. ``points_rules_default.yaml`` (domain/data) is the points table of seed 001;
``load_rules(path)`` reads another file for a province or a year and refuses a bad one with
``RuleFileError`` (line + Chinese reason for every problem). A rule consumes platform action
codes, has points per occurrence, conditions on the event's detail (``minutes >= 15``), caps
per day / week (Monday–Sunday) / month / scoring year, and is ``plain`` or ``streak`` (login).

Time. Events carry aware instants; the engine works on epoch seconds and local day ordinals
in the rule set's time zone (Asia/Shanghai by default). The scoring year starts on
``year_start`` (1 Jan by default; 1 Sep for a school year) and is labelled by the calendar
year it starts in.

Decisions (tested in tests/scores):
- Order: duplicates (same event key) count once; occurrences are processed in (time, key)
  order, so out-of-order delivery gives identical results; when a cap overflows the earliest
  occurrences count.
- A week that straddles the scoring-year boundary is still one Monday–Sunday week for its cap
  (five uploads on Mon 29 Dec–Wed 31 Dec fill the week; uploads on 1–4 Jan in that week earn
  nothing); points land on the occurrence's day, hence in its scoring year.
- The login streak carries across the scoring-year boundary: 31 Dec → 1 Jan is not a missed
  day. A day with no login restarts the run; day 8 and later of a run earn 2 points.
- An event whose action no rule consumes is kept (ignored by the engine); an event that
  misses a rule's condition is an "unqualified" occurrence (0 points, reported).

Materialisation (storage/repositories/scores.py), so that no query runs the engine over 10 M events:
- The result for local days ``<= d`` depends only on events on days ``<= d``, and for days
  ``>= a`` only on events on days ``>= Engine.lookback(a)`` (start of the week / month /
  scoring year containing ``a``, minus the streak length); rules are independent, so
  ``Engine.lookback_plan`` / ``rule_lookback`` give each rule its own start. A new event of
  action X on day d can change only the days ``[d, Engine.affected_until(X, d)]``.
- Ingestion stores a batch and, per touched teacher, runs the engine on the touched rules'
  windows without and with the new events; the per-day difference is added to materialised
  totals per (week / month / scoring year, teacher). Recent windows stay in an in-process cache
  checked against a generation counter, so in-order delivery rarely reads events back.
- ``/积分`` loads one teacher's events from ``lookback(period start)`` to the period end (about a
  year, ~100 rows, by storage bucket) and runs the engine: a few milliseconds.
- ``/排行`` reads the materialised totals of one period (one contiguous key range).
- The hot loop uses plain tuples ``(epoch, key, action, detail)``, a cached day → (week, month,
  year) table and integer period ids; detail stays JSON text until a condition needs it.
"""

from __future__ import annotations

from .engine import (
    CapState,
    Engine,
    Event,
    Result,
    Row,
    RuleLine,
    ScoreSummary,
    aggregate_periods,
    dedup_rows,
)
from .loader import DEFAULT_RULES, default_rules, load_rules, parse_rules
from .periods import LocalClock, Period, parse_period, period_of, to_epoch, year_period
from .rules import PERIOD_NAMES, PERIODS, Cap, Condition, Rule, RuleFileError, RuleProblem, RuleSet, Streak

__all__ = [
    "DEFAULT_RULES",
    "PERIODS",
    "PERIOD_NAMES",
    "Cap",
    "CapState",
    "Condition",
    "Engine",
    "Event",
    "LocalClock",
    "Period",
    "Result",
    "Row",
    "Rule",
    "RuleFileError",
    "RuleLine",
    "RuleProblem",
    "RuleSet",
    "ScoreSummary",
    "Streak",
    "aggregate_periods",
    "dedup_rows",
    "default_rules",
    "load_rules",
    "parse_period",
    "parse_rules",
    "period_of",
    "to_epoch",
    "year_period",
]
