"""Checking one row: required fields, enumerations, mobile, account, the county in the city."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass

from domain.regions import RegionLevel, RegionTree, clean_name
from domain.roster.fields import (
    CITY_LEVEL,
    SECTIONS,
    Column,
    Kind,
    Role,
    is_empty_mark,
)
from domain.roster.model import FieldError, Member, RowResult, Status
from domain.roster.parsing import RawRow
from domain.territory import Territory

MOBILE_EXPECTED = "11位手机号，以13–19开头"
_MOBILE = re.compile(r"1[3-9]\d{9}")
_CITY_LEVEL_WORDS = {"市本级", "本级", "市级", "市直", "市直属", "市属", "市区本级"}


# --- single values ---------------------------------------------------------------------------


def normalize_mobile(text: str) -> str | None:
    """11 digits (spaces, dashes, +86 tolerated), or None if it is not a mainland mobile."""
    s = unicodedata.normalize("NFKC", str(text or "")).strip()
    if re.fullmatch(r"\d{11}\.0", s):  # a number cell from a spreadsheet
        s = s[:-2]
    s = re.sub(r"[\s\-–—()（）.·]", "", s)
    if s.startswith("+86"):
        s = s[3:]
    elif s.startswith("0086"):
        s = s[4:]
    elif len(s) == 13 and s.startswith("86"):
        s = s[2:]
    return s if _MOBILE.fullmatch(s) else None


def normalize_name(text: str) -> str | None:
    s = unicodedata.normalize("NFKC", str(text or "")).strip()
    if re.fullmatch(r"[\u4e00-\u9fff·•\s]+", s):
        s = re.sub(r"\s+", "", s)
    else:
        s = re.sub(r"\s+", " ", s)
    if not 2 <= len(s) <= 30 or re.search(r"[\d=@/\\<>]", s):
        return None
    return s


def normalize_account(text: str) -> str | None:
    """Kept exactly as typed (case-sensitive); only the surrounding spaces go."""
    s = str(text or "").strip(" \t\u3000\u00a0\r\n")
    if not s or len(s) > 64 or re.search(r"[\s\u3000]", s):
        return None
    return s


def normalize_text(text: str, max_len: int) -> str | None:
    s = re.sub(r"[ \t\u3000\u00a0]+", " ", str(text or "")).strip()
    s = re.sub(r"\s*\n\s*", "", s)
    if not s or len(s) > max_len:
        return None
    return s


@dataclass(frozen=True)
class CountyResult:
    territory: Territory | None
    label: str = ""  # county name or 市本级
    expected: str = ""  # why not, when territory is None
    candidates: tuple[str, ...] = ()


def resolve_county(tree: RegionTree, value: str, city: str | None) -> CountyResult:
    """The seat's territory for a 县(市、区) value; ``city`` is the submitting city (or None).

    ``市本级`` (or the city's own name) means the city level. Without ``city`` the value
    must identify the city too (``杭州市西湖区``, ``西湖区`` if unique in the province).
    """
    v = clean_name(value)
    if city is not None and tree.city(city) is None:
        return CountyResult(None, expected=f"{tree.province}的设区市")
    if city:
        c = tree.city(city)
        assert c is not None
        if v in _CITY_LEVEL_WORDS or v in (c.name, c.stem, c.name + CITY_LEVEL, c.stem + CITY_LEVEL):
            return CountyResult(Territory(tree.province, c.name), CITY_LEVEL)
        m = tree.match(v, city=c.name, levels=(RegionLevel.COUNTY,))
        if m.region is None and not m.ambiguous:
            for head in (c.name, c.stem):
                if v.startswith(head) and len(v) > len(head):
                    rest = v[len(head) :]
                    if rest in _CITY_LEVEL_WORDS:
                        return CountyResult(Territory(tree.province, c.name), CITY_LEVEL)
                    m = tree.match(rest, city=c.name, levels=(RegionLevel.COUNTY,))
                    break
        if m.region is not None:
            return CountyResult(Territory(tree.province, c.name, m.region.name), m.region.name)
        elsewhere = tree.match(v, levels=(RegionLevel.COUNTY,))
        examples = "、".join(r.name for r in tree.counties_of(c.name)[:2])
        if elsewhere.region is not None:
            return CountyResult(
                None, expected=f"{c.name}下属的县(市、区)（“{elsewhere.region.name}”属于{elsewhere.region.city}）"
            )
        if m.ambiguous:
            return CountyResult(
                None,
                expected="以下之一：" + "、".join(r.name for r in m.candidates),
                candidates=tuple(r.name for r in m.candidates),
            )
        return CountyResult(None, expected=f"{c.name}下属的县(市、区)，如 {examples}；市级人员填“{CITY_LEVEL}”")
    # No city given: the value must say where.
    for suffix in (CITY_LEVEL, "本级"):
        if v.endswith(suffix) and len(v) > len(suffix):
            cm = tree.match(v[: -len(suffix)], levels=(RegionLevel.CITY,))
            if cm.region is not None:
                return CountyResult(Territory(tree.province, cm.region.name), CITY_LEVEL)
    if v in _CITY_LEVEL_WORDS:
        return CountyResult(None, expected=f"写明城市，如 杭州市{CITY_LEVEL}")
    m = tree.match(v)
    if m.region is not None:
        r = m.region
        if r.level is RegionLevel.CITY:
            return CountyResult(Territory(tree.province, r.name), CITY_LEVEL)
        return CountyResult(Territory(tree.province, r.city, r.name), r.name)
    if m.ambiguous:
        names = tuple(r.full_name for r in m.candidates)
        return CountyResult(None, expected="写明所在城市，以下之一：" + "、".join(names), candidates=names)
    return CountyResult(None, expected=f"{tree.province}的县(市、区)，如 杭州市西湖区；市级人员填“杭州市{CITY_LEVEL}”")


def check_value(column: Column, value: str) -> tuple[str | None, str]:
    """(canonical value, expected-if-bad) for every kind except COUNTY.

    An empty optional value is canonical "" (placeholders like 无 or - count as empty).
    """
    raw = str(value or "")
    if not raw.strip() or (not column.required and is_empty_mark(raw)):
        return ("", "") if not column.required else (None, column.expected)
    if column.kind is Kind.MOBILE:
        v = normalize_mobile(raw)
        return (v, "") if v else (None, MOBILE_EXPECTED)
    if column.kind is Kind.NAME:
        v = normalize_name(raw)
        return (v, "") if v else (None, "本人姓名（2–30个字，不含数字）")
    if column.kind is Kind.ACCOUNT:
        v = normalize_account(raw)
        return (v, "") if v else (None, "平台账号（区分大小写，不含空格，不超过64个字符）")
    if column.kind is Kind.ENUM:
        assert column.enum is not None
        v = column.enum.canonical(raw)
        return (v, "") if v else (None, column.enum.expected)
    v = normalize_text(raw, column.max_len)
    return (v, "") if v else (None, f"{column.label}（不超过{column.max_len}字）")


# --- a whole row -------------------------------------------------------------------------------


def validate_values(
    role: Role,
    values: Mapping[str, str],
    tree: RegionTree,
    *,
    city: str | None,
    row: int = 0,
    required: set[str] | None = None,
) -> RowResult:
    """Check every column of the role; the member if all is well."""
    section = SECTIONS[role]
    result = RowResult(row=row, role=role, raw=dict(values))
    canonical: dict[str, str] = {}
    territory: Territory | None = None
    for col in section.columns:
        value = values.get(col.key, "")
        needed = col.required if required is None else col.key in required
        if col.kind is Kind.COUNTY:
            if not str(value).strip():
                result.errors.append(FieldError(row, col.label, "", col.expected))
                continue
            cr = resolve_county(tree, value, city)
            if cr.territory is None:
                result.errors.append(FieldError(row, col.label, str(value).strip(), cr.expected))
            else:
                territory, canonical[col.key] = cr.territory, cr.label
            continue
        if not str(value).strip() or (not needed and is_empty_mark(value)):
            if needed:
                result.errors.append(FieldError(row, col.label, "", col.expected))
            else:
                canonical[col.key] = ""
            continue
        v, expected = check_value(col, value)
        if v is None:
            result.errors.append(FieldError(row, col.label, str(value).strip(), expected))
        else:
            canonical[col.key] = v
    if not result.errors and territory is not None:
        result.member = Member(role=role, territory=territory, values=canonical, status=Status.ACTIVE)
    return result


def validate_row(raw: RawRow, tree: RegionTree, *, city: str | None, required: set[str] | None = None) -> RowResult:
    """A parsed row: its structural problems first, then the values."""
    if raw.errors and not raw.values:
        return RowResult(row=raw.row, role=raw.role, raw=dict(raw.values), errors=list(raw.errors))
    result = validate_values(raw.role, raw.values, tree, city=city, row=raw.row, required=required)
    if raw.errors:
        result.errors[:0] = raw.errors
        result.member = None
    return result


def missing_fields(role: Role, values: Mapping[str, str], required: set[str] | None = None) -> list[Column]:
    """Columns still to ask for in the guided dialogue (required ones without a value), in form order."""
    out = []
    for col in SECTIONS[role].columns:
        needed = col.required if required is None else col.key in required
        if needed and not str(values.get(col.key, "")).strip():
            out.append(col)
    return out


def apply_changes(member: Member, changes: Mapping[str, str], tree: RegionTree, *, row: int = 0) -> RowResult:
    """Validate a change of some fields (/变更): the new member, or the errors.

    The county stays within the member's city.
    """
    values = {**member.values, **changes}
    if "county" not in changes:
        values["county"] = member.county_label
    result = validate_values(member.role, values, tree, city=member.city, row=row)
    if result.member is not None:
        result.member = Member(
            role=member.role,
            territory=result.member.territory,
            values=result.member.values,
            id=member.id,
            status=member.status,
            user_id=member.user_id,
        )
    return result
