_item = {
    "number": 1,
    "title": "名单报送",
    "due": "4月30日",
    "step": "还有 3 天截止",
    "missing": "西湖区还缺资源审核员2名",
    "action": "用 /登记 补齐名单",
}
_line = {"title": "名单报送", "due": "4月30日", "label": "杭州市西湖区", "missing": "西湖区还缺资源审核员2名"}

SAMPLES = {
    "reminders/personal": [{"items": [_item]}, {"items": [_item, {**_item, "number": 2, "missing": "", "action": ""}]}],
    "reminders/card": [{"items": [_item]}, {"items": [_item, {**_item, "number": 2, "missing": "", "action": ""}]}],
    "reminders/digest": [{"items": [{"title": "名单报送", "due": "4月30日", "labels": "杭州市、宁波市", "count": 2}]}],
    "reminders/city_list": [{"lines": [_line]}, {"lines": [{**_line, "missing": ""}]}],
    "reminders/province_list": [{"lines": [_line]}],
    "reminders/list": [
        {"items": []},
        {
            "items": [
                {
                    "number": 1,
                    "title": "名单报送",
                    "due": "4月30日截止",
                    "who": "市级中心",
                    "territory": "",
                    "paused": False,
                },
                {
                    "number": 7,
                    "title": "培训计划",
                    "due": "已结束",
                    "who": "县级管理员",
                    "territory": "杭州市",
                    "paused": True,
                },
            ]
        },
    ],
    "reminders/added": [
        {"number": 7, "title": "上报培训计划", "due": "12月20日", "who": "县级管理员", "territory": "杭州市"}
    ],
    "reminders/paused": [
        {"number": 7, "title": "上报培训计划", "paused": True},
        {"number": 7, "title": "上报培训计划", "paused": False},
    ],
    "reminders/unknown_item": [{"number": 99}],
    "reminders/bad_input": [
        {"field": "截止日期", "problem": "2026-02-30 不是存在的日期。", "fix": "请写成 2026-12-20。"}
    ],
    "reminders/acked": [
        {"number": 1, "title": "名单报送", "due": "4月30日", "again": False},
        {"number": 1, "title": "名单报送", "due": "4月30日", "again": True},
    ],
    "reminders/done_ok": [{"title": "名单报送"}],
    "reminders/not_done": [{"number": 1, "title": "名单报送", "missing": "西湖区还缺资源审核员2名"}],
    "reminders/not_yours": [{"number": 1, "title": "名单报送"}],
    "reminders/urged": [
        {"title": "名单报送", "sent": 3, "limited": 1, "done": 2},
        {"title": "名单报送", "sent": 3, "limited": 0, "done": 0},
    ],
    "reminders/nothing_to_urge": [{"title": "名单报送", "where": "杭州市"}],
    "reminders/resent": [{"count": 3}, {"count": 0}],
    "reminders/stats": [
        {
            "month": "2026-04",
            "total": 120,
            "cap": 10000,
            "percent": 1,
            "apis": [{"label": "群消息", "calls": 20}],
            "pending": 0,
            "failed": 0,
        },
        {"month": "2026-04", "total": 9000, "cap": 10000, "percent": 90, "apis": [], "pending": 3, "failed": 2},
    ],
    "reminders/cap": [{"used": 9990, "planned": 40, "cap": 10000}],
}
