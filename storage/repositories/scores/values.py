"""Value objects the scores repositories return."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Teacher:
    id: int
    account: str
    name: str
    school: str
    city: str
    county: str


def teacher_of(row: Any) -> Teacher:
    return Teacher(row.id, row.account, row.name, row.school, row.city, row.county)


@dataclass
class IngestReport:
    received: int = 0
    accepted: int = 0  # new events stored
    duplicates: int = 0  # already stored (or twice in this batch): counted once
    rejected: list[tuple[int, str]] = field(default_factory=list)  # (0-based item index, reason)
    teachers: int = 0  # teachers whose scores were updated
    seconds: dict[str, float] = field(default_factory=dict)  # time of some stages (bench/scores.py)

    def merge(self, other: IngestReport, offset: int = 0) -> None:
        self.received += other.received
        self.accepted += other.accepted
        self.duplicates += other.duplicates
        self.teachers += other.teachers
        for stage, seconds in other.seconds.items():
            self.seconds[stage] = self.seconds.get(stage, 0.0) + seconds
        self.rejected.extend((i + offset, r) for i, r in other.rejected)

    def as_dict(self, limit: int = 1000) -> dict[str, Any]:
        return {
            "received": self.received,
            "accepted": self.accepted,
            "duplicates": self.duplicates,
            "rejected_count": len(self.rejected),
            "rejected": [{"index": i, "reason": r} for i, r in self.rejected[:limit]],
        }


@dataclass(frozen=True)
class RankRow:
    rank: int
    account: str
    name: str
    school: str
    city: str
    county: str
    points: int


@dataclass(frozen=True)
class CountyShare:
    city: str
    county: str
    total: int
    qualified: int

    @property
    def share(self) -> float:
        return self.qualified / self.total if self.total else 0.0
