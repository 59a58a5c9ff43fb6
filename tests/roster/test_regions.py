"""Regions as data: loading (YAML, CSV, bad files) and tolerant matching."""

from __future__ import annotations

import pytest

from domain.regions import (
    RegionFileError,
    RegionLevel,
    load_default_regions,
    load_regions,
    name_stem,
    regions_from_csv,
    regions_from_yaml,
)
from domain.territory import Territory, resolve_territory

ZJ = load_default_regions()

JIANGSU_LIKE = """
province: 江苏省
cities:
  - name: 南京市
    counties: [玄武区, 鼓楼区, 江宁区]
  - name: 徐州市
    counties: [鼓楼区, 云龙区, 沛县]
"""


def test_default_tree_is_zhejiang_11_cities_90_counties():
    assert ZJ.province == "浙江省"
    assert [c.name for c in ZJ.cities] == [
        "杭州市",
        "宁波市",
        "温州市",
        "嘉兴市",
        "湖州市",
        "绍兴市",
        "金华市",
        "衢州市",
        "舟山市",
        "台州市",
        "丽水市",
    ]
    assert len(ZJ.all_counties()) == 90
    assert [c.name for c in ZJ.counties_of("舟山市")] == ["定海区", "普陀区", "岱山县", "嵊泗县"]
    assert ZJ.county("丽水市", "景宁畲族自治县").city == "丽水市"


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("西湖区", "杭州市西湖区"),
        ("西湖", "杭州市西湖区"),
        ("杭州", "杭州市"),
        ("杭州市", "杭州市"),
        ("景宁", "丽水市景宁畲族自治县"),
        ("景宁畲族", "丽水市景宁畲族自治县"),
        ("景宁县", "丽水市景宁畲族自治县"),
        ("　西 湖　", "杭州市西湖区"),
        ("余杭县", "杭州市余杭区"),
        ("杭州市西湖区", "杭州市西湖区"),
        ("杭州西湖", "杭州市西湖区"),
        ("普陀", "舟山市普陀区"),
        ("嵊州", "绍兴市嵊州市"),
        ("嵊泗", "舟山市嵊泗县"),
        ("龙港", "温州市龙港市"),
    ],
)
def test_tolerant_match(query, expected):
    m = ZJ.match(query)
    assert m.found and m.region.full_name == expected


@pytest.mark.parametrize("query", ["", "宁", "鼓楼", "北京", "市本级", "西湖区区区"])
def test_no_match(query):
    m = ZJ.match(query)
    assert not m.found and not m.ambiguous


def test_ambiguous_returns_candidates_and_city_restricts():
    tree = regions_from_yaml(JIANGSU_LIKE)
    m = tree.match("鼓楼区")
    assert m.ambiguous and [r.full_name for r in m.candidates] == ["南京市鼓楼区", "徐州市鼓楼区"]
    m = tree.match("鼓楼")
    assert m.ambiguous
    m = tree.match("鼓楼", city="徐州市")
    assert m.found and m.region.city == "徐州市"
    assert tree.match("徐州鼓楼").region.full_name == "徐州市鼓楼区"
    assert tree.match("沛").region.name == "沛县"
    assert not tree.match("玄武", city="徐州市").found


def test_levels_filter():
    assert ZJ.match("杭州", levels=(RegionLevel.COUNTY,)).region is None
    assert ZJ.match("西湖", levels=(RegionLevel.CITY,)).region is None
    assert ZJ.match("西湖", city="宁波市").region is None


def test_stems():
    assert name_stem("景宁畲族自治县") == "景宁"
    assert name_stem("双江拉祜族佤族布朗族傣族自治县") == "双江"
    assert name_stem("西湖区") == "西湖"
    assert name_stem("沛县") == "沛"


