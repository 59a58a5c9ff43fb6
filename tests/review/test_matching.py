"""The matcher: hard rules (independent checker, many random instances), the objective against an
exact MILP of a different formulation, demand classes, explanations of uncovered demand."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.optimize import Bounds, LinearConstraint, milp

from domain.review.check import check_plan, pair_problems
from domain.review.matching import (
    Assignment,
    Demand,
    MatchPolicy,
    Plan,
    ReviewerInfo,
    eligible,
    fingerprint,
    plan_assignments,
)
from domain.review.rules import Pools


def rev(rid: str, **kw) -> ReviewerInfo:
    base = dict(
        id=rid,
        name=rid,
        stage="初中",
        subject="化学",
        city="衢州市",
        county="柯城区",
        school=f"{rid}学校",
        account=f"acc-{rid}",
        level="city",
    )
    return ReviewerInfo(**{**base, **kw})


def dem(res: str, **kw) -> Demand:
    base = dict(
        resource_id=res,
        title=res,
        stage="初中",
        subject="化学",
        level="city",
        city="衢州市",
        county="衢江区",
        school="衢江中学",
        submitter_account="teacher-1",
        needed=1,
    )
    return Demand(**{**base, **kw})


POLICY = MatchPolicy()


# ── the rules, one at a time ──
def test_eligible_rules_and_synonyms() -> None:
    d = dem("r1")
    assert eligible(d, rev("a"), POLICY) is None
    assert eligible(d, rev("a", stage="初级中学", subject="初中化学"), POLICY) is None  # spellings
    assert eligible(dem("r2", subject="道德与法治"), rev("a", subject="思品"), POLICY) is None
    assert eligible(d, rev("a", subject="物理"), POLICY) == "subject"
    assert eligible(d, rev("a", stage="高中"), POLICY) == "stage"
    assert eligible(d, rev("a", stage=None), POLICY) == "no_stage_subject"
    assert eligible(d, rev("a", city="杭州市"), POLICY) == "territory"
    assert eligible(d, rev("a", level="province"), POLICY) == "level"
    assert eligible(d, rev("a", active=False), POLICY) == "inactive"
    assert eligible(d, rev("a", on_leave=True), POLICY) == "on_leave"
    assert eligible(d, rev("a", load=3, cap=3), POLICY) == "cap"
    assert eligible(d, rev("a", load=3), MatchPolicy(default_cap=3)) == "cap"
    assert eligible(dem("r1", excluded=frozenset({"a"})), rev("a"), POLICY) == "excluded"
    assert eligible(d, rev("a", account="teacher-1"), POLICY) == "submitter"
    assert eligible(d, rev("a", account="Teacher-1"), POLICY) is None  # accounts are case-sensitive
    assert eligible(d, rev("a", school="衢江中学", county="衢江区"), POLICY) == "same_school"
    assert eligible(d, rev("a", school="衢江 中学", county=None), POLICY) == "same_school"
    for token in ("teacher-1", "衢江中学", "r1"):
        assert eligible(d, rev("a", conflicts=frozenset({token})), POLICY) == "conflict"


def test_province_level_keeps_the_submitters_county_or_city_out() -> None:
    d = dem("r1", level="province")
    same_county = rev("a", level="province", county="衢江区")
    same_city = rev("b", level="province", county="柯城区")
    other = rev("c", level="province", city="杭州市", county="西湖区")
    assert eligible(d, same_county, POLICY) == "same_county"
    assert eligible(d, same_city, POLICY) is None
    assert eligible(d, other, POLICY) is None
    wide = MatchPolicy(province_exclusion="city")
    assert eligible(d, same_city, wide) == "same_city"
    assert eligible(d, other, wide) is None
    # the county unknown on either side: the whole city is kept out
    assert eligible(dem("r2", level="province", county=None), same_city, POLICY) == "same_city"
    # the same school name in another county is another school
    assert eligible(d, rev("d", level="province", city="杭州市", county="西湖区", school="衢江中学"), POLICY) is None


# ── random instances ──
CITIES = [("衢州市", "柯城区"), ("衢州市", "衢江区"), ("杭州市", "西湖区"), ("杭州市", None)]
SCHOOLS = ["一中", "二中", "实验小学", None]
SUBJECTS = ["语文", "小学语文", "数学", "思品", "道德与法治", None]


@st.composite
def instances(draw, max_reviewers: int = 8, max_demands: int = 8):  # type: ignore[no-untyped-def]
    n_r = draw(st.integers(1, max_reviewers))
    n_d = draw(st.integers(1, max_demands))
    accounts = [f"acc{i}" for i in range(4)]
    reviewers = []
    for i in range(n_r):
        city, county = draw(st.sampled_from(CITIES))
        tokens = accounts + ["一中", "二中"] + [f"res{j}" for j in range(n_d)]
        reviewers.append(
            ReviewerInfo(
                id=f"v{i}",
                name=f"v{i}",
                stage=draw(st.sampled_from(["小学", "小学", "初中", None])),
                subject=draw(st.sampled_from(SUBJECTS)),
                city=city,
                county=county,
                school=draw(st.sampled_from(SCHOOLS)),
                account=draw(st.sampled_from([*accounts, None])),
                level=draw(st.sampled_from(["city", "province", "province"])),
                active=draw(st.booleans() | st.just(True)),
                on_leave=draw(st.sampled_from([False, False, True])),
                load=draw(st.integers(0, 3)),
                cap=draw(st.sampled_from([None, None, 1, 2, 4])),
                on_time_rate=draw(st.sampled_from([0.5, 0.8, 0.95, 1.0])),
                conflicts=frozenset(draw(st.lists(st.sampled_from(tokens), max_size=2))),
            )
        )
    demands = []
    for j in range(n_d):
        city, county = draw(st.sampled_from(CITIES))
        demands.append(
            Demand(
                resource_id=f"res{j}",
                title=f"资源{j}",
                stage=draw(st.sampled_from(["小学", "初中"])),
                subject=draw(st.sampled_from([s for s in SUBJECTS if s])),
                level=draw(st.sampled_from(["city", "province"])),
                city=city,
                county=county,
                school=draw(st.sampled_from(SCHOOLS)),
                submitter_account=draw(st.sampled_from([*accounts, None])),
                needed=draw(st.integers(0, 3)),
                excluded=frozenset(draw(st.lists(st.sampled_from([r.id for r in reviewers]), max_size=2))),
            )
        )
    policy = MatchPolicy(
        province_exclusion=draw(st.sampled_from(["county", "city"])), default_cap=draw(st.sampled_from([None, 2, 5]))
    )
    return demands, reviewers, policy


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(instances())
def test_random_plans_keep_every_rule(inst) -> None:  # type: ignore[no-untyped-def]
    demands, reviewers, policy = inst
    plan = plan_assignments(demands, reviewers, policy)
    assert check_plan(plan, demands, reviewers, policy) == []
    # the pools' fast path and the pairwise rule agree
    pools = Pools(reviewers, policy)
    for d in demands:
        key, out = pools.split(d)
        fast = (pools.members.get(key, frozenset()) if key else frozenset()) - out
        assert fast == {r.id for r in reviewers if eligible(d, r, policy) is None}, d.resource_id
    # the checker's own rules and eligible() agree (the checker judges caps on the totals)
    uncapped = replace(policy, default_cap=None)
    for d in demands:
        for r in reviewers:
            assert (eligible(d, replace(r, cap=None), uncapped) is None) == (not pair_problems(d, r, policy)), (d, r)


# ── the objective against an exact MILP (per resource and reviewer, lexicographic stages) ──
def _exact(demands, reviewers, policy) -> tuple[int, int, int, int]:  # type: ignore[no-untyped-def]
    room = {}
    for r in reviewers:
        cap = policy.cap_of(r)
        room[r.id] = 10**6 if cap is None else max(0, cap - r.load)
    pairs = [
        (d, r) for d in demands if d.needed > 0 for r in reviewers if room[r.id] > 0 and not pair_problems(d, r, policy)
    ]
    if not pairs:
        return 0, 0, 0, 0
    pool = sorted({r.id for _, r in pairs})
    load0 = {r.id: r.load for r in reviewers}
    top = max(load0[v] for v in pool) + sum(d.needed for d in demands)
    units = [(v, k) for v in pool for k in range(load0[v] + 1, top + 1)]  # y[v,k]: v's load reaches k
    nx, ny = len(pairs), len(units)
    n = nx + ny + 1  # + z (the largest load)
    rows, lo, hi = [], [], []

    def row(coeffs: dict[int, float], low: float, high: float) -> None:
        a = np.zeros(n)
        for i, c in coeffs.items():
            a[i] = c
        rows.append(a)
        lo.append(low)
        hi.append(high)

    for d in demands:
        row({i: 1 for i, (dd, _) in enumerate(pairs) if dd is d}, 0, max(0, d.needed))
    for v in pool:
        xs = {i: 1 for i, (_, r) in enumerate(pairs) if r.id == v}
        ys = {nx + j: -1 for j, (u, _) in enumerate(units) if u == v}
        row({**xs, **ys}, 0, 0)  # new tasks = units used
        row(xs, 0, room[v])
        row({**xs, n - 1: -1}, -np.inf, -load0[v])  # load + new <= z
    integrality = np.ones(n)
    bounds = Bounds(np.zeros(n), np.concatenate([np.ones(nx + ny), [np.inf]]))

    def solve(c: np.ndarray, extra: list[tuple[np.ndarray, float, float]]) -> np.ndarray:
        a = np.array(rows + [e[0] for e in extra])
        cons = LinearConstraint(a, lo + [e[1] for e in extra], hi + [e[2] for e in extra])
        res = milp(c, constraints=cons, integrality=integrality, bounds=bounds)
        assert res.status == 0, res.message
        return res.x

    cover = np.concatenate([np.ones(nx), np.zeros(ny + 1)])
    x = solve(-cover, [])
    flow = round(cover @ x)
    zc = np.zeros(n)
    zc[n - 1] = 1
    x = solve(zc, [(cover, flow, flow)])
    zmax = round(x[n - 1])
    spread_c = np.concatenate([np.zeros(nx), [k for _, k in units], [0]])
    x = solve(spread_c, [(cover, flow, flow), (zc, -np.inf, zmax)])
    spread = round(spread_c @ x)
    tie = {r.id: round(100 * (1 - r.on_time_rate)) for r in reviewers}
    tie_c = np.concatenate([[tie[r.id] for _, r in pairs], np.zeros(ny + 1)])
    x = solve(tie_c, [(cover, flow, flow), (zc, -np.inf, zmax), (spread_c, -np.inf, spread)])
    return flow, zmax, spread, round(tie_c @ x)


@st.composite
def dense_instances(draw):  # type: ignore[no-untyped-def]
    """Few pools, uneven loads and overlapping eligibility: where max load, spread and ties compete."""
    n_r, n_d = draw(st.integers(2, 6)), draw(st.integers(2, 10))
    reviewers = [
        ReviewerInfo(
            id=f"v{i}",
            name=f"v{i}",
            stage="小学",
            subject=draw(st.sampled_from(["语文", "语文", "数学"])),
            city=draw(st.sampled_from(["杭州市", "宁波市", "温州市"])),
            county=None,
            school=None,
            account=None,
            level="province",
            load=draw(st.integers(0, 5)),
            cap=draw(st.sampled_from([None, None, 3, 6])),
            on_time_rate=draw(st.sampled_from([0.5, 0.9, 1.0])),
        )
        for i in range(n_r)
    ]
    demands = [
        Demand(
            resource_id=f"res{j}",
            title="",
            stage="小学",
            subject=draw(st.sampled_from(["语文", "语文", "数学"])),
            level="province",
            city=draw(st.sampled_from(["杭州市", "宁波市", "温州市", "湖州市"])),
            county=None,
            school=None,
            submitter_account=None,
            needed=draw(st.integers(1, 2)),
            excluded=frozenset(draw(st.lists(st.sampled_from([r.id for r in reviewers]), max_size=1))),
        )
        for j in range(n_d)
    ]
    return demands, reviewers, MatchPolicy(province_exclusion="city")


def _objective(plan: Plan, reviewers) -> tuple[int, int, int, int]:  # type: ignore[no-untyped-def]
    new = Counter(a.reviewer_id for a in plan.assignments)
    load0 = {r.id: r.load for r in reviewers}
    tie = {r.id: round(100 * (1 - r.on_time_rate)) for r in reviewers}
    spread = sum(sum(range(load0[v] + 1, load0[v] + n + 1)) for v, n in new.items())
    return (
        len(plan.assignments),
        plan.max_load if plan.assignments else 0,
        spread,
        sum(tie[v] * n for v, n in new.items()),
    )


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(instances(max_reviewers=5, max_demands=5) | dense_instances())
def test_objective_equals_the_exact_milp(inst) -> None:  # type: ignore[no-untyped-def]
    demands, reviewers, policy = inst
    plan = plan_assignments(demands, reviewers, policy)
    assert _objective(plan, reviewers) == _exact(demands, reviewers, policy)


def test_lexicographic_order_on_a_hand_instance() -> None:
    # 4 resources need 1 each; a can take all, b only r1 and r2 (same school as r3, r4)
    reviewers = [
        rev("a", on_time_rate=0.5),
        rev("b", school="衢江二中", county="衢江区", on_time_rate=1.0),
        rev("c", load=2, on_time_rate=1.0),
    ]
    demands = [dem("r1", school="x"), dem("r2", school="y"), dem("r3", school="衢江二中"), dem("r4", school="衢江二中")]
    plan = plan_assignments(demands, reviewers, POLICY)
    assert len(plan.assignments) == 4
    assert not plan.uncovered
    assert plan.max_load == 2
    # c (load 2) can take r1..r4 too, but a and b each need 2 for the least Σ load²: 2, 2, 2
    assert plan.loads == {"a": 2, "b": 2, "c": 2}
    assert {x.resource_id for x in plan.assignments if x.reviewer_id == "b"} == {"r1", "r2"}
    assert check_plan(plan, demands, reviewers, POLICY) == []


def test_on_time_record_breaks_ties() -> None:
    reviewers = [rev("slow", on_time_rate=0.6), rev("fast", on_time_rate=0.99)]
    plan = plan_assignments([dem("r1")], reviewers, POLICY)
    assert plan.assignments == (Assignment("r1", "fast"),)


# ── demand classes ──
def test_many_identical_resources_get_distinct_reviewers_evenly() -> None:
    reviewers = [rev(f"v{i}", level="province", city="杭州市", county="西湖区") for i in range(7)]
    demands = [dem(f"r{j:03}", level="province", needed=2) for j in range(100)]
    plan = plan_assignments(demands, reviewers, POLICY)
    assert check_plan(plan, demands, reviewers, POLICY) == []
    per_res = Counter(a.resource_id for a in plan.assignments)
    assert set(per_res.values()) == {2}
    assert len(per_res) == 100
    assert len(set(plan.assignments)) == 200
    assert sorted(plan.loads.values()) == [28, 28, 28, 29, 29, 29, 29]
    assert plan.max_load == 29
    assert plan.mean_load == pytest.approx(200 / 7)


def test_partial_coverage_spreads_the_shortfall_and_uses_everyone_once() -> None:
    reviewers = [rev("a", level="province", city="杭州市", cap=3), rev("b", level="province", city="杭州市", cap=3)]
    demands = [dem(f"r{j}", level="province", needed=2) for j in range(4)]
    plan = plan_assignments(demands, reviewers, POLICY)
    assert check_plan(plan, demands, reviewers, POLICY) == []
    assert len(plan.assignments) == 6
    assert plan.missing == 2
    assert [u.reasons for u in plan.uncovered] == [{"assigned": 1, "cap": 1}] * 2


# ── explanations ──
def _explain(demands, reviewers, policy=POLICY) -> list[str]:  # type: ignore[no-untyped-def]
    plan = plan_assignments(demands, reviewers, policy)
    assert check_plan(plan, demands, reviewers, policy) == []
    return plan.explain(demands, reviewers)


def test_explains_nobody_of_that_subject() -> None:
    lines = _explain([dem("r1"), dem("r2")], [rev("a", subject="物理")])
    assert lines == ["初中·化学（衢州市）：没有该学段学科的审核员，2个资源还缺2人次，请增补审核员"]


def test_explains_no_stage_or_subject_on_file() -> None:
    lines = _explain([dem("r1")], [rev("a", stage=None), rev("b", subject=None), rev("c", subject="物理")])
    assert lines == [
        "初中·化学（衢州市）：没有该学段学科的审核员（另有2人未登记学段或学科），1个资源还缺1人次，请增补审核员"
    ]


def test_explains_leave_and_same_school_as_in_the_issue() -> None:
    reviewers = [rev("a", on_leave=True), rev("b", on_leave=True), rev("c", school="衢江中学", county="衢江区")]
    lines = _explain([dem("r1"), dem("r2")], reviewers)
    assert lines == [
        "初中·化学（衢州市）：没有可用的审核员（2人请假，1人与提交人同校），2个资源还缺2人次，"
        "请待销假后再分配或增补审核员"
    ]


def test_explains_the_submitter_and_conflicts() -> None:
    reviewers = [
        rev("a", account="teacher-1"),
        rev("b", conflicts=frozenset({"teacher-1"})),
        rev("c", conflicts=frozenset({"r1"})),
    ]
    lines = _explain([dem("r1")], reviewers)
    assert lines == [
        "初中·化学（衢州市）：没有可用的审核员（1人是提交人本人，2人申报了回避），1个资源还缺1人次，请增补审核员"
    ]


def test_explains_cap_reached_before_and_during_the_plan() -> None:
    reviewers = [rev("a", load=5, cap=5), rev("b", cap=1)]
    lines = _explain([dem("r1"), dem("r2")], reviewers)
    assert lines == [
        "初中·化学（衢州市）：没有可用的审核员（2人已达任务上限），1个资源还缺1人次，请提高任务上限或增补审核员"
    ]


def test_explains_excluded_and_province_county() -> None:
    reviewers = [
        rev("a", level="province", county="衢江区"),
        rev("b", level="province", city="杭州市", county="西湖区"),
    ]
    lines = _explain([dem("r1", level="province", needed=1, excluded=frozenset({"b"}))], reviewers)
    assert lines == [
        "初中·化学（省级，衢州市资源）：没有可用的审核员（1人已审过、不能审或超时，"
        "1人与提交人同县（区）），1个资源还缺1人次，请增补审核员"
    ]


def test_explains_not_enough_reviewers_for_two_each() -> None:
    reviewers = [rev("a", level="province", city="杭州市")]
    plan = plan_assignments([dem("r1", level="province", needed=2)], reviewers, POLICY)
    assert plan.uncovered[0].reasons == {"assigned": 1}
    assert plan.explain([dem("r1", level="province", needed=2)], reviewers) == [
        "初中·化学（省级，衢州市资源）：可用审核员不足（1人已分配到这些资源），1个资源还缺1人次，请增补审核员"
    ]


def test_duplicate_resource_ids_are_refused() -> None:
    with pytest.raises(ValueError, match="one demand"):
        plan_assignments([dem("r1"), dem("r1")], [rev("a")], POLICY)


def test_fingerprint_is_stable_and_sees_changes() -> None:
    demands, reviewers = [dem("r1"), dem("r2")], [rev("a"), rev("b", conflicts=frozenset({"x", "y"}))]
    fp = fingerprint(demands, reviewers)
    assert fingerprint(demands[::-1], reviewers[::-1]) == fp
    assert fingerprint(demands, [rev("a"), rev("b", conflicts=frozenset({"y", "x"}))]) == fp
    assert fingerprint(demands, [rev("a", on_leave=True), reviewers[1]]) != fp
    assert fingerprint([dem("r1"), dem("r2", needed=2)], reviewers) != fp
    assert fingerprint(demands, reviewers, POLICY) != fingerprint(demands, reviewers, MatchPolicy(default_cap=3))
