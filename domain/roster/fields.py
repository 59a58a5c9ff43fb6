"""Roles, the form's columns (附件1) and the enumerations with their variants.

The three sections of 附件1 (教育资源公共服务体系服务队伍设区市汇总表), columns
exactly in the form's order (domain.md §2). Each column has an English key,
the form's Chinese label and the short forms people type.
"""

from __future__ import annotations

import enum
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property


class Role(str, enum.Enum):
    ADMIN = "admin"
    TRAINER = "trainer"
    REVIEWER = "reviewer"

    @property
    def label(self) -> str:
        """体系管理员 / 培训讲师 / 资源审核员."""
        return ROLE_LABELS[self]

    @property
    def section(self) -> Section:
        return SECTIONS[self]

    @classmethod
    def parse(cls, text: str) -> Role:
        key = norm_label(text)
        for role, words in _ROLE_WORDS.items():
            if key in words:
                return role
        raise ValueError(text)


ROLE_LABELS = {Role.ADMIN: "体系管理员", Role.TRAINER: "培训讲师", Role.REVIEWER: "资源审核员"}
_ROLE_WORDS = {
    Role.ADMIN: {"admin", "管理员", "体系管理员", "县级(含)以上体系管理员", "管理员群"},
    Role.TRAINER: {"trainer", "讲师", "培训讲师", "培训师", "省级培训讲师", "省级培训师", "讲师群"},
    Role.REVIEWER: {"reviewer", "审核员", "资源审核员", "省级资源审核员", "审核员群"},
}

CITY_LEVEL = "市本级"
"""What the form's 县(市、区) column says for members at the city level."""

_WS = re.compile(r"[\s\u3000\u00a0\u200b\ufeff]+")


def norm_label(text: str) -> str:
    """Key for comparing labels: NFKC, no spaces, no '*', no trailing colon, lower case."""
    s = _WS.sub("", unicodedata.normalize("NFKC", str(text or "")))
    return s.strip("*").rstrip(":").lower()


def norm_value(text: str) -> str:
    """Key for comparing enumeration values: like norm_label, trailing 。. dropped."""
    return norm_label(text).rstrip("。.;；,，")


# --- enumerations -------------------------------------------------------------------


@dataclass(frozen=True)
class Enumeration:
    name: str
    values: tuple[str, ...]  # canonical values, in the form's order
    variants: dict[str, str] = field(default_factory=dict)  # variant → canonical
    contains: tuple[tuple[str, str], ...] = ()  # (fragment, canonical): last resort

    def canonical(self, text: str) -> str | None:
        """The canonical value for ``text`` or None if it is not recognisable."""
        key = norm_value(text)
        if not key:
            return None
        for v in self.values:
            if key == norm_value(v):
                return v
        if key in self._table:
            return self._table[key]
        hits = {canon for frag, canon in self.contains if frag in key}
        return hits.pop() if len(hits) == 1 else None

    @property
    def _table(self) -> dict[str, str]:
        return {norm_value(k): v for k, v in self.variants.items()}

    @property
    def expected(self) -> str:
        return "以下之一：" + "、".join(self.values)


def _variants(table: dict[str, Iterable[str]]) -> dict[str, str]:
    return {variant: canon for canon, variants in table.items() for variant in variants}


STAGE = Enumeration(
    "学段",
    ("学前", "小学", "初中", "高中", "中职"),
    _variants(
        {
            "学前": (
                "学前教育",
                "学前段",
                "学前阶段",
                "幼儿园",
                "幼教",
                "幼儿教育",
                "幼儿",
                "preschool",
                "kindergarten",
            ),
            "小学": ("小学段", "小学阶段", "小", "primary", "primaryschool"),
            "初中": ("初中段", "初中阶段", "初级中学", "初", "junior", "juniorhigh", "middleschool"),
            "高中": ("普高", "普通高中", "高中段", "高中阶段", "高级中学", "高", "senior", "seniorhigh", "highschool"),
            "中职": (
                "中专",
                "职高",
                "中职段",
                "中等职业",
                "中等职业教育",
                "中等职业学校",
                "职业高中",
                "职中",
                "中职学校",
                "vocational",
            ),
        }
    ),
)

