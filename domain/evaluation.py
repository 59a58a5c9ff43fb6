"""Annual evaluation (附件2): indicator sets as data per year, /报告 evidence, checklist states.

Pure: no storage, no chat. Handlers load the member's reports and the computed values, and
call ``checklist(...)``; this module decides each indicator's state:

- 达成: computed value meets the target, or every requirement is met by confirmed reports;
- 未达成: computed value misses the target, or reports were rejected (with the reason), or the
  report deadline passed without confirmed evidence;
- 待提交: nothing yet, reports waiting for the city operator's confirmation, or no computed data
  (e.g. the review records are not available yet).

Indicator sets live in ``domain/data/evaluation/<year>.yaml``; the set for a year is the file with
the greatest year not after it. Reviewer indicators read a ``ReviewStatsProvider`` that the
review-assignment work implements; the default provider has no data, so they stay 待提交.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Iterable, Mapping, Protocol, Sequence

import yaml

from domain.scores.rules import OPERATORS, Condition

EVALUATION_DIR = Path(__file__).with_name("data") / "evaluation"
ROLES = ("admin", "trainer", "reviewer")
ROLE_NAMES = {"admin": "体系管理员", "trainer": "培训讲师", "reviewer": "资源审核员"}
SOURCES = ("reported", "points", "review_stats")
SOURCE_LABELS = {"reported": "本人报告", "points": "积分统计", "review_stats": "审核记录"}
FIELD_TYPES = ("date", "int", "text", "url", "choice")
REVIEW_METRICS = ("reviewed", "completed", "on_time_rate", "good_rate", "errors", "assigned")
METRIC_LABELS = {"reviewed": "审核条数", "completed": "完成任务数", "on_time_rate": "按时完成率",
                 "good_rate": "好评率", "errors": "差错条数", "assigned": "分配任务数"}

ACHIEVED, NOT_ACHIEVED, PENDING = "达成", "未达成", "待提交"
SUBMITTED, CONFIRMED, REJECTED = "submitted", "confirmed", "rejected"

MAX_TEXT = 100
_URL_RE = re.compile(r"^https?://[^\s/$.?#][^\s]*$", re.IGNORECASE)


class EvaluationFileError(ValueError):
    """A bad indicator file; the message (Chinese) names the file and the place."""


class ReportError(ValueError):
    """A /报告 that cannot be accepted; ``reason`` is short Chinese telling what to fix."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


# ── data ──
@dataclass(frozen=True, slots=True)
class EvidenceField:
    name: str
    label: str
    type: str
    min: int | None = None
    choices: tuple[str, ...] = ()
    optional: bool = False


@dataclass(frozen=True, slots=True)
class EvidenceCheck:
    type: str       # relative_error
    value: str
    reference: str
    max: float
    label: str


@dataclass(frozen=True, slots=True)
class EvidenceKind:
    word: str       # the Chinese word after /报告 (培训)
    code: str
    title: str
    fields: tuple[EvidenceField, ...]
    checks: tuple[EvidenceCheck, ...] = ()

    @property
    def usage(self) -> str:
        parts = [f"[{f.label}]" if f.optional else f.label for f in self.fields]
        return f"/报告 {self.word} " + " ".join(parts)


@dataclass(frozen=True, slots=True)
class Requirement:
    kind: str                         # evidence kind word
    count: int = 1
    where: tuple[tuple[str, str], ...] = ()
    distinct: str | None = None       # count distinct values of this field
    label: str = ""

    def matches(self, report: "Report") -> bool:
        return report.kind == self.kind and all(str(report.fields.get(k)) == v for k, v in self.where)


@dataclass(frozen=True, slots=True)
class Indicator:
    id: str
    role: str
    number: int
    title: str
    text: str
    source: str
    requires: tuple[Requirement, ...] = ()
    checks: tuple[Condition, ...] = ()
    params: tuple[tuple[str, float], ...] = ()

    def param(self, name: str, default: float | None = None) -> float | None:
        return dict(self.params).get(name, default)

    @property
    def kinds(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(r.kind for r in self.requires))


