"""附件1 as .xlsx and .docx: layout, round trip, a hand-made workbook, determinism, speed."""

from __future__ import annotations

import io

import pytest
from docx import Document
from docx.enum.section import WD_ORIENT
from docx.oxml.ns import qn
from openpyxl import Workbook, load_workbook

from domain.regions import load_default_regions
from domain.roster import SECTIONS, Role, validate_row
from storage.forms import FormData, FormReadError, FormSpec, SectionSpec, read_xlsx, write_docx, write_xlsx
from storage.forms.roster_form import (
    ROSTER_FORM,
    ROSTER_TITLE,
    read_roster,
    roster_form_spec,
    write_roster_docx,
    write_roster_xlsx,
)
from tests.roster.factory import city_members

TREE = load_default_regions()
HEADER = {
    "报送单位": "杭州市教育技术中心",
    "联系人姓名": "陈建国",
    "联系人电话": "0571-88905096",
    "手机": "13800001111",
    "报送日期": "2021-04-28",
}


@pytest.fixture(scope="module")
def members():
    return city_members(TREE, "杭州市", reviewers=5)


def _rows(members):
    return sorted((m.role.value, tuple(m.row())) for m in members)


def test_xlsx_layout_title_header_and_sections(members):
    data = write_roster_xlsx(members, HEADER, tree=TREE)
    ws = load_workbook(io.BytesIO(data)).active
    cells = [[c for c in row] for row in ws.iter_rows(values_only=True)]
    flat = [str(c) for row in cells for c in row if c is not None]
    assert cells[0][0] == "附件1" and cells[1][0] == ROSTER_TITLE
    assert any("报送单位：（公章）杭州市教育技术中心" == c for c in flat)
    assert "报送日期：2021-04-28" in flat and "手机：13800001111" in flat
    for role in Role:
        header_rows = [
            row for row in cells if list(row[1 : 1 + len(SECTIONS[role].labels)]) == list(SECTIONS[role].labels)
        ]
        assert header_rows, role
    assert SECTIONS[Role.ADMIN].title in flat and SECTIONS[Role.REVIEWER].title in flat
    assert ws.page_setup.orientation == "landscape"
    # Mobile numbers and accounts are text, never numbers.
    assert all(not isinstance(c, (int, float)) for row in cells for c in row)


def test_xlsx_round_trip_gives_the_same_rows(members):
    data = write_roster_xlsx(members, HEADER, tree=TREE)
    back = read_roster(data, "杭州市-附件1.xlsx")
    assert back.header == HEADER
    results = [validate_row(r, TREE, city="杭州市") for r in back.rows]
    assert all(r.ok for r in results), [e.text for r in results for e in r.errors][:3]
    assert _rows(r.member for r in results) == _rows(members)
    # Rows keep their spreadsheet row numbers, in order, city level first.
    assert back.rows == sorted(back.rows, key=lambda r: r.row)
    assert back.by_role(Role.ADMIN)[0].values["county"] == "市本级"


def test_docx_is_a4_landscape_with_ruled_tables_and_chinese_fonts(members):
    data = write_roster_docx(members, HEADER, tree=TREE)
    doc = Document(io.BytesIO(data))
    sec = doc.sections[0]
    assert sec.orientation == WD_ORIENT.LANDSCAPE
    assert round(sec.page_width.mm) == 297 and round(sec.page_height.mm) == 210
    text = "\n".join(p.text for p in doc.paragraphs)
    assert ROSTER_TITLE in text and "盖章" in text and "报送单位：（公章）杭州市教育技术中心" in text
    title = next(p for p in doc.paragraphs if p.text == ROSTER_TITLE)
    assert title.alignment == 1  # centred
    assert len(doc.tables) == 3
    for table, role in zip(doc.tables, Role, strict=False):
        assert [c.text for c in table.rows[0].cells] == ["服务人员", *SECTIONS[role].labels]
        assert table.rows[1].cells[0].text == SECTIONS[role].title
        borders = table._tbl.tblPr.find(qn("w:tblBorders"))
        assert borders is not None and borders.find(qn("w:insideH")).get(qn("w:val")) == "single"
    assert len(doc.tables[2].rows) == 1 + 14 * 5
    fonts = doc.styles["Normal"].element.rPr.find(qn("w:rFonts"))
    assert fonts.get(qn("w:eastAsia")) == "仿宋"
    back = read_roster(data, "x.docx")
    assert back.header == HEADER
    assert _rows(validate_row(r, TREE, city="杭州市").member for r in back.rows) == _rows(members)


def test_empty_roster_still_prints_the_sections():
    doc = Document(io.BytesIO(write_roster_docx([], {"报送单位": "丽水市教育技术中心"})))
    assert len(doc.tables) == 3 and all(len(t.rows) == 2 for t in doc.tables)
    assert read_roster(write_roster_xlsx([], {}), "a.xlsx").rows == []