YES_NO = Enumeration(
    "是/否",
    ("是", "否"),
    _variants(
        {
            "是": ("y", "yes", "是的", "√", "✓", "✔", "1", "true", "t", "对", "有", "曾是", "往届", "是往届"),
            "否": ("n", "no", "不是", "非", "×", "✗", "✘", "x", "0", "false", "f", "无", "没有", "不", "新", "新成员"),
        }
    ),
)

PERSON_TYPE = Enumeration(
    "人员类型",
    ("区域数字资源建设负责人", "区域平台管理员", "教师"),
    _variants(
        {
            "区域数字资源建设负责人": (
                "数字资源建设负责人",
                "资源建设负责人",
                "区域资源建设负责人",
                "建设负责人",
                "负责人",
            ),
            "区域平台管理员": ("平台管理员", "区域管理员", "管理员", "区域平台管理"),
            "教师": ("老师", "一线教师", "teacher"),
        }
    ),
    contains=(("负责人", "区域数字资源建设负责人"), ("管理员", "区域平台管理员")),
)

TEACHER_TYPE = Enumeration(
    "教师类型",
    ("各级平台资源审核员", "在往届省级及以上各类数字资源征集活动中入围教师", "其他"),
    _variants(
        {
            "各级平台资源审核员": (
                "平台资源审核员",
                "资源审核员",
                "审核员",
                "平台审核员",
                "各级平台审核员",
                "现各级平台资源审核员",
            ),
            "在往届省级及以上各类数字资源征集活动中入围教师": (
                "入围教师",
                "入围",
                "往届入围教师",
                "征集活动入围教师",
                "数字资源征集活动入围教师",
                "在往届省级及以上各类数字资源征集活动中入围的教师",
            ),
            "其他": ("其它", "other", "others"),
        }
    ),
    contains=(("入围", "在往届省级及以上各类数字资源征集活动中入围教师"), ("审核员", "各级平台资源审核员")),
)


# --- columns and sections ----------------------------------------------------------------


class Kind(str, enum.Enum):
    TEXT = "text"
    NAME = "name"
    MOBILE = "mobile"
    ACCOUNT = "account"
    COUNTY = "county"
    ENUM = "enum"


@dataclass(frozen=True)
class Column:
    key: str  # English identifier
    label: str  # the form's Chinese header
    kind: Kind = Kind.TEXT
    required: bool = True
    aliases: tuple[str, ...] = ()  # short forms accepted as keys
    enum: Enumeration | None = None
    max_len: int = 60
    hint: str = ""  # what to type (Chinese), for the guided dialogue

    @property
    def expected(self) -> str:
        if self.enum is not None:
            return self.enum.expected
        return self.hint or f"{self.label}（不超过{self.max_len}字）"


@dataclass(frozen=True)
class Section:
    role: Role
    title: str  # section title as on the form
    columns: tuple[Column, ...]

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(c.key for c in self.columns)

    @property
    def labels(self) -> tuple[str, ...]:
        return tuple(c.label for c in self.columns)

    def column(self, key: str) -> Column:
        for c in self.columns:
            if c.key == key:
                return c
        raise KeyError(key)

    def find(self, label: str) -> Column | None:
        """The column for a label, a short form or the English key (tolerant)."""
        return self._index.get(norm_label(label))

    @cached_property
    def _index(self) -> dict[str, Column]:
        """Normalised key, label and aliases → column (built once per section)."""
        idx: dict[str, Column] = {}
        for c in self.columns:
            for k in (c.key, c.label, *c.aliases):
                idx.setdefault(norm_label(k), c)
        return idx


_COUNTY_ALIASES = (
    "县",
    "县区",
    "区县",
    "县市区",
    "县(市、区)",
    "县（市、区）",
    "县(市,区)",
    "县(市/区)",
    "所在县区",
    "县(市区)",
    "地区",
    "区域",
    "county",
)
_MOBILE_ALIASES = ("手机号", "手机号码", "电话", "联系电话", "手机/电话", "mobile", "phone", "tel")
_TITLE_POST_ALIASES = ("职称职务", "职称/职务", "职称、职务", "职务/职称", "职称/ 职务", "职称", "职务", "title")

