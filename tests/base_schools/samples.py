"""Sample contexts for the base-school templates (rendered by tests/core/test_templates.py)."""

from __future__ import annotations

_check = {"label": "学科空间活跃用户", "value": "120人", "threshold": "100人", "met": True, "trend": "↑20"}
_school = {
    "name": "杭州第十四中学",
    "place": "杭州市拱墅区",
    "subject": "高中化学",
    "checks": [_check, dict(_check, label="教师空间开通率", value="90%", threshold="100%", met=False, trend="")],
    "met": 1,
    "total": 2,
    "visitors": 300,
    "effective_visits": 4200,
    "ev_trend": "↓10",
    "teachers": 120,
    "opened": 108,
    "active_teachers": 80,
}
_row = {
    "rank": 1,
    "name": "杭州第十四中学",
    "city": "杭州市",
    "met": 5,
    "total": 6,
    "active_users": 120,
    "effective_visits": 4200,
}

SAMPLES = {
    "base_schools/list": [
        {
            "year": 2026,
            "where": "杭州市",
            "rows": [
                {
                    "name": "杭州第十四中学",
                    "place": "杭州市拱墅区",
                    "subject": "高中化学",
                    "space_id": "SP1001",
                    "lead": "王＊＊",
                }
            ],
        },
        {"year": 2026, "where": "", "rows": []},
    ],
    "base_schools/school": [
        {
            "year": 2026,
            "period": "2026年11月",
            "as_of": "11月20日",
            "days": 20,
            "need_days": 10,
            "school": _school,
            "has_trend": True,
        },
        {
            "year": 2026,
            "period": "2026年",
            "as_of": "11月20日",
            "days": 324,
            "need_days": 162,
            "school": _school,
            "has_trend": False,
        },
    ],
    "base_schools/rank": [
        {
            "year": 2026,
            "period": "2026年",
            "where": "全省",
            "rows": [_row, dict(_row, name="乙校")],
            "count": 30,
            "more": 28,
        },
        {"year": 2026, "period": "2026年11月", "where": "杭州市", "rows": [], "count": 0, "more": 0},
    ],
    "base_schools/assessment": [{"year": 2026, "rows": [_row], "count": 1, "start": "2026-01-01", "end": "2026-11-30"}],
    "base_schools/exported": [
        {
            "year": 2026,
            "where": "杭州市",
            "count": 3,
            "as_of": "2026-11-30",
            "links": [{"name": "杭州市-基地校考核-2026.xlsx", "url": "http://x/files/1?e=1&s=a"}],
        }
    ],
    "base_schools/lead_set": [{"school": "杭州第十四中学", "name": "李明"}],
    "base_schools/lessons_reported": [
        {"school": "杭州第十四中学", "lessons": 12, "need": "18", "met": False},
        {"school": "杭州第十四中学", "lessons": 18, "need": "18", "met": True},
    ],
    "base_schools/no_list": [{}],
    "base_schools/bad_period": [{"word": "明年", "examples": "本月、上月、本年、2026、2026-11"}],
    "base_schools/unknown_city": [
        {"word": "火星", "candidates": []},
        {"word": "新", "candidates": ["杭州市新区", "宁波市新区"]},
    ],
    "base_schools/not_your_city": [{"city": "宁波市", "mine": ["杭州市"]}, {"city": "浙江省", "mine": []}],
    "base_schools/unknown_school": [{"word": "火星中学", "example": "杭州第十四中学"}],
    "base_schools/not_yours": [{"name": "宁波中学", "city": "宁波市"}],
    "base_schools/choose": [{"word": "中学", "names": ["杭州第十四中学", "宁波中学"]}],
    "base_schools/need_school": [{"example": "杭州第十四中学"}],
    "base_schools/need_city": [{"mine": ["杭州市", "宁波市"]}],
    "base_schools/need_mention": [{"school": "杭州第十四中学"}],
    "base_schools/bad_lessons": [{"value": "十八"}, {"value": ""}],
    "base_schools/export_forbidden": [{}],
}
