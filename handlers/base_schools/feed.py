"""Base-school items in the activity feed: the activity API and ``scores activity FILE`` hand every item
whose action is one of ours (domain.base_schools.ACTIONS) here; the rest go to scores as before, and
one answer counts both.

    items, merge = await route_activity(db, items, now)     # before scores ingestion
    report = await ingest(db, runtime, items, now)          # scores, unchanged
    merge(report)                                           # our counts and rejections, original indices
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from domain.base_schools import BaseItem, ItemError, action_of, parse_item
from storage.repositories.base_schools import BaseSchoolRepository

BATCH = 20_000


@dataclass
class FeedReport:
    received: int = 0
    accepted: int = 0
    duplicates: int = 0
    rejected: list[tuple[int, str]] = field(default_factory=list)


async def ingest_base_items(db: Any, items: Sequence[Any], now: datetime) -> FeedReport:
    """Validate every item on its own, check its space against that year's list, store the valid ones
    (one transaction per batch). Rejections are (index, Chinese reason)."""
    report = FeedReport(received=len(items))
    tz = now.tzinfo
    parsed: list[tuple[int, BaseItem]] = []
    for n, raw in enumerate(items):
        try:
            parsed.append((n, parse_item(raw, tz=tz, now=now)))  # type: ignore[arg-type]
        except ItemError as exc:
            report.rejected.append((n, exc.reason))
    for start in range(0, len(parsed), BATCH):
        part = parsed[start : start + BATCH]
        async with db.unit_of_work() as uow:
            repo = uow.repo(BaseSchoolRepository)
            listed = await repo.listed_spaces({it.day.year for _n, it in part})
            good = []
            for n, it in part:
                if (it.day.year, it.space_id) in listed:
                    good.append(it)
                else:
                    reason = (
                        f"空间编号“{it.space_id}”不属于{it.day.year}年的任何基地校，请核对编号，或先导入当年基地校名单"
                    )
                    report.rejected.append((n, reason))
            new, dup = await repo.store(good)
        report.accepted += new
        report.duplicates += dup
    report.rejected.sort()
    return report


async def route_activity(db: Any, items: list[Any], now: datetime) -> tuple[list[Any], Callable[[Any], None]]:
    """Take our items out of a feed body and store them; returns the other items and ``merge(report)``,
    which adds our counts to the scores report and maps every rejection back to the body's index."""
    ours = [i for i, it in enumerate(items) if action_of(it) is not None]
    if not ours:
        return items, lambda _report: None
    taken = set(ours)
    rest = [i for i in range(len(items)) if i not in taken]
    mine = await ingest_base_items(db, [items[i] for i in ours], now)

    def merge(report: Any) -> None:
        report.received += mine.received
        report.accepted += mine.accepted
        report.duplicates += mine.duplicates
        report.rejected = sorted([(rest[i], r) for i, r in report.rejected] + [(ours[i], r) for i, r in mine.rejected])

    return [items[i] for i in rest], merge