@dataclass(frozen=True)
class IndicatorSet:
    year: int
    kinds: Mapping[str, EvidenceKind]
    roles: Mapping[str, tuple[Indicator, ...]]
    report_deadline: tuple[int, int] = (10, 31)
    source: str = ""

    def indicators(self, role: str) -> tuple[Indicator, ...]:
        return self.roles.get(role, ())

    def indicator(self, indicator_id: str) -> Indicator:
        for items in self.roles.values():
            for ind in items:
                if ind.id == indicator_id:
                    return ind
        raise KeyError(indicator_id)

    def kinds_for(self, role: str) -> tuple[EvidenceKind, ...]:
        words = dict.fromkeys(w for ind in self.indicators(role) for w in ind.kinds)
        return tuple(self.kinds[w] for w in words)

    def deadline(self, year: int) -> date:
        m, d = self.report_deadline
        return date(year, m, d)

    def points_indicator(self) -> Indicator | None:
        for ind in self.indicators("admin"):
            if ind.source == "points":
                return ind
        return None

    @property
    def min_points(self) -> int:
        ind = self.points_indicator()
        return int(ind.param("min_points", 60)) if ind else 60

    @property
    def target_share(self) -> float:
        ind = self.points_indicator()
        return float(ind.param("target_share", 0.4)) if ind else 0.4


# ── loading ──
def _fail(source: str, where: str, reason: str) -> EvaluationFileError:
    return EvaluationFileError(f"{source}：{where}{reason}")


def _mmdd(value, source: str) -> tuple[int, int]:
    m = re.fullmatch(r"(\d{1,2})-(\d{1,2})", str(value).strip())
    if not m:
        raise _fail(source, "report_deadline", f"“{value}”应写成“月-日”，如 \"10-31\"")
    try:
        date(2023, int(m.group(1)), int(m.group(2)))
    except ValueError:
        raise _fail(source, "report_deadline", f"“{value}”不是每年都有的日期") from None
    return int(m.group(1)), int(m.group(2))


