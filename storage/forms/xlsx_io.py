"""Sectioned forms as .xlsx (openpyxl): writing the layout of :mod:`storage.forms.tables`, and reading it back."""

from __future__ import annotations

import io
from typing import Any

from storage.forms.tables import (
    FIXED_TIME,
    FormData,
    FormReadError,
    FormSpec,
    cell_text,
    display_width,
    find_any_header,
    header_text,
    normalize_zip,
    read_grid,
)


def write_xlsx(spec: FormSpec, data: FormData) -> bytes:
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = spec.sheet_name
    _write_sheet(ws, spec, data)
    return _finish_workbook(wb, [ws])


def write_xlsx_book(
    summary_title: str,
    summary_columns: list[str],
    summary_rows: list[list[Any]],
    sheets: list[tuple[str, FormSpec, FormData]],
) -> bytes:
    """One workbook: a summary sheet (a title, a header row, rows) then one form sheet per (name, spec, data)."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    wb = Workbook()
    ws = wb.active
    ws.title = "汇总"
    ws.append([summary_title])
    ws.cell(1, 1).font = Font(name="宋体", size=14, bold=True)
    ws.append(summary_columns)
    for c in range(1, len(summary_columns) + 1):
        ws.cell(2, c).font = Font(name="宋体", size=11, bold=True)
    for row in summary_rows:
        ws.append(row)
    for i, label in enumerate(summary_columns):
        ws.column_dimensions[chr(ord("A") + i)].width = max(10, display_width(label) + 4)
    out = [ws]
    for name, spec, data in sheets:
        sheet = wb.create_sheet(name[:31])
        _write_sheet(sheet, spec, data)
        out.append(sheet)
    return _finish_workbook(wb, out)


def _write_sheet(ws: Any, spec: FormSpec, data: FormData) -> None:
    from openpyxl.styles import Alignment, Border, Font, Side
    from openpyxl.utils import get_column_letter

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
        for (c0, c1), name in zip(spans, line, strict=False):
            cell = ws.cell(r, c0, header_text(spec, name, data.header.get(name, "")))
            cell.font = body
            cell.alignment = left
            if c1 > c0:
                ws.merge_cells(start_row=r, start_column=c0, end_row=r, end_column=c1)
        r += 1

    widths = [display_width(spec.first_column)] + [0] * (width - 1)
    for section in spec.sections:
        rows = data.sections.get(section.key, [])
        top = r
        ws.cell(r, 1, spec.first_column if section is spec.sections[0] else "")
        for i, label in enumerate(section.columns, start=2):
            ws.cell(r, i, label)
            widths[i - 1] = max(widths[i - 1], display_width(label))
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
                    widths[c - 1] = max(widths[c - 1], display_width(str(v)))
                cell.font, cell.alignment, cell.border = body, centre, border
            r += 1
        # The section title sits in the first column, merged down its data rows.
        title_cell = ws.cell(top + 1, 1, section.title)
        title_cell.font, title_cell.alignment = bold, centre
        if r - 1 > top + 1:
            ws.merge_cells(start_row=top + 1, start_column=1, end_row=r - 1, end_column=1)
        widths[0] = max(widths[0], min(display_width(section.title), 16))
    for note in spec.notes:
        cell = ws.cell(r, 1, note)
        cell.font, cell.alignment = Font(name="宋体", size=10), left
        ws.merge_cells(start_row=r, start_column=1, end_row=r, end_column=width)
        ws.row_dimensions[r].height = 15 * max(1, display_width(note) // 150 + 1)
        r += 1
    for i, w in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(i)].width = min(max(w + 2, 8), 40)


def _finish_workbook(wb: Any, sheets: list[Any]) -> bytes:
    """A4 landscape, one page wide, fixed document properties: the same data gives the same bytes."""
    for ws in sheets:
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
    return normalize_zip(buf.getvalue())


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
            if find_any_header(spec, rows):
                grid = rows
                break
        else:
            raise FormReadError("表格里没有找到列标题（如 县(市、区)、姓名、手机），请用附件1的表头")
    finally:
        wb.close()
    return read_grid(spec, grid)