COUNTY = Column(
    "county",
    "县(市、区)",
    Kind.COUNTY,
    aliases=_COUNTY_ALIASES,
    max_len=40,
    hint=f"所在县(市、区)，如 西湖区；市级人员填“{CITY_LEVEL}”",
)
NAME = Column("name", "姓名", Kind.NAME, aliases=("名字", "name"), max_len=30, hint="本人姓名")
MOBILE = Column("mobile", "手机", Kind.MOBILE, aliases=_MOBILE_ALIASES, max_len=20, hint="11位手机号，以13–19开头")
STAGE_COL = Column("stage", "学段", Kind.ENUM, aliases=("stage",), enum=STAGE)
SUBJECT = Column("subject", "学科", aliases=("subject", "任教学科"), max_len=30, hint="任教学科，如 语文")
TITLE_POST = Column(
    "title_post", "职称/职务", required=False, aliases=_TITLE_POST_ALIASES, hint="职称或职务，如 高级教师；没有可填“无”"
)

SECTIONS: dict[Role, Section] = {
    Role.ADMIN: Section(
        Role.ADMIN,
        "一、县级（含）以上体系管理员",
        (
            COUNTY,
            NAME,
            Column(
                "org",
                "单位名称",
                aliases=("单位", "工作单位", "所在单位", "org"),
                max_len=100,
                hint="工作单位全称，如 杭州市西湖区教育发展中心",
            ),
            Column(
                "title", "职称", required=False, aliases=("title",), max_len=30, hint="职称，如 高级教师；没有可填“无”"
            ),
            Column("post", "职务", required=False, aliases=("post",), max_len=30, hint="职务，如 副主任；没有可填“无”"),
            MOBILE,
            Column("person_type", "人员类型", Kind.ENUM, aliases=("类型", "person_type"), enum=PERSON_TYPE),
        ),
    ),
    Role.TRAINER: Section(
        Role.TRAINER,
        "二、省级培训讲师",
        (
            COUNTY,
            NAME,
            STAGE_COL,
            SUBJECT,
            TITLE_POST,
            MOBILE,
            Column(
                "former_member",
                "是否为往届讲师团成员",
                Kind.ENUM,
                aliases=("往届", "往届讲师团成员", "是否往届", "往届成员", "讲师团成员", "是否为往届", "former_member"),
                enum=YES_NO,
            ),
        ),
    ),
    Role.REVIEWER: Section(
        Role.REVIEWER,
        "三、省级资源审核员",
        (
            COUNTY,
            NAME,
            STAGE_COL,
            SUBJECT,
            Column(
                "school",
                "学校名称",
                aliases=("学校", "单位", "单位名称", "所在学校", "school"),
                max_len=100,
                hint="学校全称，如 杭州市学军小学",
            ),
            Column(
                "account",
                "平台账号",
                Kind.ACCOUNT,
                aliases=("账号", "帐号", "平台帐号", "之江汇账号", "account"),
                max_len=64,
                hint="平台账号（区分大小写，照原样填写）",
            ),
            MOBILE,
            TITLE_POST,
            Column("teacher_type", "教师类型", Kind.ENUM, aliases=("类型", "teacher_type"), enum=TEACHER_TYPE),
        ),
    ),
}

# Placeholders people type in an optional cell that has nothing to say.
EMPTY_MARKS = {"", "无", "-", "—", "--", "/", "／", "空", "暂无", "n/a", "na", "none"}


def is_empty_mark(value: str) -> bool:
    return norm_value(value) in EMPTY_MARKS


_SECTION_TITLES = {
    Role.ADMIN: ("县级(含)以上体系管理员", "县级以上体系管理员", "体系管理员", "县级(含)以上优秀体系管理员"),
    Role.TRAINER: ("省级培训讲师", "培训讲师", "省级培训师", "优秀省级培训师"),
    Role.REVIEWER: ("省级资源审核员", "资源审核员", "优秀省级资源审核员"),
}


def section_for_title(text: str) -> Role | None:
    """The role of a section title cell (一、县级（含）以上体系管理员, 三、省级资源审核员 …)."""
    key = re.sub(r"^(?:[一二三四五六七八九十]+|\d+)[、.)]", "", norm_label(text))
    for role, titles in _SECTION_TITLES.items():
        if key in {norm_label(t) for t in titles}:
            return role
    return None
