"""Regions as data: a province → city → county tree, and tolerant name matching.

The default tree is Zhejiang (11 cities, 90 county-level units, domain.md §6),
kept in ``domain/data/zhejiang_regions.yaml``. An operator can load another
province from a YAML file of the same shape or from a CSV file
(``province,city,county``; a row with an empty county declares the city alone).
A bad file raises :class:`RegionFileError` naming the line and the reason.

Matching (:meth:`RegionTree.match`) tries, in order, and stops at the first
step that finds anything:

1. the exact name (``西湖区``);
2. the same stem, i.e. the name without its administrative suffix
   (``西湖`` → 西湖区, ``杭州`` → 杭州市, ``余杭县`` → 余杭区,
   ``景宁`` → 景宁畲族自治县);
3. a unique prefix of at least two characters (``景宁畲族`` → 景宁畲族自治县);
4. a city name followed by a county name (``杭州市西湖区``, ``杭州西湖``).

One hit is a match; several hits are returned as candidates so the bot can ask
which one was meant (``鼓楼区`` exists in several cities of some provinces).
"""

from __future__ import annotations

import csv
import enum
import io
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from domain.yamltext import SafeLoader

DEFAULT_REGIONS = Path(__file__).with_name("data") / "zhejiang_regions.yaml"


class RegionFileError(ValueError):
    """A region file could not be used; ``line`` is 1-based (0: whole file)."""

    def __init__(self, source: str, line: int, reason: str):
        self.source = source
        self.line = line
        self.reason = reason
        where = f"{source}, line {line}" if line else source
        super().__init__(f"{where}: {reason}")


class RegionLevel(str, enum.Enum):
    PROVINCE = "province"
    CITY = "city"
    COUNTY = "county"

    @property
    def label(self) -> str:
        return {"province": "省", "city": "设区市", "county": "县(市、区)"}[self.value]


@dataclass(frozen=True)
class Region:
    name: str  # official name: 西湖区
    level: RegionLevel
    province: str
    city: str | None = None  # the city a county belongs to (the city's own name for a city)

    @property
    def full_name(self) -> str:
        """杭州市西湖区 for a county, 杭州市 for a city, 浙江省 for the province."""
        if self.level is RegionLevel.COUNTY:
            return f"{self.city}{self.name}"
        return self.name

    @property
    def stem(self) -> str:
        return name_stem(self.name)


@dataclass(frozen=True)
class Match:
    """Result of a name lookup: ``region`` when unambiguous, else ``candidates`` (maybe empty)."""

    query: str
    region: Region | None = None
    candidates: tuple[Region, ...] = ()

    @property
    def found(self) -> bool:
        return self.region is not None

    @property
    def ambiguous(self) -> bool:
        return self.region is None and len(self.candidates) > 1


# --- name normalisation ------------------------------------------------------------

_SPACES = re.compile(r"[\s\u3000\u00a0\u200b]+")
_AUTONOMOUS = re.compile(r"^(.{2,}?)(?:[\u4e00-\u9fff]{1,4}?族)+自治(?:县|州|旗|区)$")
_SUFFIXES = (
    "特别行政区",
    "自治区",
    "自治州",
    "自治县",
    "自治旗",
    "地区",
    "新区",
    "林区",
    "省",
    "市",
    "区",
    "县",
    "旗",
    "盟",
)


def clean_name(text: str) -> str:
    """NFKC, all spaces (full-width too) removed."""
    return _SPACES.sub("", unicodedata.normalize("NFKC", text or ""))


def name_stem(name: str) -> str:
    """The name without its administrative suffix: 西湖区 → 西湖, 景宁畲族自治县 → 景宁."""
    n = clean_name(name)
    m = _AUTONOMOUS.match(n)
    if m:
        return m.group(1)
    for suffix in _SUFFIXES:
        if n.endswith(suffix) and len(n) > len(suffix):
            return n[: -len(suffix)]
    return n


# --- the tree ------------------------------------------------------------------------


