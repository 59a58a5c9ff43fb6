"""附件3 教育资源公共服务体系服务队伍优秀工作者设区市推荐表: one city's recommendations as .xlsx / .docx.

Written with the generic sectioned-form writer of :mod:`storage.forms.tables` (the same layout and
quality as 附件1). Columns as the form (domain.md §3):

- admins:    县(市、区) · 姓名 · 单位名称 · 职称 · 职务 · 手机 · 备注
- trainers:  县(市、区) · 姓名 · 学段 · 学科 · 学校名称 · 职称/职务 · 手机 · 案例或文章网址
- reviewers: 县(市、区) · 姓名 · 学段 · 学科 · 学校名称 · 职称/职务 · 手机 · 备注
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from storage.forms.docx_io import write_docx
from storage.forms.tables import DOCX_MIME, XLSX_MIME, FormData, FormSpec, SectionSpec
from storage.forms.xlsx_io import write_xlsx

RECOMMENDATION_TITLE = "教育资源公共服务体系服务队伍优秀工作者设区市推荐表"
HEADER_FIELDS = ("报送单位", "联系人姓名", "联系人电话", "手机", "报送日期")
ROLES = ("admin", "trainer", "reviewer")

SECTIONS = {
    "admin": SectionSpec(
        "admin", "一、县级（含）以上优秀体系管理员", ("县(市、区)", "姓名", "单位名称", "职称", "职务", "手机", "备注")
    ),
    "trainer": SectionSpec(
        "trainer",
        "二、优秀省级培训师",
        ("县(市、区)", "姓名", "学段", "学科", "学校名称", "职称/职务", "手机", "案例或文章网址"),
    ),
    "reviewer": SectionSpec(
        "reviewer",
        "三、优秀省级资源审核员",
        ("县(市、区)", "姓名", "学段", "学科", "学校名称", "职称/职务", "手机", "备注"),
    ),
}
# The row keys of each section, in column order (values come from the roster and the recommendation).
KEYS = {
    "admin": ("county", "name", "org", "title", "post", "mobile", "note"),
    "trainer": ("county", "name", "stage", "subject", "school", "title_post", "mobile", "url"),
    "reviewer": ("county", "name", "stage", "subject", "school", "title_post", "mobile", "note"),
}

__all__ = [
    "DOCX_MIME",
    "HEADER_FIELDS",
    "KEYS",
    "RECOMMENDATION_TITLE",
    "XLSX_MIME",
    "recommendation_form_data",
    "recommendation_form_spec",
    "write_recommendation_docx",
    "write_recommendation_xlsx",
]


def recommendation_form_spec(*, deadline: str = "10月底") -> FormSpec:
    """The form with its note; the deadline comes from the annual cycle (configuration)."""
    return FormSpec(
        title=RECOMMENDATION_TITLE,
        attachment="附件3",
        header_fields=HEADER_FIELDS,
        sections=tuple(SECTIONS[r] for r in ROLES),
        notes=(f"注：本表格由各设区市教育技术中心填报，原则上，于每年{deadline}前上报盖章扫描件及word文档。",),
        sheet_name="附件3",
    )


def recommendation_form_data(rows: Iterable[Mapping[str, str]], header: Mapping[str, str] | None = None) -> FormData:
    """``rows``: one mapping per recommended person with ``role`` and the keys of KEYS[role],
    already in the order they should appear."""
    data = FormData(
        header={k: str((header or {}).get(k, "") or "") for k in HEADER_FIELDS}, sections={r: [] for r in ROLES}
    )
    for row in rows:
        role = row["role"]
        data.sections[role].append([str(row.get(k, "") or "") for k in KEYS[role]])
    return data


def write_recommendation_xlsx(rows, header=None, *, deadline: str = "10月底") -> bytes:
    return write_xlsx(recommendation_form_spec(deadline=deadline), recommendation_form_data(rows, header))


def write_recommendation_docx(rows, header=None, *, deadline: str = "10月底") -> bytes:
    return write_docx(recommendation_form_spec(deadline=deadline), recommendation_form_data(rows, header))
