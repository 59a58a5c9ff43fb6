"""Sample contexts of the review templates (tests/core/test_templates.py renders them all)."""

from __future__ import annotations

_task = {
    "n": 12,
    "task": 3,
    "title": "分数的意义",
    "catalogue": "小学·数学 / 人教版 / 第四单元 / 微课",
    "link": "https://example.cn/r/12",
    "due": "5月20日",
    "level": "市级初审",
    "category": "课程教学",
    "status": "待审",
    "open": True,
    "left": 1,
}
_level = {
    "name": "市级初审",
    "resources": 3,
    "tasks": 3,
    "reviewers": 2,
    "pool": 4,
    "max_load": 2,
    "mean_load": "1.5",
    "uncovered": ["初中·化学（衢州市）：没有可用的审核员（2人请假）"],
}
_call = {
    "name": "2026年中小学优质数字资源征集",
    "deadline": "2026-05-28",
    "categories": "专题教育、课程教学",
    "active": True,
    "levels": [{"name": "市级初审", "reviewers": 1, "cap": 30, "due": "分配后 5 个工作日", "auto": False}],
}

SAMPLES: dict[str, list[dict]] = {
    "review/rejected_notice": [
        {
            "n": 12,
            "title": "分数的意义",
            "level": "市级初审",
            "reasons": ["章节不符"],
            "submitter": "李明",
            "school": "西湖小学",
        }
    ],
    "review/tasks_card": [
        {"tasks": [_task, _task | {"status": "已通过", "open": False}], "call": "2026年征集"},
        {"tasks": [_task], "call": ""},
    ],
    "review/card_commands": [{}],
    "review/group_summary": [
        {"call": "2026年征集", "reviewers": 2, "total": 3, "subjects": [{"name": "小学·数学", "count": 2}]}
    ],
    "review/unknown_call": [{"name": "x", "names": ["2026年征集"]}, {"name": "x", "names": []}],
    "review/choose_call": [{"names": ["甲", "乙"]}, {"names": []}],
    "review/unknown_city": [{"city": "北京"}],
    "review/not_your_city": [{"city": "宁波市", "mine": ["杭州市"]}, {"city": "宁波市", "mine": []}],
    "review/choose_city": [{"mine": ["杭州市", "宁波市"]}],
    "review/add_usage": [{"fields": ["外部编号", "资源名称"]}],
    "review/add_refused": [{"reason": "第 1 行「学科」为空：必填，请补上学科"}],
    "review/added": [
        {"n": 3, "created": True, "updated": False},
        {"n": 3, "created": False, "updated": True},
        {"n": 3, "created": False, "updated": False},
    ],
    "review/calls": [{"calls": [_call, _call | {"active": False, "categories": ""}]}, {"calls": []}],
    "review/calls_usage": [{}],
    "review/call_refused": [{"reason": "缺少名称，请写 名称=2026年优质资源征集"}],
    "review/call_saved": [{"call": _call, "updated": False}, {"call": _call, "updated": True}],
    "review/leave_order": [{"start": "2026-05-10", "end": "2026-05-01"}],
    "review/leave_saved": [{"start": "2026-05-10", "end": "2026-05-15"}],
    "review/conflict_saved": [{"what": "LiMing01", "new": True}, {"what": "西湖小学", "new": False}],
    "review/assign_usage": [{}],
    "review/preview": [
        {"call": "2026年征集", "city": "杭州市", "resources": 3, "levels": [_level], "fresh": False},
        {"call": "2026年征集", "city": "全省", "resources": 0, "levels": [], "fresh": True},
    ],
    "review/no_preview": [{}],
    "review/nothing_to_assign": [{"call": "2026年征集"}],
    "review/committed": [{"call": "2026年征集", "city": "杭州市", "tasks": 3, "reviewers": 2}],
    "review/unknown_resource": [{"n": 99}],
    "review/already": [{"n": 12, "verdict": "通过"}],
    "review/moved": [{"n": 12}],
    "review/decided": [{"n": 12}],
    "review/not_assigned": [{"n": 12}],
    "review/reason_needed": [{"n": 12, "command": "不通过"}],
    "review/verdict_saved": [
        {"n": 12, "title": "分数的意义", "verdict": v, "outcome": o, "level": "省级评审"}
        for v, o in (
            ("通过", "need_more"),
            ("通过", "next"),
            ("通过", "shelved"),
            ("退回", "rejected"),
            ("通过", "pending"),
        )
    ],
    "review/declined": [
        {"n": 12, "title": "分数的意义", "moved": True, "why": []},
        {"n": 12, "title": "分数的意义", "moved": False, "why": ["小学·数学（杭州市）：没有可用的审核员"]},
    ],
    "review/no_alternate": [{"n": 12, "title": "分数的意义", "why": ["小学·数学（杭州市）：没有可用的审核员"]}],
    "review/bad_correction": [{"n": 12, "problems": ["学段“大学”不对，应为 学前、小学、初中、高中、中职"]}],
    "review/corrected": [
        {"n": 12, "changes": [{"field": "学科", "before": "数学", "after": "化学"}]},
        {"n": 12, "changes": []},
    ],
    "review/overdue_reviewer": [
        {"n": 12, "title": "分数的意义", "due": "5月20日", "moved": True},
        {"n": 12, "title": "分数的意义", "due": "5月20日", "moved": False},
    ],
    "review/overdue_operator": [
        {"n": 12, "title": "分数的意义", "due": "5月20日", "moved": True, "reviewer": "刘洋"},
        {"n": 12, "title": "分数的意义", "due": "5月20日", "moved": False, "reviewer": "刘洋"},
    ],
    "review/my_tasks": [{"tasks": [_task]}, {"tasks": []}],
    "review/not_yours": [{"n": 12}],
    "review/resource": [
        {
            "n": 12,
            "title": "分数的意义",
            "catalogue": "小学·数学",
            "link": "https://example.cn/r/12",
            "status": "审核中",
            "call": "2026年征集",
            "level": "市级初审",
            "history": [
                {
                    "level": "市级初审",
                    "state": "已审",
                    "verdict": "通过",
                    "reason": "好",
                    "reviewer": "本人",
                    "due": "2026-05-20",
                }
            ],
            "fixes": [{"field": "subject", "before": "数学", "after": "化学"}],
        }
    ],
    "review/progress": [
        {
            "call": "2026年征集",
            "city": "杭州市",
            "rows": [
                {
                    "city": "杭州市",
                    "level": "市级初审",
                    "submitted": 3,
                    "assigned": 3,
                    "done": 1,
                    "overdue": 0,
                    "passed": 1,
                    "rejected": 0,
                }
            ],
        },
        {"call": "2026年征集", "city": "全省", "rows": []},
    ],
    "review/top": [
        {
            "rows": [
                {
                    "rank": 1,
                    "n": 3,
                    "title": "分数的意义",
                    "place": "杭州市",
                    "subject": "小学·数学",
                    "clicks": 30,
                    "downloads": 4,
                }
            ],
            "period": "本月",
            "where": "杭州市",
            "subject": "数学",
        },
        {"rows": [], "period": "本年", "where": "全省", "subject": ""},
    ],
    "review/bad_period": [{"word": "上周"}],
    "review/bad_rank_word": [{"word": "某某"}],
}
