"""Row validation: required fields, the county in the city, 市本级, changes, diffs."""

from __future__ import annotations

import pytest

from domain.regions import load_default_regions
from domain.roster import (
    CITY_LEVEL,
    Member,
    Role,
    apply_changes,
    member_diff,
    missing_fields,
    resolve_county,
    validate_values,
)
from domain.territory import Level, Territory

TREE = load_default_regions()

GOOD = {
    Role.ADMIN: {
        "county": "西湖区",
        "name": "李明",
        "org": "西湖区教育发展中心",
        "title": "",
        "post": "",
        "mobile": "13800000001",
        "person_type": "教师",
    },
    Role.TRAINER: {
        "county": "西湖区",
        "name": "李明",
        "stage": "小学",
        "subject": "语文",
        "title_post": "",
        "mobile": "13800000001",
        "former_member": "否",
    },
    Role.REVIEWER: {
        "county": "西湖区",
        "name": "李明",
        "stage": "小学",
        "subject": "语文",
        "school": "学军小学",
        "account": "LiMing",
        "mobile": "13800000001",
        "title_post": "",
        "teacher_type": "其他",
    },
}


@pytest.mark.parametrize("role", list(Role))
def test_good_rows(role):
    res = validate_values(role, GOOD[role], TREE, city="杭州市", row=1)
    assert res.ok, [e.text for e in res.errors]
    assert res.member.territory == Territory("浙江省", "杭州市", "西湖区")
    assert res.member.row()[0] == "西湖区"


@pytest.mark.parametrize(
    ("role", "required"),
    [
        (Role.ADMIN, ["县(市、区)", "姓名", "单位名称", "手机", "人员类型"]),
        (Role.TRAINER, ["县(市、区)", "姓名", "学段", "学科", "手机", "是否为往届讲师团成员"]),
        (Role.REVIEWER, ["县(市、区)", "姓名", "学段", "学科", "学校名称", "平台账号", "手机", "教师类型"]),
    ],
)
def test_required_fields_per_role(role, required):
    res = validate_values(role, {}, TREE, city="杭州市", row=2)
    assert [e.field_label for e in res.errors] == required
    assert all(e.row == 2 and e.value == "" for e in res.errors)
    assert [c.label for c in missing_fields(role, {})] == required


@pytest.mark.parametrize("value", ["市本级", "本级", "杭州市", "杭州", "杭州市本级", "杭州市市本级", "市直"])
def test_city_level_seat(value):
    cr = resolve_county(TREE, value, "杭州市")
    assert cr.territory == Territory("浙江省", "杭州市") and cr.label == CITY_LEVEL


def test_county_must_belong_to_the_city():
    cr = resolve_county(TREE, "鹿城区", "杭州市")
    assert cr.territory is None and "属于温州市" in cr.expected
    cr = resolve_county(TREE, "火星区", "杭州市")
    assert cr.territory is None and "杭州市下属的县(市、区)" in cr.expected and CITY_LEVEL in cr.expected
    assert resolve_county(TREE, "杭州市西湖区", "杭州市").label == "西湖区"
    assert resolve_county(TREE, "西湖", "杭州市").label == "西湖区"
    assert resolve_county(TREE, "景宁", "丽水市").label == "景宁畲族自治县"


def test_county_without_a_city_must_say_where():
    assert resolve_county(TREE, "西湖区", None).territory == Territory("浙江省", "杭州市", "西湖区")
    assert resolve_county(TREE, "杭州市", None).territory.level is Level.CITY
    assert resolve_county(TREE, "宁波市本级", None).territory == Territory("浙江省", "宁波市")
    cr = resolve_county(TREE, "市本级", None)
    assert cr.territory is None and "写明城市" in cr.expected


def test_bad_values_name_field_value_and_expectation():
    values = dict(
        GOOD[Role.REVIEWER], stage="大学", mobile="1380000", former_member="x", teacher_type="专家", account="has space"
    )
    res = validate_values(Role.REVIEWER, values, TREE, city="杭州市", row=5)
    got = {e.field_label: (e.value, e.expected) for e in res.errors}
    assert got["学段"] == ("大学", "以下之一：学前、小学、初中、高中、中职")
    assert got["手机"] == ("1380000", "11位手机号，以13–19开头")
    assert got["教师类型"][0] == "专家"
    assert "区分大小写" in got["平台账号"][1]
    assert res.member is None
    assert res.errors[0].text.startswith("第5行「")


def test_optional_placeholders_are_stored_empty():
    values = dict(GOOD[Role.ADMIN], title="无", post="-")
    res = validate_values(Role.ADMIN, values, TREE, city="杭州市")
    assert res.member.values["title"] == "" and res.member.values["post"] == ""


def test_account_kept_exactly():
    res = validate_values(Role.REVIEWER, dict(GOOD[Role.REVIEWER], account=" AbC_dE "), TREE, city="杭州市")
    assert res.member.account == "AbC_dE"


def test_apply_changes_keeps_city_and_identity():
    m = validate_values(Role.TRAINER, GOOD[Role.TRAINER], TREE, city="杭州市").member
    m = Member(m.role, m.territory, m.values, id=7, user_id="t-hz-001")
    res = apply_changes(m, {"mobile": "139 0000 0002", "county": "萧山"}, TREE)
    assert res.ok and res.member.id == 7 and res.member.user_id == "t-hz-001"
    assert res.member.territory.county == "萧山区" and res.member.mobile == "13900000002"
    before, after = member_diff(m, res.member)
    assert before == {"county": "西湖区", "mobile": "13800000001"}
    assert after == {"county": "萧山区", "mobile": "13900000002"}
    bad = apply_changes(m, {"county": "鹿城区"}, TREE)
    assert not bad.ok and "属于温州市" in bad.errors[0].expected


def test_member_round_trips_through_dict():
    m = validate_values(Role.REVIEWER, GOOD[Role.REVIEWER], TREE, city="杭州市").member
    assert Member.from_dict(m.to_dict()) == m
