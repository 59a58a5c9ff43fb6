#!/usr/bin/env python3
"""Assignment benchmark: the matcher on a synthetic province, next to an independent exact optimum.

A seeded instance: N resources (default 10,000) and M reviewers (default 500) over the 11 cities of
domain/data/zhejiang_regions.yaml, 5 stages and 20 stage·subjects with a realistic skew (小学语文 and
小学数学 ten times the 中职 subjects); some reviewers on leave, inactive, at their cap, with no 学段
on file, with declared conflicts; some submitters are reviewers; some resources exclude a reviewer.

Per run (province level, 2 reviewers a resource; and a city-level run, 1 a resource):
  * solve time of ``plan_assignments`` (three runs, the median), largest and mean load, uncovered;
  * the same instance solved independently: the eligibility matrix rebuilt with numpy from the raw
    fields (not the matcher's rules), per resource and reviewer (no demand classes); coverage and the
    least largest load by SciPy's maximum_flow (binary search), the least Σ load² spread by HiGHS
    (scipy.optimize.linprog) on the per-resource LP (a network matrix: the LP optimum is the integer
    optimum); the matcher's objective next to it;
  * violations found by the independent checker (domain/review/check.py).

Targets: solve < 2 s, objective within 0.5% of the optimum, 0 violations.
The machine is shared while others work: times are noisy.

  python3 bench/assign.py                       # 10,000 x 500, province and city level
  python3 bench/assign.py --resources 1000 --reviewers 100 --runs 1
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import yaml
from scipy.optimize import linprog
from scipy.sparse import coo_matrix, csr_matrix
from scipy.sparse.csgraph import maximum_flow

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from domain.review.check import check_plan  # noqa: E402
from domain.review.matching import Demand, MatchPolicy, Plan, ReviewerInfo, plan_assignments  # noqa: E402

# (stage, subject, weight): 小学语文 / 数学 ten times a 中职 subject
SUBJECTS = [
    ("小学", "语文", 10),
    ("小学", "数学", 10),
    ("小学", "英语", 5),
    ("小学", "科学", 3),
    ("小学", "道德与法治", 2),
    ("初中", "语文", 6),
    ("初中", "数学", 6),
    ("初中", "英语", 5),
    ("初中", "科学", 4),
    ("初中", "历史与社会", 2),
    ("高中", "语文", 4),
    ("高中", "数学", 4),
    ("高中", "英语", 3),
    ("高中", "物理", 2),
    ("高中", "化学", 2),
    ("高中", "生物", 2),
    ("学前", "语言", 1.5),
    ("学前", "艺术", 1),
    ("中职", "专业课", 1),
    ("中职", "公共基础课", 1),
]
CITY_WEIGHT = {
    "杭州市": 12,
    "宁波市": 9,
    "温州市": 9,
    "嘉兴市": 5,
    "湖州市": 3,
    "绍兴市": 5,
    "金华市": 7,
    "衢州市": 2,
    "舟山市": 1,
    "台州市": 6,
    "丽水市": 2,
}


def regions() -> dict[str, list[str]]:
    data = yaml.safe_load((ROOT / "domain" / "data" / "zhejiang_regions.yaml").read_text(encoding="utf-8"))
    return {c["name"]: list(c["counties"]) for c in data["cities"]}


def instance(n_res: int, n_rev: int, level: str, needed: int, seed: int) -> tuple[list[Demand], list[ReviewerInfo]]:
    rnd = random.Random(seed)
    reg = regions()
    cities = list(reg)
    cw = [CITY_WEIGHT.get(c, 3) for c in cities]
    sw = [w for _, _, w in SUBJECTS]

    def place() -> tuple[str, str, str]:
        city = rnd.choices(cities, cw)[0]
        county = rnd.choice(reg[city])
        return city, county, f"{county}第{rnd.randint(1, 25)}学校"

    reviewers = []
    for i in range(n_rev):
        stage, subject, _ = SUBJECTS[i % len(SUBJECTS)] if i < 2 * len(SUBJECTS) else rnd.choices(SUBJECTS, sw)[0]
        city, county, school = place()
        reviewers.append(
            ReviewerInfo(
                id=f"rv{i:04}",
                name=f"审核员{i}",
                stage=None if rnd.random() < 0.01 else stage,
                subject=subject,
                city=city,
                county=county,
                school=school,
                account=f"acct{i:04}",
                level=level,
                active=rnd.random() > 0.02,
                on_leave=rnd.random() < 0.05,
                load=rnd.randint(0, 3),
                cap=rnd.choice([None] * 9 + [10]),
                on_time_rate=round(rnd.uniform(0.6, 1.0), 2),
            )
        )
    teachers = [f"t{j:05}" for j in range(int(n_res * 0.7))]
    demands = []
    for j in range(n_res):
        stage, subject, _ = rnd.choices(SUBJECTS, sw)[0]
        city, county, school = place()
        submitter = rnd.choice(teachers) if rnd.random() > 0.01 else rnd.choice(reviewers).account
        excluded = frozenset({rnd.choice(reviewers).id}) if rnd.random() < 0.02 else frozenset()
        demands.append(
            Demand(f"res{j:05}", f"资源{j}", stage, subject, level, city, county, school, submitter, needed, excluded)
        )
    # declared conflicts: 3% of reviewers avoid a submitter, a school or a resource
    out = []
    for r in reviewers:
        if rnd.random() < 0.03:
            d = rnd.choice(demands)
            token = rnd.choice([d.submitter_account, d.school, d.resource_id])
            r = ReviewerInfo(**{**r.__dict__, "conflicts": frozenset({token})})
        out.append(r)
    return demands, out


# ── the independent reference ──
def eligibility(demands: list[Demand], reviewers: list[ReviewerInfo], policy: MatchPolicy) -> np.ndarray:
    """Boolean resource x reviewer matrix from the raw fields (numpy, no domain code)."""

    def codes(values: list) -> tuple[np.ndarray, np.ndarray]:
        table: dict = {}
        a = np.array([table.setdefault(v, len(table)) for v in values[0]])
        b = np.array([table.setdefault(v, len(table)) for v in values[1]])
        return a[:, None], b[None, :]

    def eq(f_d, f_r) -> np.ndarray:  # type: ignore[no-untyped-def]
        a, b = codes([[f_d(d) for d in demands], [f_r(r) for r in reviewers]])
        return a == b

    ok = eq(lambda d: d.level, lambda r: r.level)
    ok &= eq(lambda d: (d.stage, d.subject), lambda r: (r.stage, r.subject))
    if demands and demands[0].level == "city":
        ok &= eq(lambda d: d.city, lambda r: r.city)
    else:
        ok &= ~(
            eq(lambda d: (d.city, d.county), lambda r: (r.city, r.county))
            if policy.province_exclusion == "county"
            else eq(lambda d: d.city, lambda r: r.city)
        )
    ok &= ~eq(lambda d: (d.city, d.county, d.school), lambda r: (r.city, r.county, r.school))
    ok &= ~eq(lambda d: d.submitter_account, lambda r: r.account)
    cap = np.array([(r.cap if r.cap is not None else (policy.default_cap or 10**9)) for r in reviewers])
    load = np.array([r.load for r in reviewers])
    avail = np.array([r.active and not r.on_leave and r.stage is not None for r in reviewers]) & (load < cap)
    ok &= avail[None, :]
    col = {r.id: k for k, r in enumerate(reviewers)}
    for i, d in enumerate(demands):
        for rid in d.excluded:
            ok[i, col[rid]] = False
    for k, r in enumerate(reviewers):
        if not r.conflicts:
            continue
        for i, d in enumerate(demands):
            if d.resource_id in r.conflicts or d.submitter_account in r.conflicts or d.school in r.conflicts:
                ok[i, k] = False
    return ok


def _flow(ok: np.ndarray, needed: np.ndarray, room: np.ndarray) -> int:
    n_d, n_r = ok.shape
    s, t = 0, 1 + n_d + n_r
    di, rj = np.nonzero(ok)
    rows = np.concatenate([np.zeros(n_d, int), 1 + di, 1 + n_d + np.arange(n_r)])
    cols = np.concatenate([1 + np.arange(n_d), 1 + n_d + rj, np.full(n_r, t)])
    caps = np.concatenate([needed, np.ones(len(di), int), room]).astype(np.int32)
    g = csr_matrix((caps, (rows, cols)), shape=(t + 1, t + 1))
    return int(maximum_flow(g, s, t).flow_value)


def reference(demands: list[Demand], reviewers: list[ReviewerInfo], policy: MatchPolicy) -> dict:
    t0 = time.perf_counter()
    ok = eligibility(demands, reviewers, policy)
    needed = np.array([d.needed for d in demands])
    load = np.array([r.load for r in reviewers])
    cap = np.array([(r.cap if r.cap is not None else (policy.default_cap or 10**6)) for r in reviewers])
    room = np.clip(np.minimum(cap - load, int(needed.sum())), 0, None)
    pool = ok.any(axis=0) & (room > 0)
    flow = _flow(ok, needed, room)
    lo, hi = int(load[pool].max()), int((load + room)[pool].max())
    while lo < hi:
        mid = (lo + hi) // 2
        if _flow(ok, needed, np.clip(np.minimum(room, mid - load), 0, None)) >= flow:
            hi = mid
        else:
            lo = mid + 1
    top = lo
    spread = _spread_lp(ok, needed, load, np.clip(np.minimum(room, top - load), 0, None), flow)
    return {"flow": flow, "max_load": top, "spread": spread, "seconds": time.perf_counter() - t0}


def _spread_lp(ok: np.ndarray, needed: np.ndarray, load: np.ndarray, room: np.ndarray, flow: int) -> float:
    """min Σ_r Σ_k k·y[r,k] over the per-resource LP with exactly ``flow`` assignments."""
    di, rj = np.nonzero(ok & (room > 0)[None, :])
    nx = len(di)
    ur = np.repeat(np.arange(len(room)), room)
    uk = (
        np.concatenate([np.arange(load[r] + 1, load[r] + room[r] + 1) for r in range(len(room))])
        if len(ur)
        else np.zeros(0, int)
    )
    ny = len(ur)
    c = np.concatenate([np.zeros(nx), uk.astype(float)])
    a_ub = coo_matrix((np.ones(nx), (di, np.arange(nx))), shape=(len(needed), nx + ny))
    eq_rows = np.concatenate([rj, ur, np.full(nx, len(room))])
    eq_cols = np.concatenate([np.arange(nx), nx + np.arange(ny), np.arange(nx)])
    eq_vals = np.concatenate([np.ones(nx), -np.ones(ny), np.ones(nx)])
    a_eq = coo_matrix((eq_vals, (eq_rows, eq_cols)), shape=(len(room) + 1, nx + ny))
    b_eq = np.concatenate([np.zeros(len(room)), [flow]])
    res = linprog(c, A_ub=a_ub.tocsr(), b_ub=needed, A_eq=a_eq.tocsr(), b_eq=b_eq, bounds=(0, 1), method="highs")
    if res.status != 0:
        raise RuntimeError(res.message)
    return float(res.fun)


def spread_of(plan: Plan, reviewers: list[ReviewerInfo]) -> int:
    new: dict[str, int] = {}
    for a in plan.assignments:
        new[a.reviewer_id] = new.get(a.reviewer_id, 0) + 1
    load0 = {r.id: r.load for r in reviewers}
    return sum((load0[v] + n) * (load0[v] + n + 1) // 2 - load0[v] * (load0[v] + 1) // 2 for v, n in new.items())


def run(label: str, n_res: int, n_rev: int, level: str, needed: int, runs: int, seed: int) -> bool:
    demands, reviewers = instance(n_res, n_rev, level, needed, seed)
    policy = MatchPolicy(default_cap=80)
    times, plan = [], None
    for _ in range(runs):
        t0 = time.perf_counter()
        plan = plan_assignments(demands, reviewers, policy)
        times.append(time.perf_counter() - t0)
    assert plan is not None
    t0 = time.perf_counter()
    violations = check_plan(plan, demands, reviewers, policy)
    check_s = time.perf_counter() - t0
    ref = reference(demands, reviewers, policy)
    mine = spread_of(plan, reviewers)
    gap = (mine - ref["spread"]) / ref["spread"] if ref["spread"] else 0.0
    solve = statistics.median(times)
    print(f"\n== {label}: {n_res} resources x {n_rev} reviewers, {needed} per resource ==")
    print(f"solve (median of {runs}): {solve:.3f} s   runs: {', '.join(f'{t:.3f}' for t in times)}   ceiling 2 s")
    print(
        f"assignments {len(plan.assignments)} of {sum(d.needed for d in demands)}; uncovered resources "
        f"{len(plan.uncovered)} ({plan.missing} reviewer slots); pool {len(plan.pool)} reviewers"
    )
    print(f"largest load {plan.max_load}, mean load {plan.mean_load:.2f}")
    print(
        f"reference (independent, {ref['seconds']:.1f} s): coverage {ref['flow']}, least largest load "
        f"{ref['max_load']}, least spread Σ(k) {ref['spread']:.0f}"
    )
    print(
        f"matcher:  coverage {len(plan.assignments)}, largest load {plan.max_load}, spread Σ(k) {mine}  "
        f"→ gap {gap * 100:.3f}% (target ≤ 0.5%)"
    )
    print(
        f"checker violations: {len(violations)} ({check_s:.1f} s)" + (f"  first: {violations[0]}" if violations else "")
    )
    for line in plan.explain(demands, reviewers)[:5]:
        print("  ", line)
    ok = (
        solve < 2
        and not violations
        and len(plan.assignments) == ref["flow"]
        and plan.max_load == ref["max_load"]
        and gap <= 0.005
    )
    print("RESULT:", "met" if ok else "MISSED")
    return ok


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--resources", type=int, default=10_000)
    ap.add_argument("--reviewers", type=int, default=500)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--level", choices=["province", "city", "both"], default="both")
    args = ap.parse_args()
    ok = True
    if args.level in ("province", "both"):
        ok &= run("province level", args.resources, args.reviewers, "province", 2, args.runs, args.seed)
    if args.level in ("city", "both"):
        ok &= run("city level", args.resources, args.reviewers, "city", 1, args.runs, args.seed + 1)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
