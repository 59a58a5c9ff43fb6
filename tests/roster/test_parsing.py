"""Reading lines (字段=值, tab/space columns) and multi-row pastes."""

from __future__ import annotations

import pytest

from domain.regions import load_default_regions
from domain.roster import Role, logical_lines, parse_header, parse_kv, parse_line, parse_paste, validate_row

TREE = load_default_regions()
R, T, A = Role.REVIEWER, Role.TRAINER, Role.ADMIN

REVIEWER_ROW = ["西湖区", "张三", "小学", "语文", "杭州市学军小学", "AbC_01", "13800138000", "高级教师", "其他"]


def test_kv_with_form_labels_and_short_forms():
    raw = parse_kv(
        "县(市、区)=西湖区 姓名=张三 学段=小学 学科=语文 学校名称=学军小学 平台账号=AbC 手机=13800138000 "
        "职称/职务=高级教师 教师类型=其他",
        R,
    )
    assert raw.errors == [] and raw.values["county"] == "西湖区" and raw.values["title_post"] == "高级教师"
    raw = parse_kv("县=西湖 名字=张三 账号=AbC 电话=13800138000", R)
    assert raw.values == {"county": "西湖", "name": "张三", "account": "AbC", "mobile": "13800138000"}


def test_kv_full_width_and_commas():
    raw = parse_kv("县（市、区）＝西湖区，姓名＝张三；学段：小学，学科：语文", R)
    assert raw.errors == []
    assert raw.values == {"county": "西湖区", "name": "张三", "stage": "小学", "subject": "语文"}


def test_kv_quoted_values_and_run_on_values():
    raw = parse_kv('学校名称="杭州市 学军小学" 姓名=张三', R)
    assert raw.values == {"school": "杭州市 学军小学", "name": "张三"}
    raw = parse_kv("学校名称=“杭州 学军小学” 姓名=张三", R)
    assert raw.values["school"] == "杭州 学军小学"
    raw = parse_kv("学校名称=杭州 学军小学 姓名=张三", R)
    assert raw.values["school"] == "杭州 学军小学"
    raw = parse_kv('学校名称="a=b 姓名=x" 姓名=张三', R)
    assert raw.values == {"school": "a=b 姓名=x", "name": "张三"}


def test_kv_colon_in_value_is_not_a_key():
    raw = parse_kv("学校名称=学军中学(校区:紫金港) 姓名=张三", R)
    assert raw.values["school"] == "学军中学(校区:紫金港)"


def test_kv_unknown_and_foreign_and_duplicate_keys():
    raw = parse_kv("姓名=张三 爱好=游泳 人员类型=教师 姓名=李四", R)
    labels = [e.field_label for e in raw.errors]
    assert labels == ["爱好", "人员类型", "姓名"]
    assert "资源审核员表没有这一项（属于体系管理员）" in raw.errors[1].text
    assert "每项只填一次" in raw.errors[2].expected


def test_kv_leading_garbage():
    raw = parse_kv("你好 姓名=张三", R)
    assert raw.errors[0].field_label == "格式"


def test_tab_row_from_excel():
    raw = parse_line("\t".join(REVIEWER_ROW), R)
    assert raw.mode == "columns" and raw.errors == []
    assert raw.values["account"] == "AbC_01" and raw.values["teacher_type"] == "其他"


def test_tab_row_with_leading_form_column_and_trailing_empties():
    raw = parse_line("\t" + "\t".join(REVIEWER_ROW) + "\t\t", R)
    assert raw.errors == [] and raw.values["county"] == "西湖区"
    raw = parse_line("三、省级资源审核员\t" + "\t".join(REVIEWER_ROW), R)
    assert raw.errors == [] and raw.values["name"] == "张三"
    raw = parse_line("3\t" + "\t".join(REVIEWER_ROW), R)
    assert raw.errors == [] and raw.values["name"] == "张三"


def test_tab_row_with_empty_optional_cell_and_short_row():
    row = list(REVIEWER_ROW)
    row[7] = ""
    raw = parse_line("\t".join(row), R)
    assert raw.errors == [] and raw.values["title_post"] == ""
    raw = parse_line("\t".join(REVIEWER_ROW[:5]), R)
    assert raw.errors == [] and raw.values["mobile"] == ""


def test_tab_row_too_long():
    raw = parse_line("\t".join([*REVIEWER_ROW, "多余"]), R)
    assert raw.errors and raw.errors[0].field_label == "列数" and "多余" in raw.errors[0].value


def test_space_separated_when_the_count_matches():
    raw = parse_line(" ".join(REVIEWER_ROW), R)
    assert raw.errors == [] and raw.values["school"] == "杭州市学军小学"
    raw = parse_line("西湖区　张三　小学　语文　“杭州 学军小学”　AbC　13800138000　无　其他", R)
    assert raw.errors == [] and raw.values["school"] == "杭州 学军小学" and raw.values["title_post"] == "无"
    raw = parse_line(" ".join(REVIEWER_ROW[:8]), R)
    assert raw.errors[0].field_label == "列数" and "9项" in raw.errors[0].expected


