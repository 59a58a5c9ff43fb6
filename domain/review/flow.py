"""The life of a resource through the levels of its call, and the verdict rules (pure).

A resource waits in a level's pool (``waiting``), is reviewed (``reviewing``), and when the level
decides: a pass moves it to the next level's pool, the last level's pass shelves it (``shelved``);
a rejection ends it (``rejected``). A level with two reviewers who disagree asks for a third
(a setting) and the majority decides; without the setting a disagreement is a rejection.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass

PASS, REJECT = "pass", "reject"
VERDICT_NAMES = {PASS: "通过", REJECT: "退回"}


class Status(str, enum.Enum):
    WAITING = "waiting"  # in the current level's pool, not (fully) assigned
    REVIEWING = "reviewing"  # assigned at the current level
    SHELVED = "shelved"  # passed the last level
    REJECTED = "rejected"

    @property
    def label(self) -> str:
        return {"waiting": "待分配", "reviewing": "审核中", "shelved": "已上架", "rejected": "已退回"}[self.value]


class TaskState(str, enum.Enum):
    OPEN = "open"
    DONE = "done"
    DECLINED = "declined"  # 不能审: an alternate takes over
    OVERDUE = "overdue"  # timed out: an alternate takes over
    CANCELLED = "cancelled"  # the level decided without it

    @property
    def label(self) -> str:
        return {"open": "待审", "done": "已审", "declined": "不能审", "overdue": "超时转派", "cancelled": "已撤销"}[
            self.value
        ]


class Decision(str, enum.Enum):
    PENDING = "pending"  # verdicts still missing
    PASSED = "passed"
    REJECTED = "rejected"
    NEED_MORE = "need_more"  # disagreement: one more reviewer


@dataclass(frozen=True)
class LevelDecision:
    decision: Decision
    passes: int
    rejects: int
    wanted: int  # reviewers this level now wants in total (2, or 3 after a disagreement)


def decide(verdicts: Sequence[str], needed: int, *, third_on_disagreement: bool) -> LevelDecision:
    """What the verdicts given so far at one level decide."""
    passes = sum(1 for v in verdicts if v == PASS)
    rejects = sum(1 for v in verdicts if v == REJECT)
    done = passes + rejects
    if done < needed:
        return LevelDecision(Decision.PENDING, passes, rejects, needed)
    if passes == done:
        return LevelDecision(Decision.PASSED, passes, rejects, needed)
    if rejects == done:
        return LevelDecision(Decision.REJECTED, passes, rejects, needed)
    # a split
    if not third_on_disagreement:
        return LevelDecision(Decision.REJECTED, passes, rejects, needed)
    if passes != rejects:
        return LevelDecision(Decision.PASSED if passes > rejects else Decision.REJECTED, passes, rejects, done)
    return LevelDecision(Decision.NEED_MORE, passes, rejects, done + 1)


@dataclass(frozen=True)
class Move:
    status: Status
    level_index: int


def after_decision(decision: Decision, level_index: int, level_count: int) -> Move | None:
    """Where the resource goes when its level decided; None while the level is still open."""
    if decision is Decision.PASSED:
        if level_index + 1 >= level_count:
            return Move(Status.SHELVED, level_index)
        return Move(Status.WAITING, level_index + 1)
    if decision is Decision.REJECTED:
        return Move(Status.REJECTED, level_index)
    return None