def test_output_is_deterministic(members):
    assert write_roster_xlsx(members, HEADER, tree=TREE) == write_roster_xlsx(
        list(reversed(members)), HEADER, tree=TREE
    )
    assert write_roster_docx(members, HEADER, tree=TREE) == write_roster_docx(members, HEADER, tree=TREE)


def test_reads_a_hand_made_workbook():
    wb = Workbook()
    ws = wb.active
    ws.append(["杭州市 服务队伍名单"])
    ws.append(["报送单位", "杭州市教育技术中心", None, "联系人姓名：", "陈建国"])
    ws.append([])
    ws.append(["体系管理员"])
    ws.append(["序号", "姓名", "县(市、区)", "手机", "单位名称", "人员类型", "职称", "职务"])  # own column order
    ws.append([1, "李明", "西湖区", 13800000002, "西湖区教育发展中心", "老师", None, None])
    ws.append([])
    ws.append(["审核员"])
    ws.append(["县（市、区）", "姓名", "学段", "学科", "学校名称", "平台账号", "手机", "职称/ 职务", "教师类型"])
    ws.append(["萧山区", "张丽", "普高", "数学", "萧山中学", "ZhangLi", "139-0000-0003", "", "审核员"])
    ws.append(["萧山区", "王强", "初中", "英语", "萧山二中", "wangq", 13900000004.0, "一级教师", "其它"])
    buf = io.BytesIO()
    wb.save(buf)
    back = read_roster(buf.getvalue(), "名单.xlsx")
    assert back.header["报送单位"] == "杭州市教育技术中心" and back.header["联系人姓名"] == "陈建国"
    assert [(r.row, r.role) for r in back.rows] == [(6, Role.ADMIN), (10, Role.REVIEWER), (11, Role.REVIEWER)]
    results = [validate_row(r, TREE, city="杭州市") for r in back.rows]
    assert all(r.ok for r in results), [e.text for r in results for e in r.errors]
    assert results[0].member.values["person_type"] == "教师" and results[0].member.mobile == "13800000002"
    assert results[1].member.values["stage"] == "高中" and results[2].member.mobile == "13900000004"


def test_not_a_workbook():
    with pytest.raises(FormReadError, match="无法打开"):
        read_roster(b"not a zip", "a.xlsx")
    with pytest.raises(FormReadError, match="xlsx"):
        read_roster(b"\xd0\xcf\x11\xe0", "old.xls")
    wb = Workbook()
    wb.active.append(["随便", "什么"])
    buf = io.BytesIO()
    wb.save(buf)
    with pytest.raises(FormReadError, match="列标题"):
        read_roster(buf.getvalue(), "a.xlsx")


def test_generic_writer_serves_another_form():
    spec = FormSpec(
        title="教育资源公共服务体系服务队伍优秀工作者设区市推荐表",
        attachment="附件3",
        sections=(
            SectionSpec(
                "admin",
                "一、县级（含）以上优秀体系管理员",
                ("县(市、区)", "姓名", "单位名称", "职称", "职务", "手机", "备注"),
            ),
            SectionSpec(
                "trainer",
                "二、优秀省级培训师",
                ("县(市、区)", "姓名", "学段", "学科", "学校名称", "职称/职务", "手机", "案例或文章网址"),
            ),
        ),
        notes=("注：本表格由各设区市教育技术中心填报。",),
    )
    data = FormData(
        header={"报送单位": "宁波市教育技术中心"},
        sections={
            "admin": [["鄞州区", "刘洋", "鄞州区教育局", "", "科长", "13800000009", "表现突出"]],
            "trainer": [
                [
                    "海曙区",
                    "林晓燕",
                    "小学",
                    "语文",
                    "海曙中心小学",
                    "高级教师",
                    "13800000010",
                    "https://x.cn/a?b=1&c=2",
                ]
            ],
        },
    )
    back = read_xlsx(spec, write_xlsx(spec, data))
    assert back.sections == data.sections and back.header["报送单位"] == "宁波市教育技术中心"
    doc = Document(io.BytesIO(write_docx(spec, data)))
    assert "附件3" in doc.paragraphs[0].text and doc.tables[1].rows[1].cells[8].text == "https://x.cn/a?b=1&c=2"


def test_notes_follow_the_configuration():
    from domain.roster import QuotaRules

    spec = roster_form_spec(deadline="5月15日", rules=QuotaRules.from_mapping({"county": {"reviewer": "2-4"}}))
    assert "5月15日" in spec.notes[0] and "2–4名" in spec.notes[3]
    assert ROSTER_FORM.sections[2].columns == SECTIONS[Role.REVIEWER].labels
