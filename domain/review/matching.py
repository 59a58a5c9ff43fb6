"""Matching resources to reviewers and the balanced assignment (pure: no SQL, DingTalk, Jinja, clock).

Hard rules (``eligible``): the reviewer serves the demand's level (city level: the submitter's
own city; province level: provincial reviewers), has the resource's 学段 and 学科 on file
(synonyms as data: domain/data/subject_synonyms.yaml), is active and not on leave, is below the
cap, was not excluded for this resource (already assigned, declined, timed out), is not the
submitter, not from the submitter's school, at province level not from the submitter's county
(the policy can widen this to the city), and declared no conflict (/回避) with the submitter's
account, the school or the resource. One reviewer at most once per resource.

Objective, lexicographic: cover every demand, then the least largest load, then the most even
spread (Σ load²), then the better on-time record. ``plan_assignments`` solves it as a min-cost
flow over demand classes (domain/review/solver.py); ``check_plan`` (domain/review/check.py) is an
independent checker of every rule; ``Plan.explain`` says in Chinese why demand is uncovered.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict

from .check import check_plan
from .model import (
    LEVEL_CITY,
    LEVEL_COUNTY,
    LEVEL_PROVINCE,
    LEVEL_SCHOOL,
    Assignment,
    Demand,
    MatchPolicy,
    Plan,
    ReviewerInfo,
    Uncovered,
)
from .rules import R_ASSIGNED, R_CAP, SILENT_REASONS, eligible, territory
from .subjects import canonical_stage, canonical_subject

R_BUSY = "busy"  # eligible, below the cap, not on this resource — cannot happen in a maximum flow

__all__ = [
    "LEVEL_CITY",
    "LEVEL_COUNTY",
    "LEVEL_PROVINCE",
    "LEVEL_SCHOOL",
    "Assignment",
    "Demand",
    "MatchPolicy",
    "Plan",
    "ReviewerInfo",
    "Uncovered",
    "check_plan",
    "eligible",
    "fingerprint",
    "plan_assignments",
]


def plan_assignments(demands: Sequence[Demand], reviewers: Sequence[ReviewerInfo], policy: MatchPolicy) -> Plan:
    """The optimal plan for ``demands`` (one per resource id) over ``reviewers``."""
    ids = [d.resource_id for d in demands]
    if len(set(ids)) != len(ids):
        raise ValueError("one demand per resource id")
    ordered = sorted(demands, key=lambda d: d.resource_id)
    from .solver import solve  # OR-Tools and numpy load on the first plan, not at the bot's start-up

    assignments, got, graph = solve(ordered, reviewers, policy)
    new: dict[str, int] = {}
    for a in assignments:
        new[a.reviewer_id] = new.get(a.reviewer_id, 0) + 1
    loads = {r.id: r.load + new.get(r.id, 0) for r in reviewers}
    pool = tuple(sorted(graph.reviewer_ids))
    pool_loads = [loads[r] for r in pool]
    assigned_to: dict[str, set[str]] = {}
    for a in assignments:
        assigned_to.setdefault(a.resource_id, set()).add(a.reviewer_id)
    uncovered = _uncovered(ordered, reviewers, policy, got, loads, assigned_to)
    return Plan(
        assignments=tuple(assignments),
        uncovered=uncovered,
        loads=loads,
        max_load=max(pool_loads, default=0),
        mean_load=(sum(pool_loads) / len(pool_loads)) if pool_loads else 0.0,
        pool=pool,
    )


def _uncovered(
    demands: Sequence[Demand],
    reviewers: Sequence[ReviewerInfo],
    policy: MatchPolicy,
    got: dict[str, int],
    loads: dict[str, int],
    assigned_to: dict[str, set[str]],
) -> tuple[Uncovered, ...]:
    """Why each demand short of reviewers is short: reviewers of its pool, counted by reason."""
    short = [d for d in demands if d.needed > 0 and got.get(d.resource_id, 0) < d.needed]
    if not short:
        return ()
    syn = policy.subject_synonyms
    relevant: dict[tuple, list[ReviewerInfo]] = {}
    for r in reviewers:
        stage, subject = canonical_stage(r.stage), canonical_subject(r.subject, syn)
        where = (r.level, territory(r.level, r.city, r.county, r.school))
        relevant.setdefault((*where, stage, subject) if stage and subject else (*where, None), []).append(r)
    out = []
    for d in short:
        where = (d.level, territory(d.level, d.city, d.county, d.school))
        stage, subject = canonical_stage(d.stage), canonical_subject(d.subject, syn)
        by_reason: dict[str, list[str]] = {}
        unfiled = [r for r in relevant.get((*where, None), []) if _could_be(r, stage, subject, syn)]
        for r in relevant.get((*where, stage, subject), []) + unfiled:
            reason = eligible(d, r, policy)
            if reason in SILENT_REASONS:
                continue
            if reason is None:
                cap = policy.cap_of(r)
                if r.id in assigned_to.get(d.resource_id, ()):
                    reason = R_ASSIGNED
                elif cap is not None and loads[r.id] >= cap:
                    reason = R_CAP
                else:
                    reason = R_BUSY
            by_reason.setdefault(reason, []).append(r.id)
        out.append(
            Uncovered(
                d.resource_id,
                d.needed - got.get(d.resource_id, 0),
                {k: len(v) for k, v in by_reason.items()},
                {k: tuple(sorted(v)) for k, v in by_reason.items()},
            )
        )
    return tuple(out)


def _could_be(r: ReviewerInfo, stage: str | None, subject: str | None, syn: Mapping[str, str]) -> bool:
    """A reviewer missing 学段 or 学科 whose other field does not rule this demand out."""
    r_stage, r_subject = canonical_stage(r.stage), canonical_subject(r.subject, syn)
    return (r_stage is None or r_stage == stage) and (r_subject is None or r_subject == subject)


def _row(obj: object) -> dict:
    row = asdict(obj)  # type: ignore[call-overload]
    return {k: sorted(v) if isinstance(v, frozenset) else v for k, v in row.items()}


def fingerprint(demands: Sequence[Demand], reviewers: Sequence[ReviewerInfo], policy: MatchPolicy | None = None) -> str:
    """A stable hash of the inputs (order-independent), so a confirmation can refuse changed data."""
    data: dict[str, object] = {
        "demands": sorted((_row(d) for d in demands), key=lambda x: x["resource_id"]),
        "reviewers": sorted((_row(r) for r in reviewers), key=lambda x: x["id"]),
    }
    if policy is not None:
        data["policy"] = {
            "province_exclusion": policy.province_exclusion,
            "default_cap": policy.default_cap,
            "subject_synonyms": sorted(policy.subject_synonyms.items()),
        }
    blob = json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:32]
