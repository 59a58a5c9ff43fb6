"""Loading the indicator sets: ``domain/data/evaluation/<year>.yaml``, the set of a year being the file
with the greatest year not after it."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from typing import Any

import yaml

from domain.evaluation.model import (
    EVALUATION_DIR,
    FIELD_TYPES,
    REVIEW_METRICS,
    ROLES,
    SOURCES,
    EvaluationFileError,
    EvidenceCheck,
    EvidenceField,
    EvidenceKind,
    Indicator,
    IndicatorSet,
    Requirement,
)
from domain.scores.rules import OPERATORS, Condition
from domain.yamltext import safe_load


def _fail(source: str, where: str, reason: str) -> EvaluationFileError:
    return EvaluationFileError(f"{source}：{where}{reason}")


def _mmdd(value, source: str) -> tuple[int, int]:
    m = re.fullmatch(r"(\d{1,2})-(\d{1,2})", str(value).strip())
    if not m:
        raise _fail(source, "report_deadline", f'“{value}”应写成“月-日”，如 "10-31"')
    try:
        date(2023, int(m.group(1)), int(m.group(2)))
    except ValueError:
        raise _fail(source, "report_deadline", f"“{value}”不是每年都有的日期") from None
    return int(m.group(1)), int(m.group(2))


def parse_indicator_set(text: str, source: str = "") -> IndicatorSet:
    try:
        raw = safe_load(text)
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
    kinds = {
        str(word): _evidence_kind(str(word), spec, source) for word, spec in (raw.get("evidence_kinds") or {}).items()
    }
    roles: dict[str, tuple[Indicator, ...]] = {}
    seen: set[str] = set()
    for role, items in (raw.get("roles") or {}).items():
        if role not in ROLES:
            raise _fail(source, "", f"角色“{role}”未知，可用：{'、'.join(ROLES)}")
        roles[role] = tuple(
            _indicator(role, n, item, kinds, seen, source) for n, item in enumerate(items or (), start=1)
        )
    return IndicatorSet(year, kinds, roles, deadline, source)


def _evidence_kind(word: str, spec: Any, source: str) -> EvidenceKind:
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
        fields.append(
            EvidenceField(str(f["name"]), str(f["label"]), ftype, f.get("min"), choices, bool(f.get("optional", False)))
        )
    names = {f.name for f in fields}
    checks = []
    for c in spec.get("checks") or ():
        if c.get("type") != "relative_error" or c.get("value") not in names or c.get("reference") not in names:
            raise _fail(source, where, "的 checks 只支持 relative_error，value/reference 须为本类型的字段")
        checks.append(
            EvidenceCheck(
                "relative_error", c["value"], c["reference"], float(c["max"]), str(c.get("label", c["value"]))
            )
        )
    return EvidenceKind(word, str(spec.get("code", word)), str(spec.get("title", word)), tuple(fields), tuple(checks))


def _indicator(
    role: str, n: int, item: dict[str, Any], kinds: dict[str, EvidenceKind], seen: set[str], source: str
) -> Indicator:
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
        where_ = tuple((str(k), str(v)) for k, v in (r.get("where") or {}).items())
        reqs.append(Requirement(r["kind"], count, where_, r.get("distinct"), str(r.get("label", r["kind"]))))
    if src == "reported" and not reqs:
        raise _fail(source, where, "是报告类指标，需要 requires")
    conds: list[Condition] = []
    for text in item.get("checks") or ():
        m = re.fullmatch(r"\s*([a-z_]+)\s*(\S+)\s*([0-9.]+)\s*", str(text))
        if not m or m.group(1) not in REVIEW_METRICS or m.group(2) not in OPERATORS:
            raise _fail(source, where, f"的检查“{text}”看不懂，指标可用：{'、'.join(REVIEW_METRICS)}")
        conds.append(Condition(m.group(1), m.group(2), float(m.group(3))))
    if src == "review_stats" and not conds:
        raise _fail(source, where, "需要 checks")
    params = tuple((str(k), float(v)) for k, v in (item.get("params") or {}).items())
    title = str(item.get("title", iid))
    return Indicator(iid, role, n, title, str(item.get("text", "")), src, tuple(reqs), tuple(conds), params)


def indicator_sets(directory: Path | str | None = None) -> list[IndicatorSet]:
    """Every indicator set of the directory (default: ``domain/data/evaluation``), by year; read now."""
    d = Path(directory) if directory else EVALUATION_DIR
    sets = [parse_indicator_set(p.read_text(encoding="utf-8"), p.name) for p in sorted(d.glob("*.yaml"))]
    return sorted(sets, key=lambda s: s.year)


def set_for_year(sets: list[IndicatorSet], year: int) -> IndicatorSet:
    """The indicator set of ``year``: the latest whose year is not after it (else the earliest)."""
    if not sets:
        raise EvaluationFileError("没有评价指标文件")
    chosen = sets[0]
    for s in sets:
        if s.year <= year:
            chosen = s
    return chosen


def indicator_set_for(year: int, directory: Path | str | None = None) -> IndicatorSet:
    """The indicator set of ``year``, read from the files now (the bot keeps an :class:`IndicatorLibrary`)."""
    return set_for_year(indicator_sets(directory), year)


class IndicatorLibrary:
    """The indicator sets of one directory, read on first use and kept as long as this object."""

    def __init__(self, directory: Path | str | None = None) -> None:
        self.directory = directory
        self._sets: list[IndicatorSet] | None = None

    def sets(self) -> list[IndicatorSet]:
        if self._sets is None:
            self._sets = indicator_sets(self.directory)
        return self._sets

    def for_year(self, year: int) -> IndicatorSet:
        return set_for_year(self.sets(), year)
