"""An independent checker of a plan: every hard rule, the accounting, the caps.

Written apart from domain/review/rules.py on purpose (it shares only the 学段/学科 spelling
tables), so a mistake in the matcher's rules or indexes shows up as a violation here.
"""

from __future__ import annotations

import unicodedata
from collections import Counter
from collections.abc import Sequence

from .model import Demand, MatchPolicy, Plan, ReviewerInfo
from .subjects import canonical_stage, canonical_subject


def _n(s: str | None) -> str:
    return "".join(unicodedata.normalize("NFKC", s).split()) if s else ""


def _known_differ(a: str | None, b: str | None) -> bool:
    return bool(_n(a)) and bool(_n(b)) and _n(a) != _n(b)


def pair_problems(d: Demand, r: ReviewerInfo, policy: MatchPolicy) -> list[str]:
    """Every hard rule that forbids ``r`` on ``d`` (the cap is checked on the totals)."""
    bad = []
    syn = policy.subject_synonyms
    if r.level != d.level:
        bad.append("level")
    elif d.level == "city" and _n(r.city) != _n(d.city):
        bad.append("other city")
    elif d.level == "county" and (_n(r.city), _n(r.county)) != (_n(d.city), _n(d.county)):
        bad.append("other county")
    elif d.level == "school" and (_n(r.city), _n(r.county), _n(r.school)) != (_n(d.city), _n(d.county), _n(d.school)):
        bad.append("other school")
    rs, rj = canonical_stage(r.stage), canonical_subject(r.subject, syn)
    if rs is None or rj is None:
        bad.append("no stage/subject on file")
    elif rs != canonical_stage(d.stage) or rj != canonical_subject(d.subject, syn):
        bad.append("stage/subject")
    if not r.active:
        bad.append("inactive")
    if r.on_leave:
        bad.append("on leave")
    if r.id in d.excluded:
        bad.append("excluded")
    if d.submitter_account and r.account == d.submitter_account:
        bad.append("submitter")
    if (
        d.level != "school"
        and _n(d.school)
        and _n(d.school) == _n(r.school)
        and not _known_differ(d.city, r.city)
        and not _known_differ(d.county, r.county)
    ):
        bad.append("same school")
    if d.level not in ("city", "county", "school"):
        if _province_area(d, r, policy):
            bad.append("submitter's area")
    conflicts = {_n(c) for c in r.conflicts} | set(r.conflicts)
    if (
        d.resource_id in r.conflicts
        or (d.submitter_account and d.submitter_account in r.conflicts)
        or (_n(d.school) and _n(d.school) in conflicts)
    ):
        bad.append("declared conflict")
    return bad


def _province_area(d: Demand, r: ReviewerInfo, policy: MatchPolicy) -> bool:
    same_city = bool(_n(d.city)) and _n(d.city) == _n(r.city)
    same_county = bool(_n(d.county)) and _n(d.county) == _n(r.county)
    if policy.province_exclusion == "city":
        return same_city or (not _n(r.city) and same_county)
    if _n(d.county) and _n(r.county):
        return same_county and not _known_differ(d.city, r.city)
    return same_city


def check_plan(
    plan: Plan, demands: Sequence[Demand], reviewers: Sequence[ReviewerInfo], policy: MatchPolicy
) -> list[str]:
    """Violations of ``plan`` (empty when it keeps every rule and its accounting is right)."""
    out: list[str] = []
    dem = {d.resource_id: d for d in demands}
    rev = {r.id: r for r in reviewers}
    pairs = Counter((a.resource_id, a.reviewer_id) for a in plan.assignments)
    per_resource: Counter[str] = Counter()
    new: Counter[str] = Counter()
    for (rid, vid), n in pairs.items():
        if n > 1:
            out.append(f"{rid}: reviewer {vid} assigned {n} times")
        d, r = dem.get(rid), rev.get(vid)
        if d is None or r is None:
            out.append(f"{rid}/{vid}: unknown resource or reviewer")
            continue
        per_resource[rid] += n
        new[vid] += n
        out.extend(f"{rid}: reviewer {vid} breaks '{p}'" for p in pair_problems(d, r, policy))
    for r in reviewers:
        cap = policy.cap_of(r)
        if new[r.id] and cap is not None and r.load + new[r.id] > cap:
            out.append(f"reviewer {r.id}: load {r.load + new[r.id]} over cap {cap}")
        if plan.loads.get(r.id) != r.load + new[r.id]:
            out.append(f"reviewer {r.id}: plan says load {plan.loads.get(r.id)}, is {r.load + new[r.id]}")
    out.extend(_accounting(plan, demands, rev, per_resource, new, policy))
    return out


def _accounting(
    plan: Plan,
    demands: Sequence[Demand],
    rev: dict[str, ReviewerInfo],
    per_resource: Counter[str],
    new: Counter[str],
    policy: MatchPolicy,
) -> list[str]:
    out = []
    missing = {u.resource_id: u.missing for u in plan.uncovered}
    on: dict[str, set[str]] = {}
    for a in plan.assignments:
        on.setdefault(a.resource_id, set()).add(a.reviewer_id)
    for d in demands:
        want = max(0, d.needed)
        if per_resource[d.resource_id] > want:
            out.append(f"{d.resource_id}: {per_resource[d.resource_id]} reviewers for {want} needed")
        short = want - per_resource[d.resource_id]
        if short > 0 and missing.get(d.resource_id) != short:
            out.append(f"{d.resource_id}: {short} missing, plan says {missing.get(d.resource_id, 0)}")
        if short <= 0 and d.resource_id in missing:
            out.append(f"{d.resource_id}: covered but listed as uncovered")
        if short > 0:
            for r in rev.values():
                cap = policy.cap_of(r)
                if (
                    r.id not in on.get(d.resource_id, ())
                    and (cap is None or r.load + new[r.id] < cap)
                    and not pair_problems(d, r, policy)
                ):
                    out.append(f"{d.resource_id}: uncovered although reviewer {r.id} is free")
                    break
    if plan.pool:
        pool = set(plan.pool)
        loads = [r_load for rid, r_load in plan.loads.items() if rid in pool]
        if loads and plan.max_load != max(loads):
            out.append(f"max_load {plan.max_load} is not the pool's largest load {max(loads)}")
    return out