@dataclass
class RegionTree:
    province: str
    cities: tuple[Region, ...]
    _counties: dict[str, tuple[Region, ...]] = field(default_factory=dict, repr=False)

    @classmethod
    def build(cls, province: str, cities: Iterable[tuple[str, Iterable[str]]]) -> RegionTree:
        city_regions: list[Region] = []
        counties: dict[str, tuple[Region, ...]] = {}
        for city, names in cities:
            city_regions.append(Region(city, RegionLevel.CITY, province, city))
            counties[city] = tuple(Region(n, RegionLevel.COUNTY, province, city) for n in names)
        return cls(province=province, cities=tuple(city_regions), _counties=counties)

    # -- lookups by exact name ----------------------------------------------------
    @property
    def province_region(self) -> Region:
        return Region(self.province, RegionLevel.PROVINCE, self.province)

    def city(self, name: str) -> Region | None:
        n = clean_name(name)
        return next((c for c in self.cities if c.name == n), None)

    def counties_of(self, city: str) -> tuple[Region, ...]:
        return self._counties.get(clean_name(city), ())

    def county(self, city: str, name: str) -> Region | None:
        n = clean_name(name)
        return next((c for c in self.counties_of(city) if c.name == n), None)

    def all_counties(self) -> list[Region]:
        return [c for city in self.cities for c in self._counties[city.name]]

    def __len__(self) -> int:
        return len(self.cities) + sum(len(v) for v in self._counties.values())

    # -- tolerant matching ------------------------------------------------------------
    def match(
        self,
        text: str,
        *,
        city: str | None = None,
        levels: Iterable[RegionLevel] = (RegionLevel.CITY, RegionLevel.COUNTY),
    ) -> Match:
        """Find a city or county by a tolerant name; ``city`` restricts counties to that city.

        With ``city`` given, only that city (if CITY is in ``levels``) and its counties
        are candidates.
        """
        query = clean_name(text)
        levels = set(levels)
        if not query:
            return Match(text)
        pool: list[Region] = []
        scope = self.city(city) if city else None
        if city and scope is None:
            return Match(text)
        for c in [scope] if scope else self.cities:
            if RegionLevel.CITY in levels:
                pool.append(c)
            if RegionLevel.COUNTY in levels:
                pool.extend(self._counties[c.name])
        if RegionLevel.PROVINCE in levels and scope is None:
            pool.insert(0, self.province_region)
        hits = _match_in(query, pool)
        if not hits and RegionLevel.COUNTY in levels:
            hits = self._city_then_county(query, [scope] if scope else list(self.cities))
        if len(hits) == 1:
            return Match(text, hits[0], tuple(hits))
        return Match(text, None, tuple(hits))

    def _city_then_county(self, query: str, cities: list[Region]) -> list[Region]:
        """杭州市西湖区 / 杭州西湖: a city's name or stem followed by a county of it."""
        out: list[Region] = []
        for c in cities:
            for head in (c.name, c.stem):
                if query.startswith(head) and len(query) > len(head):
                    rest = query[len(head) :]
                    for r in _match_in(rest, list(self._counties[c.name])):
                        if r not in out:
                            out.append(r)
                    break
        return out


def _match_in(query: str, pool: list[Region]) -> list[Region]:
    exact = [r for r in pool if r.name == query]
    if exact:
        return exact
    qstem = name_stem(query)
    stem = [r for r in pool if r.stem == qstem or r.stem == query]
    if stem:
        return stem
    if len(query) >= 2:
        return [r for r in pool if r.name.startswith(query) or (len(qstem) >= 2 and r.name.startswith(qstem))]
    return []


# --- loading ------------------------------------------------------------------------------


