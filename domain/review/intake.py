"""Resource intake (pure): one submitted row → a validated resource, or refusals that name the
row, the field and the fix. Keys may be the English names or the Chinese column labels."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from domain.regions import RegionTree
from domain.review.calls import ReviewCall, ReviewConfig, clean

# key, Chinese label, required
FIELDS: tuple[tuple[str, str, bool], ...] = (
    ("external_id", "外部编号", True),
    ("title", "资源名称", True),
    ("type", "资源类型", True),
    ("category", "类别", False),
    ("stage", "学段", True),
    ("subject", "学科", True),
    ("edition", "教材版本", False),
    ("chapter", "章节", False),
    ("link", "链接", True),
    ("call", "征集活动", False),
    ("submitter_account", "提交人账号", True),
    ("submitter_name", "提交人", True),
    ("school", "学校", True),
    ("county", "县区", True),
    ("city", "设区市", True),
)
LABELS = {k: label for k, label, _r in FIELDS}
ALIASES = (
    {label: k for k, label, _r in FIELDS}
    | {k: k for k, _l, _r in FIELDS}
    | {
        "编号": "external_id",
        "id": "external_id",
        "名称": "title",
        "标题": "title",
        "类型": "type",
        "资源链接": "link",
        "url": "link",
        "活动": "call",
        "平台账号": "submitter_account",
        "账号": "submitter_account",
        "姓名": "submitter_name",
        "提交人姓名": "submitter_name",
        "学校名称": "school",
        "县(市、区)": "county",
        "县（市、区）": "county",
        "县": "county",
        "市": "city",
        "城市": "city",
        "分类": "category",
    }
)
CATALOGUE_LABELS = {
    "学段": "stage",
    "学科": "subject",
    "教材版本": "edition",
    "章节": "chapter",
    "资源类型": "type",
    "类型": "type",
    "名称": "title",
    "资源名称": "title",
}


@dataclass(frozen=True)
class ResourceIn:
    external_id: str
    title: str
    type: str
    category: str
    stage: str
    subject: str
    edition: str
    chapter: str
    link: str
    call: str
    submitter_account: str
    submitter_name: str
    school: str
    county: str
    city: str

    def as_dict(self) -> dict[str, str]:
        return asdict(self)


@dataclass(frozen=True)
class Refusal:
    row: int  # 1-based row (or item) number
    field: str  # Chinese label ("" for the whole row)
    value: str
    fix: str

    def text(self) -> str:
        where = f"第 {self.row} 行"
        if self.field:
            shown = f"“{self.value}”" if self.value else "为空"
            return f"{where}「{self.field}」{shown}：{self.fix}"
        return f"{where}：{self.fix}"


def normalise_keys(raw: Mapping[str, Any]) -> dict[str, str]:
    out: dict[str, str] = {}
    for k, v in raw.items():
        key = ALIASES.get(clean(k)) or ALIASES.get(str(k).strip().lower())
        if key and v is not None and str(v).strip() != "":
            out[key] = str(v).strip()
    return out


def validate(
    raw: Any, row: int, *, config: ReviewConfig, calls: Sequence[ReviewCall], tree: RegionTree
) -> tuple[ResourceIn | None, list[Refusal]]:
    if not isinstance(raw, Mapping):
        return None, [Refusal(row, "", "", "每一项应是一个对象（字段: 值）")]
    v = normalise_keys(raw)
    errors: list[Refusal] = []

    def bad(key: str, fix: str) -> None:
        errors.append(Refusal(row, LABELS[key], v.get(key, ""), fix))

    for key, label, required in FIELDS:
        if required and not v.get(key):
            bad(key, f"必填，请补上{label}")
    stage = config.stage(v.get("stage", "")) if v.get("stage") else None
    if v.get("stage") and stage is None:
        bad("stage", "应为 " + "、".join(config.stages))
    subject = config.subject(v.get("subject", "")) if v.get("subject") else None
    if v.get("subject") and subject is None:
        bad("subject", "不是已知学科，请用 " + "、".join(config.subjects[:8]) + " 等")
    rtype = config.resource_type(v.get("type", "")) if v.get("type") else None
    if v.get("type") and rtype is None:
        bad("type", "应为 " + "、".join(config.resource_types))
    link = v.get("link", "")
    if link and not link.startswith(("http://", "https://")):
        bad("link", "应以 http:// 或 https:// 开头")
    active = [c for c in calls if c.active]
    call: ReviewCall | None = None
    if v.get("call"):
        call = next((c for c in calls if c.name == clean(v["call"])), None)
        if call is None:
            bad("call", "没有这个征集活动，发 /征集 列表 查看名称")
    elif len(active) == 1:
        call = active[0]
    else:
        bad("call", "有多个进行中的征集活动，请写明活动名称" if active else "还没有征集活动，请先 /征集 新建")
    category = clean(v.get("category", ""))
    if call is not None and category and call.categories and category not in call.categories:
        bad("category", "应为 " + "、".join(call.categories))
    city = tree.city(v.get("city", "")) if v.get("city") else None
    if v.get("city") and city is None:
        bad("city", f"不是{tree.province}的设区市")
    county = tree.county(city.name, v.get("county", "")) if city and v.get("county") else None
    if city and v.get("county") and county is None:
        bad("county", f"不属于{city.name}，请核对县（市、区）")
    if errors:
        return None, errors
    assert call is not None and city is not None and county is not None and stage and subject and rtype
    return ResourceIn(
        external_id=v["external_id"],
        title=v["title"],
        type=rtype,
        category=category,
        stage=stage,
        subject=subject,
        edition=v.get("edition", ""),
        chapter=v.get("chapter", ""),
        link=link,
        call=call.name,
        submitter_account=v["submitter_account"],
        submitter_name=v["submitter_name"],
        school=clean(v["school"]),
        county=county.name,
        city=city.name,
    ), []


def parse_corrections(text: str, config: ReviewConfig) -> tuple[dict[str, str], list[str]]:
    """``学段=初中 学科=化学 …`` → ({field: value}, [Chinese problems])."""
    import re

    values: dict[str, str] = {}
    problems: list[str] = []
    for m in re.finditer(r"(\S+?)\s*[=＝:：]\s*(\S+)", text):
        key = CATALOGUE_LABELS.get(m[1])
        if key is None:
            problems.append(f"不认识“{m[1]}”，可改：学段、学科、教材版本、章节、资源类型、资源名称")
            continue
        value = m[2]
        if key == "stage":
            fixed = config.stage(value)
            if fixed is None:
                problems.append(f"学段“{value}”不对，应为 " + "、".join(config.stages))
                continue
            value = fixed
        elif key == "subject":
            fixed = config.subject(value)
            if fixed is None:
                problems.append(f"学科“{value}”不是已知学科，请用 " + "、".join(config.subjects[:8]) + " 等")
                continue
            value = fixed
        elif key == "type":
            fixed = config.resource_type(value)
            if fixed is None:
                problems.append(f"资源类型“{value}”不对，应为 " + "、".join(config.resource_types))
                continue
            value = fixed
        values[key] = value
    if not values and not problems:
        problems.append("请写要改的编目，如 学段=初中 学科=化学")
    return values, problems
