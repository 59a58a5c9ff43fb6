"""The hard rules of one (demand, reviewer) pair, and the pools the solver draws from.

``eligible`` is the one definition of the rules. ``Pools`` answers the same question for a
whole demand at once: the reviewers of its pool (same level and territory, 学段 and 学科, active,
not on leave, below the cap) minus the few that a per-demand rule excludes. The candidates for
exclusion are gathered through indexes (account, school, region, declared conflicts, excluded
ids) and each is then judged by ``eligible`` itself, so the two can never disagree.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from .model import LEVEL_CITY, LEVEL_COUNTY, LEVEL_PROVINCE, LEVEL_SCHOOL, Demand, MatchPolicy, ReviewerInfo
from .subjects import canonical_stage, canonical_subject

# reason codes, in the order eligible() tests them
R_LEVEL, R_TERRITORY = "level", "territory"  # serves another level / another city (not explained)
R_NO_STAGE_SUBJECT = "no_stage_subject"
R_STAGE, R_SUBJECT = "stage", "subject"  # another 学段 / 学科 (not explained)
R_INACTIVE, R_ON_LEAVE, R_CAP = "inactive", "on_leave", "cap"
R_EXCLUDED, R_SUBMITTER, R_SAME_SCHOOL = "excluded", "submitter", "same_school"
R_SAME_COUNTY, R_SAME_CITY, R_CONFLICT = "same_county", "same_city", "conflict"
R_ASSIGNED = "assigned"  # already on this resource in the plan (explain only)
SILENT_REASONS = frozenset({R_LEVEL, R_TERRITORY, R_STAGE, R_SUBJECT})


def norm(text: str | None) -> str | None:
    """Names compared after NFKC and without surrounding/inner spaces; empty → None."""
    if text is None:
        return None
    s = "".join(unicodedata.normalize("NFKC", str(text)).split())
    return s or None


Norm = Callable[[str | None], str | None]


class NormMemo:
    """``norm`` with a memo, for one run over many demands (names repeat a lot)."""

    def __init__(self) -> None:
        self._memo: dict[str | None, str | None] = {}

    def __call__(self, text: str | None) -> str | None:
        try:
            return self._memo[text]
        except KeyError:
            out = self._memo[text] = norm(text)
            return out


def territory(level: str, city: str | None, county: str | None, school: str | None) -> tuple:
    """What a level's pool is bounded by: city level the city, county level the county, …"""
    if level == LEVEL_CITY:
        return (norm(city),)
    if level == LEVEL_COUNTY:
        return (norm(city), norm(county))
    if level == LEVEL_SCHOOL:
        return (norm(city), norm(county), norm(school))
    return ()


def same_school(demand: Demand, reviewer: ReviewerInfo, norm: Norm = norm) -> bool:
    """Same school name, unless both cities (or both counties) are known and differ."""
    a, b = norm(demand.school), norm(reviewer.school)
    if a is None or a != b:
        return False
    for x, y in ((demand.city, reviewer.city), (demand.county, reviewer.county)):
        if norm(x) is not None and norm(y) is not None and norm(x) != norm(y):
            return False
    return True


def same_region(demand: Demand, reviewer: ReviewerInfo, policy: MatchPolicy, norm: Norm = norm) -> str | None:
    """At province level: R_SAME_COUNTY / R_SAME_CITY when the reviewer is from the submitter's area."""
    dc, rc = norm(demand.city), norm(reviewer.city)
    dk, rk = norm(demand.county), norm(reviewer.county)
    if policy.province_exclusion == "city":
        if dc is not None and dc == rc:
            return R_SAME_CITY
        return R_SAME_CITY if rc is None and dk is not None and dk == rk else None
    if dk is not None and rk is not None:
        if dk == rk and (dc is None or rc is None or dc == rc):
            return R_SAME_COUNTY
        return None
    # a county unknown on either side: the whole city is kept out
    return R_SAME_CITY if dc is not None and dc == rc else None


def conflict(demand: Demand, reviewer: ReviewerInfo, norm: Norm = norm) -> bool:
    if not reviewer.conflicts:
        return False
    if demand.resource_id in reviewer.conflicts:
        return True
    if demand.submitter_account is not None and demand.submitter_account in reviewer.conflicts:
        return True
    school = norm(demand.school)
    return school is not None and any(norm(c) == school for c in reviewer.conflicts)


def eligible(demand: Demand, reviewer: ReviewerInfo, policy: MatchPolicy) -> str | None:
    """None when ``reviewer`` may review ``demand``'s resource, else the first rule's reason code."""
    if reviewer.level != demand.level:
        return R_LEVEL
    if territory(demand.level, reviewer.city, reviewer.county, reviewer.school) != territory(
        demand.level, demand.city, demand.county, demand.school
    ):
        return R_TERRITORY
    r_stage, r_subject = canonical_stage(reviewer.stage), canonical_subject(reviewer.subject, policy.subject_synonyms)
    if r_stage is None or r_subject is None:
        return R_NO_STAGE_SUBJECT
    if r_stage != canonical_stage(demand.stage):
        return R_STAGE
    if r_subject != canonical_subject(demand.subject, policy.subject_synonyms):
        return R_SUBJECT
    return _personal(demand, reviewer, policy)


