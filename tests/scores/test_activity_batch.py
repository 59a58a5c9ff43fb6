"""parse_batch (fast path + general path) gives exactly what the general path gives item by item."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domain.scores import default_rules
from domain.scores.activity import ItemError, parse_activity, parse_batch
from tests.scores.util import SH

NOW = datetime(2026, 5, 10, 12, 0, tzinfo=SH)
ACTIONS = default_rules().actions

# values that sit on the edges of every check: types, blanks, unicode, huge and non-finite numbers
_odd = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=10**18, max_value=10**40),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=6),
    st.sampled_from(["", " ", "\u3000", "a b", "\u200b", "名字", "x" * 65, "x" * 129, "\t", "ok"]),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)


def _mostly(good: st.SearchStrategy[Any], *awkward: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """``good`` seven times in ten, else one of the awkward ones (one_of alone would weigh every branch the same)."""
    return st.integers(0, 9).flatmap(lambda i: good if i < 7 else st.one_of(*awkward))


_accounts = _mostly(
    st.sampled_from(["T001", "Zhang01", "李明"]),
    st.text(min_size=1, max_size=5),
    st.sampled_from(
        [" T001", "T001 ", "a b", "a\u3000b", "x" * 64, "x" * 65, "", "t\x00", "e\u0301", "a\tb", "a\u00a0b"]
    ),
    _odd,
)
_valid_actions = st.sampled_from(sorted(ACTIONS))
_actions = _mostly(_valid_actions, st.sampled_from([" login", "LOGIN", "dance", ""]), _odd)
# hypothesis takes naive bounds and adds the zones itself
_instants = st.datetimes(
    min_value=datetime(1998, 1, 1),
    max_value=datetime(2026, 5, 11, 23),
    timezones=st.sampled_from([SH, UTC, timezone(timedelta(hours=-3, minutes=-30)), None]),
)


@st.composite
def _times(draw: st.DrawFn) -> Any:
    at = draw(_instants)
    form = draw(st.sampled_from(["iso"] * 8 + ["space", "z", "epoch", "float", "bad", "odd", "micro", "date"]))
    if form == "iso":
        return at.replace(microsecond=0).isoformat()
    if form == "micro":
        return at.isoformat()
    if form == "space":
        return at.strftime("%Y-%m-%d %H:%M")
    if form == "z" and at.tzinfo is not None:
        return at.astimezone(UTC).replace(tzinfo=None).isoformat() + draw(st.sampled_from(["Z", "z", " "]))
    if form in ("epoch", "float"):
        ts = at.replace(tzinfo=at.tzinfo or SH).timestamp()
        return int(ts) if form == "epoch" else ts
    if form == "date":
        return at.date().isoformat()
    if form == "bad":
        return draw(st.sampled_from(["yesterday", "2026-13-01T00:00:00", "2026-05-10T25:00", "", "2026-02-30"]))
    return draw(_odd)


_field_names = st.one_of(
    st.sampled_from(["minutes", "participants", "students", "_x", "a b", "1x", "名", "x" * 49]), st.text(max_size=4)
)
_detail_values = st.one_of(
    st.integers(),
    st.booleans(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(["12", "1.5", "true", "FALSE", " 7 ", "好", "x" * 201]),
    st.none(),
    st.lists(st.integers(), max_size=1),
)
_plain_details = st.dictionaries(st.sampled_from(["minutes", "participants"]), st.integers(0, 40), max_size=2)
_details = _mostly(
    st.none() | _plain_details,
    st.dictionaries(_field_names, _detail_values, max_size=4),
    st.just({f"f{i}": i for i in range(21)}),
    st.just({}),
    st.sampled_from(['{"minutes": 20}', "minutes=20;note=好", "minutes", "[1]", "  ", "{}"]),
    _odd,
)
_good_ids = st.one_of(st.none(), st.integers(0, 10**6), st.from_regex(r"\AE[0-9]{1,6}\Z"))
_event_ids = _mostly(
    _good_ids, st.integers(), st.booleans(), st.sampled_from(["e-1", " e-1", "", "  ", "x" * 129]), st.text(max_size=5)
)
_names = {
    "account": ["account", "账号", "teacher"],
    "action": ["action", "动作", "code"],
    "time": ["time", "时间", "at"],
    "event_id": ["event_id", "事件编号", "id"],
    "detail": ["detail", "明细"],
}


@st.composite
def _items(draw: st.DrawFn) -> Any:
    if draw(st.integers(0, 30)) == 0:
        return draw(_odd)  # not an object at all
    values = {"account": _accounts, "action": _actions, "time": _times(), "event_id": _event_ids, "detail": _details}
    item: dict[Any, Any] = {}
    for field, strategy in values.items():
        presence = draw(st.integers(0, 19))
        if presence == 0:
            continue  # missing
        name = field if presence > 2 else draw(st.sampled_from(_names[field]))
        item[name] = draw(strategy)
    for _ in range(draw(st.integers(0, 2)) if draw(st.integers(0, 3)) == 0 else 0):
        item[draw(st.sampled_from(["minutes", "extra", "备注", 7, "participants"]))] = draw(_detail_values)
    return item


def _one(item: Any) -> tuple[str, ...] | str:
    try:
        a = parse_activity(item, actions=ACTIONS, tz=SH, now=NOW)
    except ItemError as exc:
        return exc.reason
    return (a.account, a.epoch, a.key, a.action, a.detail)  # type: ignore[return-value]


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(_items(), max_size=12).flatmap(
        lambda xs: st.lists(st.sampled_from(xs), max_size=4).map(lambda dup: xs + dup) if xs else st.just(xs)
    )
)
def test_batch_equals_item_by_item(items: list[Any]) -> None:
    good, bad = parse_batch(items, actions=ACTIONS, tz=SH, now=NOW)
    got: dict[int, Any] = {i: (acc, epoch, key, action, detail) for i, acc, epoch, key, action, detail in good}
    got.update(dict(bad))
    assert len(got) == len(items)
    want = {i: _one(item) for i, item in enumerate(items)}
    assert got == want


def test_the_fast_shape_is_taken_and_agrees(monkeypatch: pytest.MonkeyPatch) -> None:
    """The plain API shape goes through the fast path and still equals the general path's answer."""
    from domain.scores import activity

    general: list[Any] = []

    def counting(item: Any, **kw: Any) -> Any:
        general.append(item)
        return parse_activity(item, **kw)

    monkeypatch.setattr(activity, "parse_activity", counting)
    items = [
        {
            "account": "T001",
            "action": "class_teaching",
            "time": "2026-05-10T08:30:00+08:00",
            "event_id": "E1",
            "detail": {"minutes": 20},
        },
        {"account": "T001", "action": "login", "time": "2026-05-10T08:30:00.5", "event_id": 12},
        {"account": "T001", "action": "login", "time": "2026-05-10T13:00:00.000001+08:00"},
    ]
    good, bad = parse_batch(items, actions=ACTIONS, tz=SH, now=NOW)
    assert [g[3] for g in good] == ["id:E1", "id:12"] and bad == [(2, "时间晚于当前时间，请核对")]
    assert general == items[2:]  # only the rejected one took the general path
    assert [g[1:] for g in good] == [_one(it) for it in items[:2]]
