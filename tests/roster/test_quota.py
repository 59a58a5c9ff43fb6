"""Quotas, one seat per person per role, unique accounts; completion for /名单."""

from __future__ import annotations

from dataclasses import replace

import pytest

from domain.regions import load_default_regions
from domain.roster import (
    DEFAULT_RULES,
    Quota,
    QuotaError,
    QuotaRules,
    Role,
    RosterBook,
    Status,
    city_completion,
    province_completion,
    territory_status,
    total_seats,
)
from domain.territory import Territory
from tests.roster.factory import city_members, member

TREE = load_default_regions()
HZ = Territory("浙江省", "杭州市")
XH = Territory("浙江省", "杭州市", "西湖区")
XS = Territory("浙江省", "杭州市", "萧山区")


def test_quota_parsing_and_rules_from_config():
    assert Quota.parse(1) == Quota(1, 1) and Quota.parse("3-5") == Quota(3, 5) and Quota.parse("3–5") == Quota(3, 5)
    assert Quota.parse([2, 4]) == Quota(2, 4) and Quota.parse({"min": 0, "max": 2}) == Quota(0, 2)
    assert Quota(3, 5).text == "3–5名" and Quota(1, 1).text == "1名"
    rules = QuotaRules.from_mapping({"county": {"reviewer": "2-3", "培训讲师": 2}})
    assert rules.quota(Role.REVIEWER, XH) == Quota(2, 3) and rules.quota(Role.TRAINER, XH) == Quota(2, 2)
    assert rules.quota(Role.REVIEWER, HZ) == Quota(3, 5)  # city level keeps the default
    for bad in ({"town": {}}, {"city": {"boss": 1}}, {"city": {"admin": "lots"}}, {"city": {"admin": [3, 1]}}):
        with pytest.raises(QuotaError):
            QuotaRules.from_mapping(bad)


def test_admin_exactly_one_and_refusal_names_the_holder():
    first = member(Role.ADMIN, XH, 1)
    book = RosterBook([first])
    refusal = book.check(member(Role.ADMIN, XH, 2))
    assert refusal.kind == "quota_full" and refusal.holder_names == [first.name]
    assert first.name in refusal.message and "名额已满" in refusal.message and "限1名" in refusal.message
    assert book.check(member(Role.ADMIN, XS, 3)) is None  # another county has its own seat
    assert book.check(member(Role.ADMIN, HZ, 4)) is None  # so has 市本级


def test_reviewers_up_to_five():
    book = RosterBook()
    for i in range(5):
        assert book.take(member(Role.REVIEWER, XH, 10 + i)) is None
    refusal = book.take(member(Role.REVIEWER, XH, 20))
    assert refusal.kind == "quota_full" and len(refusal.holders) == 5
    err = refusal.as_error(7)
    assert err.row == 7 and err.field_label == "县(市、区)" and "限3–5名" in err.text


def test_one_seat_per_person_per_role():
    a = member(Role.REVIEWER, XH, 1)
    book = RosterBook([a])
    same_phone = member(Role.REVIEWER, XS, 2, mobile=a.mobile)
    refusal = book.check(same_phone)
    assert refusal.kind == "same_person" and a.name in refusal.message and "杭州市西湖区" in refusal.message
    # The same person may hold a seat in another role.
    assert book.check(member(Role.TRAINER, XH, 3, mobile=a.mobile)) is None


def test_platform_account_unique_and_case_sensitive():
    a = member(Role.REVIEWER, XH, 1, account="AbC")
    book = RosterBook([a])
    refusal = book.check(member(Role.REVIEWER, XS, 2, account="AbC"))
    assert refusal.kind == "account_taken" and refusal.field_label == "平台账号"
    assert book.check(member(Role.REVIEWER, XS, 3, account="abc")) is None


def test_change_replaces_own_seat():
    a = replace(member(Role.ADMIN, XH, 1), id=1)
    book = RosterBook([a])
    changed = a.with_values(name="新名字")
    assert book.check(changed) is not None  # as a new member: the seat is taken
    assert book.check(changed, replacing=a) is None  # as a change of a: fine
    assert book.replace(a, changed) is None and book.holders(Role.ADMIN, XH)[0].name == "新名字"


def test_batch_counts_its_own_rows():
    book = RosterBook(rules=QuotaRules.from_mapping({"county": {"reviewer": "1-2"}}))
    results = [book.take(member(Role.REVIEWER, XH, i)) for i in range(3)]
    assert [r is None for r in results] == [True, True, False]


def test_territory_status_and_missing_text():
    members = [member(Role.ADMIN, XH, 1), member(Role.REVIEWER, XH, 2)]
    st = territory_status(XH, members)
    assert not st.complete and st.label == "西湖区"
    assert st.missing_text == "缺培训讲师1名、资源审核员2名"
    assert st.seat(Role.ADMIN).complete and st.seat(Role.REVIEWER).missing == 2
    pending = replace(member(Role.TRAINER, XH, 3), status=Status.PENDING)
    assert territory_status(XH, [*members, pending]).seat(Role.TRAINER).filled == 0


def test_city_and_province_completion():
    members = city_members(TREE, "杭州市", reviewers=3) + city_members(TREE, "宁波市", reviewers=2, start=1000)
    hz = city_completion(TREE, "杭州市", members)
    assert hz.complete and hz.filled == hz.required and hz.territories[0].label == "市本级"
    assert len(hz.territories) == 14 and hz.required == 14 * 5
    prov = province_completion(TREE, members)
    assert [c.city for c in prov][:2] == ["杭州市", "宁波市"]
    nb = prov[1]
    assert not nb.complete and nb.filled == 11 * 4 and nb.complete_count == 0
    assert all(t.missing_text == "缺资源审核员1名" for t in nb.incomplete)
    assert prov[2].filled == 0 and prov[2].complete_count == 0
    assert total_seats(TREE) == (11 + 90) * 5 and total_seats(TREE, use_max=True) == (11 + 90) * 7
    assert DEFAULT_RULES.quota(Role.REVIEWER, XH) == Quota(3, 5)
