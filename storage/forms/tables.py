"""Generic sectioned forms (the provincial 附件 tables): the spec, the data and reading a grid of cells back.

The writers and readers are :mod:`storage.forms.xlsx_io` and :mod:`storage.forms.docx_io`.

A form is a title, header fields (报送单位, 联系人姓名 …), sections (a title and
its columns) and notes; :class:`FormData` carries the values. The same code
writes 附件1 (the roster) and 附件3 (the recommendation form).

Layout of the workbook (and of the Word tables)::

    附件1
    <title, centred>
    报送单位：（公章）…   联系人姓名：…
    联系人电话：…   手机：…   报送日期：…
    | 服务人员 | col 1 | col 2 | … |        ← header row of each section
    | <section | value | value | … |        ← first column merged down the section
    |  title>  | value | value | … |
    注：…

Output is deterministic (fixed document dates and zip timestamps), so the same
data gives the same bytes.
"""

from __future__ import annotations

import io
import re
import unicodedata
import zipfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

FIXED_TIME = datetime(2021, 1, 1, 0, 0, 0)  # noqa: DTZ001  (document and zip dates are naive by format)
XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
DOCX_MIME = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


@dataclass(frozen=True)
class SectionSpec:
    key: str  # e.g. "admin"
    title: str  # 一、县级（含）以上体系管理员
    columns: tuple[str, ...]  # column headers in the form's order


@dataclass(frozen=True)
class FormSpec:
    title: str
    sections: tuple[SectionSpec, ...]
    header_fields: tuple[str, ...] = ("报送单位", "联系人姓名", "联系人电话", "手机", "报送日期")
    header_layout: tuple[tuple[str, ...], ...] = (("报送单位", "联系人姓名"), ("联系人电话", "手机", "报送日期"))
    attachment: str = ""  # 附件1
    first_column: str = "服务人员"
    notes: tuple[str, ...] = ()
    stamp_field: str = "报送单位"  # its label gets "（公章）"
    sheet_name: str = "汇总表"

    @property
    def width(self) -> int:
        """Columns of the widest section, plus the section-title column."""
        return 1 + max(len(s.columns) for s in self.sections)

    def section(self, key: str) -> SectionSpec:
        return next(s for s in self.sections if s.key == key)


@dataclass
class FormData:
    header: dict[str, str] = field(default_factory=dict)
    sections: dict[str, list[list[str]]] = field(default_factory=dict)  # section key → rows
    row_numbers: dict[str, list[int]] = field(default_factory=dict)  # filled by readers: source rows


class FormReadError(ValueError):
    """The file is not a readable form; the message is Chinese, for the user."""


# --- helpers ------------------------------------------------------------------------------


def norm_text(text: Any) -> str:
    s = unicodedata.normalize("NFKC", str(text or ""))
    return re.sub(r"[\s\u3000\u00a0\u200b]+", "", s).strip("*").rstrip(":").lower()


