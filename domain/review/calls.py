"""Calls (征集活动) and their review pipelines as data.

A call has a name, a submission deadline, its categories and its review levels in order
(default 市级初审 → 省级评审; 校级 and 县级 optional). Per level: reviewers per resource, the
deadline (a date, or N working days after assignment), whose reviewers serve (the submitter's
own city, county, school, or the province), a per-reviewer cap, and whether new resources
are assigned automatically each working day. The defaults live in ``domain/data/review.yaml``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import Any

import yaml

from domain.reminders.workdays import WorkCalendar
from domain.yamltext import SafeLoader

DEFAULT_FILE = Path(__file__).resolve().parent.parent / "data" / "review.yaml"
POOLS = ("school", "county", "city", "province")
POOL_NAMES = {"school": "校级", "county": "县级", "city": "市级", "province": "省级"}
LEVEL_WORDS = {
    "校级": "school",
    "县级": "county",
    "市级": "city",
    "省级": "province",
    "校级初审": "school",
    "县级初审": "county",
    "市级初审": "city",
    "省级评审": "province",
}


class CallError(ValueError):
    """A call definition that cannot be used; the message is Chinese and names the field."""


class _Loader(SafeLoader):
    """Safe YAML with dates left as text, so a wrong date gets a message naming the field."""


_Loader.yaml_implicit_resolvers = {
    k: [(tag, rx) for tag, rx in v if tag != "tag:yaml.org,2002:timestamp"]
    for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _yaml(text: str) -> Any:
    try:
        return yaml.load(text, Loader=_Loader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"第 {mark.line + 1} 行" if mark is not None else "文件"
        raise CallError(f"{where}不是有效的 YAML，请检查缩进和冒号") from None


@dataclass(frozen=True)
class ReviewLevel:
    id: str  # school | county | city | province
    name: str  # 市级初审
    reviewers: int = 1  # reviewers per resource
    due_workdays: int | None = 5  # N working days after assignment …
    due_date: date | None = None  # … or a fixed date
    pool: str = "city"  # whose reviewers serve
    cap: int | None = None  # per-reviewer cap of open tasks
    auto_assign: bool = False  # assign new resources each working day

    def due(self, assigned_on: date, cal: WorkCalendar) -> date:
        if self.due_date is not None:
            return self.due_date
        return cal.add_workdays(assigned_on, self.due_workdays or 5)

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "reviewers": self.reviewers,
            "due_workdays": self.due_workdays,
            "due_date": self.due_date.isoformat() if self.due_date else None,
            "pool": self.pool,
            "cap": self.cap,
            "auto_assign": self.auto_assign,
        }


@dataclass(frozen=True)
class ReviewCall:
    name: str
    deadline: date
    categories: tuple[str, ...]
    levels: tuple[ReviewLevel, ...]
    id: int | None = None
    active: bool = True

    def level(self, index: int) -> ReviewLevel:
        return self.levels[index]

    @property
    def pipeline(self) -> str:
        return " → ".join(lv.name for lv in self.levels)


@dataclass(frozen=True)
class ReviewSettings:
    province_exclusion: str = "county"
    third_reviewer_on_disagreement: bool = True
    overdue_grace_workdays: int = 1


@dataclass(frozen=True)
class ReviewConfig:
    stages: tuple[str, ...]
    subjects: tuple[str, ...]
    subject_synonyms: Mapping[str, str]
    resource_types: tuple[str, ...]
    settings: ReviewSettings
    calls: tuple[ReviewCall, ...] = field(default=())
    matcher_synonyms: Mapping[str, str] = field(default_factory=dict)  # domain/data/subject_synonyms.yaml

    def subject(self, word: str) -> str | None:
        """The canonical 学科 (synonyms: review.yaml's, then domain/data/subject_synonyms.yaml's,
        loaded once with the configuration)."""
        from domain.review.subjects import canonical_subject

        w = clean(word)
        w = self.subject_synonyms.get(w) or canonical_subject(w, self.matcher_synonyms) or w
        return w if w in self.subjects else None

    def stage(self, word: str) -> str | None:
        from domain.review.subjects import canonical_stage

        w = canonical_stage(clean(word)) or clean(word)
        return w if w in self.stages else None

    def resource_type(self, word: str) -> str | None:
        w = clean(word)
        return w if w in self.resource_types else None


def clean(text: Any) -> str:
    return re.sub(r"[\s\u3000]+", "", str(text if text is not None else ""))


def _date(value: Any, what: str) -> date:
    if isinstance(value, date):
        return value
    m = re.fullmatch(r"(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?", clean(value))
    if not m:
        raise CallError(f"{what}“{value}”不是日期，请写成 2026-05-28")
    try:
        return date(int(m[1]), int(m[2]), int(m[3]))
    except ValueError:
        raise CallError(f"{what}“{value}”不是存在的日期") from None


def parse_level(raw: Mapping[str, Any], n: int) -> ReviewLevel:
    where = f"第 {n} 级"
    pool = str(raw.get("pool") or raw.get("id") or "")
    pool = LEVEL_WORDS.get(pool, pool)
    if pool not in POOLS:
        raise CallError(f"{where}的审核员来源“{pool}”不对，应为 校级、县级、市级 或 省级")
    try:
        reviewers = int(raw.get("reviewers", 1 if pool != "province" else 2))
        cap = raw.get("cap")
        cap = int(cap) if cap not in (None, "") else None
        due_days = raw.get("due_workdays")
        due_days = int(due_days) if due_days not in (None, "") else None
    except (TypeError, ValueError):
        raise CallError(f"{where}的人数、上限和期限应为整数") from None
    if not 1 <= reviewers <= 5:
        raise CallError(f"{where}每个资源的审核人数应为 1 到 5")
    due_date = _date(raw["due_date"], f"{where}的截止日期") if raw.get("due_date") else None
    if due_date is None and not due_days:
        due_days = 5
    return ReviewLevel(
        id=str(raw.get("id") or pool),
        name=str(raw.get("name") or POOL_NAMES[pool] + "审核"),
        reviewers=reviewers,
        due_workdays=due_days,
        due_date=due_date,
        pool=pool,
        cap=cap,
        auto_assign=bool(raw.get("auto_assign", False)),
    )


def parse_call(raw: Mapping[str, Any]) -> ReviewCall:
    name = clean(raw.get("name"))
    if not name:
        raise CallError("征集活动缺少名称，请写 名称=…")
    if "deadline" not in raw:
        raise CallError(f"“{name}”缺少截止日期，请写 截止=2026-05-28")
    levels_raw = raw.get("levels") or []
    if not isinstance(levels_raw, Sequence) or not levels_raw:
        raise CallError(f"“{name}”至少要有一级审核")
    levels = tuple(parse_level(lv, i) for i, lv in enumerate(levels_raw, start=1))
    order = [POOLS.index(lv.pool) for lv in levels]
    if order != sorted(order) or len(set(order)) != len(order):
        raise CallError(f"“{name}”的审核级别应由低到高且不重复，如 市级初审 → 省级评审")
    cats = tuple(clean(c) for c in (raw.get("categories") or []) if clean(c))
    return ReviewCall(
        name=name,
        deadline=_date(raw["deadline"], "截止日期"),
        categories=cats,
        levels=levels,
        active=bool(raw.get("active", True)),
    )


def load_config(text: str | None = None) -> ReviewConfig:
    data = _yaml(text if text is not None else DEFAULT_FILE.read_text("utf-8")) or {}
    s = data.get("settings") or {}
    settings = ReviewSettings(
        province_exclusion=str(s.get("province_exclusion", "county")),
        third_reviewer_on_disagreement=bool(s.get("third_reviewer_on_disagreement", True)),
        overdue_grace_workdays=int(s.get("overdue_grace_workdays", 1)),
    )
    if settings.province_exclusion not in ("county", "city"):
        raise CallError("province_exclusion 应为 county 或 city")
    from domain.review.subjects import default_subject_synonyms

    return ReviewConfig(
        matcher_synonyms=default_subject_synonyms(),
        stages=tuple(data.get("stages") or ()),
        subjects=tuple(data.get("subjects") or ()),
        subject_synonyms={str(k): str(v) for k, v in (data.get("subject_synonyms") or {}).items()},
        resource_types=tuple(data.get("resource_types") or ()),
        settings=settings,
        calls=tuple(parse_call(c) for c in data.get("calls") or ()),
    )


def load_calls_file(text: str) -> list[ReviewCall]:
    data = _yaml(text) or {}
    items = data.get("calls", data) if isinstance(data, dict) else data
    if isinstance(items, dict):
        items = [items]
    if not isinstance(items, list):
        raise CallError("文件里没有征集活动，请写 calls: 列表")
    return [parse_call(c) for c in items]


CHAT_KEYS = {
    "名称": "name",
    "截止": "deadline",
    "截止日期": "deadline",
    "分类": "categories",
    "类别": "categories",
    "级别": "levels",
    "流程": "levels",
    "人数": "reviewers",
    "期限": "due_workdays",
    "上限": "cap",
    "自动分配": "auto_assign",
}


def parse_chat_call(text: str, defaults: ReviewCall) -> ReviewCall:
    """``名称=… 截止=2026-05-28 [分类=a,b] [级别=市级初审,省级评审] [人数=1,2] [期限=5,5] [上限=30,30]
    [自动分配=否,是]``; what is not given comes from ``defaults``."""
    values: dict[str, str] = {}
    for m in re.finditer(r"(\S+?)\s*[=＝]\s*(\S+)", text):
        key = CHAT_KEYS.get(m[1])
        if key is None:
            raise CallError(f"不认识“{m[1]}”，可写：名称、截止、分类、级别、人数、期限、上限、自动分配")
        values[key] = m[2]
    if "name" not in values:
        raise CallError("缺少名称，请写 名称=2026年优质资源征集")
    if "deadline" not in values:
        raise CallError("缺少截止日期，请写 截止=2026-05-28")

    def split(v):
        return [p for p in re.split(r"[,，、]", v) if p]

    levels = [lv.as_dict() for lv in defaults.levels]
    if "levels" in values:
        base = {lv.pool: lv.as_dict() for lv in defaults.levels}
        levels = []
        for word in split(values["levels"]):
            pool = LEVEL_WORDS.get(word)
            if pool is None:
                raise CallError(f"级别“{word}”不对，应为 校级、县级、市级 或 省级")
            levels.append(
                {
                    **base.get(pool, {"pool": pool, "id": pool}),
                    "name": word if len(word) > 2 else POOL_NAMES[pool] + ("评审" if pool == "province" else "初审"),
                }
            )
    for key in ("reviewers", "due_workdays", "cap", "auto_assign"):
        if key in values:
            parts = split(values[key])
            if len(parts) != len(levels):
                raise CallError(f"{_label(key)}要为每一级各写一个，用逗号分开（共 {len(levels)} 级）")
            for lv, p in zip(levels, parts, strict=True):
                lv[key] = p in ("是", "自动", "1", "true") if key == "auto_assign" else p
    raw = {
        "name": values["name"],
        "deadline": values["deadline"],
        "levels": levels,
        "categories": split(values["categories"]) if "categories" in values else list(defaults.categories),
    }
    return parse_call(raw)


def split(value: str) -> list[str]:
    return [p for p in re.split(r"[,，、]", value) if p]


def _label(key: str) -> str:
    return next(k for k, v in CHAT_KEYS.items() if v == key)


def call_from_row(
    name: str,
    deadline: date,
    categories: Sequence[str],
    levels: Sequence[Mapping[str, Any]],
    *,
    id: int | None = None,
    active: bool = True,
) -> ReviewCall:
    call = parse_call({"name": name, "deadline": deadline, "categories": list(categories), "levels": list(levels)})
    return replace(call, id=id, active=active)
