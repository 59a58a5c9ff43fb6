"""The points engine on the default table: every rule at its boundaries, the login streak, caps across
week and year boundaries, the school year, duplicates and out-of-order delivery."""

from __future__ import annotations

import itertools
import random
from datetime import UTC, date, datetime, timedelta

import pytest

from domain.scores import (
    Engine,
    Event,
    aggregate_periods,
    default_rules,
    parse_period,
    parse_rules,
    period_of,
    year_period,
)
from tests.scores.util import DEFAULT_TABLE, at, engine, ev, points, year_total

RS = default_rules()
WEEK_CAPPED = [c for c, v in DEFAULT_TABLE.items() if v[5] == "week"]
YEAR_CAPPED = [c for c, v in DEFAULT_TABLE.items() if v[5] == "year"]
# Mon 2 Mar 2026 … Sun 8 Mar 2026; Mon 9 Mar starts the next week
MON, SUN, NEXT_MON = date(2026, 3, 2), date(2026, 3, 8), date(2026, 3, 9)


def _ok(code):
    return DEFAULT_TABLE[code][6]


def _action(code):
    return DEFAULT_TABLE[code][2]


@pytest.mark.parametrize("code", WEEK_CAPPED)
def test_week_cap_n_and_n_plus_1(code):
    _g, _n, action, pts, cap, _per, ok, _bad = DEFAULT_TABLE[code]
    # cap occurrences spread over the week, the last one Sunday 23:59:59
    times = [at(2026, 3, 2, 9, i) for i in range(cap - 1)] + [at(2026, 3, 8, 23, 59, 59)]
    evs = [ev(action, t, ok) for t in times]
    assert points(evs, MON, SUN) == cap * pts
    # one more in the same week (Sunday 23:59:59.5 still Sunday) earns nothing …
    extra = ev(action, datetime(2026, 3, 8, 23, 59, 59, 500000, tzinfo=at(2026, 1, 1).tzinfo), ok)
    assert points([*evs, extra], MON, SUN) == cap * pts
    # … one at Monday 00:00 Asia/Shanghai is a new week and counts
    monday = ev(action, at(2026, 3, 9, 0, 0), ok)
    e = engine().score([*evs, extra, monday])
    assert e.total(MON, SUN) == cap * pts and e.total(NEXT_MON, NEXT_MON) == pts
    s = e.summary(period_of(RS, "week", SUN), as_of=SUN).line(code)
    assert (s.occurrences, s.counted, s.over_cap, s.points) == (cap + 1, cap, 1, cap * pts)
    assert s.caps[0].used == cap and s.caps[0].full


def test_fifth_and_sixth_upload_of_a_week():
    evs = [ev("resource_share", at(2026, 3, 2 + i, 12)) for i in range(6)]  # Mon..Sat
    e = engine().score(evs)
    assert e.total(MON, date(2026, 3, 6)) == 5  # 5th upload (Friday) counts
    assert e.total(date(2026, 3, 7), SUN) == 0  # 6th (Saturday) does not
    line = e.summary(period_of(RS, "week", MON), as_of=date(2026, 3, 7)).line("resource_upload")
    assert (line.counted, line.over_cap) == (5, 1) and line.caps[0].full
    # mid-week state: 3 of 5
    line = e.summary(period_of(RS, "week", MON), as_of=date(2026, 3, 4)).line("resource_upload")
    assert line.caps[0].used == 3 and not line.caps[0].full


def test_week_boundary_in_utc_input():
    # Sunday 23:59 Shanghai = 15:59Z; Monday 00:00 Shanghai = 16:00Z Sunday
    sun = datetime(2026, 3, 8, 15, 59, tzinfo=UTC)
    mon = datetime(2026, 3, 8, 16, 0, tzinfo=UTC)
    evs = [ev("article_publish", sun), ev("article_publish", mon)]
    e = engine().score(evs)
    assert e.total(SUN, SUN) == 5 and e.total(NEXT_MON, NEXT_MON) == 5


@pytest.mark.parametrize("code", YEAR_CAPPED)
def test_year_cap_31_dec_to_1_jan(code):
    _g, _n, action, pts, _cap, _per, ok, _bad = DEFAULT_TABLE[code]
    evs = [
        ev(action, at(2025, 12, 31, 23, 59), ok),
        ev(action, at(2026, 1, 1, 0, 0), ok),
        ev(action, at(2026, 6, 1), ok),
        ev(action, at(2026, 12, 31, 23, 59), ok),
    ]
    assert year_total(evs, 2025) == pts
    assert year_total(evs, 2026) == pts
    e = engine().score(evs)
    line = e.summary(year_period(RS, 2026)).line(code)
    assert (line.occurrences, line.counted, line.points) == (3, 1, pts)
    assert line.caps[0].full and line.caps[0].period.label == "2026年"