def test_resolve_territory():
    assert resolve_territory(ZJ, "全省").territory == Territory("浙江省")
    assert resolve_territory(ZJ, "浙江").territory == Territory("浙江省")
    assert resolve_territory(ZJ, "杭州").territory == Territory("浙江省", "杭州市")
    assert resolve_territory(ZJ, "西湖").territory == Territory("浙江省", "杭州市", "西湖区")
    t = resolve_territory(ZJ, "西湖", school="学军小学").territory
    assert t == Territory("浙江省", "杭州市", "西湖区", "学军小学")
    tree = regions_from_yaml(JIANGSU_LIKE)
    amb = resolve_territory(tree, "鼓楼")
    assert amb.ambiguous and len(amb.candidates) == 2
    assert resolve_territory(tree, "鼓楼", within=Territory("江苏省", "南京市")).territory.city == "南京市"


def test_mapping_shape_and_csv(tmp_path):
    tree = regions_from_yaml("province: 安徽省\ncities:\n  合肥市: [瑶海区, 庐阳区]\n  芜湖市: [镜湖区]\n")
    assert [c.name for c in tree.cities] == ["合肥市", "芜湖市"]
    csv_text = "province,city,county\n河南省,郑州市,中原区\n河南省,郑州市,二七区\n河南省,洛阳市,老城区\n"
    p = tmp_path / "henan.csv"
    p.write_text(csv_text, encoding="utf-8")
    tree = load_regions(p)
    assert tree.province == "河南省" and [k.name for k in tree.counties_of("郑州市")] == ["中原区", "二七区"]
    y = tmp_path / "zj.yaml"
    y.write_text(JIANGSU_LIKE, encoding="utf-8")
    assert load_regions(y).province == "江苏省"


@pytest.mark.parametrize(
    ("text", "line", "reason"),
    [
        ("province: 浙江省\ncities:\n  - name: 杭州市\n    counties: [西湖区, 西湖区]\n", 4, "appears twice"),
        (
            "province: 浙江省\ncities:\n  - name: 杭州市\n    counties: [西湖区]\n  - name: 杭州市\n    counties: [上城区]\n",
            5,
            "appears twice",
        ),
        ("province: 浙江省\ncities:\n  - name: 杭州市\n", 3, "has no counties"),
        ("province: 浙江省\ncities:\n  - nam: 杭州市\n    counties: [西湖区]\n", 3, "unknown key"),
        ("province: 浙江省\ncities:\n  - name: 杭州市\n    counties: [西湖区\n", 5, "not valid YAML"),
        ("cities: []\n", 1, "missing key 'province'"),
        ("province: 浙江省\nregions: []\n", 2, "unknown key"),
        ("province: 浙江省\ncities:\n  - name: 杭州市\n    counties: [[a]]\n", 4, "non-empty name"),
    ],
)
def test_bad_yaml_names_line_and_reason(text, line, reason):
    with pytest.raises(RegionFileError) as exc:
        regions_from_yaml(text, source="x.yaml")
    assert exc.value.line == line, str(exc.value)
    assert reason in exc.value.reason
    assert f"x.yaml, line {line}" in str(exc.value)


@pytest.mark.parametrize(
    ("text", "line", "reason"),
    [
        ("河南省,郑州市,中原区\n湖北省,武汉市,江岸区\n", 2, "second province"),
        ("河南省,郑州市,中原区\n河南省,郑州市,中原区\n", 2, "appears twice"),
        ("河南省,郑州市,中原区\n河南省,郑州市,中原区,多余,列\n", 2, "expected 3 columns"),
        ("河南省,郑州市,中原区\n河南省,洛阳市,\n", 2, "has no counties"),
        ("河南省,,中原区\n", 1, "city must be a non-empty name"),
    ],
)
def test_bad_csv_names_line_and_reason(text, line, reason):
    with pytest.raises(RegionFileError) as exc:
        regions_from_csv(text, source="x.csv")
    assert exc.value.line == line and reason in exc.value.reason, str(exc.value)


def test_unreadable_file(tmp_path):
    with pytest.raises(RegionFileError, match="cannot read"):
        load_regions(tmp_path / "missing.yaml")
    p = tmp_path / "gbk.csv"
    p.write_bytes("河南省,郑州市,中原区".encode("gbk"))
    with pytest.raises(RegionFileError, match="UTF-8"):
        load_regions(p)
