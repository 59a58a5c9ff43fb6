"""The annual cycle: deadlines as data, working days with China's holidays and 调休.

Working days come from ``chinese_calendar`` (official holidays and the
weekend days swapped to working days). For a year it has no data for yet,
Monday to Friday counts, so reminders still go out.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

from domain.yamltext import safe_load

DEFAULT_CYCLE = Path(__file__).with_name("data") / "annual_cycle.yaml"
GROUPS = ("admin", "trainer", "reviewer")


class CycleError(ValueError):
    pass


@dataclass(frozen=True)
class Deadline:
    id: str
    title: str
    month: int
    day: int
    groups: tuple[str, ...]
    action: str

    def due_in(self, year: int) -> date:
        return date(year, self.month, self.day)

    def next_due(self, today: date) -> date:
        due = self.due_in(today.year)
        return due if due >= today else self.due_in(today.year + 1)


def load_cycle(text: str | None = None) -> list[Deadline]:
    raw = safe_load(text if text is not None else DEFAULT_CYCLE.read_text(encoding="utf-8")) or {}
    out: list[Deadline] = []
    for i, item in enumerate(raw.get("deadlines") or [], start=1):
        try:
            dl = Deadline(
                id=str(item["id"]),
                title=str(item["title"]),
                month=int(item["month"]),
                day=int(item["day"]),
                groups=tuple(item.get("groups") or GROUPS),
                action=str(item.get("action", "")),
            )
            date(2024, dl.month, dl.day)
        except (KeyError, TypeError, ValueError) as exc:
            raise CycleError(f"第 {i} 个截止日期有误：{exc}") from None
        bad = [g for g in dl.groups if g not in GROUPS]
        if bad:
            raise CycleError(f"第 {i} 个截止日期的 groups 只能是 admin/trainer/reviewer，不能是 {bad}")
        out.append(dl)
    return out


def deadline(cycle: list[Deadline], deadline_id: str) -> Deadline:
    for d in cycle:
        if d.id == deadline_id:
            return d
    raise KeyError(deadline_id)
