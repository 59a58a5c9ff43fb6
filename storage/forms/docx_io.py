"""Sectioned forms as .docx (python-docx): writing the layout of :mod:`storage.forms.tables`, and reading it back."""

from __future__ import annotations

import io
import re
from typing import Any
from xml.sax.saxutils import escape

from storage.forms.tables import (
    FIXED_TIME,
    FormData,
    FormReadError,
    FormSpec,
    SectionSpec,
    display_width,
    normalize_zip,
    read_grid,
)


def _set_run_fonts(element, east_asia: str, ascii_font: str = "Times New Roman") -> None:
    from docx.oxml.ns import qn

    rpr = element.get_or_add_rPr()
    fonts = rpr.find(qn("w:rFonts"))
    if fonts is None:
        fonts = rpr.makeelement(qn("w:rFonts"), {})
        rpr.insert(0, fonts)
    for attr, value in (
        ("w:ascii", ascii_font),
        ("w:hAnsi", ascii_font),
        ("w:eastAsia", east_asia),
        ("w:cs", ascii_font),
    ):
        fonts.set(qn(attr), value)


def _style_font(style, east_asia: str, size_pt: float, bold: bool = False) -> None:
    from docx.shared import Pt

    style.font.name = "Times New Roman"
    style.font.size = Pt(size_pt)
    style.font.bold = bold
    _set_run_fonts(style.element, east_asia)


def _run(
    paragraph,
    text: str,
    *,
    east_asia: str | None = None,
    size: float | None = None,
    bold: bool = False,
    underline: bool = False,
):
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


def write_docx(
    spec: FormSpec,
    data: FormData,
    *,
    body_font: str = "仿宋",
    title_font: str = "宋体",
    stamp_text: str = "报送单位（盖章）：",
) -> bytes:
    """A4 landscape, ruled tables, Chinese fonts; ready to print and stamp."""
    return write_docx_many(spec, [data], body_font=body_font, title_font=title_font, stamp_text=stamp_text)


def write_docx_many(
    spec: FormSpec,
    forms: list[FormData],
    *,
    body_font: str = "仿宋",
    title_font: str = "宋体",
    stamp_text: str = "报送单位（盖章）：",
) -> bytes:
    """Several filled forms in one document (e.g. every city's 附件1), each starting on a new page."""
    from docx.enum.text import WD_BREAK

    doc = _new_document(body_font)
    for i, data in enumerate(forms):
        if i:
            doc.add_paragraph().add_run().add_break(WD_BREAK.PAGE)
        _write_form(doc, spec, data, title_font=title_font, stamp_text=stamp_text)
    return _finish_document(doc, spec.title)


def _new_document(body_font: str) -> Any:
    from docx import Document
    from docx.enum.section import WD_ORIENT
    from docx.oxml.ns import qn
    from docx.shared import Mm, Pt

    doc = Document()
    sec = doc.sections[0]
    sec.orientation = WD_ORIENT.LANDSCAPE
    sec.page_width, sec.page_height = Mm(297), Mm(210)
    sec.left_margin = sec.right_margin = Mm(20)
    sec.top_margin = sec.bottom_margin = Mm(18)
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
    return doc


def _write_form(doc: Any, spec: FormSpec, data: FormData, *, title_font: str, stamp_text: str) -> None:
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.oxml import parse_xml
    from docx.shared import Mm, Pt

    usable = Mm(297 - 40)
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


def _finish_document(doc: Any, title: str) -> bytes:
    """Fixed document properties: the same data gives the same bytes."""
    cp = doc.core_properties
    cp.author = cp.last_modified_by = "服务队伍助手"
    cp.title = title
    cp.created = cp.modified = FIXED_TIME
    cp.last_printed = FIXED_TIME
    cp.revision = 1
    cp.comments = ""
    buf = io.BytesIO()
    doc.save(buf)
    return normalize_zip(buf.getvalue())


def _docx_widths(section: SectionSpec, rows: list[list[str]], usable) -> list[int]:
    """Column widths in EMU, proportional to the longest text (title column fixed), filling the page."""
    weights = [6.0]
    for i, label in enumerate(section.columns):
        longest = max([display_width(label)] + [display_width(r[i]) for r in rows if i < len(r)])
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
    return (
        f'<w:tc><w:tcPr><w:tcW w:w="{tw}" w:type="dxa"/>{merge}<w:vAlign w:val="center"/></w:tcPr>'
        f'<w:p><w:pPr><w:jc w:val="center"/>{rpr}</w:pPr>{run}</w:p></w:tc>'
    )


def _table_xml(spec: FormSpec, section: SectionSpec, rows: list[list[str]], widths: list[int]) -> str:
    """One ruled table: header row (repeated on each page), then the rows; the section title
    in the first column, merged down."""
    border = "".join(
        f'<w:{side} w:val="single" w:sz="4" w:space="0" w:color="000000"/>'
        for side in ("top", "left", "bottom", "right", "insideH", "insideV")
    )
    grid = "".join(f'<w:gridCol w:w="{int(w * _TWIPS_PER_EMU)}"/>' for w in widths)
    total = sum(int(w * _TWIPS_PER_EMU) for w in widths)
    out = [
        f'<w:tbl {_W}><w:tblPr><w:tblW w:w="{total}" w:type="dxa"/><w:jc w:val="center"/>'
        f'<w:tblBorders>{border}</w:tblBorders><w:tblLayout w:type="fixed"/>'
        '<w:tblCellMar><w:left w:w="60" w:type="dxa"/><w:right w:w="60" w:type="dxa"/></w:tblCellMar>'
        f'<w:tblLook w:val="04A0"/></w:tblPr><w:tblGrid>{grid}</w:tblGrid>'
    ]
    labels = [spec.first_column, *section.columns]
    out.append("<w:tr><w:trPr><w:cantSplit/><w:tblHeader/></w:trPr>")
    out.extend(_cell_xml(label, w, bold=True) for label, w in zip(labels, widths, strict=False))
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
