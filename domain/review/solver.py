"""The assignment as a min-cost flow over demand classes (OR-Tools' network solvers).

Graph: source → class (capacity k·d) → reviewer (capacity k) → sink. A class groups the k
resources that need the same number d of reviewers and have the same set of eligible reviewers
(same pool and the same per-resource exclusions). Capacity k on class → reviewer is exactly "at
most once per resource": a class flow with f_r ≤ k for every reviewer is split over the class's
resources round robin (reviewer r's f_r units are consecutive positions, position p goes to
resource p mod k), which gives each resource distinct reviewers and at most d of them. So the
grouped graph has the same feasible assignments as the per-resource one, only smaller.

Objective, lexicographic:
1. coverage: the maximum flow F (``SimpleMaxFlow``);
2. the largest total load over the pool: the least L (not below the largest existing load) with
   max flow F when no reviewer may pass L (binary search);
3. even spread: reviewer → sink is one unit arc per extra task; the task that brings the
   reviewer to total load k costs k·M, so a reviewer's cost is convex and the min-cost flow
   minimises Σ load² exactly;
4. on-time record: + t_r per task, t_r = round(100·(1 − on_time_rate)); M = 100·F + 1 makes
   step 3 strictly dominate step 4.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from ortools.graph.python import max_flow, min_cost_flow

from .model import Assignment, Demand, MatchPolicy, ReviewerInfo
from .rules import PoolKey, Pools

TIE_STEPS = 100
_COST_LIMIT = 2**60


@dataclass
class DemandClass:
    key: tuple
    needed: int
    reviewers: tuple[int, ...]  # indexes into Graph.reviewer_ids
    demands: list[Demand] = field(default_factory=list)


@dataclass
class Graph:
    classes: list[DemandClass]
    reviewer_ids: list[str]
    loads: np.ndarray  # existing load per graph reviewer
    room: np.ndarray  # how many more tasks the cap allows (a large number when uncapped)
    ties: np.ndarray  # tie-break cost per task
    empty: list[Demand]  # demands nobody can take


def build_graph(demands: Sequence[Demand], reviewers: Sequence[ReviewerInfo], policy: MatchPolicy) -> Graph:
    pools = Pools(reviewers, policy)
    by_key: dict[tuple[PoolKey, int, frozenset[str]], DemandClass] = {}
    index: dict[str, int] = {}
    empty: list[Demand] = []
    sorted_members: dict[PoolKey, list[str]] = {}
    for d in demands:
        if d.needed <= 0:
            continue
        key, out = pools.split(d)
        members = pools.members.get(key) if key is not None else None
        if key is None or not members or len(members) == len(out):
            empty.append(d)
            continue
        ck = (key, d.needed, out)
        cls = by_key.get(ck)
        if cls is None:
            if key not in sorted_members:
                sorted_members[key] = sorted(members)
            ids = [rid for rid in sorted_members[key] if rid not in out]
            cls = DemandClass(ck, d.needed, tuple(index.setdefault(rid, len(index)) for rid in ids))
            by_key[ck] = cls
        cls.demands.append(d)
    total = sum(d.needed for d in demands if d.needed > 0)
    rids = list(index)
    loads = np.array([pools.reviewers[r].load for r in rids], dtype=np.int64)
    room = np.empty(len(rids), dtype=np.int64)
    ties = np.empty(len(rids), dtype=np.int64)
    for i, rid in enumerate(rids):
        r = pools.reviewers[rid]
        cap = policy.cap_of(r)
        room[i] = total if cap is None else max(0, min(total, cap - r.load))
        ties[i] = round(TIE_STEPS * (1.0 - min(1.0, max(0.0, float(r.on_time_rate)))))
    return Graph(list(by_key.values()), rids, loads, room, ties, empty)


class _Arcs:
    """The fixed part of the graph as arrays: source → class and class → reviewer."""

    def __init__(self, g: Graph) -> None:
        nc, nr = len(g.classes), len(g.reviewer_ids)
        self.source, self.sink = 0, 1
        self.class0, self.rev0 = 2, 2 + nc
        tails, heads, caps = [], [], []
        for ci, c in enumerate(g.classes):
            k = len(c.demands)
            tails.append(self.source)
            heads.append(self.class0 + ci)
            caps.append(k * c.needed)
        self.class_arc: list[tuple[int, int, int]] = []  # (class index, graph reviewer, arc index)
        for ci, c in enumerate(g.classes):
            k = len(c.demands)
            for ri in c.reviewers:
                self.class_arc.append((ci, ri, len(tails)))
                tails.append(self.class0 + ci)
                heads.append(self.rev0 + ri)
                caps.append(k)
        self.tails = np.array(tails, dtype=np.int32)
        self.heads = np.array(heads, dtype=np.int32)
        self.caps = np.array(caps, dtype=np.int64)
        self.rev_nodes = np.arange(self.rev0, self.rev0 + nr, dtype=np.int32)
        self.num_nodes = self.rev0 + nr


def _max_flow(arcs: _Arcs, g: Graph, limit: int | None) -> int:
    room = g.room if limit is None else np.clip(np.minimum(g.room, limit - g.loads), 0, None)
    mf = max_flow.SimpleMaxFlow()
    mf.add_arcs_with_capacity(arcs.tails, arcs.heads, arcs.caps)
    mf.add_arcs_with_capacity(arcs.rev_nodes, np.full(len(room), arcs.sink, dtype=np.int32), room.astype(np.int64))
    if mf.solve(arcs.source, arcs.sink) != mf.OPTIMAL:
        raise RuntimeError("max flow failed")
    return int(mf.optimal_flow())


def least_max_load(arcs: _Arcs, g: Graph, flow: int) -> int:
    """The least L such that the maximum flow is still ``flow`` when no total load passes L.

    L never goes below the pool's largest existing load: that is the plan's largest load anyway,
    and a tighter bound would only spoil the spread (step 3) for nothing.
    """
    lo = int(g.loads.max())  # the pool's largest load can only grow
    hi = int((g.loads + g.room).max())
    while lo < hi:
        mid = (lo + hi) // 2
        if _max_flow(arcs, g, mid) >= flow:
            hi = mid
        else:
            lo = mid + 1
    return lo


def _min_cost(arcs: _Arcs, g: Graph, flow: int, limit: int) -> dict[tuple[int, int], int]:
    tie_steps = TIE_STEPS
    big = flow * tie_steps + 1
    while tie_steps and limit * big * (arcs.num_nodes + 1) > _COST_LIMIT:
        tie_steps //= 10
        big = flow * tie_steps + 1
    ties = g.ties * tie_steps // TIE_STEPS
    top = np.minimum(g.loads + g.room, limit)  # highest total load per reviewer
    counts = np.clip(top - g.loads, 0, None)
    rev = np.repeat(np.arange(len(counts)), counts)
    starts = np.repeat(g.loads, counts)
    offsets = np.arange(len(rev)) - np.repeat(np.cumsum(counts) - counts, counts)
    k = starts + offsets + 1  # the total load this unit brings
    mcf = min_cost_flow.SimpleMinCostFlow()
    mcf.add_arcs_with_capacity_and_unit_cost(arcs.tails, arcs.heads, arcs.caps, np.zeros(len(arcs.tails), np.int64))
    mcf.add_arcs_with_capacity_and_unit_cost(
        (arcs.rev0 + rev).astype(np.int32),
        np.full(len(rev), arcs.sink, dtype=np.int32),
        np.ones(len(rev), dtype=np.int64),
        (k * big + ties[rev]).astype(np.int64),
    )
    supplies = np.zeros(arcs.num_nodes, dtype=np.int64)
    supplies[arcs.source], supplies[arcs.sink] = flow, -flow
    mcf.set_nodes_supplies(np.arange(arcs.num_nodes, dtype=np.int32), supplies)
    status = mcf.solve()
    if status != mcf.OPTIMAL:
        raise RuntimeError(f"min cost flow failed: {status}")
    idx = np.array([a for _, _, a in arcs.class_arc], dtype=np.int32)
    flows = mcf.flows(idx) if len(idx) else np.zeros(0, dtype=np.int64)
    return {(ci, ri): int(f) for (ci, ri, _), f in zip(arcs.class_arc, flows, strict=True) if f}


def _split(g: Graph, flows: dict[tuple[int, int], int]) -> tuple[list[Assignment], dict[str, int]]:
    """Each class's flow to its resources, round robin (see the module docstring)."""
    assignments: list[Assignment] = []
    got: dict[str, int] = {}
    per_class: dict[int, list[tuple[int, int]]] = {}
    for (ci, ri), f in sorted(flows.items()):
        per_class.setdefault(ci, []).append((ri, f))
    for ci, units in per_class.items():
        c = g.classes[ci]
        k = len(c.demands)
        p = 0
        for ri, f in units:
            for _ in range(f):
                d = c.demands[p % k]
                assignments.append(Assignment(d.resource_id, g.reviewer_ids[ri]))
                got[d.resource_id] = got.get(d.resource_id, 0) + 1
                p += 1
    return assignments, got


def solve(
    demands: Sequence[Demand], reviewers: Sequence[ReviewerInfo], policy: MatchPolicy
) -> tuple[list[Assignment], dict[str, int], Graph]:
    """The optimal assignments, the number each resource got, and the graph (for the plan's figures)."""
    g = build_graph(demands, reviewers, policy)
    if not g.classes:
        return [], {}, g
    arcs = _Arcs(g)
    flow = _max_flow(arcs, g, None)
    if flow == 0:
        return [], {}, g
    limit = least_max_load(arcs, g, flow)
    flows = _min_cost(arcs, g, flow, limit)
    assignments, got = _split(g, flows)
    return assignments, got, g