@pytest.mark.parametrize("code", [c for c, v in DEFAULT_TABLE.items() if v[6] is not None])
def test_condition_threshold(code):
    _g, _n, action, pts, _cap, _per, ok, bad = DEFAULT_TABLE[code]
    assert points([ev(action, at(2026, 3, 3), ok)], MON, SUN) == pts
    e = engine().score([ev(action, at(2026, 3, 3), bad), ev(action, at(2026, 3, 4), None)])
    assert e.total(MON, SUN) == 0
    assert e.summary(period_of(RS, "week", MON)).line(code).unqualified == 2


def test_minutes_14_vs_15_and_text_numbers():
    evs = [
        ev("class_teaching", at(2026, 3, 2), {"minutes": 14}),
        ev("class_teaching", at(2026, 3, 3), {"minutes": 14.99}),
        ev("class_teaching", at(2026, 3, 4), {"minutes": "15"}),
        ev("class_teaching", at(2026, 3, 5), {"minutes": 15.0}),
    ]
    line = engine().score(evs).summary(period_of(RS, "week", MON)).line("interactive_teaching")
    assert (line.occurrences, line.unqualified, line.counted, line.points) == (2, 2, 2, 10)


def test_class_activity_either_condition():
    a = [ev("class_activity", at(2026, 3, 2), {"participants": 3, "works_commented": 5})]
    b = [ev("class_activity", at(2026, 3, 2), {"participants": 15})]
    c = [ev("class_activity", at(2026, 3, 2), {"participants": 14, "works_commented": 4})]
    assert [points(x, MON, SUN) for x in (a, b, c)] == [5, 5, 0]


def test_profile_needs_all_four_items():
    full = {"avatar": True, "contact": True, "school": True, "subject": True}
    assert points([ev("profile_update", at(2026, 3, 2), full)], MON, SUN) == 20
    for missing in full:
        d = dict(full)
        d.pop(missing)
        assert points([ev("profile_update", at(2026, 3, 2), d)], MON, SUN) == 0


# ── the login streak ──
def _logins(first: date, days: int, hour: int = 8):
    return [ev("login", at(first.year, first.month, first.day, hour) + timedelta(days=i)) for i in range(days)]


def test_streak_7_days_7_points_8th_day_2():
    e = engine().score(_logins(date(2026, 3, 2), 8))
    assert e.total(date(2026, 3, 2), date(2026, 3, 8)) == 7
    assert e.total(date(2026, 3, 9), date(2026, 3, 9)) == 2
    line = e.summary(period_of(RS, "week", NEXT_MON), as_of=NEXT_MON).line("login")
    assert line.streak_days == 8 and line.streak_today and line.points == 2


def test_streak_two_a_day_continues_and_a_gap_restarts():
    evs = _logins(date(2026, 3, 1), 10) + _logins(date(2026, 3, 12), 9)  # gap on 11 March
    e = engine().score(evs)
    assert e.total(date(2026, 3, 1), date(2026, 3, 10)) == 7 + 3 * 2
    assert e.total(date(2026, 3, 11), date(2026, 3, 11)) == 0
    assert e.total(date(2026, 3, 12), date(2026, 3, 18)) == 7  # restarted: days 1-7 = 1 point
    assert e.total(date(2026, 3, 19), date(2026, 3, 20)) == 4  # days 8 and 9: 2 each
    line = e.summary(period_of(RS, "month", date(2026, 3, 20)), as_of=date(2026, 3, 20)).line("login")
    assert line.streak_days == 9 and line.streak_today
    assert line.points == 13 + 7 + 4
    # yesterday's run is still alive today before logging in; two days later it is gone
    line = e.summary(period_of(RS, "month", date(2026, 3, 21)), as_of=date(2026, 3, 21)).line("login")
    assert line.streak_days == 9 and not line.streak_today
    line = e.summary(period_of(RS, "month", date(2026, 3, 22)), as_of=date(2026, 3, 22)).line("login")
    assert line.streak_days == 0


