"""The default rule set matches the points table of seed 001; bad rule files are refused with line and reason."""

from __future__ import annotations

import textwrap

import pytest

from domain.scores import RuleFileError, default_rules, load_rules, parse_rules
from tests.scores.util import DEFAULT_TABLE


def test_default_rule_set_is_the_seed_table():
    rs = default_rules()
    assert rs.timezone == "Asia/Shanghai" and rs.year_start == (1, 1)
    assert [r.code for r in rs.rules] == list(DEFAULT_TABLE)
    for code, (group, name, action, pts, cap_n, cap_per, _ok, _bad) in DEFAULT_TABLE.items():
        r = rs.rule(code)
        assert (r.group, r.name, r.actions, r.points) == (group, name, (action,), pts), code
        assert [(c.count, c.per) for c in r.caps] == [(cap_n, cap_per)], code
    login = rs.rule("login")
    assert login.kind == "streak" and login.streak.after_days == 7 and login.streak.points == 2
    assert rs.rule("class_activity").match == "any"
    assert str(rs.rule("interactive_teaching").conditions[0]) == "minutes >= 15"


def _bad(text: str) -> RuleFileError:
    with pytest.raises(RuleFileError) as info:
        parse_rules(textwrap.dedent(text), source="bad.yaml")
    return info.value


GOOD_HEAD = """\
name: 测试
rules:
  - code: upload
    group: 空间建设
    name: 资源建设
    actions: [resource_share]
    points: 1
"""


def test_a_minimal_file_loads_with_school_year():
    rs = parse_rules("year_start: '09-01'\ntimezone: Asia/Urumqi\n" + GOOD_HEAD)
    assert rs.year_start == (9, 1) and rs.timezone == "Asia/Urumqi" and rs.rules[0].caps == ()
    assert rs.year_label(2025) == "2025-2026学年"


@pytest.mark.parametrize(
    ("extra", "line", "words"),
    [
        ("    capp: [{count: 5, per: week}]\n", 8, "未知字段“capp”"),
        ("    caps: [{count: 5, per: fortnight}]\n", 8, "上限周期“fortnight”未知"),
        ("    caps: [{count: 0, per: week}]\n", 8, "上限次数 count 至少为 1"),
        ("    caps: [{count: 5, per: week}, {count: 6, per: week}]\n", 8, "上限周期“week”重复"),
        ("    conditions: ['minutes => 15']\n", 8, "比较符“=>”未知"),
        ("    conditions: ['minutes ≥ 15']\n", 8, "比较符“≥”未知"),
        ("    conditions: ['minutes >= lots']\n", 8, "值“lots”"),
        ("    conditions: ['just words']\n", 8, "看不懂"),
        ("    kind: sometimes\n", 8, "kind“sometimes”未知"),
        ("    match: most\n", 8, "match“most”未知"),
        ("    streak: {after_days: 7, points: 2}\n", 8, "kind 不是 streak"),
    ],
)
def test_bad_rule_fields_name_line_and_reason(extra, line, words):
    err = _bad(GOOD_HEAD + extra)
    assert err.line == line, err
    assert words in err.reason, err
    assert f"第 {line} 行" in str(err) and "bad.yaml" in str(err)


def test_negative_points():
    err = _bad(GOOD_HEAD.replace("points: 1", "points: -3"))
    assert err.line == 7 and "不能为负数" in err.reason


def test_duplicate_code_names_both_lines():
    err = _bad(GOOD_HEAD + GOOD_HEAD.split("rules:\n", 1)[1])
    assert err.line == 8 and "重复" in err.reason and "第 3 行" in err.reason


def test_missing_fields_and_unknown_top_level_field():
    err = _bad("name: x\nprovince: 河南\nrules:\n  - code: a\n    group: g\n")
    reasons = [(p.line, p.reason) for p in err.problems]
    assert (2, "规则文件有未知字段“province”，可用字段：description、name、rules、timezone、year_start") in reasons
    assert any(line == 4 and "缺少字段“name”" in r for line, r in reasons)
    assert any(line == 4 and "缺少字段“points”" in r for line, r in reasons)


def test_streak_needs_daily_cap_of_one():
    err = _bad(GOOD_HEAD.replace("points: 1", "points: 1\n    kind: streak\n    streak: {after_days: 7, points: 2}"))
    assert "每天 1 次" in err.reason


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ("name: x\nrules: [\n", 3, "YAML 格式错误"),
        ("name: x\nyear_start: '02-29'\n" + GOOD_HEAD.split("\n", 1)[1], 2, "不是每年都有的日期"),
        ("name: x\ntimezone: Mars/Olympus\n" + GOOD_HEAD.split("\n", 1)[1], 2, "时区“Mars/Olympus”未知"),
        ("name: x\nname: y\n" + GOOD_HEAD.split("\n", 1)[1], 2, "字段“name”重复"),
        ("- just a list\n", 1, "映射"),
        ("name: x\nrules: []\n", 2, "至少一条规则"),
        (GOOD_HEAD.replace("code: upload", "code: Upload!"), 3, "规则代码"),
        (GOOD_HEAD.replace("[resource_share]", "[]"), 6, "actions"),
        (GOOD_HEAD.replace("points: 1", "points: lots"), 7, "应为整数"),
    ],
)
def test_more_bad_files(text, line, words):
    err = _bad(text)
    assert err.line == line and words in err.reason, err


def test_every_problem_is_listed():
    err = _bad(GOOD_HEAD.replace("points: 1", "points: -1") + "    caps: [{count: 5, per: fortnight}]\n")
    assert [p.line for p in err.problems] == [7, 8]


def test_empty_and_missing_file(tmp_path):
    with pytest.raises(RuleFileError, match="文件是空的"):
        parse_rules("")
    with pytest.raises(RuleFileError, match="读不到文件"):
        load_rules(tmp_path / "nope.yaml")
    p = tmp_path / "gbk.yaml"
    p.write_bytes("name: 测试\n".encode("gbk"))
    with pytest.raises(RuleFileError, match="UTF-8"):
        load_rules(p)
