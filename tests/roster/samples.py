"""Sample contexts of the roster templates (rendered by tests/core/test_templates.py)."""

from __future__ import annotations

_m = {
    "id": 12,
    "role": "资源审核员",
    "seat": "杭州市西湖区",
    "name": "张三",
    "mobile": "138＊＊＊＊8000",
    "status": "在册",
    "pending": False,
    "fields": [
        {"label": "学段", "value": "小学"},
        {"label": "手机", "value": "138＊＊＊＊8000"},
        {"label": "平台账号", "value": "Zhang_San"},
    ],
}
_seats = [
    {"role": "管理员", "filled": 1, "quota": "1名", "complete": True, "over": 0},
    {"role": "审核员", "filled": 2, "quota": "3–5名", "complete": False, "over": 0},
]

SAMPLES = {
    "roster/bulk_result": [
        {
            "total": 3,
            "accepted": 2,
            "saved": 2,
            "accepted_rows": "第1–2行",
            "rejected": 1,
            "all_or_nothing": False,
            "errors": ["第3行「手机」：“1380013800”不对，应为11位手机号，以13–19开头"],
            "more_errors": 0,
        },
        {
            "total": 3,
            "accepted": 2,
            "saved": 0,
            "accepted_rows": "第1–2行",
            "rejected": 1,
            "all_or_nothing": True,
            "errors": ["第3行「学段」：“大学”不对，应为以下之一：学前、小学、初中、高中、中职"],
            "more_errors": 5,
        },
        {
            "total": 2,
            "accepted": 2,
            "saved": 2,
            "accepted_rows": "第1–2行",
            "rejected": 0,
            "all_or_nothing": False,
            "errors": [],
            "more_errors": 0,
        },
    ],
    "roster/row_errors": [
        {
            "role": "资源审核员",
            "example": "/登记 县=西湖区 姓名=张三",
            "more_errors": 0,
            "action": "登记",
            "errors": ["第1行「手机」没有填，应为11位手机号，以13–19开头"],
        }
    ],
    "roster/registered": [{"m": _m, "by_admin": True}, {"m": _m, "by_admin": False}],
    "roster/pending": [{"m": _m}],
    "roster/linked": [{"m": _m}],
    "roster/notify_pending": [{"number": 12, "name": "张三", "role": "资源审核员", "seat": "杭州市西湖区"}],
    "roster/ask": [
        {
            "minutes": 30,
            "role": "资源审核员",
            "label": "县(市、区)",
            "hint": "所在县(市、区)，如 西湖区",
            "optional": False,
            "step": 1,
            "steps": 9,
            "error": None,
            "value": "",
            "first": True,
            "choices": [],
            "current": "",
            "notice": "",
        },
        {
            "minutes": 30,
            "role": "资源审核员",
            "label": "手机",
            "hint": "11位手机号，以13–19开头",
            "optional": False,
            "step": 7,
            "steps": 9,
            "error": "11位手机号，以13–19开头",
            "value": "12345",
            "first": False,
            "choices": [],
            "current": "",
            "notice": "",
        },
        {
            "minutes": 30,
            "role": "资源审核员",
            "label": "学段",
            "hint": "",
            "optional": False,
            "step": 3,
            "steps": 9,
            "error": None,
            "value": "",
            "first": False,
            "choices": ["学前", "小学", "初中"],
            "current": "小学",
            "notice": "已是第一项",
        },
        {
            "minutes": 30,
            "role": "培训讲师",
            "label": "职称/职务",
            "hint": "职称或职务",
            "optional": True,
            "step": 5,
            "steps": 7,
            "error": None,
            "value": "",
            "first": False,
            "choices": [],
            "current": "",
            "notice": "",
        },
    ],
    "roster/confirm": [
        {
            "role": "资源审核员",
            "error": None,
            "minutes": 30,
            "last": 2,
            "fields": [
                {"number": 1, "label": "姓名", "value": "Zhang_San"},
                {"number": 2, "label": "手机", "value": "138＊＊＊＊8000"},
            ],
        },
        {
            "role": "资源审核员",
            "error": "没有第12项，请写 1–2",
            "minutes": 30,
            "last": 2,
            "fields": [{"number": 1, "label": "姓名", "value": "张三"}],
        },
    ],
    "roster/refused": [
        {
            "kind": "quota_full",
            "message": "杭州市西湖区资源审核员名额已满（限3–5名，已登记：甲、乙）",
            "holders": ["甲", "乙"],
            "role": "资源审核员",
            "seat": "杭州市西湖区",
        }
    ],
    "roster/conflict": [{}],
    "roster/outside": [{"seat": "宁波市鄞州区", "scope": ["杭州市"], "registering": r} for r in (True, False)],
    "roster/already": [{"role": "资源审核员", "seat": "杭州市西湖区", "number": 12}],
    "roster/need_role": [{}],
    "roster/nothing_found": [{}],
    "roster/bulk_forbidden": [{"rows": 5}],
    "roster/unknown_region": [{"value": "火星", "candidates": []}, {"value": "鼓楼", "candidates": ["南京市鼓楼区"]}],
    "roster/ambiguous_region": [{"value": "鼓楼", "candidates": ["南京市鼓楼区", "徐州市鼓楼区"]}],
    "roster/not_found": [{"number": 99}],
    "roster/not_pending": [{"number": 3, "name": "张三", "status": "在册"}],
    "roster/pending_list": [{"items": [dict(_m, at="04-20 10:30", pending=True)]}, {"items": []}],
    "roster/approved": [{"number": 3, "name": "张三", "role": "资源审核员", "seat": "杭州市西湖区"}],
    "roster/rejected": [{"number": 3, "name": "张三", "reason": "不是本市教师"}],
    "roster/notify_decided": [
        {"approved": True, "role": "资源审核员", "seat": "杭州市西湖区", "reason": ""},
        {"approved": False, "role": "资源审核员", "seat": "杭州市西湖区", "reason": "不是本市教师"},
    ],
    "roster/not_yours": [{"number": 3, "command": "变更"}],
    "roster/no_record": [{"command": "变更"}],
    "roster/choose_record": [
        {
            "command": "变更",
            "records": [
                {"id": 3, "role": "培训讲师", "seat": "杭州市西湖区"},
                {"id": 4, "role": "资源审核员", "seat": "杭州市西湖区"},
            ],
        }
    ],
    "roster/nothing_to_change": [{"fields": ["县(市、区)", "姓名", "手机"]}],
    "roster/unchanged": [{"name": "张三"}],
    "roster/updated": [
        {
            "number": 3,
            "name": "张三",
            "seat": "杭州市西湖区",
            "role": "资源审核员",
            "reason": "换号",
            "changes": [{"label": "手机", "before": "138＊＊＊＊8000", "after": "139＊＊＊＊1111"}],
        },
        {"number": 3, "name": "张三", "seat": "杭州市西湖区", "role": "资源审核员", "reason": "", "changes": []},
    ],
    "roster/need_reason": [{"number": 3}],
    "roster/removed": [{"number": 3, "name": "张三", "role": "资源审核员", "seat": "杭州市西湖区", "reason": "调离"}],
    "roster/me": [
        {"name": "张三", "records": [_m], "grants": [{"label": "杭州市", "level": "市级管理员"}], "is_group": True},
        {"name": "张三", "records": [], "grants": [], "is_group": False},
    ],
    "roster/province": [
        {
            "province": "浙江省",
            "pending": 2,
            "late": ["宁波市"],
            "gaps_only": gaps,
            "cities": [
                {
                    "city": "杭州市",
                    "filled": 70,
                    "required": 70,
                    "done": 14,
                    "territories": 14,
                    "complete": True,
                    "gaps": [],
                },
                {
                    "city": "宁波市",
                    "filled": 44,
                    "required": 55,
                    "done": 0,
                    "territories": 11,
                    "complete": False,
                    "gaps": [{"label": "市本级", "missing": "缺资源审核员1名"}],
                },
            ],
        }
        for gaps in (False, True)
    ]
    + [{"province": "浙江省", "pending": 0, "late": [], "cities": [], "gaps_only": False}],
    "roster/city": [
        {
            "city": "杭州市",
            "filled": 8,
            "required": 10,
            "done": 1,
            "total": 2,
            "pending": 1,
            "gaps_only": gaps,
            "territories": [
                {"label": "市本级", "seats": _seats, "missing": "缺资源审核员1名", "complete": False},
                {"label": "西湖区", "seats": _seats, "missing": "", "complete": True},
            ][: 1 if gaps else 2],
        }
        for gaps in (False, True)
    ],
    "roster/territory": [
        {
            "label": "杭州市西湖区",
            "seats": _seats,
            "missing": "缺资源审核员1名",
            "complete": False,
            "people": [dict(_m, pending=True)],
            "manages": True,
            "masked": True,
            "pending": 1,
        },
        {
            "label": "杭州市（市本级）",
            "seats": _seats,
            "missing": "",
            "complete": True,
            "people": [],
            "manages": False,
            "masked": False,
            "pending": 0,
        },
    ],
    "roster/changes": [
        {
            "label": "杭州市",
            "entries": [
                {
                    "at": "2026-04-20 10:30",
                    "actor": "陈建国",
                    "action": "变更",
                    "name": "张三",
                    "seat": "杭州市西湖区资源审核员",
                    "details": ["手机：138＊＊＊＊8000 → 139＊＊＊＊1111"],
                    "reason": "换号",
                }
            ],
        },
        {"label": "杭州市", "entries": []},
    ],
    "roster/grant_no_staff": [{"name": "赵老师", "action": "授权"}, {"name": "赵老师", "action": "撤销"}],
    "roster/grant_refused": [
        {"reason": "杭州市西湖区的管理员只能由市级管理员授权（逐级授权）", "action": "授权"},
        {"reason": "只有杭州市的上级管理员可以撤销", "action": "撤销"},
    ],
    "roster/granted": [
        {"name": "陈建国", "territory": "杭州市", "level": "市级管理员", "existed": False},
        {"name": "陈建国", "territory": "杭州市", "level": "市级管理员", "existed": True},
    ],
    "roster/submission": [
        {
            "city": "杭州市",
            "year": 2026,
            "changed": True,
            "set": True,
            "header": [
                {"label": "报送单位", "value": "杭州市教育技术中心"},
                {"label": "联系人姓名", "value": "陈_建国"},
                {"label": "手机", "value": "13800138000"},
            ],
        },
        {
            "city": "杭州市",
            "year": 2026,
            "changed": False,
            "set": False,
            "header": [{"label": "联系人电话", "value": "（未填）"}],
        },
    ],
    "roster/submission_errors": [
        {
            "errors": ["「手机」“123”不对，应为11位手机号，以13–19开头"],
            "example": "/报送信息 联系人=陈建国 电话=0571-85000000 手机=13800138000",
        }
    ],
    "roster/notify_revoked": [{"territories": ["杭州市西湖区的县级管理员"], "by": "陈建国"}],
    "roster/notify_granted": [{"territory": "杭州市", "level": "市级管理员", "by": "王芳"}],
    "roster/nothing_to_revoke": [{"name": "李明"}],
    "roster/revoked": [
        {"name": "李明", "territories": ["杭州市西湖区"], "kept": []},
        {"name": "李明", "territories": ["杭州市西湖区"], "kept": ["宁波市"]},
    ],
    "roster/need_city": [{}],
    "roster/exported": [
        {
            "what": "服务队伍汇总表（附件1）",
            "city": "杭州市",
            "count": 98,
            "links": [{"name": "杭州市-附件1.xlsx", "url": "http://127.0.0.1:8080/files/abc?e=1&s=x"}],
        }
    ],
}