def load_regions(path: str | Path) -> RegionTree:
    """Load a region file; ``.csv`` is read as CSV, anything else as YAML."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise RegionFileError(str(p), 0, f"cannot read the file ({exc.strerror or exc})") from None
    except UnicodeDecodeError:
        raise RegionFileError(str(p), 0, "not UTF-8 text (save the file as UTF-8)") from None
    if p.suffix.lower() == ".csv":
        return regions_from_csv(text, source=str(p))
    return regions_from_yaml(text, source=str(p))


_default: RegionTree | None = None


def load_default_regions() -> RegionTree:
    """Zhejiang (cached: the tree is immutable)."""
    global _default
    if _default is None:
        _default = load_regions(DEFAULT_REGIONS)
    return _default


def _check_name(source: str, line: int, value: object, what: str) -> str:
    if not isinstance(value, str) or not clean_name(value):
        raise RegionFileError(source, line, f"{what} must be a non-empty name, got {value!r}")
    name = clean_name(value)
    if len(name) > 40:
        raise RegionFileError(source, line, f"{what} {name!r} is too long (40 characters at most)")
    return name


class _Builder:
    def __init__(self, source: str):
        self.source = source
        self.province: str | None = None
        self.cities: dict[str, list[str]] = {}
        self.city_lines: dict[str, int] = {}
        self.county_lines: dict[tuple[str, str], int] = {}

    def add_city(self, name: str, line: int) -> None:
        if name in self.cities:
            raise RegionFileError(
                self.source, line, f"city {name!r} appears twice (first on line {self.city_lines[name]})"
            )
        self.cities[name] = []
        self.city_lines[name] = line

    def add_county(self, city: str, name: str, line: int) -> None:
        if (city, name) in self.county_lines:
            raise RegionFileError(
                self.source,
                line,
                f"county {name!r} appears twice in {city} (first on line {self.county_lines[(city, name)]})",
            )
        if name == city:
            raise RegionFileError(self.source, line, f"county {name!r} has the name of its city")
        self.county_lines[(city, name)] = line
        self.cities[city].append(name)

    def build(self) -> RegionTree:
        if not self.province:
            raise RegionFileError(self.source, 0, "no province given")
        if not self.cities:
            raise RegionFileError(self.source, 0, "no cities given")
        return RegionTree.build(self.province, self.cities.items())


def regions_from_yaml(text: str, source: str = "<yaml>") -> RegionTree:
    """``province: 浙江省`` and ``cities:`` as a list of ``{name, counties}`` or a mapping city → counties."""
    try:
        root = yaml.compose(text, Loader=SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark else 0
        reason = getattr(exc, "problem", None) or str(exc)
        raise RegionFileError(source, line, f"not valid YAML: {reason}") from None
    b = _Builder(source)
    if not isinstance(root, yaml.MappingNode):
        raise RegionFileError(
            source, root.start_mark.line + 1 if root else 0, "expected a mapping with the keys 'province' and 'cities'"
        )
    top = {k.value: v for k, v in root.value if isinstance(k, yaml.ScalarNode)}
    unknown = [k for k in top if k not in ("province", "cities")]
    if unknown:
        node = next(k for k, _ in root.value if k.value == unknown[0])
        raise RegionFileError(source, node.start_mark.line + 1, f"unknown key {unknown[0]!r} (use province, cities)")
    if "province" not in top:
        raise RegionFileError(source, 1, "missing key 'province'")
    pnode = top["province"]
    b.province = _check_name(source, pnode.start_mark.line + 1, _scalar(pnode), "province")
    if "cities" not in top:
        raise RegionFileError(source, pnode.start_mark.line + 1, "missing key 'cities'")
    cnode = top["cities"]
    if isinstance(cnode, yaml.SequenceNode):
        for item in cnode.value:
            line = item.start_mark.line + 1
            if not isinstance(item, yaml.MappingNode):
                raise RegionFileError(source, line, "each city must be a mapping with 'name' and 'counties'")
            fields = {k.value: v for k, v in item.value}
            extra = [k for k in fields if k not in ("name", "counties")]
            if extra:
                raise RegionFileError(source, line, f"unknown key {extra[0]!r} in a city (use name, counties)")
            if "name" not in fields:
                raise RegionFileError(source, line, "a city without 'name'")
            name = _check_name(source, fields["name"].start_mark.line + 1, _scalar(fields["name"]), "city")
            b.add_city(name, line)
            _add_counties(b, name, fields.get("counties"), line)
    elif isinstance(cnode, yaml.MappingNode):
        for k, v in cnode.value:
            line = k.start_mark.line + 1
            name = _check_name(source, line, _scalar(k), "city")
            b.add_city(name, line)
            _add_counties(b, name, v, line)
    else:
        raise RegionFileError(source, cnode.start_mark.line + 1, "'cities' must be a list or a mapping")
    return b.build()


def _scalar(node: yaml.Node) -> object:
    if isinstance(node, yaml.ScalarNode):
        return node.value
    return None


def _add_counties(b: _Builder, city: str, node: yaml.Node | None, line: int) -> None:
    if node is None or (isinstance(node, yaml.ScalarNode) and node.value in ("", "~", "null")):
        raise RegionFileError(b.source, line, f"city {city!r} has no counties")
    if not isinstance(node, yaml.SequenceNode):
        raise RegionFileError(b.source, node.start_mark.line + 1, f"counties of {city!r} must be a list")
    if not node.value:
        raise RegionFileError(b.source, node.start_mark.line + 1, f"city {city!r} has no counties")
    for item in node.value:
        cl = item.start_mark.line + 1
        b.add_county(city, _check_name(b.source, cl, _scalar(item), "county"), cl)


def regions_from_csv(text: str, source: str = "<csv>") -> RegionTree:
    """Columns province,city,county (header optional; ``省,市,县`` works too)."""
    b = _Builder(source)
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff")))
    for lineno, row in enumerate(reader, start=1):
        cells = [clean_name(c) for c in row]
        if not any(cells) or cells[0].startswith("#"):
            continue
        if lineno == 1 and cells[0].lower() in ("province", "省", "省份"):
            continue
        if len(cells) < 2 or len([c for c in cells[3:] if c]):
            raise RegionFileError(source, lineno, f"expected 3 columns province,city,county, got {len(row)}")
        cells += [""] * (3 - len(cells))
        province, city, county = cells[:3]
        province = _check_name(source, lineno, province, "province")
        if b.province is None:
            b.province = province
        elif province != b.province:
            raise RegionFileError(
                source,
                lineno,
                f"a second province {province!r} (the file is for {b.province!r}; one province per file)",
            )
        city = _check_name(source, lineno, city, "city")
        if city not in b.cities:
            b.add_city(city, lineno)
        if county:
            b.add_county(city, county, lineno)
    tree = b.build()
    empty = [c for c, v in b.cities.items() if not v]
    if empty:
        raise RegionFileError(source, b.city_lines[empty[0]], f"city {empty[0]!r} has no counties")
    return tree