def test_header_row_detection_and_column_order():
    h = parse_header("服务人员\t县(市、区)\t姓名\t单位名称\t职称\t职务\t手机\t人员类型")
    assert h.role is A and [c.key for c in h.columns] == [
        "county",
        "name",
        "org",
        "title",
        "post",
        "mobile",
        "person_type",
    ]
    h = parse_header("\t县(市、区)\t姓名\t学段\t学科\t学校名称\t平台账号\t手机\t职称/ 职务\t教师类型")
    assert h.role is R
    h = parse_header("二、省级培训讲师\t县(市、区)\t姓名\t学段\t学科\t职称/职务\t手机\t是否为往届讲师团成员")
    assert h.role is T
    assert parse_header("\t".join(REVIEWER_ROW)) is None
    h = parse_header("姓名 手机 县")
    assert [c.key for c in h.columns] == ["name", "mobile", "county"]


def test_excel_cell_with_line_breaks_stays_one_line():
    text = '县(市、区)\t姓名\t学段\t学科\t职称/职务\t手机\t"是否为往\n届讲师团\n成员"\n西湖区\t张三\t小学\t语文\t\t13800138000\t是'
    lines = logical_lines(text)
    assert [n for n, _ in lines] == [1, 4]
    rows = parse_paste(text, A)
    assert len(rows) == 1 and rows[0].role is T and rows[0].row == 1  # data rows are counted, not lines
    assert rows[0].values["former_member"] == "是"


FORM_PASTE = """附件1
教育资源公共服务体系服务队伍设区市汇总表
报送单位：（公章）杭州市教育技术中心\t联系人姓名：陈建国

服务人员\t县(市、区)\t姓名\t单位名称\t职称\t职务\t手机\t人员类型
一、县级（含）以上体系管理员\t市本级\t王芳\t杭州市教育技术中心\t高级教师\t主任\t13800000001\t区域平台管理员
\t西湖区\t李明\t西湖区教育发展中心\t\t\t13800000002\t教师
二、省级培训讲师\t县(市、区)\t姓名\t学段\t学科\t职称/职务\t手机\t是否为往届讲师团成员
\t萧山区\t张丽\t小学\t语文\t一级教师\t13800000003\tY
\t县(市、区)\t姓名\t学段\t学科\t学校名称\t平台账号\t手机\t职称/职务\t教师类型
三、省级资源审核员\t西湖区\t刘洋\t高中\t数学\t学军中学\tLiuY\t13800000004\t\t入围教师
\t西湖区\t陈静\t小学\t科学\t学军小学\tchenJ\t1380000000\t\t其他
注：1. 本表格由各设区市教育技术中心填写，于4月30日前上报盖章扫描件及word文档。
2. 各市、县(市、区)落实体系管理员1名。
"""


def test_paste_of_the_whole_form_switches_sections_and_skips_the_rest():
    rows = parse_paste(FORM_PASTE, R)
    assert [(r.row, r.role, r.values["name"]) for r in rows] == [
        (1, A, "王芳"),
        (2, A, "李明"),
        (3, T, "张丽"),
        (4, R, "刘洋"),
        (5, R, "陈静"),
    ]  # data rows
    results = [validate_row(r, TREE, city="杭州市") for r in rows]
    assert [r.ok for r in results] == [True, True, True, True, False]
    assert results[0].member.territory.level.name == "CITY"
    assert results[2].member.values["former_member"] == "是"
    assert results[3].member.values["teacher_type"] == "在往届省级及以上各类数字资源征集活动中入围教师"
    [err] = results[4].errors
    assert err.row == 5 and err.field_label == "手机" and err.expected == "11位手机号，以13–19开头"


def test_paste_mixes_kv_and_rows_and_numbers_lines():
    text = (
        "县=西湖区 姓名=张三 学段=小学 学科=语文 学校=学军小学 账号=Zs01 手机=13900000001 类型=其他\n"
        "\n" + "\t".join(REVIEWER_ROW) + "\n"
        "西湖区 李四 大学 语文 学军小学 Ls01 13900000002 无 其他\n"
    )
    rows = parse_paste(text, R)
    assert [r.row for r in rows] == [1, 2, 3]  # data rows: the empty line is not counted
    assert [r.mode for r in rows] == ["kv", "columns", "columns"]
    results = [validate_row(r, TREE, city="杭州市") for r in rows]
    assert [r.ok for r in results] == [True, True, False]
    assert results[2].errors[0].field_label == "学段" and results[2].errors[0].value == "大学"


@pytest.mark.parametrize("text", ["", "\n\n", "\t\t\n", "注：无\n"])
def test_paste_with_nothing(text):
    assert parse_paste(text, R) == []
