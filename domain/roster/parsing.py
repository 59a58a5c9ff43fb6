"""Reading registration text: ``字段=值`` lines, rows in the form's column order, pastes.

Three shapes of a line:

* ``县=西湖区 姓名=张三 学段=小学 …`` — the form's labels or short forms, ``=``
  (or ``:`` after a known label); full-width ``＝，：；`` work; values with
  spaces may be quoted (``学校名称="杭州 学军小学"``) or simply run on to the
  next label;
* a row copied from Excel: cells separated by tabs, in the form's column order
  (a leading empty cell, a section title cell or a row number is dropped);
* the same separated by spaces, used only when the number of values equals the
  number of columns.

A paste is many lines: empty lines, the form's title and header lines, the
section titles and the notes are skipped; a header row sets the column order
(and the section) of the rows below it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from domain.roster.fields import (
    SECTIONS,
    Column,
    Role,
    norm_label,
    section_for_title,
)
from domain.roster.model import FieldError

_SEPARATORS = " \t\u3000\u00a0,，;；"
_KEY = re.compile(r"(?<![^\s,，;；])([^\s=＝:：,，;；\"“”'‘’「」]{1,24}?)\s*([=＝:：])")
_QUOTES = {'"': '"', "“": "”", "'": "'", "‘": "’", "「": "」"}
_IGNORED_HEADERS = {norm_label(x) for x in ("服务人员", "序号", "编号", "No", "No.", "#", "行号")}


@dataclass
class RawRow:
    row: int  # 1-based number among the paste's data rows (headers, titles, notes skipped)
    role: Role
    values: dict[str, str]  # column key → text as typed (trimmed)
    text: str  # the line
    mode: str  # "kv" | "columns"
    errors: list[FieldError] = field(default_factory=list)
    sectioned: bool = False  # the role came from a section title or header row of the paste


def _role_columns(role: Role) -> tuple[Column, ...]:
    return SECTIONS[role].columns


# --- 字段=值 ------------------------------------------------------------------------------


def _quoted_spans(line: str) -> list[tuple[int, int]]:
    spans, i = [], 0
    while i < len(line):
        ch = line[i]
        if ch in _QUOTES and (i == 0 or line[i - 1] in "=＝:：" + _SEPARATORS):
            close = line.find(_QUOTES[ch], i + 1)
            if close > 0:
                spans.append((i, close))
                i = close + 1
                continue
        i += 1
    return spans


def _unquote(value: str) -> str:
    v = value.strip(_SEPARATORS)
    if len(v) >= 2 and v[0] in _QUOTES and v[-1] == _QUOTES[v[0]]:
        return v[1:-1].strip()
    return v


def looks_like_kv(line: str, role: Role) -> bool:
    """True if the line has at least one ``known label=value`` (or ``label：value``) pair."""
    for m in _KEY.finditer(line):
        if SECTIONS[role].find(m.group(1)) is not None or _any_section_knows(m.group(1)):
            return True
    return False


def _any_section_knows(label: str) -> bool:
    return any(s.find(label) is not None for s in SECTIONS.values())


def parse_kv(line: str, role: Role, row: int = 1) -> RawRow:
    section = SECTIONS[role]
    spans = _quoted_spans(line)
    keys: list[tuple[int, int, str, Column | None]] = []  # (start, value start, label, column)
    for m in _KEY.finditer(line):
        if any(a <= m.start() <= b for a, b in spans):
            continue
        label, sep = m.group(1), m.group(2)
        col = section.find(label)
        if col is None and sep in ":：" and not _any_section_knows(label):
            continue  # a colon inside a value (学校名称=A校区:东), not a key
        keys.append((m.start(), m.end(), label, col))
    result = RawRow(row=row, role=role, values={}, text=line, mode="kv")
    if keys and line[: keys[0][0]].strip(_SEPARATORS):
        lead = line[: keys[0][0]].strip(_SEPARATORS)
        result.errors.append(FieldError(row, "格式", lead, "字段=值，如 姓名=张三（多项用空格隔开）"))
    for i, (_start, vstart, label, col) in enumerate(keys):
        end = keys[i + 1][0] if i + 1 < len(keys) else len(line)
        value = _unquote(line[vstart:end])
        if col is None:
            other = [r for r, s in SECTIONS.items() if s.find(label) is not None]
            expected = f"{role.label}表的列名之一：{'、'.join(section.labels)}"
            problem = (
                f"{role.label}表没有这一项（属于{'、'.join(r.label for r in other)}），请删去；"
                if other
                else "没有这一项；"
            ) + f"可填：{'、'.join(section.labels)}"
            result.errors.append(FieldError(row, label, value, expected, problem=problem))
            continue
        if col.key in result.values:
            result.errors.append(FieldError(row, col.label, value, "每项只填一次"))
            continue
        result.values[col.key] = value
    return result


# --- rows in column order ---------------------------------------------------------------


def split_cells(line: str) -> tuple[list[str], str]:
    """(cells, mode): tab-separated cells if the line has a tab, else space-separated tokens."""
    if "\t" in line:
        return [_excel_cell(c) for c in line.split("\t")], "tab"
    return _tokens(line), "space"


def _excel_cell(cell: str) -> str:
    c = cell.strip(" \u3000\u00a0\r")
    if len(c) >= 2 and c[0] == '"' and c[-1] == '"':
        c = c[1:-1].replace('""', '"')
    # Cells with line breaks (wrapped text in Excel) come as several lines.
    return re.sub(r"\s*\n\s*", "", c).strip()


def _tokens(line: str) -> list[str]:
    out: list[str] = []
    spans = _quoted_spans(line)
    i, buf = 0, []
    while i < len(line):
        span = next((s for s in spans if s[0] == i), None)
        if span:
            buf.append(line[span[0] + 1 : span[1]])
            out.append("".join(buf).strip())
            buf = []
            i = span[1] + 1
            continue
        ch = line[i]
        if ch in " \t\u3000\u00a0":
            if buf:
                out.append("".join(buf))
                buf = []
        else:
            buf.append(ch)
        i += 1
    if buf:
        out.append("".join(buf))
    return out


def _is_row_number(cell: str) -> bool:
    return bool(re.fullmatch(r"\d{1,4}[.、]?", cell.strip()))


def parse_columns(line: str, role: Role, row: int = 1, columns: list[Column | None] | None = None) -> RawRow:
    cols: list[Column | None] = list(columns) if columns is not None else list(_role_columns(role))
    cells, mode = split_cells(line)
    n = len(cols)
    result = RawRow(row=row, role=role, values={}, text=line, mode="columns")
    # Drop what precedes the data (the form's first column, a row number) and trailing empty cells.
    while len(cells) > n and (cells[0] == "" or _is_row_number(cells[0]) or section_for_title(cells[0])):
        cells.pop(0)
    while len(cells) > n and cells[-1] == "":
        cells.pop()
    labels = "、".join(c.label for c in cols if c is not None)
    if mode == "space" and len(cells) != n:
        result.errors.append(
            FieldError(
                row,
                "列数",
                f"{len(cells)}项",
                (f"按表格列顺序填{n}项（{labels}），空项填“无”；含空格的值加引号，或改用 字段=值"),
            )
        )
        return result
    if len(cells) > n:
        extra = "、".join(c for c in cells[n:] if c)
        result.errors.append(FieldError(row, "列数", extra, f"{n}列（{labels}），多出的内容请删除"))
        return result
    cells += [""] * (n - len(cells))
    for col, cell in zip(cols, cells, strict=False):
        if col is not None:
            result.values[col.key] = cell
    return result


# --- header rows -------------------------------------------------------------------------


@dataclass(frozen=True)
class Header:
    role: Role
    columns: list[Column | None]  # None: a column to ignore (服务人员, 序号)


def parse_header(line: str, role_hint: Role | None = None) -> Header | None:
    """A line of column labels (as copied from the form), or None."""
    cells, _ = split_cells(line)
    first_role = section_for_title(cells[0]) if cells else None
    if first_role is not None:
        cells = cells[1:]
    while cells and cells[-1] == "":
        cells.pop()
    while cells and cells[0] == "":
        cells.pop(0)
    if len([c for c in cells if c]) < 2:
        return None
    best: tuple[int, int, Role] | None = None
    for role, section in SECTIONS.items():
        known = sum(1 for c in cells if section.find(c) is not None)
        bonus = 1 if role in (first_role, role_hint) else 0
        score = (known, bonus)
        if best is None or score > best[:2]:
            best = (known, bonus, role)
    assert best is not None
    known, _, role = best
    data_cells = [c for c in cells if c and norm_label(c) not in _IGNORED_HEADERS]
    if known < 2 or known < len(data_cells) * 0.6:
        return None
    if first_role is not None:
        role = first_role
    section = SECTIONS[role]
    columns: list[Column | None] = []
    for c in cells:
        col = section.find(c) if c and norm_label(c) not in _IGNORED_HEADERS else None
        columns.append(col if col is not None and col not in columns else None)
    while columns and columns[0] is None and cells and (cells[0] == "" or norm_label(cells[0]) in _IGNORED_HEADERS):
        columns.pop(0)
        cells = cells[1:]
    return Header(role, columns)


# --- lines and pastes ------------------------------------------------------------------------

_SKIP_PREFIXES = tuple(
    norm_label(x) for x in ("附件", "报送单位", "联系人", "注:", "注：", "教育资源公共服务体系服务队伍")
)


def logical_lines(text: str) -> list[tuple[int, str]]:
    """Split into (line number, line); an Excel cell with line breaks (quoted) stays one line."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    out: list[tuple[int, str]] = []
    i = 0
    while i < len(lines):
        start, line = i + 1, lines[i]
        while _open_excel_cell(line) and i + 1 < len(lines):
            i += 1
            line = line + "\n" + lines[i]
        out.append((start, line))
        i += 1
    return out


