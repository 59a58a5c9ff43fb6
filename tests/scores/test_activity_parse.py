"""Validation of incoming activity items and teacher rows (pure)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from domain.scores import default_rules
from domain.scores.activity import ItemError, parse_activity, parse_teacher
from tests.scores.util import SH

NOW = datetime(2026, 5, 10, 12, 0, tzinfo=SH)
ACTIONS = default_rules().actions


def parse(item):
    return parse_activity(item, actions=ACTIONS, tz=SH, now=NOW)


def test_good_item_and_keys():
    a = parse(
        {
            "account": "ZhangSan01",
            "action": "class_teaching",
            "time": "2026-05-10T08:30:00+08:00",
            "detail": {"minutes": 20},
        }
    )
    assert a.account == "ZhangSan01" and a.detail == {"minutes": 20}
    assert a.at == datetime(2026, 5, 10, 0, 30, tzinfo=UTC) and a.key.startswith("h:")
    same = parse({"账号": "ZhangSan01", "动作": "class_teaching", "时间": "2026-05-10 08:30", "minutes": "20"})
    assert same.key == a.key  # naive local time, CSV-style detail column
    other_case = parse(
        {"account": "zhangsan01", "action": "class_teaching", "time": "2026-05-10T00:30:00Z", "detail": {"minutes": 20}}
    )
    assert other_case.key != a.key  # accounts are case-sensitive
    with_id = parse({"account": "a", "action": "login", "time": "2026-05-10T08:30:00+08:00", "event_id": 77})
    assert with_id.key == "id:77"


@pytest.mark.parametrize(
    ("item", "words"),
    [
        ([1, 2], "JSON 对象"),
        ({"action": "login", "time": "2026-05-10T08:00:00+08:00"}, "缺少账号"),
        ({"account": "a b", "action": "login", "time": "2026-05-10T08:00:00+08:00"}, "不能含空格"),
        ({"account": "a", "time": "2026-05-10T08:00:00+08:00"}, "缺少动作代码"),
        ({"account": "a", "action": "dance", "time": "2026-05-10T08:00:00+08:00"}, "动作代码“dance”未知"),
        ({"account": "a", "action": "login"}, "缺少时间"),
        ({"account": "a", "action": "login", "time": "yesterday"}, "格式不对"),
        ({"account": "a", "action": "login", "time": "2026-05-11T08:00:00+08:00"}, "晚于当前时间"),
        ({"account": "a", "action": "login", "time": "1999-05-11T08:00:00+08:00"}, "早于 2000 年"),
        ({"account": "a", "action": "login", "time": "2026-05-10T08:00:00+08:00", "detail": [1]}, "应为对象"),
        ({"account": "a", "action": "login", "time": "2026-05-10T08:00:00+08:00", "detail": {"a b": 1}}, "字段名"),
        ({"account": "a", "action": "login", "time": "2026-05-10T08:00:00+08:00", "detail": {"x": [1]}}, "数字"),
    ],
)
def test_rejections(item, words):
    with pytest.raises(ItemError) as info:
        parse(item)
    assert words in info.value.reason


def test_detail_as_text():
    a = parse(
        {
            "account": "a",
            "action": "class_notice",
            "time": "2026-05-10T08:00:00+08:00",
            "detail": "participants=12;note=好",
        }
    )
    assert a.detail == {"participants": 12, "note": "好"}
    b = parse(
        {
            "account": "a",
            "action": "class_notice",
            "time": "2026-05-10T08:00:00+08:00",
            "detail": '{"participants": 12}',
        }
    )
    assert b.detail == {"participants": 12}


def test_teacher_rows():
    t = parse_teacher(
        {"账号": " LiMing ", "姓名": "李\u3000明", "学校": "西湖小学", "县(市、区)": "西湖区", "设区市": "杭州市"}
    )
    assert (t.account, t.name, t.county, t.city) == ("LiMing", "李 明", "西湖区", "杭州市")
    with pytest.raises(ItemError, match="缺少姓名"):
        parse_teacher({"account": "x", "county": "西湖区", "city": "杭州市"})
