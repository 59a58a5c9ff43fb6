"""Uncovered demand in words a person can act on, one line per stage·subject (city).

初中·化学（衢州市）：没有可用的审核员（2人请假，1人与提交人同校），3个资源还缺3人次
"""

from __future__ import annotations

from collections.abc import Sequence

from .model import LEVEL_CITY, LEVEL_COUNTY, LEVEL_PROVINCE, LEVEL_SCHOOL, Demand, Plan, ReviewerInfo

REASON_TEXT = {
    "no_stage_subject": "{n}人未登记学段或学科",
    "inactive": "{n}人已停用",
    "on_leave": "{n}人请假",
    "cap": "{n}人已达任务上限",
    "excluded": "{n}人已审过、不能审或超时",
    "submitter": "{n}人是提交人本人",
    "same_school": "{n}人与提交人同校",
    "same_county": "{n}人与提交人同县（区）",
    "same_city": "{n}人与提交人同市",
    "conflict": "{n}人申报了回避",
    "assigned": "{n}人已分配到这些资源",
    "busy": "{n}人另有任务",
}
REASON_ORDER = tuple(REASON_TEXT)
_LEVEL_NAMES = {LEVEL_PROVINCE: "省级", LEVEL_CITY: "市级", LEVEL_COUNTY: "县级", LEVEL_SCHOOL: "校级"}

# what to do next, by the reason that removed the most reviewers
_NEXT = {
    "no_stage_subject": "请补全审核员的学段和学科",
    "on_leave": "请待销假后再分配或增补审核员",
    "cap": "请提高任务上限或增补审核员",
    "inactive": "请启用或增补审核员",
}


def _label(d: Demand) -> str:
    where = (
        d.city
        if d.level == LEVEL_CITY
        else (
            f"{d.city}{d.county or ''}"
            if d.level == LEVEL_COUNTY
            else (
                d.school or d.city if d.level == LEVEL_SCHOOL else f"{_LEVEL_NAMES.get(d.level, d.level)}，{d.city}资源"
            )
        )
    )
    return f"{d.stage}·{d.subject}（{where}）"


def reasons_text(by_reason: dict[str, set[str]]) -> str:
    parts = [REASON_TEXT[k].format(n=len(by_reason[k])) for k in REASON_ORDER if by_reason.get(k)]
    parts += [f"{len(v)}人（{k}）" for k, v in by_reason.items() if k not in REASON_TEXT and v]
    return "，".join(parts)


def explain_plan(plan: Plan, demands: Sequence[Demand], reviewers: Sequence[ReviewerInfo]) -> list[str]:
    del reviewers  # the plan's Uncovered rows already name the reviewers by reason
    dem = {d.resource_id: d for d in demands}
    got: dict[str, int] = {}
    for a in plan.assignments:
        got[a.resource_id] = got.get(a.resource_id, 0) + 1
    groups: dict[tuple, dict] = {}
    for u in plan.uncovered:
        d = dem.get(u.resource_id)
        if d is None:
            continue
        key = (
            d.level,
            d.stage,
            d.subject,
            d.city,
            d.county if d.level == LEVEL_COUNTY else None,
            d.school if d.level == LEVEL_SCHOOL else None,
        )
        g = groups.setdefault(key, {"demand": d, "resources": 0, "missing": 0, "any_assigned": False, "by_reason": {}})
        g["resources"] += 1
        g["missing"] += u.missing
        g["any_assigned"] = g["any_assigned"] or got.get(u.resource_id, 0) > 0
        for reason, ids in (u.reviewers_by_reason or {}).items():
            g["by_reason"].setdefault(reason, set()).update(ids)
        if not u.reviewers_by_reason:
            for reason, n in u.reasons.items():  # counts only: keep the largest
                cur = g["by_reason"].setdefault(reason, set())
                cur.update(f"{reason}#{i}" for i in range(n))
    return [_line(g) for _, g in sorted(groups.items(), key=lambda kv: tuple(str(x) for x in kv[0]))]


def _line(g: dict) -> str:
    d: Demand = g["demand"]
    by_reason: dict[str, set[str]] = g["by_reason"]
    count = f"{g['resources']}个资源还缺{g['missing']}人次"
    relevant = {k: v for k, v in by_reason.items() if k != "no_stage_subject" and v}
    why = reasons_text(by_reason)
    if not relevant:
        text = f"{_label(d)}：没有该学段学科的审核员"
        if why:
            text += f"（另有{why}）"
        return f"{text}，{count}，请增补审核员"
    head = "可用审核员不足" if g["any_assigned"] else "没有可用的审核员"
    top = max(by_reason, key=lambda k: (len(by_reason[k]), -REASON_ORDER.index(k) if k in REASON_ORDER else -99))
    hint = _NEXT.get(top, "请增补审核员")
    return f"{_label(d)}：{head}（{why}），{count}，{hint}"