def test_several_logins_a_day_count_once_and_midnight_matters():
    evs = [ev("login", at(2026, 3, 2, h)) for h in (0, 7, 12, 23)]
    evs += [ev("login", at(2026, 3, 3, 0, 0)), ev("login", datetime(2026, 3, 3, 15, 59, tzinfo=UTC))]
    e = engine().score(evs)
    assert e.total(date(2026, 3, 2), date(2026, 3, 2)) == 1
    assert e.total(date(2026, 3, 3), date(2026, 3, 3)) == 1
    line = e.summary(period_of(RS, "week", MON), as_of=date(2026, 3, 3)).line("login")
    assert (line.occurrences, line.counted) == (6, 2) and line.streak_days == 2


def test_streak_carries_across_the_year_boundary():
    evs = _logins(date(2025, 12, 25), 10)  # 25 Dec … 3 Jan, unbroken
    assert year_total(evs, 2025) == 7
    assert year_total(evs, 2026) == 3 * 2  # 1-3 Jan are days 8-10
    evs2 = _logins(date(2025, 12, 25), 7) + _logins(date(2026, 1, 2), 3)  # 1 Jan missed
    assert year_total(evs2, 2026) == 3


# ── week straddling the scoring-year boundary ──
def test_week_cap_spans_year_boundary_points_stay_in_their_year():
    # Mon 29 Dec 2025 … Sun 4 Jan 2026 is one week
    evs = [ev("resource_share", at(2025, 12, 29 + i)) for i in range(3)]  # 29, 30, 31 Dec
    evs += [ev("resource_share", at(2025, 12, 31, 20 + i)) for i in range(2)]  # 31 Dec: 4th and 5th
    evs += [ev("resource_share", at(2026, 1, d)) for d in (1, 2, 4)]  # same week: over the cap
    evs += [ev("resource_share", at(2026, 1, 5))]  # next week
    assert year_total(evs, 2025) == 5
    assert year_total(evs, 2026) == 1
    # only two before the boundary: three of the 2026 days of that week count, in 2026
    evs = [ev("resource_share", at(2025, 12, 30)), ev("resource_share", at(2025, 12, 31))]
    evs += [ev("resource_share", at(2026, 1, d, h)) for d in (1, 2) for h in (9, 10)]
    assert (year_total(evs, 2025), year_total(evs, 2026)) == (2, 3)


def test_school_year_from_1_september():
    text = (default_rules().source and None) or open("domain/data/points_rules_default.yaml", encoding="utf-8").read()
    rs = parse_rules(text.replace('year_start: "01-01"', 'year_start: "09-01"'))
    assert rs.year_start == (9, 1)
    full = {"avatar": True, "contact": True, "school": True, "subject": True}
    evs = [
        ev("profile_update", at(2026, 8, 31, 23, 59), full),
        ev("profile_update", at(2026, 9, 1, 0, 0), full),
        ev("profile_update", at(2027, 1, 5), full),
        ev("class_create", at(2026, 1, 10), {"students": 30}),
    ]
    assert year_total(evs, 2025, rs) == 20 + 50  # 1 Sep 2025 … 31 Aug 2026
    assert year_total(evs, 2026, rs) == 20  # 1 Sep 2026 … 31 Aug 2027: one profile only
    assert rs.scoring_year(date(2026, 8, 31)) == 2025 and rs.scoring_year(date(2026, 9, 1)) == 2026
    p = parse_period("本年", rs, date(2027, 3, 1))
    assert (p.start, p.end, p.label) == (date(2026, 9, 1), date(2027, 8, 31), "2026-2027学年")


# ── determinism ──
def _random_year(seed: int, n: int = 600) -> list[Event]:
    rnd = random.Random(seed)
    out = []
    for i in range(n):
        code = rnd.choice(list(DEFAULT_TABLE))
        _g, _n, action, _p, _c, _per, ok, bad = DEFAULT_TABLE[code]
        when = at(2025, 12, 20) + timedelta(seconds=rnd.randrange(0, 400 * 86400))
        if rnd.random() < 0.05:  # many at the same instant
            when = at(2026, 3, 8, 23, 59)
        detail = ok if rnd.random() < 0.8 else bad
        out.append(Event(f"e{i}", action, when, detail))
    return out


