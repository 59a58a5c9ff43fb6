"""The checklist: each indicator of a member's role with its state, evidence and what is missing."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date

from domain.evaluation.model import (
    ACHIEVED,
    CONFIRMED,
    METRIC_LABELS,
    NOT_ACHIEVED,
    PENDING,
    REJECTED,
    SOURCE_LABELS,
    SUBMITTED,
    Indicator,
    IndicatorSet,
    PointsShare,
    Report,
    ReviewStats,
    share_reached,
)
from domain.evaluation.reports import describe_report
from domain.scores.rules import OPERATORS, Condition


@dataclass(frozen=True, slots=True)
class ChecklistItem:
    indicator: Indicator
    state: str  # 达成 / 未达成 / 待提交
    source: str  # 积分统计 / 审核记录 / 本人报告
    evidence: tuple[str, ...] = ()  # lines of evidence
    note: str = ""  # what is missing / waiting / why rejected
    report_ids: tuple[int, ...] = ()


def _fmt_metric(name: str, value) -> str:
    if value is None:
        return f"{METRIC_LABELS.get(name, name)} 无"
    if name.endswith("_rate"):
        return f"{METRIC_LABELS.get(name, name)} {value:.0%}"
    return f"{METRIC_LABELS.get(name, name)} {int(value)}"


def _reported_item(ind: Indicator, iset: IndicatorSet, reports: Sequence[Report], past_deadline: bool) -> ChecklistItem:
    relevant = [r for r in reports if any(q.matches(r) for q in ind.requires)]
    confirmed = [r for r in relevant if r.status == CONFIRMED]
    pending = [r for r in relevant if r.status == SUBMITTED]
    rejected = [r for r in relevant if r.status == REJECTED]
    missing = []
    for q in ind.requires:
        ok = [r for r in confirmed if q.matches(r)]
        n = len({str(r.fields.get(q.distinct)) for r in ok}) if q.distinct else len(ok)
        if n < q.count:
            missing.append(f"{q.label}{'' if q.count == 1 else f' {q.count} 次'}")
    evidence = tuple(
        describe_report(iset.kinds[r.kind], r.fields)
        + {CONFIRMED: "（已确认）", SUBMITTED: "（待确认）", REJECTED: "（已退回）"}[r.status]
        for r in relevant
    )
    ids = tuple(r.id for r in relevant)
    src = SOURCE_LABELS["reported"]
    if not missing:
        return ChecklistItem(ind, ACHIEVED, src, evidence, "", ids)
    still = "还差：" + "、".join(missing)
    if pending:
        return ChecklistItem(ind, PENDING, src, evidence, f"{len(pending)} 条待市级确认；{still}", ids)
    if rejected:
        last = rejected[-1]
        note = f"被退回：{last.reason or '未说明原因'}；可补充后重新报告"
        return ChecklistItem(ind, NOT_ACHIEVED, src, evidence, note, ids)
    if past_deadline:
        return ChecklistItem(ind, NOT_ACHIEVED, src, evidence, f"截止前未完成；{still}", ids)
    return ChecklistItem(ind, PENDING, src, evidence, still, ids)


def checklist(
    iset: IndicatorSet,
    role: str,
    *,
    reports: Iterable[Report] = (),
    points: PointsShare | None = None,
    review: ReviewStats | None = None,
    today: date | None = None,
    year: int | None = None,
) -> list[ChecklistItem]:
    """The member's checklist for their role. ``reports``: the member's reports of the year;
    ``points``: admin indicator 6 for their territory; ``review``: their review records."""
    reports = list(reports)
    past_deadline = bool(today and year and today > iset.deadline(year))
    out = []
    for ind in iset.indicators(role):
        if ind.source == "reported":
            out.append(_reported_item(ind, iset, reports, past_deadline))
        elif ind.source == "points":
            src = SOURCE_LABELS["points"]
            if points is None or not points.total:
                out.append(ChecklistItem(ind, PENDING, src, (), "暂无教师名单或积分数据"))
                continue
            min_points = int(ind.param("min_points", points.min_points))
            target = float(ind.param("target_share", points.target))
            share = points.qualified / points.total
            line = (
                f"{points.territory}：年度积分≥{min_points} 的教师 {points.qualified}/{points.total}，"
                f"占 {share:.1%}（目标 {target:.0%}）"
            )
            state = ACHIEVED if share_reached(share, target) else NOT_ACHIEVED
            note = "" if state == ACHIEVED else f"还差 {max(0, _needed(points.total, target) - points.qualified)} 人"
            out.append(ChecklistItem(ind, state, src, (line,), note))
        else:  # review_stats
            src = SOURCE_LABELS["review_stats"]
            if review is None:
                out.append(ChecklistItem(ind, PENDING, src, (), "暂无审核记录数据"))
                continue
            m = review.metrics()
            failed = [c for c in ind.checks if m.get(c.field) is None or not OPERATORS[c.op](m[c.field], c.value)]
            line = "，".join(_fmt_metric(c.field, m.get(c.field)) for c in ind.checks)
            if any(m.get(c.field) is None for c in ind.checks):
                out.append(ChecklistItem(ind, PENDING, src, (line,), "审核数据不足"))
                continue
            note = (
                ""
                if not failed
                else "未达要求："
                + "、".join(f"{METRIC_LABELS.get(c.field, c.field)}需{c.op}{_fmt_threshold(c)}" for c in failed)
            )
            out.append(ChecklistItem(ind, NOT_ACHIEVED if failed else ACHIEVED, src, (line,), note))
    return out


def _fmt_threshold(c: Condition) -> str:
    return f"{c.value:.0%}" if c.field.endswith("_rate") else str(int(c.value))


def _needed(total: int, target: float) -> int:
    return math.ceil(total * target - 1e-9)
