"""Sample contexts for every template (tests/core/test_templates.py renders them all).

Feature modules add their own in ``tests/<feature>/samples.py`` as SAMPLES dicts;
they are merged here automatically.
"""

from __future__ import annotations

import importlib
from pathlib import Path

_brief = {"name": "登记", "alias": "register", "help": "登记服务队伍成员", "usage": "/登记 [字段=值…]", "who": ""}

SAMPLES: dict[str, list[dict]] = {
    "input/unsupported": [{"msgtype": m} for m in ("picture", "file", "audio", "richText", "unknownMsgType")],
    "input/too_long": [{"length": 6000, "limit": 5000}],
    "input/empty": [{}],
    "input/not_command": [{"text": "你好"}],
    "errors/unknown_command": [
        {"name": "登", "suggestions": [_brief], "elsewhere": [], "unbound": False},
        {"name": "xyz", "suggestions": [], "elsewhere": [], "unbound": False},
        {
            "name": "登级",
            "suggestions": [],
            "elsewhere": [{**_brief, "where": "管理员群、讲师群、审核员群 或 单聊"}],
            "unbound": True,
        },
    ],
    "errors/not_here": [
        {"command": "登记", "groups": "审核员群", "bound": True},
        {"command": "登记", "groups": "审核员群", "bound": False},
    ],
    "errors/usage": [
        {
            "command": "报告",
            "arg": "日期",
            "value": "2026-02-30",
            "expected": "一个存在的日期",
            "missing": False,
            "usage": "/报告 <类型> [日期]",
            "examples": ["/报告 培训 2026-05-10"],
        },
        {
            "command": "报告",
            "arg": None,
            "value": "",
            "expected": "引号没有闭合",
            "usage": "/报告",
            "missing": False,
            "examples": [],
        },
        {
            "command": "我的账号",
            "arg": "平台账号",
            "value": "",
            "expected": "之江汇平台账号，注意大小写",
            "missing": True,
            "usage": "/我的账号 〈平台账号〉",
            "examples": ["/我的账号 LiMing01"],
        },
    ],
    "errors/forbidden": [{"command": "绑定", "who": "省级运营人员"}, {"command": "绑定", "who": ""}],
    "errors/internal": [{"ref": "AB12CD34"}],
    "errors/timeout": [{"ref": "AB12CD34"}],
    "dialogue/cancelled": [{"kind": "roster_register"}],
    "dialogue/nothing_to_cancel": [{}],
    "dialogue/expired": [{"minutes": 30}],
    "help/list": [
        {
            "sections": [{"title": "名单登记", "commands": [_brief]}, {"title": "其他", "commands": [_brief, _brief]}],
            "group": "审核员群",
            "unbound": False,
        },
        {"sections": [{"title": "其他", "commands": [_brief]}], "group": None, "unbound": True},
    ],
    "help/command": [
        {
            "c": _brief,
            "args": [{"label": "姓名", "required": True, "help": "本人姓名"}],
            "examples": ["/登记 姓名=张三"],
            "allowed_here": False,
        }
    ],
    "core/dead_letters": [{"n": 3}],
    "core/bound": [{"role": "审核员群", "previous": "讲师群", "title": "省级资源审核员省群"}],
    "core/whoami": [
        {
            "name": "王芳",
            "id": "op-zj-001",
            "staff": True,
            "superadmin": True,
            "group": "管理员群",
            "is_group": True,
            "grants": [],
        },
        {
            "name": "陈建国",
            "id": "city-hz-001",
            "staff": True,
            "superadmin": False,
            "group": "管理员群",
            "is_group": True,
            "grants": ["杭州市的市级管理员"],
        },
        {"name": "外部", "id": "", "staff": False, "superadmin": False, "group": None, "is_group": False, "grants": []},
    ],
    "common/sent_privately": [{}],
    "demo/done": [{"members": 585, "teachers": 2186, "events": 177453}],
    "demo/not_empty": [{}],
    "demo/not_simulator": [{}],
    "demo/started": [{}],
    "demo/failed": [{}],
}

# Merge feature samples: tests/<feature>/samples.py defining SAMPLES.
_here = Path(__file__).parent
for _dir in sorted(p for p in _here.iterdir() if p.is_dir() and (p / "samples.py").exists()):
    _mod = importlib.import_module(f"tests.{_dir.name}.samples")
    for _k, _v in getattr(_mod, "SAMPLES", {}).items():
        SAMPLES.setdefault(_k, []).extend(_v)
