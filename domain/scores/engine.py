"""The points engine: one teacher's events → counted occurrences, points and cap states.

Determinism: events are de-duplicated by their key and processed in (time, key) order, so the
same set of events gives the same result whatever order and however often they were delivered.
When more occurrences than a cap happen in a period, the earliest ones (by time, then key) count.

Caps are greedy in time order: an occurrence counts when every cap of its rule still has room in
the period containing the occurrence's local day. Weeks are Monday–Sunday in the rule set's time
zone even across the scoring-year boundary (a week's cap is shared by both years); the points
land on the occurrence's day, hence in that day's scoring year. Year caps use the scoring year.

The streak (login): a day with at least one qualifying occurrence extends the run if the day
before had one, else starts a new run at 1; the counted occurrence of day n of the run earns the
rule's points for n <= after_days and ``streak.points`` after. The run is about consecutive days
only and **carries across the scoring-year boundary** (31 Dec → 1 Jan is not a missed day); the
day's points land in the day's year.

Consequences used by storage (materialisation):
- the result for local days ``<= d`` depends only on events on days ``<= d``;
- for days ``>= a`` it depends only on events on days ``>= lookback(a)``;
- a new event of action X on day d can change only days in ``[d, affected_until(X, d)]``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import NamedTuple

from .periods import EPOCH_ORDINAL, LocalClock, Period, period_of, to_epoch
from .rules import OPERATORS, Cap, Rule, RuleSet

_FIXED_FROM = 725_846_400  # 1993-01-01: zones marked fixed in LocalClock have no transition after it

_KIND_POS = {"day": 0, "week": 1, "month": 2, "year": 3}


class Event(NamedTuple):
    """One platform activity event of one teacher, for the convenience API."""

    key: str
    action: str
    at: datetime  # aware
    detail: dict | None = None


# The fast row form used by storage and the benchmark: (epoch seconds, key, action, detail).
Row = tuple[int, str, str, "dict | None"]


def _canonical(detail) -> str:
    return json.dumps(detail, sort_keys=True, ensure_ascii=False, default=str) if detail else ""


def dedup_rows(rows: Iterable[Row]) -> list[Row]:
    """Unique by key; a key seen with different content keeps the smallest (time, action, detail)."""
    seen: dict[str, Row] = {}
    get = seen.get
    for row in rows:
        k = row[1]
        old = get(k)
        if old is None:
            seen[k] = row
        elif old != row:
            a = (old[0], old[2], _canonical(old[3]))
            b = (row[0], row[2], _canonical(row[3]))
            if b < a:
                seen[k] = row
    out = list(seen.values())
    out.sort(key=lambda r: (r[0], r[1]))
    return out


@dataclass(frozen=True, slots=True)
class CapState:
    cap: Cap
    period: Period
    used: int

    @property
    def full(self) -> bool:
        return self.used >= self.cap.count


@dataclass(frozen=True, slots=True)
class RuleLine:
    rule: Rule
    occurrences: int  # qualifying occurrences in the period
    counted: int  # of which counted (within caps)
    points: int
    unqualified: int  # events of the rule's actions that did not meet its conditions
    caps: tuple[CapState, ...]  # state of each cap in the period containing ``as_of``
    streak_days: int | None = None  # streak rules: length of the run alive at ``as_of``
    streak_today: bool = False  # … and whether ``as_of`` itself is in it

    @property
    def over_cap(self) -> int:
        return self.occurrences - self.counted


@dataclass(frozen=True, slots=True)
class ScoreSummary:
    period: Period
    as_of: date
    total: int
    lines: tuple[RuleLine, ...]

    def line(self, code: str) -> RuleLine:
        for ln in self.lines:
            if ln.rule.code == code:
                return ln
        raise KeyError(code)


class Result:
    """Outcome of one evaluation. ``occ``: (day ordinal, rule index, points, counted) per qualifying
    occurrence in time order; ``unq``: (day ordinal, rule index) per non-qualifying one."""

    __slots__ = ("engine", "ignored", "occ", "unq")

    def __init__(self, engine: Engine, occ: list, unq: list, ignored: int) -> None:
        self.engine = engine
        self.occ = occ
        self.unq = unq
        self.ignored = ignored  # events whose action no rule consumes

    def day_points(self, start: int | None = None, end: int | None = None) -> dict[int, int]:
        out: dict[int, int] = {}
        lo = start if start is not None else -1
        hi = end if end is not None else 1 << 30
        for day, _ri, pts, counted in self.occ:
            if counted and pts and lo <= day <= hi:
                out[day] = out.get(day, 0) + pts
        return out

    def total(self, start: date, end: date) -> int:
        lo, hi = start.toordinal(), end.toordinal()
        return sum(p for d, _r, p, c in self.occ if c and lo <= d <= hi)

    def streak_run(self, rule_index: int, as_of: int) -> tuple[int, bool]:
        """Length of the run of a streak rule alive at ``as_of`` (ending today or yesterday)."""
        days = sorted({d for d, ri, _p, _c in self.occ if ri == rule_index and d <= as_of})
        if not days:
            return 0, False
        today = days[-1] == as_of
        if days[-1] < as_of - 1:
            return 0, False
        n, prev = 0, days[-1] + 1
        for d in reversed(days):
            if d != prev - 1:
                break
            n += 1
            prev = d
        return n, today

    def summary(self, period: Period, as_of: date | None = None) -> ScoreSummary:
        """Totals and per-rule lines for ``period``; cap states for the periods containing ``as_of``
        (default: the period's last day, or today when given and inside the period)."""
        rules = self.engine.rules
        as_of = as_of if as_of is not None else period.end
        if as_of > period.end:
            as_of = period.end
        lo, hi, ao = period.start.toordinal(), period.end.toordinal(), as_of.toordinal()
        n = len(rules.rules)
        occ_n, cnt_n, pts_n, unq_n = [0] * n, [0] * n, [0] * n, [0] * n
        cap_periods = {kind: period_of(rules, kind, as_of) for kind in _KIND_POS}
        cap_bounds = {k: (p.start.toordinal(), p.end.toordinal()) for k, p in cap_periods.items()}
        used: dict[tuple[int, str], int] = {}
        for d, ri, p, c in self.occ:
            if lo <= d <= hi:
                occ_n[ri] += 1
                if c:
                    cnt_n[ri] += 1
                    pts_n[ri] += p
            if c:
                for cap in rules.rules[ri].caps:
                    b = cap_bounds[cap.per]
                    if b[0] <= d <= b[1] and d <= ao:
                        used[(ri, cap.per)] = used.get((ri, cap.per), 0) + 1
        for d, ri in self.unq:
            if lo <= d <= hi:
                unq_n[ri] += 1
        lines = []
        for i, rule in enumerate(rules.rules):
            caps = tuple(CapState(c, cap_periods[c.per], used.get((i, c.per), 0)) for c in rule.caps)
            streak_days, streak_today = None, False
            if rule.kind == "streak":
                streak_days, streak_today = self.streak_run(i, ao)
            lines.append(RuleLine(rule, occ_n[i], cnt_n[i], pts_n[i], unq_n[i], caps, streak_days, streak_today))
        return ScoreSummary(period, as_of, sum(pts_n), tuple(lines))


def _compile_condition(c):
    """A fast test for one condition: numbers and booleans straight, anything else via Condition.test."""
    f, want, op, slow = c.field, c.value, OPERATORS[c.op], c.test
    if isinstance(want, bool):

        def test_bool(d, f=f, want=want, op=op, slow=slow):
            v = d.get(f)
            if v is True or v is False:
                return op(v, want)
            return slow(d)

        return test_bool
    if isinstance(want, (int, float)):

        def test_number(d, f=f, want=want, op=op, slow=slow, _int=int, _float=float):
            v = d.get(f)
            t = type(v)
            if t is _int or t is _float:
                return op(v, want)
            return slow(d)

        return test_number
    return slow


def _compile_qualifier(rule: Rule):
    """None when the rule has no condition, else ``detail -> bool`` (detail never None here)."""
    if not rule.conditions:
        return None
    tests = tuple(_compile_condition(c) for c in rule.conditions)
    if len(tests) == 1:
        return tests[0]
    if rule.match == "any":
        return lambda d, ts=tests: any(t(d) for t in ts)
    return lambda d, ts=tests: all(t(d) for t in ts)


class Engine:
    """Compiled rule set. ``evaluate(rows)`` for the fast row form, ``score(events)`` for Event tuples."""

    def __init__(self, rules: RuleSet) -> None:
        self.rules = rules
        self.clock = LocalClock(rules.tz)
        by_action: dict[str, list[int]] = {}
        compiled = []
        n_caps = sum(len(r.caps) for r in rules.rules)
        n_streaks = sum(1 for r in rules.rules if r.kind == "streak" and r.streak)
        cap_slot, streak_slot = 0, 2 * n_caps
        for i, rule in enumerate(rules.rules):
            for a in rule.actions:
                by_action.setdefault(a, []).append(i)
            streak = rule.streak if rule.kind == "streak" else None
            caps = []
            for c in rule.caps:  # (period position, count, slot of the period id, slot of the used count)
                caps.append((_KIND_POS[c.per], c.count, cap_slot, cap_slot + n_caps))
                cap_slot += 1
            last = streak_slot if streak else -1
            if streak:
                streak_slot += 1
            compiled.append(
                (
                    rule.points,
                    _compile_qualifier(rule),
                    tuple(caps),
                    streak.after_days if streak else 0,
                    streak.points if streak else 0,
                    last,
                    last + n_streaks,
                )
            )
        self.state_size = 2 * n_caps + 2 * n_streaks
        self._fresh = (-1,) * n_caps + (0,) * n_caps + (-1,) * n_streaks + (0,) * n_streaks
        self.by_action = {a: tuple(v) for a, v in by_action.items()}
        self._compiled = tuple(compiled)
        self._dayinfo: dict[int, tuple[int, int, int, int]] = {}
        self._starts: dict[int, tuple] = {}

    # ── calendar helpers ──
    def dayinfo(self, ordinal: int) -> tuple[int, int, int, int]:
        """(day, week, month, scoring year) indices of a local day ordinal."""
        info = self._dayinfo.get(ordinal)
        if info is None:
            d = date.fromordinal(ordinal)
            info = (ordinal, (ordinal - 1) // 7, d.year * 12 + d.month - 1, self.rules.scoring_year(d))
            self._dayinfo[ordinal] = info
        return info

    def period_starts(self, ordinal: int) -> tuple[tuple[str, date], ...]:
        """(("week", Monday), ("month", 1st), ("year", scoring-year start)) of a local day (cached)."""
        got = self._starts.get(ordinal)
        if got is None:
            d = date.fromordinal(ordinal)
            got = tuple((kind, period_of(self.rules, kind, d).start) for kind in ("week", "month", "year"))
            self._starts[ordinal] = got
        return got

    def local_day(self, at: datetime) -> date:
        return date.fromordinal(self.clock.day(to_epoch(at)))

    def rule_lookback(self, rule: Rule, day: date) -> date:
        start = day
        for cap in rule.caps:
            start = min(start, period_of(self.rules, cap.per, day).start)
        if rule.kind == "streak" and rule.streak:
            start = min(start, day - timedelta(days=rule.streak.after_days))
        return start

    def lookback(self, day: date) -> date:
        """Earliest local day whose events can influence the points of ``day`` or later days."""
        return min((self.rule_lookback(r, day) for r in self.rules.rules), default=day)

    def lookback_plan(self, day: date) -> list[tuple[date, frozenset[str]]]:
        """Which actions must be loaded from which day to compute days >= ``day`` exactly:
        [(from_day, actions)], earliest first. Rules are independent, so a year-capped rule
        needs its own actions from the scoring-year start while the others need a couple of weeks."""
        plan: dict[date, set[str]] = {}
        for r in self.rules.rules:
            plan.setdefault(self.rule_lookback(r, day), set()).update(r.actions)
        return sorted((d, frozenset(a)) for d, a in plan.items())

    def affected_until(self, action: str, day: date) -> date:
        """Last local day whose points a new ``action`` event on ``day`` can change."""
        end = day
        for ri in self.by_action.get(action, ()):
            rule = self.rules.rules[ri]
            for cap in rule.caps:
                end = max(end, period_of(self.rules, cap.per, day).end)
            if rule.kind == "streak" and rule.streak:
                end = max(end, day + timedelta(days=rule.streak.after_days))
        return end

    # ── evaluation ──
    def score(self, events: Iterable[Event]) -> Result:
        return self.evaluate([(to_epoch(e.at), e.key, e.action, e.detail) for e in events])

    def new_state(self) -> tuple[list[int], dict]:
        """Fresh cap and streak state for ``evaluate(..., state=)``: (slots, saved). ``slots`` is a flat
        list of ``state_size`` integers (-1 = none yet): per cap of each rule its current period id,
        then per cap the count used in that period, then per streak rule its last day, then its run;
        ``saved`` keeps the counts of periods left behind (only around a DST change at midnight)."""
        return [*self._fresh], {}

    def evaluate(
        self,
        rows: Iterable[Row],
        *,
        deduped: bool = False,
        state: tuple | None = None,
        prefix: Iterable[Row] = (),
        day_points: dict[int, int] | None = None,
    ) -> Result:
        """Rows (epoch, key, action, detail) of one teacher, any order, duplicates allowed.
        ``deduped=True``: the caller guarantees unique keys and (epoch, key) order.
        ``state`` (from ``new_state()``): continue after rows evaluated earlier with the same state,
        all of which come before these rows in (epoch, key) order; it is updated in place. The result
        then holds only these rows' occurrences, exactly as they are in one evaluation of all rows.
        ``prefix`` (deduped rows, before ``rows``): evaluated for the state only, as a first call with a
        shared ``state``. ``day_points``: add the points per day ordinal to it, recording no occurrences
        (``occ``/``unq`` stay empty): ingestion's form, the same points as ``Result.day_points()``."""
        rows = rows if deduped else dedup_rows(rows)
        by_action, compiled, dayinfo_cache, dayinfo = self.by_action, self._compiled, self._dayinfo, self.dayinfo
        fixed, slowday = self.clock.fixed, self.clock.day
        fixed, fixed_from = (0, 1 << 62) if fixed is None else (fixed, _FIXED_FROM)
        eo, _loads = EPOCH_ORDINAL, json.loads
        slots, saved = state if state is not None else self.new_state()  # see new_state()
        occ: list = []
        unq: list = []  # rows whose detail did not qualify, (day, rule index)
        append_occ = occ.append if day_points is None else None
        get_points = day_points.get if day_points is not None else None
        ignored = 0
        for part in (prefix, rows) if prefix else (rows,):
            if part is rows and prefix:  # the prefix only set the state
                occ.clear()
                unq.clear()
                ignored = 0
                if day_points is not None:
                    day_points.clear()
            for epoch, _key, action, detail in part:
                targets = by_action.get(action)
                if targets is None:
                    ignored += 1
                    continue
                day = (epoch + fixed) // 86400 + eo if epoch >= fixed_from else slowday(epoch)
                info = dayinfo_cache.get(day)
                if info is None:
                    info = dayinfo(day)
                for ri in targets:
                    points, qualifies, caps, streak_after, streak_points, last, run = compiled[ri]
                    if qualifies is not None:
                        if detail.__class__ is str:  # JSON text straight from storage: parse when needed
                            detail = _loads(detail) if detail else None
                        if not (detail and qualifies(detail)):
                            if append_occ is not None:
                                unq.append((day, ri))
                            continue
                    if streak_after:
                        ld = slots[last]
                        if ld != day:
                            slots[run] = slots[run] + 1 if ld == day - 1 else 1
                            slots[last] = day
                        if slots[run] > streak_after:
                            points = streak_points
                    ok = True
                    for pos, count, ps, us in caps:
                        pid = info[pos]
                        if slots[ps] != pid:
                            if slots[ps] != -1:  # a period left behind: keep its count
                                saved[(ps, slots[ps])] = slots[us]
                                slots[us] = saved.pop((ps, pid), 0)
                            else:
                                slots[us] = 0
                            slots[ps] = pid
                        if slots[us] >= count:
                            ok = False
                    if ok:
                        for _pos, _count, _ps, us in caps:
                            slots[us] += 1
                    if append_occ is not None:
                        append_occ((day, ri, points, True) if ok else (day, ri, 0, False))
                    elif ok and points:
                        day_points[day] = get_points(day, 0) + points  # type: ignore[index,misc]
        return Result(self, occ, unq, ignored)


def aggregate_periods(engine: Engine, day_points: dict[int, int]) -> dict[tuple[str, date], int]:
    """Points per (kind, period start) for kinds week, month and year from points per day ordinal."""
    out: dict[tuple[str, date], int] = {}
    starts = engine.period_starts
    for o, pts in day_points.items():
        if not pts:
            continue
        for key in starts(o):
            out[key] = out.get(key, 0) + pts
    return out


__all__ = [
    "CapState",
    "Engine",
    "Event",
    "Result",
    "Row",
    "RuleLine",
    "ScoreSummary",
    "aggregate_periods",
    "dedup_rows",
]
