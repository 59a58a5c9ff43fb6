"""Pure rules: the definitions file, periods, item validation, bad rows of the list, figures and ties."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from domain.base_schools import (
    BaseSchool,
    ConfigError,
    Counts,
    ItemError,
    RowError,
    figures,
    load_definitions,
    parse_definitions,
    parse_item,
    parse_period,
    parse_schools,
    rank,
    rows_from_yaml,
)
from domain.base_schools.activity import ACTIVE, LESSON, OPENED, VISIT, action_of
from domain.regions import load_default_regions

SH = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 20, 10, 0, tzinfo=SH)
DEFS = load_definitions()
TREE = load_default_regions()


def test_defaults_are_seed_003():
    assert [(i.key, i.min) for i in DEFS.indicators] == [
        ("active_users", 100),
        ("opening_rate", 1.0),
        ("active_rate", 0.6),
        ("lessons", 18),
        ("premium_spaces", 1),
        ("featured_spaces", 3),
    ]
    assert DEFS.day_share == 0.5
    # "once every 2 days": half of the period's days, rounded up
    assert [DEFS.required_days(n) for n in (1, 2, 3, 30, 31, 28, 365)] == [1, 1, 2, 15, 16, 14, 183]
    assert DEFS.assessment_year(2026) == (date(2026, 1, 1), date(2026, 11, 30))


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        ([], "键值"),
        ({"indicators": []}, "不能为空"),
        ({"indicators": [{"key": "nope", "min": 1}]}, "key 应为"),
        ({"indicators": [{"key": "lessons", "min": -1}]}, "非负数"),
        ({"indicators": [{"key": "lessons", "min": 1}], "active_user": {"min_share_of_days": 2}}, "0 到 1"),
        ({"indicators": [{"key": "lessons", "min": 1}], "ranking": ["height"]}, "height"),
        ({"indicators": [{"key": "lessons", "min": 1}], "assessment": {"month": 13}}, "有效日期"),
    ],
)
def test_bad_definitions_name_the_field(data, fragment):
    with pytest.raises(ConfigError, match=fragment):
        parse_definitions(data)


def test_changed_threshold_is_data():
    d = parse_definitions(
        {"indicators": [{"key": "active_users", "min": 50, "unit": "人"}], "active_user": {"min_share_of_days": 1 / 3}}
    )
    assert d.required_days(30) == 10 and d.indicator("active_users").min == 50


@pytest.mark.parametrize(
    ("word", "start", "end"),
    [
        ("本月", date(2026, 11, 1), date(2026, 11, 30)),
        ("上月", date(2026, 10, 1), date(2026, 10, 31)),
        ("本年", date(2026, 1, 1), date(2026, 12, 31)),
        ("2025", date(2025, 1, 1), date(2025, 12, 31)),
        ("2026-02", date(2026, 2, 1), date(2026, 2, 28)),
        ("2024年2月", date(2024, 2, 1), date(2024, 2, 29)),
        ("3月", date(2026, 3, 1), date(2026, 3, 31)),
    ],
)
def test_period_words(word, start, end):
    p = parse_period(word, NOW.date(), DEFS)
    assert p is not None and (p.start, p.end) == (start, end)


@pytest.mark.parametrize("word", ["明年", "2026-13", "13月", "1999", "下周", "abc"])
def test_unknown_period_words(word):
    assert parse_period(word, NOW.date(), DEFS) is None


def test_period_in_progress_counts_days_to_today():
    p = parse_period("本月", NOW.date(), DEFS)
    assert p.days(NOW.date()) == 20 and DEFS.required_days(p.days(NOW.date())) == 10
    assert parse_period("上月", NOW.date(), DEFS).days(NOW.date()) == 31


def _visit(now: datetime = NOW, **kw):
    item = {"action": VISIT, "space_id": "SP1", "account": "u1", "time": "2026-11-05T08:00:00+08:00"} | kw
    return parse_item(item, tz=SH, now=now)


def test_item_validation_and_local_day():
    assert _visit().day == date(2026, 11, 5)
    # 23:30 in Shanghai on the period's last day is that day, though it is still 15:30 UTC
    later = datetime(2026, 12, 1, 9, 0, tzinfo=SH)
    assert _visit(later, time="2026-11-30T15:30:00Z").day == date(2026, 11, 30)
    assert _visit(time="2026-10-31T16:30:00Z").day == date(2026, 11, 1)  # 00:30 on 1 Nov locally
    assert _visit(time="2026-11-05 08:00").day == date(2026, 11, 5)  # naive = Shanghai
    assert parse_item(
        {"action": ACTIVE, "space_id": "SP1", "account": "t", "detail": {"month": "2026-10"}}, tz=SH, now=NOW
    ).day == date(2026, 10, 1)
    assert (
        parse_item(
            {"动作": LESSON, "空间编号": "SP1", "时间": "2026-11-01T08:00:00+08:00", "detail": {"lesson": "L1"}},
            tz=SH,
            now=NOW,
        ).lesson
        == "L1"
    )
    assert (
        parse_item(
            {
                "action": OPENED,
                "space_id": "SP1",
                "account": "t",
                "time": "2026-11-01T08:00:00+08:00",
                "detail": {"opened": False},
            },
            tz=SH,
            now=NOW,
        ).opened
        is False
    )
    assert action_of({"action": "login"}) is None and action_of("x") is None


@pytest.mark.parametrize(
    ("item", "fragment"),
    [
        ({"account": None}, "缺少账号"),
        ({"account": "a b"}, "不能含空白"),
        ({"space_id": None}, "缺少空间编号"),
        ({"space_id": "空间一"}, "格式不对"),
        ({"time": "昨天"}, "ISO 8601"),
        ({"time": None}, "缺少时间"),
        ({"time": "2026-12-25T08:00:00+08:00"}, "将来"),
        ({"time": "1999-01-01T08:00:00+08:00"}, "2000"),
        ({"detail": {"real_name": False}}, "非实名"),
        ({"detail": "x"}, "明细"),
        ({"time": True}, "格式不对"),
    ],
)
def test_bad_items_are_named(item, fragment):
    with pytest.raises(ItemError, match=fragment):
        _visit(**item)


def test_bad_lesson_and_month_items():
    with pytest.raises(ItemError, match="课时编号"):
        parse_item({"action": LESSON, "space_id": "SP1", "time": "2026-11-01T08:00:00+08:00"}, tz=SH, now=NOW)
    with pytest.raises(ItemError, match="月份"):
        parse_item(
            {"action": ACTIVE, "space_id": "SP1", "account": "t", "detail": {"month": "2026-13"}}, tz=SH, now=NOW
        )
    with pytest.raises(ItemError, match="JSON 对象"):
        parse_item(["x"], tz=SH, now=NOW)


ROWS = [
    {
        "学校": "杭州第十四中学",
        "设区市": "杭州",
        "县(市、区)": "拱墅区",
        "学科": "高中化学",
        "空间编号": "SP1",
        "项目负责人": "王老师",
        "教师数": 120,
        "特色空间": "3",
        "精品空间": 1,
    },
    {"学校": "", "设区市": "杭州市", "学科": "数学", "空间编号": "SP2"},
    {"学校": "某校", "设区市": "火星市", "学科": "数学", "空间编号": "SP3"},
    {"学校": "某校", "设区市": "杭州市", "县(市、区)": "鄞州区", "学科": "数学", "空间编号": "SP3"},
    {"学校": "某校", "设区市": "杭州市", "学科": "数学", "空间编号": "SP 3"},
    {"学校": "某校", "设区市": "杭州市", "学科": "数学"},
    {"学校": "某校", "设区市": "杭州市", "空间编号": "SP4"},
    {"学校": "某校", "设区市": "杭州市", "学科": "数学", "空间编号": "SP4", "教师数": "很多"},
    {"学校": "杭州第十四中学", "设区市": "杭州市", "学科": "数学", "空间编号": "SP5"},
    {"学校": "另一校", "设区市": "宁波", "学科": "数学", "空间编号": "SP1"},
    {"学校": "某校", "设区市": "杭州市", "学科": "数学", "空间编号": "SP6", "年度": "26"},
    {"学校": "宁波中学", "设区市": "宁波市", "县(市、区)": "市本级", "学科": "英语", "空间编号": "SP7"},
]


def test_bad_rows_are_rejected_one_by_one():
    good, bad = parse_schools(list(enumerate(ROWS, start=2)), TREE, 2026)
    assert [s.name for s in good] == ["杭州第十四中学", "宁波中学"]
    s = good[0]
    assert (s.city, s.county, s.teachers, s.featured_spaces, s.premium_spaces) == ("杭州市", "拱墅区", 120, 3, 1)
    assert good[1].county is None
    reasons = dict(bad)
    assert reasons[3] == "缺少学校名称"
    assert "火星市" in reasons[4] and "不属于杭州市" in reasons[5] and "只能含字母" in reasons[6]
    assert "缺少空间编号" in reasons[7] and "缺少学科" in reasons[8] and "教师数“很多”" in reasons[9]
    assert "与第 2 行重复" in reasons[10] and "空间编号“SP1”与第 2 行重复" in reasons[11]
    assert "四位年份" in reasons[12]


def test_missing_year_and_yaml_shapes():
    _good, bad = parse_schools([(1, ROWS[0])], TREE, None)
    assert "缺少年度" in bad[0][1]
    rows, year = rows_from_yaml({"year": 2026, "schools": [ROWS[0], "junk"]})
    assert year == 2026 and rows[1] == (2, {})
    with pytest.raises(RowError):
        rows_from_yaml("text")


def _school(name: str, city: str = "杭州市", teachers: int | None = 10, **kw) -> BaseSchool:
    return BaseSchool(2026, name, city, None, "数学", f"SP-{name}", teachers=teachers, **kw)


def test_rates_and_thresholds():
    f = figures(
        _school("甲", teachers=10),
        Counts(active_users=100, teacher_spaces=8, opened=10, active_teachers=6, lessons=18),
        DEFS,
    )
    assert f.values["opening_rate"] == 1.0 and f.values["active_rate"] == 0.6
    assert [c.met for c in f.checks] == [True, True, True, True, False, False]
    g = figures(
        _school("乙", teachers=None),
        Counts(active_users=99, teacher_spaces=20, opened=19, active_teachers=11, lessons=17),
        DEFS,
    )
    assert g.teachers == 20 and g.values["opening_rate"] == 0.95 and g.values["active_rate"] == 0.55
    assert not any(c.met for c in g.checks)
    empty = figures(_school("丙", teachers=None), Counts(), DEFS)
    assert empty.values["opening_rate"] == 0.0 and empty.met == 0
    assert DEFS.indicator("opening_rate").show(0.954) == "95%" and DEFS.indicator("lessons").show(18) == "18课时"


def test_ranking_ties_share_a_rank():
    c = Counts(active_users=120, effective_visits=500)
    items = [
        figures(_school("乙"), c, DEFS),
        figures(_school("甲"), c, DEFS),
        figures(_school("丙"), Counts(active_users=130, effective_visits=10), DEFS),
        figures(_school("丁"), Counts(active_users=120, effective_visits=499), DEFS),
    ]
    out = [(r.rank, r.figures.school.name) for r in rank(items, DEFS.ranking)]
    assert out == [(1, "丙"), (2, "乙"), (2, "甲"), (4, "丁")] or out == [(1, "丙"), (2, "甲"), (2, "乙"), (4, "丁")]
    # met indicators come first: a school meeting more thresholds ranks above one with more users
    better = figures(_school("戊"), Counts(active_users=100, opened=10, active_teachers=6, lessons=18), DEFS)
    assert rank([*items, better], DEFS.ranking)[0].figures.school.name == "戊"