def _fingerprint(events):
    e = engine().score(events)
    y = [e.summary(year_period(RS, yr)) for yr in (2025, 2026, 2027)]
    return (
        [(s.total, [(ln.occurrences, ln.counted, ln.points, ln.unqualified) for ln in s.lines]) for s in y],
        sorted(e.day_points().items()),
        e.occ,
    )


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_duplicates_and_shuffled_order_give_identical_results(seed):
    events = _random_year(seed)
    base = _fingerprint(events)
    rnd = random.Random(seed + 100)
    for _ in range(3):
        noisy = events + rnd.sample(events, len(events) // 3)  # a third delivered twice
        rnd.shuffle(noisy)
        assert _fingerprint(noisy) == base


def test_same_key_with_different_content_is_resolved_deterministically():
    a = Event("same", "resource_share", at(2026, 3, 2, 10))
    b = Event("same", "resource_share", at(2026, 3, 2, 9))
    c = Event("same", "article_publish", at(2026, 3, 2, 9))
    for order in ([a, b, c], [c, b, a], [b, a, c]):
        e = engine().score(order)
        assert e.total(MON, SUN) == 5  # (09:00, article_publish) is the smallest


def test_cap_ties_are_broken_by_event_key():
    # six uploads at the same instant: the five smallest keys count — which ones is visible in a
    # straddling week, so make the tie matter: all on Wed 31 Dec 2025
    t = at(2025, 12, 31, 12)
    evs = [Event(f"k{i}", "resource_share", t) for i in range(6)]
    r1 = engine().score(evs).occ
    r2 = engine().score(list(reversed(evs))).occ
    assert r1 == r2 and [o[3] for o in r1] == [True] * 5 + [False]


# ── windows (what storage relies on for incremental materialisation) ──
def test_lookback_and_affected_range_reproduce_full_results():
    e = engine()
    events = _random_year(7, 900)
    full = e.score(events).day_points()
    rows = sorted(((e.clock.day(int(x.at.timestamp())), x) for x in events), key=lambda p: p[0])
    for a in (date(2026, 1, 1), date(2026, 3, 4), date(2026, 7, 13)):
        plan = e.lookback_plan(a)
        if a == date(2026, 1, 1):  # the streak needs 7 days before, the week cap its Monday
            assert [d for d, _ in plan] == [date(2025, 12, 25), date(2025, 12, 29), date(2026, 1, 1)]
        else:  # year-capped rules need the scoring year, week-capped their Monday
            assert plan[0] == (date(2026, 1, 1), frozenset({"profile_update", "class_create"}))
        keep = [x for d, x in rows if any(d >= frm.toordinal() and x.action in acts for frm, acts in plan)]
        part = e.score(keep).day_points(start=a.toordinal())
        assert part == {d: p for d, p in full.items() if d >= a.toordinal()}
    assert e.affected_until("resource_share", date(2026, 3, 4)) == SUN
    assert e.affected_until("login", date(2026, 3, 4)) == date(2026, 3, 11)
    assert e.affected_until("profile_update", date(2026, 3, 4)) == date(2026, 12, 31)
    assert e.lookback(date(2026, 3, 4)) == date(2026, 1, 1)


def test_incremental_delta_equals_full_recompute():
    """Simulates storage: add events batch by batch, each time diffing only the affected window."""
    e = engine()
    events = _random_year(11, 700)
    random.Random(5).shuffle(events)
    stored: list[Event] = []
    totals: dict = {}
    for i in range(0, len(events), 50):
        batch = events[i : i + 50]
        days = [e.local_day(x.at) for x in batch]
        first = min(days)
        last = max(e.affected_until(x.action, d) for x, d in zip(batch, days, strict=False))
        plan = e.lookback_plan(first)

        def window(evs):
            return [
                x
                for x in evs
                if e.local_day(x.at) <= last
                and any(e.local_day(x.at) >= frm and x.action in acts for frm, acts in plan)
            ]

        old = e.score(window(stored)).day_points(first.toordinal(), last.toordinal())
        stored.extend(batch)
        new = e.score(window(stored)).day_points(first.toordinal(), last.toordinal())
        delta = {d: new.get(d, 0) - old.get(d, 0) for d in set(old) | set(new)}
        for k, v in aggregate_periods(e, delta).items():
            totals[k] = totals.get(k, 0) + v
    full = aggregate_periods(e, e.score(events).day_points())
    assert {k: v for k, v in totals.items() if v} == full


def test_period_words():
    today = date(2026, 3, 4)
    assert parse_period("本周", RS, today).start == MON
    assert parse_period("本月", RS, today).end == date(2026, 3, 31)
    assert parse_period("2025", RS, today).label == "2025年"
    assert parse_period(None, RS, today).start == date(2026, 1, 1)
    assert parse_period("明年", RS, today) is None
    assert period_of(RS, "month", date(2026, 12, 15)).end == date(2026, 12, 31)


def test_unknown_actions_are_ignored_and_naive_times_refused():
    e = engine().score([Event("x", "dance", at(2026, 3, 2))])
    assert e.ignored == 1 and e.total(MON, SUN) == 0
    with pytest.raises(ValueError):
        engine().score([Event("x", "login", datetime(2026, 3, 2, 10))])


def test_other_time_zone_rule_set():
    text = open("domain/data/points_rules_default.yaml", encoding="utf-8").read()
    rs = parse_rules(text.replace("timezone: Asia/Shanghai", "timezone: Europe/Berlin"))
    e = Engine(rs)
    # Sunday 29 Mar 2026 23:30 Berlin (after the DST switch) is still Sunday
    t = datetime(2026, 3, 29, 21, 30, tzinfo=UTC)
    evs = [Event(f"k{i}", "article_publish", t + timedelta(minutes=i)) for i in range(2)]
    evs.append(Event("m", "article_publish", datetime(2026, 3, 29, 22, 0, tzinfo=UTC)))  # Mon 00:00
    r = e.score(evs)
    assert r.total(date(2026, 3, 29), date(2026, 3, 29)) == 5
    assert r.total(date(2026, 3, 30), date(2026, 3, 30)) == 5


def test_prefix_state_gives_the_tail_of_one_evaluation():
    """evaluate(rows, prefix=earlier) = the occurrences of ``rows`` in one evaluation of both."""
    rnd = random.Random(5)
    e = engine()
    codes = list(DEFAULT_TABLE)
    rows = []
    for i in range(400):
        code = rnd.choice(codes)
        _g, _n, action, _p, _c, _per, ok, bad = DEFAULT_TABLE[code]
        when = datetime(2026, 1, 1, 7) + timedelta(hours=rnd.randrange(0, 24 * 120))
        rows.append((int(when.timestamp()), f"k{i:04d}", action, ok if rnd.random() < 0.8 else bad))
    rows.sort(key=lambda r: (r[0], r[1]))
    whole = e.evaluate(rows, deduped=True)
    for cut in (0, 1, 57, 200, 399, 400):
        tail = e.evaluate(rows[cut:], deduped=True, prefix=rows[:cut])
        head = e.evaluate(rows[:cut], deduped=True)
        assert head.occ + tail.occ == whole.occ
        assert head.unq + tail.unq == whole.unq
        state = e.new_state()
        e.evaluate(rows[:cut], deduped=True, state=state)
        assert e.evaluate(rows[cut:], deduped=True, state=state).occ == tail.occ


@pytest.mark.parametrize("seed", range(6))
def test_day_points_mode_equals_the_occurrences(seed: int) -> None:
    """evaluate(..., day_points=) (ingestion's form) adds exactly Result.day_points(), also when continuing
    a state batch by batch, and leaves the state where the recording form leaves it."""
    rnd = random.Random(seed)
    e = engine()
    codes = list(DEFAULT_TABLE)
    rows = []
    for i in range(rnd.randrange(50, 600)):
        _g, _n, action, _p, _c, _per, ok, bad = DEFAULT_TABLE[rnd.choice(codes)]
        when = datetime(2026, 1, 1, 7) + timedelta(hours=rnd.randrange(0, 24 * 400))
        rows.append((int(when.timestamp()), f"k{i:04d}", action, ok if rnd.random() < 0.8 else bad))
    rows.sort(key=lambda r: (r[0], r[1]))
    whole = e.evaluate(rows, deduped=True)
    cuts = sorted({0, len(rows), *(rnd.randrange(len(rows)) for _ in range(4))})
    recording, adding = e.new_state(), e.new_state()
    added: dict[int, int] = {}
    for a, b in itertools.pairwise(cuts):
        part: dict[int, int] = {}
        got = e.evaluate(rows[a:b], deduped=True, state=adding, day_points=part)
        assert got.occ == [] and got.unq == []
        assert part == e.evaluate(rows[a:b], deduped=True, state=recording).day_points()
        assert adding == recording
        for d, p in part.items():
            added[d] = added.get(d, 0) + p
    assert added == whole.day_points()
    assert sum(added.values()) > 0
