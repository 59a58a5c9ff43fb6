"""Sample contexts of the scores and evaluation templates (rendered by tests/core/test_templates.py)."""

from __future__ import annotations

_line = {
    "group": "空间建设",
    "name": "资源建设",
    "points": 5,
    "counted": 5,
    "over": 1,
    "unqualified": 0,
    "cap": "本周 5/5 已满",
    "streak": "",
}
_login = {
    "group": "空间建设",
    "name": "空间登录",
    "points": 13,
    "counted": 10,
    "over": 0,
    "unqualified": 0,
    "cap": "",
    "streak": "已连续登录 10 天",
}
_item = {
    "mark": "⏳",
    "state": "待提交",
    "title": "线下培训讲座或会议交流1次以上",
    "number": 1,
    "source": "本人报告",
    "evidence": ["培训：2026-05-10 平台应用 45人（待确认）"],
    "note": "1 条待市级确认；还差：线下培训讲座或会议交流",
    "how": "/报告 培训 日期 主题 人数",
}

SAMPLES = {
    "scores/score": [
        {
            "name": "李明",
            "period": "本周 3月2日—3月8日",
            "total": 18,
            "as_of": "3月6日",
            "lines": [_login, _line],
            "county": "西湖区",
            "school": "西湖小学",
            "account": "Li＊＊＊＊01",
        },
        {
            "name": "李明",
            "period": "2025年",
            "total": 0,
            "as_of": "",
            "lines": [],
            "county": "西湖区",
            "school": "",
            "account": "LiMing01",
        },
    ],
    "scores/choose": [
        {
            "who": "李明",
            "total": 12,
            "options": [{"account": "LiMing01", "county": "杭州市西湖区", "school": "西湖小学"}],
        }
    ],
    "scores/not_found": [{"who": "李明"}],
    "scores/not_yours": [{"who": "李明", "has_scope": True}, {"who": "李明", "has_scope": False}],
    "scores/no_account": [{}],
    "scores/bad_words": [{"word": "明年"}],
    "scores/future": [{"period": "2030年"}],
    "scores/account_unknown": [{"account": "liming01", "case_hint": True}, {"account": "x", "case_hint": False}],
    "scores/account_mismatch": [{"account": "LiMing01"}],
    "scores/account_linked": [{"account": "Li＊＊＊＊01", "name": "李明", "county": "西湖区"}],
    "scores/unknown_region": [
        {"where": "鼓楼", "candidates": ["南京市鼓楼区", "福州市鼓楼区"]},
        {"where": "火星", "candidates": []},
    ],
    "scores/region_forbidden": [{"where": "宁波市", "mine": ["杭州市"]}, {"where": "", "mine": []}],
    "scores/rank": [
        {
            "territory": "杭州市",
            "period": "2026年",
            "rows": [{"rank": 1, "name": "李明", "place": "西湖区", "points": 320}],
            "shares": [
                {"name": "西湖区", "qualified": 450, "total": 1000, "pct": "45%", "ok": True},
                {"name": "淳安县", "qualified": 20, "total": 100, "pct": "20%", "ok": False},
            ],
            "cities": [],
            "min_points": 60,
            "target": "40%",
            "year": "2026年",
        },
        {
            "territory": "浙江省",
            "period": "本月",
            "rows": [],
            "shares": [],
            "cities": [{"name": "杭州市", "pct": "42%", "ok_count": 9, "count": 13, "below": "淳安县 20%"}],
            "min_points": 60,
            "target": "40%",
            "year": "2026年",
        },
        {
            "territory": "杭州市西湖区",
            "period": "本周 3月2日—3月8日",
            "rows": [],
            "shares": [],
            "cities": [],
            "min_points": 0,
            "target": "",
            "year": "",
        },
    ],
    "evaluation/kinds": [{"word": "跳舞", "role": "培训讲师", "kinds": ["/报告 培训 日期 主题 人数"]}],
    "evaluation/report_error": [{"reason": "字数需不少于 2000（现为 1800）", "usage": "/报告 文章 链接 字数"}],
    "evaluation/reported": [
        {"id": 3, "evidence": "培训：2026-05-10 平台应用 45人", "year": 2026, "notified": True},
        {"id": 3, "evidence": "文章：https://x.cn 2300字", "year": 2026, "notified": False},
    ],
    "evaluation/notify_new": [
        {
            "id": 3,
            "name": "李明",
            "seat": "杭州市西湖区",
            "role": "培训讲师",
            "evidence": "培训：2026-05-10 平台应用 45人",
        }
    ],
    "evaluation/pending": [
        {
            "items": [
                {
                    "id": 3,
                    "name": "李明",
                    "role": "培训讲师",
                    "place": "杭州市西湖区",
                    "evidence": "培训：2026-05-10 平台应用 45人",
                }
            ]
        },
        {"items": []},
    ],
    "evaluation/no_report": [{"id": 99}],
    "evaluation/not_your_city": [{"id": 3, "city": "宁波市"}, {"id": "", "city": "宁波市"}],
    "evaluation/already_decided": [{"id": 3, "status": "已确认"}],
    "evaluation/decided": [
        {"id": 3, "name": "李明", "confirmed": True, "reason": ""},
        {"id": 3, "name": "李明", "confirmed": False, "reason": "缺少培训通知"},
    ],
    "evaluation/notify_decided": [
        {"id": 3, "confirmed": True, "reason": "", "kind": "培训"},
        {"id": 3, "confirmed": False, "reason": "缺少培训通知", "kind": "培训"},
    ],
    "evaluation/checklist": [
        {
            "name": "李明",
            "role": "培训讲师",
            "seat": "杭州市西湖区",
            "year": 2026,
            "items": [_item],
            "achieved": 0,
            "missed": 0,
            "pending": 1,
            "mine": True,
            "deadline": "10月31日",
            "closed": False,
            "next_year": 2027,
        },
        {
            "name": "李明",
            "role": "培训讲师",
            "seat": "杭州市西湖区",
            "year": 2026,
            "items": [_item],
            "achieved": 0,
            "missed": 1,
            "pending": 1,
            "mine": True,
            "deadline": "10月31日",
            "closed": True,
            "next_year": 2027,
        },
        {
            "name": "李明",
            "role": "培训讲师",
            "seat": "杭州市西湖区",
            "year": 2026,
            "items": [dict(_item, mark="✅", state="达成", note="", how="")],
            "achieved": 1,
            "missed": 0,
            "pending": 0,
            "mine": False,
            "deadline": "10月31日",
            "closed": False,
            "next_year": 2027,
        },
    ],
    "evaluation/bad_year": [{"year": 1999}],
    "evaluation/not_member": [{"name": "李明"}],
    "evaluation/outside_territory": [{"name": "陈静", "scope": "宁波市"}],
    "evaluation/not_member_self": [{}],
    "evaluation/ambiguous_member": [{"name": "李明", "options": ["杭州市西湖区 培训讲师", "宁波市鄞州区 资源审核员"]}],
    "evaluation/not_yours": [{"name": "李明"}],
    "evaluation/already_recommended": [{"name": "李明", "year": 2026}],
    "evaluation/recommended": [
        {
            "name": "李明",
            "role": "培训讲师",
            "seat": "杭州市西湖区",
            "year": 2026,
            "count": 2,
            "achieved": 3,
            "total": 4,
        }
    ],
    "evaluation/not_recommended": [{"name": "李明", "year": 2026}],
    "evaluation/withdrawn": [{"name": "李明", "year": 2026}],
    "evaluation/need_city": [{}],
    "evaluation/exported": [
        {
            "city": "杭州市",
            "year": 2026,
            "count": 3,
            "deadline": "10月31日",
            "links": [{"name": "杭州市-附件3.xlsx", "url": "http://127.0.0.1:8080/files/x?e=1&s=y"}],
        }
    ],
}
