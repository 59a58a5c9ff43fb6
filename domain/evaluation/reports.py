"""``/报告`` evidence: parsing the words of a report into its fields, and describing them back."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import date

from domain.evaluation.model import MAX_TEXT, EvidenceField, EvidenceKind, IndicatorSet, ReportError

_URL_RE = re.compile(r"^https?://[^\s/$.?#][^\s]*$", re.IGNORECASE)


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
        missing = "、".join(f.label for f in required[len(args) :])
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
        merged = [*args[:t], " ".join(args[t : len(args) - after]), *args[len(args) - after :]]
        args = merged
    for f, text in zip(use, args, strict=False):
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


def kinds_matching(iset: IndicatorSet, role: str, word: str) -> EvidenceKind | None:
    """The evidence kind ``word`` if the role's indicators use it."""
    kind = iset.kinds.get(word.strip())
    if kind is None or kind not in iset.kinds_for(role):
        return None
    return kind
