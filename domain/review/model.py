"""The matcher's inputs and its plan (plain, frozen dataclasses; pure)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType

from .subjects import default_subject_synonyms, normalise_synonyms

LEVEL_CITY, LEVEL_PROVINCE, LEVEL_COUNTY, LEVEL_SCHOOL = "city", "province", "county", "school"


@dataclass(frozen=True)
class ReviewerInfo:
    id: str  # staff id
    name: str
    stage: str | None  # 学段; None = not on file → never matched (explained)
    subject: str | None  # 学科; None = not on file
    city: str | None
    county: str | None
    school: str | None
    account: str | None  # platform account (to recognise the submitter); compared exactly
    level: str  # "city" or "province" (or "county", "school"): the level's pool served
    active: bool = True
    on_leave: bool = False  # computed by the caller for the assignment date
    load: int = 0  # open tasks already held (counts toward cap and balance)
    cap: int | None = None  # per-reviewer cap on the total load (None: policy default)
    on_time_rate: float = 1.0  # 0..1, the better record is preferred as the last tie-break
    conflicts: frozenset[str] = frozenset()  # declared conflicts (/回避): accounts, schools or resource ids


@dataclass(frozen=True)
class Demand:
    resource_id: str
    title: str
    stage: str
    subject: str
    level: str  # "city" | "province" (also "county", "school" if configured)
    city: str  # submitter's city
    county: str | None
    school: str | None
    submitter_account: str | None
    needed: int  # reviewers still needed for this resource at this level
    excluded: frozenset[str] = frozenset()  # reviewer ids never to pick (assigned, declined, timed out)


@dataclass(frozen=True)
class MatchPolicy:
    """Settings of one assignment run.

    ``province_exclusion``: at province level a reviewer is never from the submitter's county
    ("county"; when either county is unknown, the whole city) or city ("city").
    ``default_cap``: the cap of a reviewer whose own ``cap`` is None (None: no cap).
    ``subject_synonyms``: spelling → canonical subject (keys normalised on construction).
    Level "city": the submitter's own city's reviewers of level "city"; "county": the submitter's
    county's; "school": the submitter's school's (the same-school rule does not apply there);
    "province" and any other level: every reviewer of that level.
    """

    province_exclusion: str = "county"
    default_cap: int | None = None
    subject_synonyms: Mapping[str, str] = field(default_factory=default_subject_synonyms)

    def __post_init__(self) -> None:
        if self.province_exclusion not in ("county", "city"):
            raise ValueError("province_exclusion must be 'county' or 'city'")
        if self.default_cap is not None and self.default_cap < 0:
            raise ValueError("default_cap must be >= 0")
        if not isinstance(self.subject_synonyms, MappingProxyType):
            object.__setattr__(self, "subject_synonyms", normalise_synonyms(self.subject_synonyms))

    def cap_of(self, reviewer: ReviewerInfo) -> int | None:
        return reviewer.cap if reviewer.cap is not None else self.default_cap

    def __hash__(self) -> int:
        return hash((self.province_exclusion, self.default_cap, tuple(sorted(self.subject_synonyms.items()))))


@dataclass(frozen=True)
class Assignment:
    resource_id: str
    reviewer_id: str


@dataclass(frozen=True)
class Uncovered:
    resource_id: str
    missing: int
    reasons: Mapping[str, int]  # reason code → count of reviewers excluded by it
    reviewers_by_reason: Mapping[str, tuple[str, ...]] = field(default_factory=dict, compare=False)


@dataclass(frozen=True)
class Plan:
    assignments: tuple[Assignment, ...]
    uncovered: tuple[Uncovered, ...]
    loads: Mapping[str, int]  # reviewer id → total load after the plan (existing + new)
    max_load: int  # over the pool: reviewers eligible for at least one demand
    mean_load: float  # over the same pool
    pool: tuple[str, ...] = ()  # the reviewers max_load and mean_load are taken over

    def explain(self, demands: Sequence[Demand], reviewers: Sequence[ReviewerInfo]) -> list[str]:
        """Chinese lines a person can act on, one per stage·subject (city) with uncovered demand."""
        from .explain import explain_plan

        return explain_plan(self, demands, reviewers)

    @property
    def missing(self) -> int:
        return sum(u.missing for u in self.uncovered)
