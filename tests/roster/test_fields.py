"""The form's columns, enumerations with variants, mobile numbers, masking."""

from __future__ import annotations

import pytest

from domain.roster import (
    PERSON_TYPE,
    SECTIONS,
    STAGE,
    TEACHER_TYPE,
    YES_NO,
    Role,
    mask_mobile,
    normalize_account,
    normalize_mobile,
    normalize_name,
    section_for_title,
)


def test_columns_in_the_forms_order():
    assert SECTIONS[Role.ADMIN].labels == ("县(市、区)", "姓名", "单位名称", "职称", "职务", "手机", "人员类型")
    assert SECTIONS[Role.TRAINER].labels == (
        "县(市、区)",
        "姓名",
        "学段",
        "学科",
        "职称/职务",
        "手机",
        "是否为往届讲师团成员",
    )
    assert SECTIONS[Role.REVIEWER].labels == (
        "县(市、区)",
        "姓名",
        "学段",
        "学科",
        "学校名称",
        "平台账号",
        "手机",
        "职称/职务",
        "教师类型",
    )
    assert SECTIONS[Role.REVIEWER].keys == (
        "county",
        "name",
        "stage",
        "subject",
        "school",
        "account",
        "mobile",
        "title_post",
        "teacher_type",
    )


@pytest.mark.parametrize(
    ("role", "label", "key"),
    [
        (Role.ADMIN, "县", "county"),
        (Role.ADMIN, "县区", "county"),
        (Role.ADMIN, "县(市、区)", "county"),
        (Role.ADMIN, "县（市、区）", "county"),
        (Role.ADMIN, " 县（市、区） ", "county"),
        (Role.ADMIN, "单位", "org"),
        (Role.ADMIN, "电话", "mobile"),
        (Role.ADMIN, "手机号", "mobile"),
        (Role.ADMIN, "类型", "person_type"),
        (Role.TRAINER, "职称/职务", "title_post"),
        (Role.TRAINER, "职称/ 职务", "title_post"),
        (Role.TRAINER, "职称", "title_post"),
        (Role.TRAINER, "往届", "former_member"),
        (Role.TRAINER, "是否为往 届讲师团 成员", "former_member"),
        (Role.REVIEWER, "账号", "account"),
        (Role.REVIEWER, "单位", "school"),
        (Role.REVIEWER, "类型", "teacher_type"),
        (Role.REVIEWER, "mobile", "mobile"),
        (Role.REVIEWER, "NAME", "name"),
    ],
)
def test_label_aliases(role, label, key):
    assert SECTIONS[role].find(label).key == key


def test_labels_of_other_roles_are_unknown():
    assert SECTIONS[Role.TRAINER].find("平台账号") is None
    assert SECTIONS[Role.ADMIN].find("学段") is None


@pytest.mark.parametrize(
    ("enum", "value", "canonical"),
    [
        (STAGE, "小学", "小学"),
        (STAGE, "小学段", "小学"),
        (STAGE, "primary", "小学"),
        (STAGE, "　小 学　", "小学"),
        (STAGE, "普高", "高中"),
        (STAGE, "普通高中", "高中"),
        (STAGE, "中专", "中职"),
        (STAGE, "职高", "中职"),
        (STAGE, "幼儿园", "学前"),
        (STAGE, "初中段", "初中"),
        (YES_NO, "是", "是"),
        (YES_NO, "Y", "是"),
        (YES_NO, "yes", "是"),
        (YES_NO, "√", "是"),
        (YES_NO, "否", "否"),
        (YES_NO, "N", "否"),
        (YES_NO, "no", "否"),
        (YES_NO, "×", "否"),
        (PERSON_TYPE, "教师", "教师"),
        (PERSON_TYPE, "老师", "教师"),
        (PERSON_TYPE, "平台管理员", "区域平台管理员"),
        (PERSON_TYPE, "资源建设负责人", "区域数字资源建设负责人"),
        (TEACHER_TYPE, "入围教师", "在往届省级及以上各类数字资源征集活动中入围教师"),
        (TEACHER_TYPE, "审核员", "各级平台资源审核员"),
        (TEACHER_TYPE, "其它", "其他"),
        (TEACHER_TYPE, "其他", "其他"),
        (TEACHER_TYPE, "省级数字资源征集活动入围", "在往届省级及以上各类数字资源征集活动中入围教师"),
    ],
)
def test_enumeration_variants_store_the_canonical_value(enum, value, canonical):
    assert enum.canonical(value) == canonical


@pytest.mark.parametrize(
    ("enum", "value"), [(STAGE, "大学"), (STAGE, ""), (YES_NO, "也许"), (PERSON_TYPE, "校长"), (TEACHER_TYPE, "专家")]
)
def test_enumeration_rejects(enum, value):
    assert enum.canonical(value) is None
    assert enum.expected.startswith("以下之一：")


@pytest.mark.parametrize(
    ("raw", "stored"),
    [
        ("13800138000", "13800138000"),
        ("138 0013 8000", "13800138000"),
        ("138-0013-8000", "13800138000"),
        ("+86 138 0013 8000", "13800138000"),
        ("+8613800138000", "13800138000"),
        ("8613800138000", "13800138000"),
        ("１３８００１３８０００", "13800138000"),
        ("19912345678", "19912345678"),
        ("13800138000.0", "13800138000"),
    ],
)
def test_mobile_accepted(raw, stored):
    assert normalize_mobile(raw) == stored


@pytest.mark.parametrize(
    "raw", ["12800138000", "1380013800", "138001380001", "0571-88905096", "abc", "", "10800138000", "23800138000"]
)
def test_mobile_refused(raw):
    assert normalize_mobile(raw) is None


def test_mask_mobile():
    assert mask_mobile("13812341234") == "138＊＊＊＊1234"
    assert mask_mobile("") == "" and mask_mobile(None) == ""


def test_names_and_accounts():
    assert normalize_name(" 张 三 ") == "张三"
    assert normalize_name("阿卜杜拉·艾力") == "阿卜杜拉·艾力"
    assert normalize_name("张3") is None and normalize_name("张") is None
    assert normalize_account("  AbC_01 ") == "AbC_01"  # case kept exactly
    assert normalize_account("ab c") is None and normalize_account("") is None


def test_section_titles():
    assert section_for_title("一、县级 (含)以上 体系管理 员") is Role.ADMIN
    assert section_for_title("二、省级培 训讲师") is Role.TRAINER
    assert section_for_title("三、省级资源审核员") is Role.REVIEWER
    assert section_for_title("各级平台资源审核员") is None
    assert Role.parse("审核员") is Role.REVIEWER and Role.REVIEWER.label == "资源审核员"
