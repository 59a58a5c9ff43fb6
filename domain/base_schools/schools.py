"""The base-school list of a year, as data: parsing rows (from YAML or xlsx) with per-row errors.

A row: 年度, 学校, 设区市, 县(市、区), 学科(专业), 空间编号 (the id of its subject space on the
platform), 项目负责人; optional 教师数 (teacher spaces expected; default: the teacher spaces the
feed reports), 精品空间 (provincial premium spaces won) and 特色空间 (featured spaces won).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from domain.regions import RegionLevel, RegionTree

ALIASES: dict[str, tuple[str, ...]] = {
    "year": ("年度", "年份", "year"),
    "name": ("学校", "学校名称", "基地校", "school", "name"),
    "city": ("设区市", "城市", "市", "city"),
    "county": ("县(市、区)", "县（市、区）", "县区", "县", "county"),
    "subject": ("学科(专业)", "学科（专业）", "学科或专业", "学科", "专业", "subject"),
    "space_id": ("空间编号", "学科空间编号", "空间ID", "空间id", "space_id", "space"),
    "lead": ("项目负责人", "负责人", "lead"),
    "teachers": ("教师数", "教师空间数", "teachers"),
    "premium_spaces": ("精品空间", "省级精品示范空间", "premium_spaces"),
    "featured_spaces": ("特色空间", "省级特色空间", "featured_spaces"),
}
SPACE_ID_RE = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")
MAX_NAME = 100


@dataclass(frozen=True)
class BaseSchool:
    year: int
    name: str
    city: str
    county: str | None
    subject: str
    space_id: str
    lead: str = ""
    teachers: int | None = None
    premium_spaces: int = 0
    featured_spaces: int = 0
    id: int | None = None
    lead_user_id: str | None = None

    @property
    def place(self) -> str:
        return f"{self.city}{self.county or ''}"


class RowError(ValueError):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _text(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    return re.sub(r"\s+", " ", str(v).replace("\u3000", " ")).strip()


def _pick(row: Mapping[str, Any], field: str) -> str:
    for name in ALIASES[field]:
        if name in row and _text(row[name]):
            return _text(row[name])
    return ""


def _count(row: Mapping[str, Any], field: str, label: str) -> int | None:
    raw = _pick(row, field)
    if not raw:
        return None
    if not raw.isdigit() or int(raw) > 100_000:
        raise RowError(f"{label}“{raw}”应为不小于 0 的整数")
    return int(raw)


def parse_school(row: Mapping[str, Any], tree: RegionTree, default_year: int | None) -> BaseSchool:
    """One row → a BaseSchool, or RowError naming the field and the fix."""
    year_text = _pick(row, "year")
    if year_text:
        if not (year_text.isdigit() and 2000 <= int(year_text) <= 2100):
            raise RowError(f"年度“{year_text}”应为四位年份，如 2026")
        year = int(year_text)
    elif default_year is not None:
        year = default_year
    else:
        raise RowError("缺少年度，请填四位年份，如 2026")
    name = _pick(row, "name")
    if not name:
        raise RowError("缺少学校名称")
    if len(name) > MAX_NAME:
        raise RowError(f"学校名称超过 {MAX_NAME} 字")
    city_text = _pick(row, "city")
    if not city_text:
        raise RowError("缺少设区市，如 杭州市")
    city = tree.city(city_text) or tree.match(city_text, levels=(RegionLevel.CITY,)).region
    if city is None:
        raise RowError(f"设区市“{city_text}”不在{tree.province}")
    county_text = _pick(row, "county")
    county = None
    if county_text and county_text != "市本级":
        c = (
            tree.county(city.name, county_text)
            or tree.match(county_text, city=city.name, levels=(RegionLevel.COUNTY,)).region
        )
        if c is None:
            raise RowError(f"县(市、区)“{county_text}”不属于{city.name}")
        county = c.name
    subject = _pick(row, "subject")
    if not subject:
        raise RowError("缺少学科(专业)，如 初中数学")
    space_id = _pick(row, "space_id")
    if not space_id:
        raise RowError("缺少空间编号（平台上学科空间的编号）")
    if not SPACE_ID_RE.match(space_id):
        raise RowError(f"空间编号“{space_id[:40]}”只能含字母、数字和 _ . : -，不超过 64 位")
    return BaseSchool(
        year=year,
        name=name,
        city=city.name,
        county=county,
        subject=subject,
        space_id=space_id,
        lead=_pick(row, "lead")[:60],
        teachers=_count(row, "teachers", "教师数"),
        premium_spaces=_count(row, "premium_spaces", "精品空间") or 0,
        featured_spaces=_count(row, "featured_spaces", "特色空间") or 0,
    )


def parse_schools(
    rows: Iterable[tuple[int, Mapping[str, Any]]], tree: RegionTree, default_year: int | None = None
) -> tuple[list[BaseSchool], list[tuple[int, str]]]:
    """Valid schools and ``(row number, reason)`` for each rejected row; duplicates of a school
    or a space id within one year are rejected with the row they repeat."""
    good: list[BaseSchool] = []
    bad: list[tuple[int, str]] = []
    names: dict[tuple[int, str], int] = {}
    spaces: dict[tuple[int, str], int] = {}
    for n, row in rows:
        try:
            s = parse_school(row, tree, default_year)
        except RowError as exc:
            bad.append((n, exc.reason))
            continue
        if (s.year, s.name) in names:
            bad.append((n, f"学校“{s.name}”与第 {names[(s.year, s.name)]} 行重复"))
            continue
        if (s.year, s.space_id) in spaces:
            bad.append((n, f"空间编号“{s.space_id}”与第 {spaces[(s.year, s.space_id)]} 行重复"))
            continue
        names[(s.year, s.name)] = n
        spaces[(s.year, s.space_id)] = n
        good.append(s)
    return good, bad


def rows_from_yaml(data: Any) -> tuple[list[tuple[int, Mapping[str, Any]]], int | None]:
    """``{year: 2026, schools: [...]}`` or a bare list of rows → (numbered rows, default year)."""
    year = None
    if isinstance(data, dict):
        y = data.get("year", data.get("年度"))
        year = int(y) if isinstance(y, int) and not isinstance(y, bool) else None
        data = data.get("schools", data.get("基地校"))
    if not isinstance(data, list):
        raise RowError("YAML 应为学校列表，或 {year: 2026, schools: [...]}")
    return [(n, r if isinstance(r, dict) else {}) for n, r in enumerate(data, start=1)], year


def match_school(schools: Iterable[BaseSchool], word: str) -> list[BaseSchool]:
    """Exact name, else every school whose name contains the word (spaces ignored)."""
    w = re.sub(r"\s+", "", word)
    pool = list(schools)
    exact = [s for s in pool if s.name == w or s.space_id == w]
    return exact or [s for s in pool if w and w in s.name.replace(" ", "")]