def parse_indicator_set(text: str, source: str = "") -> IndicatorSet:
    try:
        raw = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        raise _fail(source, f"第 {mark.line + 1} 行：" if mark else "", f"YAML 格式错误（{exc.problem}）") from None
    if not isinstance(raw, dict):
        raise _fail(source, "", "文件应为 year / evidence_kinds / roles 的映射")
    unknown = set(raw) - {"year", "report_deadline", "evidence_kinds", "roles"}
    if unknown:
        raise _fail(source, "", f"有未知字段“{'、'.join(sorted(unknown))}”")
    year = raw.get("year")
    if not isinstance(year, int) or not 2000 <= year <= 2100:
        raise _fail(source, "year ", "应为年份，如 2021")
    deadline = _mmdd(raw.get("report_deadline", "10-31"), source)
    kinds: dict[str, EvidenceKind] = {}
    for word, spec in (raw.get("evidence_kinds") or {}).items():
        where = f"证据类型“{word}”"
        if not isinstance(spec, dict) or not spec.get("fields"):
            raise _fail(source, where, "需要 fields")
        fields = []
        for f in spec["fields"]:
            if not isinstance(f, dict) or not f.get("name") or not f.get("label"):
                raise _fail(source, where, "的每个字段需要 name 和 label")
            ftype = f.get("type", "text")
            if ftype not in FIELD_TYPES:
                raise _fail(source, where, f"的字段类型“{ftype}”未知，可用：{'、'.join(FIELD_TYPES)}")
            choices = tuple(str(c) for c in f.get("choices") or ())
            if ftype == "choice" and not choices:
                raise _fail(source, where, f"的字段“{f['name']}”需要 choices")
            fields.append(EvidenceField(str(f["name"]), str(f["label"]), ftype, f.get("min"), choices,
                                        bool(f.get("optional", False))))
        names = {f.name for f in fields}
        checks = []
        for c in spec.get("checks") or ():
            if c.get("type") != "relative_error" or c.get("value") not in names or c.get("reference") not in names:
                raise _fail(source, where, "的 checks 只支持 relative_error，value/reference 须为本类型的字段")
            checks.append(EvidenceCheck("relative_error", c["value"], c["reference"], float(c["max"]),
                                        str(c.get("label", c["value"]))))
        kinds[str(word)] = EvidenceKind(str(word), str(spec.get("code", word)), str(spec.get("title", word)),
                                        tuple(fields), tuple(checks))
    roles: dict[str, tuple[Indicator, ...]] = {}
    seen: set[str] = set()
    for role, items in (raw.get("roles") or {}).items():
        if role not in ROLES:
            raise _fail(source, "", f"角色“{role}”未知，可用：{'、'.join(ROLES)}")
        out = []
        for n, item in enumerate(items or (), start=1):
            iid = str(item.get("id", ""))
            where = f"指标“{iid or f'{role} 第 {n} 条'}”"
            if not iid or iid in seen:
                raise _fail(source, where, "的 id 缺失或重复")
            seen.add(iid)
            src = item.get("source")
            if src not in SOURCES:
                raise _fail(source, where, f"的 source“{src}”未知，可用：{'、'.join(SOURCES)}")
            reqs = []
            for r in item.get("requires") or ():
                if r.get("kind") not in kinds:
                    raise _fail(source, where, f"引用了未定义的证据类型“{r.get('kind')}”")
                count = r.get("count", 1)
                if not isinstance(count, int) or count < 1:
                    raise _fail(source, where, "的 count 应为正整数")
                reqs.append(Requirement(r["kind"], count, tuple((str(k), str(v)) for k, v in (r.get("where") or {}).items()),
                                        r.get("distinct"), str(r.get("label", r["kind"]))))
            if src == "reported" and not reqs:
                raise _fail(source, where, "是报告类指标，需要 requires")
            checks = []
            for text in item.get("checks") or ():
                m = re.fullmatch(r"\s*([a-z_]+)\s*(\S+)\s*([0-9.]+)\s*", str(text))
                if not m or m.group(1) not in REVIEW_METRICS or m.group(2) not in OPERATORS:
                    raise _fail(source, where, f"的检查“{text}”看不懂，指标可用：{'、'.join(REVIEW_METRICS)}")
                checks.append(Condition(m.group(1), m.group(2), float(m.group(3))))
            if src == "review_stats" and not checks:
                raise _fail(source, where, "需要 checks")
            params = tuple((str(k), float(v)) for k, v in (item.get("params") or {}).items())
            out.append(Indicator(iid, role, n, str(item.get("title", iid)), str(item.get("text", "")), src,
                                 tuple(reqs), tuple(checks), params))
        roles[role] = tuple(out)
    return IndicatorSet(year, kinds, roles, deadline, source)


_sets: dict[Path, list[IndicatorSet]] = {}


def indicator_sets(directory: Path | str | None = None) -> list[IndicatorSet]:
    d = Path(directory) if directory else EVALUATION_DIR
    if d not in _sets:
        sets = [parse_indicator_set(p.read_text(encoding="utf-8"), p.name) for p in sorted(d.glob("*.yaml"))]
        _sets[d] = sorted(sets, key=lambda s: s.year)
    return _sets[d]


def indicator_set_for(year: int, directory: Path | str | None = None) -> IndicatorSet:
    """The indicator set of ``year``: the latest file whose year is not after it (else the earliest)."""
    sets = indicator_sets(directory)
    if not sets:
        raise EvaluationFileError("没有评价指标文件")
    chosen = sets[0]
    for s in sets:
        if s.year <= year:
            chosen = s
    return chosen


# ── /报告 evidence ──
def _parse_date(text: str, today: date | None) -> date:
    m = re.fullmatch(r"(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?", text.strip())
    if not m:
        raise ReportError(f"日期“{text}”看不懂，请写成 2026-05-10")
    try:
        d = date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    except ValueError:
        raise ReportError(f"日期“{text}”不存在，请核对") from None
    if today is not None and d > today:
        raise ReportError(f"日期“{text}”晚于今天，请在活动结束后再报告")
    return d


