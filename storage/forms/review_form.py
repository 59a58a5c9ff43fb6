"""资源审核结果: one call's results for a city (the city → province report) as .xlsx and printable .docx,
with the generic sectioned-form writer of :mod:`storage.forms.tables`."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from storage.forms.docx_io import write_docx
from storage.forms.tables import DOCX_MIME, XLSX_MIME, FormData, FormSpec, SectionSpec
from storage.forms.xlsx_io import write_xlsx

COLUMNS = (
    "编号",
    "资源名称",
    "类别",
    "学段",
    "学科",
    "教材版本",
    "章节",
    "资源类型",
    "县(市、区)",
    "学校",
    "提交人",
    "审核级别",
    "意见",
)
KEYS = (
    "n",
    "title",
    "category",
    "stage",
    "subject",
    "edition",
    "chapter",
    "type",
    "county",
    "school",
    "submitter",
    "level",
    "notes",
)
SECTIONS = (
    SectionSpec("shelved", "一、已通过（上架）", COLUMNS),
    SectionSpec("reviewing", "二、审核中", COLUMNS),
    SectionSpec("rejected", "三、已退回", COLUMNS),
)

__all__ = ["DOCX_MIME", "XLSX_MIME", "review_form_data", "review_form_spec", "write_docx", "write_xlsx"]


def review_form_spec(call: str) -> FormSpec:
    return FormSpec(
        title=f"{call}资源审核结果汇总表",
        sections=SECTIONS,
        attachment="",
        header_fields=("报送单位", "联系人姓名", "报送日期"),
        header_layout=(("报送单位", "联系人姓名", "报送日期"),),
        first_column="审核结果",
        notes=("注：由设区市教育技术中心汇总本市资源的审核结果，报省教育技术中心。",),
        sheet_name="审核结果",
    )


def review_form_data(rows: Iterable[Mapping[str, str]], header: Mapping[str, str]) -> FormData:
    """``rows``: one mapping per resource with ``section`` (shelved | reviewing | rejected) and KEYS."""
    data = FormData(header={k: str(v) for k, v in header.items()}, sections={s.key: [] for s in SECTIONS})
    for row in rows:
        data.sections[row["section"]].append([str(row.get(k, "") or "") for k in KEYS])
    return data