def _open_excel_cell(line: str) -> bool:
    last = line.split("\t")[-1].lstrip(" ")
    if "\t" not in line and not line.startswith('"'):
        return False
    return last.startswith('"') and last.count('"') % 2 == 1


def is_skippable(line: str) -> bool:
    key = norm_label(line)
    if not key or not key.replace("\t", ""):
        return True
    return key.startswith(_SKIP_PREFIXES) or key.endswith(("汇总表", "推荐表"))


def parse_line(line: str, role: Role, row: int = 1, columns: list[Column | None] | None = None) -> RawRow:
    """One line in either shape."""
    if "\t" not in line and looks_like_kv(line, role):
        return parse_kv(line, role, row)
    return parse_columns(line, role, row, columns)


def parse_paste(text: str, role: Role) -> list[RawRow]:
    """Every data row of a paste; header rows, titles, notes and empty lines are skipped.

    A section title line (三、省级资源审核员) or a header row switches the section of the
    rows below it; ``role`` is the section until then.
    """
    rows: list[RawRow] = []
    current = role
    sectioned = False
    columns: list[Column | None] | None = None
    in_notes = False
    for _lineno, line in logical_lines(text):
        stripped = line.strip(" \t\u3000\u00a0")
        if not stripped:
            continue
        key = norm_label(stripped)
        if key.startswith(("注:", "注：")):
            in_notes = True
            continue
        if in_notes and re.match(r"^\d+[.、]", key):
            continue
        in_notes = False
        if is_skippable(stripped):
            continue
        cells, _ = split_cells(line)
        non_empty = [c for c in cells if c]
        title_role = section_for_title(non_empty[0]) if non_empty else None
        if title_role is not None and len(non_empty) == 1:
            current, columns, sectioned = title_role, None, True
            continue
        if "\t" in line or not looks_like_kv(line, current):
            header = parse_header(line, current)
            if header is not None:
                current, columns, sectioned = header.role, header.columns, True
                continue
        if title_role is not None:
            if title_role != current:
                columns = None
            current, sectioned = title_role, True
        raw = parse_line(line, current, len(rows) + 1, columns)
        raw.sectioned = sectioned
        rows.append(raw)
    return rows
