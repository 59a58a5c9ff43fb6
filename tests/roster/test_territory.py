"""Territories and the 省-市-县-校 authorisation chain."""

from __future__ import annotations

import pytest

from domain.territory import Grant, Level, Territory, can_grant, can_manage, can_revoke, narrowest, scopes

P = Territory("浙江省")
HZ = Territory("浙江省", "杭州市")
NB = Territory("浙江省", "宁波市")
XH = Territory("浙江省", "杭州市", "西湖区")
XS = Territory("浙江省", "杭州市", "萧山区")
SCHOOL = Territory("浙江省", "杭州市", "西湖区", "学军小学")


def test_levels_paths_labels():
    assert [t.level for t in (P, HZ, XH, SCHOOL)] == [Level.PROVINCE, Level.CITY, Level.COUNTY, Level.SCHOOL]
    assert XH.path == "浙江省/杭州市/西湖区" and Territory.from_path(XH.path) == XH
    assert XH.label == "杭州市西湖区" and HZ.label == "杭州市" and P.label == "浙江省"
    assert XH.parent() == HZ and P.parent() is None and HZ.child("西湖区") == XH
    assert str(SCHOOL) == "浙江省/杭州市/西湖区/学军小学"


def test_bad_territories():
    with pytest.raises(ValueError):
        Territory("浙江省", None, "西湖区")
    with pytest.raises(ValueError):
        Territory("浙江省", "")
    with pytest.raises(ValueError):
        Territory("浙江省", "杭/州")


def test_contains():
    assert P.contains(XH) and HZ.contains(XH) and XH.contains(XH) and HZ.contains(SCHOOL)
    assert not XH.contains(HZ) and not NB.contains(XH) and not XS.contains(XH)
    assert HZ.strictly_contains(XH) and not XH.strictly_contains(XH)
    # A prefix of the name is not containment.
    assert not Territory("浙江省", "杭州").contains(HZ)


def test_grant_only_by_the_level_directly_above_inside_own_territory():
    assert can_grant([P], HZ)
    assert can_grant([HZ], XH)
    assert can_grant([XH], SCHOOL)
    refused = can_grant([P], XH)
    assert not refused and "市级管理员" in refused.reason
    refused = can_grant([NB], XH)
    assert not refused and "不在你的管辖范围" in refused.reason
    assert not can_grant([XS], SCHOOL)
    assert not can_grant([HZ], P)
    assert not can_grant([], HZ)


def test_revoke_by_any_territory_above():
    assert can_revoke([P], XH) and can_revoke([HZ], SCHOOL) and can_revoke([HZ], XH)
    assert not can_revoke([XH], XH) and not can_revoke([NB], XH)


def test_manage_and_scopes():
    held = scopes([Grant("u", HZ), Grant("u", XH)])
    assert held == [HZ]
    assert can_manage(held, XS) and not can_manage(held, NB)
    assert scopes([], superadmin=True, province="浙江省") == [P]
    assert narrowest([P, XH]) == XH and narrowest([]) is None