def cell_text(value: Any) -> str:
    """A cell's value as text: 13800138000.0 → '13800138000', dates as 2021-04-30."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == datetime.min.time() else value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    return str(value).strip()


def display_width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def normalize_zip(data: bytes) -> bytes:
    """Rewrite a zip with fixed timestamps and a stable order (deterministic bytes)."""
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            zi = zipfile.ZipInfo(info.filename, date_time=FIXED_TIME.timetuple()[:6])
            zi.compress_type = zipfile.ZIP_DEFLATED
            zi.external_attr = 0o644 << 16
            blob = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                # openpyxl stamps the save time into dcterms:modified.
                blob = re.sub(
                    rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*(</dcterms:)",
                    rb"\g<1>" + FIXED_TIME.strftime("%Y-%m-%dT%H:%M:%SZ").encode() + rb"\g<2>",
                    blob,
                )
            dst.writestr(zi, blob)
    return out.getvalue()


def header_text(spec: FormSpec, name: str, value: str) -> str:
    label = f"{name}：（公章）" if name == spec.stamp_field else f"{name}："
    return label + (value or "")


# --- reading a grid of cells (from either format) ---------------------------------------------


def find_any_header(spec: FormSpec, rows: list[list[str]]) -> bool:
    return any(_match_header(spec, row) for row in rows)


def _match_header(spec: FormSpec, row: Sequence[str]) -> tuple[SectionSpec, dict[int, int]] | None:
    """(section, {column index in the row → column index in the section}) if ``row`` is a header row."""
    cells = [norm_text(c) for c in row]
    best: tuple[int, int, SectionSpec, dict[int, int]] | None = None
    for order, section in enumerate(spec.sections):
        wanted = {norm_text(c): i for i, c in enumerate(section.columns)}
        mapping: dict[int, int] = {}
        for ci, c in enumerate(cells):
            if c in wanted and wanted[c] not in mapping.values():
                mapping[ci] = wanted[c]
        score = len(mapping)
        if score < max(2, (len(section.columns) + 1) // 2):
            continue
        # Distinctive: how many of the section's labels matched (prefer the fuller match, then the title).
        title = norm_text(section.title)
        title_bonus = 1 if any(title in c or (c and c in title) for c in cells[:1]) else 0
        key = (score * 2 + title_bonus - (len(section.columns) - score), -order)
        if best is None or key > best[:2]:
            best = (key[0], key[1], section, mapping)
    return (best[2], best[3]) if best else None


def read_grid(spec: FormSpec, rows: list[list[str]]) -> FormData:
    """Sections by their header rows; data rows below each header until the next one or the notes."""
    out = FormData(
        header={}, sections={s.key: [] for s in spec.sections}, row_numbers={s.key: [] for s in spec.sections}
    )
    _read_header_fields(spec, rows, out.header)
    current: tuple[SectionSpec, dict[int, int]] | None = None
    for rn, row in enumerate(rows, start=1):
        first = next((c for c in row if c), "")
        if norm_text(first).startswith(("注:", "注：")) or re.match(r"^\d+[.、]\s*\S*(各市|本表)", first):
            current = None
            continue
        header = _match_header(spec, row)
        if header is not None:
            current = header
            continue
        if current is None:
            continue
        section, mapping = current
        values = [""] * len(section.columns)
        for ci, si in mapping.items():
            if ci < len(row):
                values[si] = row[ci]
        if not any(values):
            continue
        out.sections[section.key].append(values)
        out.row_numbers[section.key].append(rn)
    return out


def _read_header_fields(spec: FormSpec, rows: list[list[str]], header: dict[str, str]) -> None:
    names = {norm_text(n): n for n in spec.header_fields}
    pattern = re.compile(
        "(" + "|".join(re.escape(n) for n in sorted(spec.header_fields, key=len, reverse=True)) + r")\s*[:：]?"
    )
    for row in rows[:12]:
        for ci, cell in enumerate(row):
            text = unicodedata.normalize("NFKC", cell)
            hits = list(pattern.finditer(text))
            for i, m in enumerate(hits):
                name = names[norm_text(m.group(1))]
                if name in header:
                    continue
                end = hits[i + 1].start() if i + 1 < len(hits) else len(text)
                value = text[m.end() : end]
                value = re.sub(r"^\s*[(（]\s*公章\s*[)）]", "", value).strip(" _\u3000:：")
                if not value and i + 1 == len(hits):
                    nxt = next((c for c in row[ci + 1 :] if c), "")
                    if nxt and not pattern.match(unicodedata.normalize("NFKC", nxt)):
                        value = nxt.strip()
                header[name] = re.sub(r"_{2,}", "", value).strip()


def rows_of(records: Iterable[Mapping[str, Any]], keys: Sequence[str]) -> list[list[str]]:
    """Plain dicts → rows in column order (missing values empty)."""
    return [[cell_text(r.get(k)) for k in keys] for r in records]
