"""基地校年度考核表: every school's indicators, value and met or not, indicators met, rank, and the
effective visits for pay-by-use; as .xlsx and a printable .docx (the generic sectioned-form writer)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from storage.forms.docx_io import write_docx
from storage.forms.tables import DOCX_MIME, XLSX_MIME, FormData, FormSpec, SectionSpec
from storage.forms.xlsx_io import write_xlsx

TITLE = "浙江省数字教育资源应用实践基地学校年度考核表"
HEADER_FIELDS = ("考核单位", "考核年度", "统计截至")
FIXED_COLUMNS = ("排名", "学校", "设区市", "县(市、区)", "学科(专业)")
TAIL_COLUMNS = ("达标项数", "有效访问量")

__all__ = ["DOCX_MIME", "XLSX_MIME", "assessment_spec", "write_assessment_docx", "write_assessment_xlsx"]


def assessment_spec(indicator_labels: Sequence[str], notes: Sequence[str] = ()) -> FormSpec:
    columns = (*FIXED_COLUMNS, *indicator_labels, *TAIL_COLUMNS)
    return FormSpec(
        title=TITLE,
        sections=(SectionSpec("schools", "基地校", columns),),
        header_fields=HEADER_FIELDS,
        header_layout=(HEADER_FIELDS,),
        first_column="",
        notes=tuple(notes),
        stamp_field="考核单位",
        sheet_name="基地校考核",
    )


def _data(rows: Sequence[Sequence[str]], header: Mapping[str, str]) -> FormData:
    return FormData(
        header={k: str(header.get(k, "") or "") for k in HEADER_FIELDS},
        sections={"schools": [[str(v) for v in r] for r in rows]},
    )


def write_assessment_xlsx(
    labels: Sequence[str], rows: Sequence[Sequence[str]], header: Mapping[str, str], notes: Sequence[str] = ()
) -> bytes:
    """``rows``: one per school in rank order, values in the columns' order (see ``assessment_spec``)."""
    return write_xlsx(assessment_spec(labels, notes), _data(rows, header))


def write_assessment_docx(
    labels: Sequence[str], rows: Sequence[Sequence[str]], header: Mapping[str, str], notes: Sequence[str] = ()
) -> bytes:
    return write_docx(assessment_spec(labels, notes), _data(rows, header), stamp_text="考核单位（盖章）：")


class ListFileError(ValueError):
    """The base-school list file cannot be read at all (message in Chinese)."""


def read_school_list(data: bytes, name: str) -> list[tuple[int, dict[str, object]]]:
    """The first sheet of an .xlsx (or a CSV): the first non-blank row is the header; returns
    (row number in the file, {header: value}) for every non-blank row below it."""
    import csv
    import io

    lower = name.lower()
    if lower.endswith(".xls"):
        raise ListFileError("不支持旧版 .xls，请在 Excel 中另存为 .xlsx")
    if lower.endswith((".xlsx", ".xlsm")) or data[:2] == b"PK":
        from openpyxl import load_workbook

        try:
            wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        except Exception:
            raise ListFileError("无法读取 xlsx 文件，请确认文件没有损坏") from None
        grid = [(i, list(r)) for i, r in enumerate(wb.worksheets[0].iter_rows(values_only=True), start=1)]
        wb.close()
    else:
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            try:
                text = data.decode("gb18030")
            except UnicodeDecodeError:
                raise ListFileError("文件编码无法识别，请另存为 UTF-8 的 CSV 或 xlsx") from None
        grid = [(i, list(r)) for i, r in enumerate(csv.reader(io.StringIO(text)), start=1)]
    grid = [(i, r) for i, r in grid if any(v is not None and str(v).strip() for v in r)]
    if not grid:
        raise ListFileError("文件没有内容")
    keys = [str(h).strip() if h is not None else "" for h in grid[0][1]]
    # rows may be shorter or longer than the header (empty trailing cells): zip pairs what is there
    return [(i, {k: v for k, v in zip(keys, r, strict=False) if k}) for i, r in grid[1:]]