def _personal(demand: Demand, reviewer: ReviewerInfo, policy: MatchPolicy, norm: Norm = norm) -> str | None:
    """The rules after level, territory, 学段 and 学科."""
    if not reviewer.active:
        return R_INACTIVE
    if reviewer.on_leave:
        return R_ON_LEAVE
    cap = policy.cap_of(reviewer)
    if cap is not None and reviewer.load >= cap:
        return R_CAP
    if reviewer.id in demand.excluded:
        return R_EXCLUDED
    if demand.submitter_account is not None and reviewer.account == demand.submitter_account:
        return R_SUBMITTER
    if demand.level != LEVEL_SCHOOL and same_school(demand, reviewer, norm):
        return R_SAME_SCHOOL
    if demand.level == LEVEL_PROVINCE or demand.level not in (LEVEL_CITY, LEVEL_COUNTY, LEVEL_SCHOOL):
        region = same_region(demand, reviewer, policy, norm)
        if region is not None:
            return region
    if conflict(demand, reviewer, norm):
        return R_CONFLICT
    return None


@dataclass(frozen=True)
class PoolKey:
    level: str
    territory: tuple
    stage: str
    subject: str


class Pools:
    """Reviewers by pool, and indexes of the reviewers a per-demand rule may exclude."""

    def __init__(self, reviewers: Sequence[ReviewerInfo], policy: MatchPolicy) -> None:
        self.policy = policy
        self.norm = NormMemo()
        self.reviewers = {r.id: r for r in reviewers}
        if len(self.reviewers) != len(reviewers):
            raise ValueError("reviewer ids must be unique")
        self.members: dict[PoolKey, frozenset[str]] = {}
        self._keys: dict[tuple, PoolKey | bool | None] = {}
        groups: dict[PoolKey, list[str]] = {}
        self.by_account: dict[str, list[str]] = {}
        self.by_school: dict[str, list[str]] = {}
        self.by_city: dict[tuple[PoolKey, str | None], list[str]] = {}  # per pool: region candidates
        self.by_county: dict[tuple[PoolKey, str | None], list[str]] = {}
        self.by_token: dict[str, list[str]] = {}
        syn = policy.subject_synonyms
        for r in reviewers:
            stage, subject = canonical_stage(r.stage), canonical_subject(r.subject, syn)
            cap = policy.cap_of(r)
            if stage is None or subject is None or not r.active or r.on_leave or (cap is not None and r.load >= cap):
                continue
            key = PoolKey(r.level, territory(r.level, r.city, r.county, r.school), stage, subject)
            groups.setdefault(key, []).append(r.id)
            if r.account is not None:
                self.by_account.setdefault(r.account, []).append(r.id)
            if norm(r.school) is not None:
                self.by_school.setdefault(norm(r.school), []).append(r.id)  # type: ignore[arg-type]
            self.by_city.setdefault((key, norm(r.city)), []).append(r.id)
            if norm(r.county) is not None:
                self.by_county.setdefault((key, norm(r.county)), []).append(r.id)
            for token in r.conflicts:
                self.by_token.setdefault(token, []).append(r.id)
                if norm(token) is not None and norm(token) != token:
                    self.by_token.setdefault(norm(token), []).append(r.id)  # type: ignore[arg-type]
        self.members = {k: frozenset(v) for k, v in groups.items()}

    def key_of(self, d: Demand) -> PoolKey | None:
        memo = (
            (d.level, d.stage, d.subject, d.city, d.county, d.school)
            if d.level != LEVEL_PROVINCE
            else (d.level, d.stage, d.subject)
        )
        key = self._keys.get(memo, False)
        if key is False:
            stage = canonical_stage(d.stage)
            subject = canonical_subject(d.subject, self.policy.subject_synonyms)
            key = (
                None
                if stage is None or subject is None
                else PoolKey(d.level, territory(d.level, d.city, d.county, d.school), stage, subject)
            )
            self._keys[memo] = key
        return key  # type: ignore[return-value]

    def _candidates(self, d: Demand, key: PoolKey) -> Iterable[str]:
        yield from d.excluded
        if d.submitter_account is not None:
            yield from self.by_account.get(d.submitter_account, ())
            yield from self.by_token.get(d.submitter_account, ())
        yield from self.by_token.get(d.resource_id, ())
        school = self.norm(d.school)
        if school is not None:
            yield from self.by_school.get(school, ())
            yield from self.by_token.get(school, ())
        if d.level not in (LEVEL_CITY, LEVEL_COUNTY, LEVEL_SCHOOL):
            yield from self.by_city.get((key, self.norm(d.city)), ())
            yield from self.by_city.get((key, None), ())
            if self.norm(d.county) is not None:
                yield from self.by_county.get((key, self.norm(d.county)), ())

    def split(self, d: Demand) -> tuple[PoolKey | None, frozenset[str]]:
        """The demand's pool and the members of it that a per-demand rule excludes."""
        key = self.key_of(d)
        members = self.members.get(key, frozenset()) if key is not None else frozenset()
        if not members:
            return key, frozenset()
        out = {
            rid
            for rid in set(self._candidates(d, key)) & members  # type: ignore[arg-type]
            if _personal(d, self.reviewers[rid], self.policy, self.norm) is not None
        }
        return key, frozenset(out)