def _parse_field(f: EvidenceField, text: str, today: date | None):
    text = text.strip()
    if f.type == "date":
        return _parse_date(text, today)
    if f.type == "int":
        digits = text.replace(",", "").replace("，", "")
        for suffix in ("人次", "人", "字", "个", "名"):
            if digits.endswith(suffix):
                digits = digits[: -len(suffix)]
        if not digits.isdigit():
            raise ReportError(f"{f.label}“{text}”应为整数")
        v = int(digits)
        if f.min is not None and v < f.min:
            raise ReportError(f"{f.label}需不少于 {f.min}（现为 {v}）")
        return v
    if f.type == "url":
        if not _URL_RE.match(text):
            raise ReportError(f"{f.label}“{text[:40]}”应为 http:// 或 https:// 开头的网址")
        return text
    if f.type == "choice":
        t = text.replace(" ", "")
        if t in f.choices:
            return t
        hits = [c for c in f.choices if c.startswith(t) or t in c]
        if len(hits) == 1 and t:
            return hits[0]
        raise ReportError(f"{f.label}“{text}”不在可选范围：{'、'.join(f.choices)}")
    if not text:
        raise ReportError(f"请填写{f.label}")
    if len(text) > MAX_TEXT:
        raise ReportError(f"{f.label}太长，请控制在 {MAX_TEXT} 字以内")
    return text


def parse_report(kind: EvidenceKind, args: Sequence[str], today: date | None = None) -> dict:
    """Positional arguments of ``/报告 <kind> …`` → field values. Surplus words join the text field;
    a missing optional field at the end is left out. Raises ReportError."""
    args = [a for a in args if a.strip()]
    fields = list(kind.fields)
    required = [f for f in fields if not f.optional]
    if len(args) < len(required):
        missing = "、".join(f.label for f in required[len(args):])
        raise ReportError(f"缺少{missing}。格式：{kind.usage}")
    # assign: trailing optional fields only if there are enough words
    use = list(fields)
    while len(use) > len(args) and use[-1].optional:
        use.pop()
    if len(use) > len(args):
        use = required
    values: dict = {}
    if len(args) > len(use):
        text_idx = [i for i, f in enumerate(use) if f.type == "text"]
        if len(text_idx) != 1:
            raise ReportError(f"内容多了，格式：{kind.usage}")
        t = text_idx[0]
        after = len(use) - t - 1
        merged = args[:t] + [" ".join(args[t:len(args) - after])] + args[len(args) - after:]
        args = merged
    for f, text in zip(use, args):
        values[f.name] = _parse_field(f, text, today)
    for c in kind.checks:
        ref = values.get(c.reference)
        val = values.get(c.value)
        if ref and val is not None:
            err = abs(val - ref) / ref
            if err > c.max + 1e-12:
                raise ReportError(f"{c.label}误差 {err:.1%} 超过 ±{c.max:.0%}，请核对数据后再报告")
    return values


def describe_report(kind: EvidenceKind, fields: Mapping) -> str:
    """One line of evidence in Chinese, in the kind's field order."""
    parts = []
    for f in kind.fields:
        if f.name in fields and fields[f.name] not in (None, ""):
            v = fields[f.name]
            if f.type == "int" and f.name == "participants":
                v = f"{v}人"
            elif f.type == "int" and f.name == "characters":
                v = f"{v}字"
            parts.append(str(v))
    return f"{kind.word}：" + " ".join(parts)


# ── inputs of the checklist ──
@dataclass(frozen=True, slots=True)
class Report:
    id: int
    kind: str
    fields: Mapping
    status: str = SUBMITTED          # submitted / confirmed / rejected
    reason: str = ""                 # rejection reason
    submitted_on: date | None = None


@dataclass(frozen=True, slots=True)
class ReviewStats:
    """Review records of one reviewer for a year (filled by the review-assignment work)."""

    assigned: int = 0
    completed: int = 0
    on_time: int = 0
    reviewed: int = 0      # resources with a verdict
    rated: int = 0         # passed resources with a user rating
    good: int = 0          # of which rated good
    errors: int = 0        # passed resources later found wrong (cataloguing or content)

    @property
    def on_time_rate(self) -> float | None:
        return self.on_time / self.completed if self.completed else None

    @property
    def good_rate(self) -> float | None:
        return self.good / self.rated if self.rated else None

    def metrics(self) -> dict:
        return {"assigned": self.assigned, "completed": self.completed, "reviewed": self.reviewed,
                "errors": self.errors, "on_time_rate": self.on_time_rate, "good_rate": self.good_rate}


