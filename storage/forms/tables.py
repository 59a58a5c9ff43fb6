"""Generic sectioned forms (the provincial 附件 tables) as .xlsx and .docx, and reading them back.

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
from xml.sax.saxutils import escape
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

FIXED_TIME = datetime(2021, 1, 1, 0, 0, 0)
XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
DOCX_MIME = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


@dataclass(frozen=True)
class SectionSpec:
    key: str                        # e.g. "admin"
    title: str                      # 一、县级（含）以上体系管理员
    columns: tuple[str, ...]        # column headers in the form's order


@dataclass(frozen=True)
class FormSpec:
    title: str
    sections: tuple[SectionSpec, ...]
    header_fields: tuple[str, ...] = ("报送单位", "联系人姓名", "联系人电话", "手机", "报送日期")
    header_layout: tuple[tuple[str, ...], ...] = (("报送单位", "联系人姓名"), ("联系人电话", "手机", "报送日期"))
    attachment: str = ""            # 附件1
    first_column: str = "服务人员"
    notes: tuple[str, ...] = ()
    stamp_field: str = "报送单位"    # its label gets "（公章）"
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
    sections: dict[str, list[list[str]]] = field(default_factory=dict)   # section key → rows
    row_numbers: dict[str, list[int]] = field(default_factory=dict)      # filled by readers: source rows


class FormReadError(ValueError):
    """The file is not a readable form; the message is Chinese, for the user."""


# --- helpers ------------------------------------------------------------------------------

def _norm(text: Any) -> str:
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


def _display_width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _normalize_zip(data: bytes) -> bytes:
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
                blob = re.sub(rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*(</dcterms:)",
                              rb"\g<1>" + FIXED_TIME.strftime("%Y-%m-%dT%H:%M:%SZ").encode() + rb"\g<2>", blob)
            dst.writestr(zi, blob)
    return out.getvalue()


def header_text(spec: FormSpec, name: str, value: str) -> str:
    label = f"{name}：（公章）" if name == spec.stamp_field else f"{name}："
    return label + (value or "")


# --- xlsx -------------------------------------------------------------------------------------

def write_xlsx(spec: FormSpec, data: FormData) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Border, Font, Side
    from openpyxl.utils import get_column_letter

    wb = Workbook()
    ws = wb.active
    ws.title = spec.sheet_name
    width = spec.width
    last = get_column_letter(width)
    thin = Side(style="thin", color="000000")
    border = Border(left=thin, right=thin, top=thin, bottom=thin)
    body = Font(name="宋体", size=11)
    bold = Font(name="宋体", size=11, bold=True)
    centre = Alignment(horizontal="center", vertical="center", wrap_text=True)
    left = Alignment(horizontal="left", vertical="center", wrap_text=True)

    r = 1
    if spec.attachment:
        ws.cell(r, 1, spec.attachment).font = Font(name="黑体", size=12)
        r += 1
    ws.cell(r, 1, spec.title).font = Font(name="宋体", size=16, bold=True)
    ws.cell(r, 1).alignment = Alignment(horizontal="center", vertical="center")
    ws.merge_cells(f"A{r}:{last}{r}")
    ws.row_dimensions[r].height = 30
    r += 1
    for line in spec.header_layout:
        spans = _spread(width, len(line))
        for (c0, c1), name in zip(spans, line):
            cell = ws.cell(r, c0, header_text(spec, name, data.header.get(name, "")))
            cell.font = body
            cell.alignment = left
            if c1 > c0:
                ws.merge_cells(start_row=r, start_column=c0, end_row=r, end_column=c1)
        r += 1

    widths = [_display_width(spec.first_column)] + [0] * (width - 1)
    for section in spec.sections:
        rows = data.sections.get(section.key, [])
        top = r
        ws.cell(r, 1, spec.first_column if section is spec.sections[0] else "")
        for i, label in enumerate(section.columns, start=2):
            ws.cell(r, i, label)
            widths[i - 1] = max(widths[i - 1], _display_width(label))
        for c in range(1, width + 1):
            cell = ws.cell(r, c)
            cell.font, cell.alignment, cell.border = bold, centre, border
        r += 1
        for values in rows or [[]]:
            for c in range(1, width + 1):
                v = values[c - 2] if 2 <= c < len(values) + 2 else None
                cell = ws.cell(r, c, v if v not in (None, "") else None)
                if v:
                    cell.number_format = "@"
                    widths[c - 1] = max(widths[c - 1], _display_width(str(v)))
                cell.font, cell.alignment, cell.border = body, centre, border
            r += 1
        # The section title sits in the first column, merged down its data rows.
        title_cell = ws.cell(top + 1, 1, section.title)
        title_cell.font, title_cell.alignment = bold, centre
        if r - 1 > top + 1:
            ws.merge_cells(start_row=top + 1, start_column=1, end_row=r - 1, end_column=1)
        widths[0] = max(widths[0], min(_display_width(section.title), 16))
    for note in spec.notes:
        cell = ws.cell(r, 1, note)
        cell.font, cell.alignment = Font(name="宋体", size=10), left
        ws.merge_cells(start_row=r, start_column=1, end_row=r, end_column=width)
        ws.row_dimensions[r].height = 15 * max(1, _display_width(note) // 150 + 1)
        r += 1
    for i, w in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(i)].width = min(max(w + 2, 8), 40)
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_options.horizontalCentered = True
    wb.properties.creator = "服务队伍助手"
    wb.properties.created = FIXED_TIME
    wb.properties.modified = FIXED_TIME
    wb.properties.lastModifiedBy = "服务队伍助手"
    buf = io.BytesIO()
    wb.save(buf)
    return _normalize_zip(buf.getvalue())


def _spread(width: int, n: int) -> list[tuple[int, int]]:
    """Split columns 1..width into n nearly equal spans."""
    out, start = [], 1
    for i in range(n):
        size = width // n + (1 if i < width % n else 0)
        out.append((start, start + size - 1))
        start += size
    return out


def read_xlsx(spec: FormSpec, data: bytes) -> FormData:
    """Read a filled form (the layout above, or a hand-made one: sections are found by their headers)."""
    from openpyxl import load_workbook
    try:
        wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:
        raise FormReadError("无法打开这个文件，请上传 .xlsx 格式的表格（Excel 2007 及以上）") from None
    try:
        grid: list[list[str]] = []
        for ws in wb.worksheets:
            rows = [[cell_text(v) for v in row] for row in ws.iter_rows(values_only=True)]
            if _find_any_header(spec, rows):
                grid = rows
                break
        else:
            raise FormReadError("表格里没有找到列标题（如 县(市、区)、姓名、手机），请用附件1的表头")
    finally:
        wb.close()
    return read_grid(spec, grid)


def _find_any_header(spec: FormSpec, rows: list[list[str]]) -> bool:
    return any(_match_header(spec, row) for row in rows)


def _match_header(spec: FormSpec, row: Sequence[str]) -> tuple[SectionSpec, dict[int, int]] | None:
    """(section, {column index in the row → column index in the section}) if ``row`` is a header row."""
    cells = [_norm(c) for c in row]
    best: tuple[int, int, SectionSpec, dict[int, int]] | None = None
    for order, section in enumerate(spec.sections):
        wanted = {_norm(c): i for i, c in enumerate(section.columns)}
        mapping: dict[int, int] = {}
        for ci, c in enumerate(cells):
            if c in wanted and wanted[c] not in mapping.values():
                mapping[ci] = wanted[c]
        score = len(mapping)
        if score < max(2, (len(section.columns) + 1) // 2):
            continue
        # Distinctive: how many of the section's labels matched (prefer the fuller match, then the title).
        title_bonus = 1 if any(_norm(section.title) in c or c and c in _norm(section.title) for c in cells[:1]) else 0
        key = (score * 2 + title_bonus - (len(section.columns) - score), -order)
        if best is None or key > best[:2]:
            best = (key[0], key[1], section, mapping)
    return (best[2], best[3]) if best else None


def read_grid(spec: FormSpec, rows: list[list[str]]) -> FormData:
    """Sections by their header rows; data rows below each header until the next one or the notes."""
    out = FormData(header={}, sections={s.key: [] for s in spec.sections},
                   row_numbers={s.key: [] for s in spec.sections})
    _read_header_fields(spec, rows, out.header)
    current: tuple[SectionSpec, dict[int, int]] | None = None
    for rn, row in enumerate(rows, start=1):
        first = next((c for c in row if c), "")
        if _norm(first).startswith(("注:", "注：")) or re.match(r"^\d+[.、]\s*\S*(各市|本表)", first):
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
    names = {_norm(n): n for n in spec.header_fields}
    pattern = re.compile("(" + "|".join(re.escape(n) for n in sorted(spec.header_fields, key=len, reverse=True))
                         + r")\s*[:：]?")
    for row in rows[:12]:
        for ci, cell in enumerate(row):
            text = unicodedata.normalize("NFKC", cell)
            hits = list(pattern.finditer(text))
            for i, m in enumerate(hits):
                name = names[_norm(m.group(1))]
                if name in header:
                    continue
                end = hits[i + 1].start() if i + 1 < len(hits) else len(text)
                value = text[m.end():end]
                value = re.sub(r"^\s*[(（]\s*公章\s*[)）]", "", value).strip(" _\u3000:：")
                if not value and i + 1 == len(hits):
                    nxt = next((c for c in row[ci + 1:] if c), "")
                    if nxt and not pattern.match(unicodedata.normalize("NFKC", nxt)):
                        value = nxt.strip()
                header[name] = re.sub(r"_{2,}", "", value).strip()


# --- docx ------------------------------------------------------------------------------------------

def _set_run_fonts(element, east_asia: str, ascii_font: str = "Times New Roman") -> None:
    from docx.oxml.ns import qn
    rpr = element.get_or_add_rPr()
    fonts = rpr.find(qn("w:rFonts"))
    if fonts is None:
        fonts = rpr.makeelement(qn("w:rFonts"), {})
        rpr.insert(0, fonts)
    for attr, value in (("w:ascii", ascii_font), ("w:hAnsi", ascii_font), ("w:eastAsia", east_asia),
                        ("w:cs", ascii_font)):
        fonts.set(qn(attr), value)


def _style_font(style, east_asia: str, size_pt: float, bold: bool = False) -> None:
    from docx.shared import Pt
    style.font.name = "Times New Roman"
    style.font.size = Pt(size_pt)
    style.font.bold = bold
    _set_run_fonts(style.element, east_asia)


def _run(paragraph, text: str, *, east_asia: str | None = None, size: float | None = None, bold: bool = False,
         underline: bool = False):
    from docx.shared import Pt
    run = paragraph.add_run(text)
    if east_asia:
        _set_run_fonts(run._r, east_asia)
    if size:
        run.font.size = Pt(size)
    if bold:
        run.font.bold = True
    if underline:
        run.font.underline = True
    return run


def write_docx(spec: FormSpec, data: FormData, *, body_font: str = "仿宋", title_font: str = "宋体",
               stamp_text: str = "报送单位（盖章）：") -> bytes:
    """A4 landscape, ruled tables, Chinese fonts; ready to print and stamp."""
    from docx import Document
    from docx.enum.section import WD_ORIENT
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.oxml import parse_xml
    from docx.oxml.ns import qn
    from docx.shared import Mm, Pt

    doc = Document()
    sec = doc.sections[0]
    sec.orientation = WD_ORIENT.LANDSCAPE
    sec.page_width, sec.page_height = Mm(297), Mm(210)
    sec.left_margin = sec.right_margin = Mm(20)
    sec.top_margin = sec.bottom_margin = Mm(18)
    usable = Mm(297 - 40)
    normal = doc.styles["Normal"]
    _style_font(normal, body_font, 11)
    normal.paragraph_format.space_after = Pt(0)
    normal.paragraph_format.space_before = Pt(0)
    # The east-asian font must also be in the document defaults (Word uses them for table text).
    rpr_default = doc.styles.element.find(qn("w:docDefaults"))
    if rpr_default is not None:
        rpr = rpr_default.find(qn("w:rPrDefault"))
        if rpr is not None and rpr.find(qn("w:rPr")) is not None:
            fonts = rpr.find(qn("w:rPr")).find(qn("w:rFonts"))
            if fonts is not None:
                fonts.set(qn("w:eastAsia"), body_font)
                for a in ("w:asciiTheme", "w:hAnsiTheme", "w:eastAsiaTheme", "w:cstheme"):
                    fonts.attrib.pop(qn(a), None)

    if spec.attachment:
        p = doc.add_paragraph()
        _run(p, spec.attachment, east_asia="黑体", size=14)
    p = doc.add_paragraph()
    p.alignment = WD_ALIGN_PARAGRAPH.CENTER
    p.paragraph_format.space_before = Pt(6)
    p.paragraph_format.space_after = Pt(12)
    _run(p, spec.title, east_asia=title_font, size=18, bold=True)
    for line in spec.header_layout:
        p = doc.add_paragraph()
        p.paragraph_format.space_after = Pt(6)
        for i, name in enumerate(line):
            if i:
                _run(p, "　　　")
            label = f"{name}：（公章）" if name == spec.stamp_field else f"{name}："
            _run(p, label)
            value = data.header.get(name, "")
            _run(p, value if value else "　" * 8, underline=True)

    for section in spec.sections:
        rows = data.sections.get(section.key, []) or [[""] * len(section.columns)]
        widths = _docx_widths(section, rows, usable)
        anchor = doc.add_paragraph()
        anchor.paragraph_format.space_after = Pt(6)
        anchor._p.addprevious(parse_xml(_table_xml(spec, section, rows, widths)))

    for note in spec.notes:
        p = doc.add_paragraph()
        _run(p, note, size=10)
    p = doc.add_paragraph()
    p.alignment = WD_ALIGN_PARAGRAPH.RIGHT
    p.paragraph_format.space_before = Pt(24)
    _run(p, stamp_text + "　" * 12)
    p = doc.add_paragraph()
    p.alignment = WD_ALIGN_PARAGRAPH.RIGHT
    p.paragraph_format.space_before = Pt(12)
    when = data.header.get("报送日期", "")
    _run(p, f"日期：{when}" + "　" * 6 if when else "　　　　年　　月　　日" + "　" * 6)

    cp = doc.core_properties
    cp.author = cp.last_modified_by = "服务队伍助手"
    cp.title = spec.title
    cp.created = cp.modified = FIXED_TIME
    cp.last_printed = FIXED_TIME
    cp.revision = 1
    cp.comments = ""
    buf = io.BytesIO()
    doc.save(buf)
    return _normalize_zip(buf.getvalue())


def _docx_widths(section: SectionSpec, rows: list[list[str]], usable) -> list[int]:
    """Column widths in EMU, proportional to the longest text (title column fixed), filling the page."""
    weights = [6.0]
    for i, label in enumerate(section.columns):
        longest = max([_display_width(label)] + [_display_width(r[i]) for r in rows if i < len(r)])
        weights.append(min(max(longest, 6), 28))
    total = sum(weights)
    return [int(usable * w / total) for w in weights]


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def _xml_text(text: str) -> str:
    return escape(_CONTROL.sub("", text))


_W = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'
_TWIPS_PER_EMU = 1 / 635


def _cell_xml(text: str, width: int, *, bold: bool = False, vmerge: str | None = None) -> str:
    tw = int(width * _TWIPS_PER_EMU)
    merge = f'<w:vMerge w:val="{vmerge}"/>' if vmerge == "restart" else ("<w:vMerge/>" if vmerge else "")
    rpr = "<w:rPr>" + ("<w:b/><w:bCs/>" if bold else "") + '<w:sz w:val="21"/><w:szCs w:val="21"/></w:rPr>'
    run = f'<w:r>{rpr}<w:t xml:space="preserve">{_xml_text(text)}</w:t></w:r>' if text else ""
    return (f'<w:tc><w:tcPr><w:tcW w:w="{tw}" w:type="dxa"/>{merge}<w:vAlign w:val="center"/></w:tcPr>'
            f'<w:p><w:pPr><w:jc w:val="center"/>{rpr}</w:pPr>{run}</w:p></w:tc>')


def _table_xml(spec: FormSpec, section: SectionSpec, rows: list[list[str]], widths: list[int]) -> str:
    """One ruled table: header row (repeated on each page), then the rows; the section title
    in the first column, merged down."""
    border = "".join(f'<w:{side} w:val="single" w:sz="4" w:space="0" w:color="000000"/>'
                     for side in ("top", "left", "bottom", "right", "insideH", "insideV"))
    grid = "".join(f'<w:gridCol w:w="{int(w * _TWIPS_PER_EMU)}"/>' for w in widths)
    total = sum(int(w * _TWIPS_PER_EMU) for w in widths)
    out = [f'<w:tbl {_W}><w:tblPr><w:tblW w:w="{total}" w:type="dxa"/><w:jc w:val="center"/>'
           f'<w:tblBorders>{border}</w:tblBorders><w:tblLayout w:type="fixed"/>'
           '<w:tblCellMar><w:left w:w="60" w:type="dxa"/><w:right w:w="60" w:type="dxa"/></w:tblCellMar>'
           f'<w:tblLook w:val="04A0"/></w:tblPr><w:tblGrid>{grid}</w:tblGrid>']
    labels = [spec.first_column, *section.columns]
    out.append('<w:tr><w:trPr><w:cantSplit/><w:tblHeader/></w:trPr>')
    out.extend(_cell_xml(label, w, bold=True) for label, w in zip(labels, widths))
    out.append("</w:tr>")
    for i, values in enumerate(rows):
        out.append('<w:tr><w:trPr><w:cantSplit/><w:trHeight w:val="400"/></w:trPr>')
        if i == 0:
            out.append(_cell_xml(section.title, widths[0], bold=True, vmerge="restart" if len(rows) > 1 else None))
        else:
            out.append(_cell_xml("", widths[0], vmerge="continue"))
        for ci, w in enumerate(widths[1:]):
            out.append(_cell_xml(values[ci] if ci < len(values) else "", w))
        out.append("</w:tr>")
    out.append("</w:tbl>")
    return "".join(out)


def read_docx(spec: FormSpec, data: bytes) -> FormData:
    """Read the tables of a .docx form (the layout written above, or similar)."""
    from docx import Document
    try:
        doc = Document(io.BytesIO(data))
    except Exception:
        raise FormReadError("无法打开这个文件，请上传 .docx 格式的文档") from None
    rows: list[list[str]] = [[p.text] for p in doc.paragraphs[:8]]
    for table in doc.tables:
        for row in table.rows:
            rows.append([c.text.strip() for c in row.cells])
    return read_grid(spec, rows)


def rows_of(records: Iterable[Mapping[str, Any]], keys: Sequence[str]) -> list[list[str]]:
    """Plain dicts → rows in column order (missing values empty)."""
    return [[cell_text(r.get(k)) for k in keys] for r in records]