class ReviewStatsProvider(Protocol):
    """Implemented by the review-assignment work; None means no data (→ 待提交)."""

    async def review_stats(self, member_id: str, start: date, end: date) -> ReviewStats | None: ...


class NoReviewStats:
    async def review_stats(self, member_id: str, start: date, end: date) -> ReviewStats | None:
        return None


@dataclass(frozen=True, slots=True)
class PointsShare:
    """Admin indicator 6 for a territory: teachers reaching ``min_points`` among all teachers."""

    territory: str
    qualified: int
    total: int
    min_points: int = 60
    target: float = 0.4

    @property
    def share(self) -> float | None:
        return self.qualified / self.total if self.total else None

    @property
    def reached(self) -> bool:
        s = self.share
        return s is not None and s + 1e-12 >= self.target


# ── the checklist ──
@dataclass(frozen=True, slots=True)
class ChecklistItem:
    indicator: Indicator
    state: str                       # 达成 / 未达成 / 待提交
    source: str                      # 积分统计 / 审核记录 / 本人报告
    evidence: tuple[str, ...] = ()   # lines of evidence
    note: str = ""                   # what is missing / waiting / why rejected
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
        describe_report(iset.kinds[r.kind], r.fields) + {CONFIRMED: "（已确认）", SUBMITTED: "（待确认）",
                                                         REJECTED: "（已退回）"}[r.status]
        for r in relevant)
    ids = tuple(r.id for r in relevant)
    src = SOURCE_LABELS["reported"]
    if not missing:
        return ChecklistItem(ind, ACHIEVED, src, evidence, "", ids)
    still = "还差：" + "、".join(missing)
    if pending:
        return ChecklistItem(ind, PENDING, src, evidence, f"{len(pending)} 条待市级确认；{still}", ids)
    if rejected:
        last = rejected[-1]
        return ChecklistItem(ind, NOT_ACHIEVED, src, evidence, f"被退回：{last.reason or '未说明原因'}；可补充后重新报告", ids)
    if past_deadline:
        return ChecklistItem(ind, NOT_ACHIEVED, src, evidence, f"截止前未完成；{still}", ids)
    return ChecklistItem(ind, PENDING, src, evidence, still, ids)


def checklist(iset: IndicatorSet, role: str, *, reports: Iterable[Report] = (), points: PointsShare | None = None,
              review: ReviewStats | None = None, today: date | None = None, year: int | None = None,
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
            line = (f"{points.territory}：年度积分≥{min_points} 的教师 {points.qualified}/{points.total}，"
                    f"占 {share:.1%}（目标 {target:.0%}）")
            state = ACHIEVED if share + 1e-12 >= target else NOT_ACHIEVED
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
            note = "" if not failed else "未达要求：" + "、".join(
                f"{METRIC_LABELS.get(c.field, c.field)}需{c.op}{_fmt_threshold(c)}" for c in failed)
            out.append(ChecklistItem(ind, NOT_ACHIEVED if failed else ACHIEVED, src, (line,), note))
    return out


def _fmt_threshold(c: Condition) -> str:
    return f"{c.value:.0%}" if c.field.endswith("_rate") else str(int(c.value))


def _needed(total: int, target: float) -> int:
    return math.ceil(total * target - 1e-9)


def kinds_matching(iset: IndicatorSet, role: str, word: str) -> EvidenceKind | None:
    """The evidence kind ``word`` if the role's indicators use it."""
    kind = iset.kinds.get(word.strip())
    if kind is None or kind not in iset.kinds_for(role):
        return None
    return kind


__all__ = [
    "ACHIEVED", "CONFIRMED", "ChecklistItem", "EvaluationFileError", "EvidenceField", "EvidenceKind", "Indicator",
    "IndicatorSet", "NOT_ACHIEVED", "NoReviewStats", "PENDING", "PointsShare", "REJECTED", "ROLES", "ROLE_NAMES",
    "Report", "ReportError", "Requirement", "ReviewStats", "ReviewStatsProvider", "SUBMITTED", "checklist",
    "describe_report", "indicator_set_for", "indicator_sets", "kinds_matching", "parse_indicator_set",
    "parse_report",
]
