"""Reviewer statistics, 好评率 and the ranking by use, at their boundaries."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from domain.review.stats import (
    FeedbackRow,
    Period,
    ResourceRow,
    TaskRow,
    rank_by_use,
    reviewer_stats,
)

SH = ZoneInfo("Asia/Shanghai")
MAY = Period.month(date(2026, 5, 15))
AS_OF = datetime(2026, 6, 10, 9, 0, tzinfo=SH)


def at(day: int, hour: int = 10, minute: int = 0, second: int = 0, month: int = 5) -> datetime:
    return datetime(2026, month, day, hour, minute, second, tzinfo=SH)


def task(
    res: str,
    assigned: datetime,
    due: datetime | None,
    done: datetime | None = None,
    verdict: str | None = None,
    state: str | None = None,
    who: str = "v1",
) -> TaskRow:
    return TaskRow(who, res, assigned, due, done, verdict, state)


def test_periods() -> None:
    assert MAY == Period(date(2026, 5, 1), date(2026, 5, 31))
    assert Period.month(date(2028, 2, 3)).end == date(2028, 2, 29)
    assert Period.year(date(2026, 7, 1)) == Period(date(2026, 1, 1), date(2026, 12, 31))
    # local days: 31 May 23:59:59 Shanghai is in May, 00:00 on 1 June is not (16:00 UTC)
    assert MAY.contains(at(31, 23, 59, 59))
    assert not MAY.contains(datetime(2026, 5, 31, 16, 0, tzinfo=ZoneInfo("UTC")))
    assert MAY.contains(datetime(2026, 5, 31, 15, 59, 59, tzinfo=ZoneInfo("UTC")))
    assert MAY.contains(at(1, 0, 0))
    assert not MAY.contains(None)
    with pytest.raises(ValueError, match="aware"):
        MAY.contains(datetime(2026, 5, 3))
    with pytest.raises(ValueError, match="before"):
        Period(date(2026, 5, 2), date(2026, 5, 1))


def test_assigned_done_verdicts_and_on_time_at_the_edges() -> None:
    due = at(20, 18)
    tasks = [
        task("a", at(1, 0, 0), due, due, "pass"),  # done exactly at due: on time
        task("b", at(31, 23, 59), due + timedelta(days=15), at(31, 23, 59, 59), "通过"),  # Chinese verdict
        task("c", at(10), due, due + timedelta(seconds=1), "reject"),  # one second late
        task("d", at(10), due, None, None, "overdue"),  # timed out: late
        task("e", at(10), due, None, None, "open"),  # open past due: late
        task("f", at(10), at(15, month=6), None, None, "open"),  # not yet due at as_of: not judged
        task("g", at(10), due, None, None, "declined"),  # 不能审: not judged
        task("h", at(30, month=4), at(2), at(3), "pass"),  # assigned in April, judged in May (late)
        task("i", at(25), at(31, 23, 59, 59), at(2, month=6), "pass"),  # due in May, done in June: late in May
        task("j", at(1, 0, 0, month=6), at(5, month=6), at(2, month=6), "pass"),  # all in June
    ]
    s = reviewer_stats(tasks, [], MAY, AS_OF)["v1"]
    assert s.assigned == 8  # a..g and i; not h (April), not j (June)
    assert s.declined == 1
    assert (s.done, s.passed, s.rejected) == (4, 3, 1)  # a, b, c, h (i and j were done in June)
    assert (s.on_time, s.late) == (2, 5)  # on time: a, b; late: c, d, e, h, i
    assert s.on_time_rate == pytest.approx(2 / 7)
    june = reviewer_stats(tasks, [], Period.month(date(2026, 6, 1)), AS_OF)["v1"]
    assert (june.assigned, june.done, june.on_time, june.late) == (1, 2, 1, 0)


def test_as_of_cuts_off_the_future() -> None:
    tasks = [task("a", at(1), at(5), at(4), "pass"), task("b", at(1), at(9), None, None, "open")]
    s = reviewer_stats(tasks, [], MAY, at(4, 9))["v1"]
    assert (s.done, s.on_time, s.late) == (0, 0, 0)
    s = reviewer_stats(tasks, [], MAY, at(9, 10))["v1"]
    assert (s.done, s.on_time, s.late) == (1, 1, 1)
    assert s.on_time_rate == pytest.approx(0.5)


def test_good_rate_counts_ratings_of_passed_resources_only() -> None:
    tasks = [
        task("p1", at(2), at(9), at(3), "pass"),
        task("p2", at(2), at(9), at(4), "pass"),
        task("r1", at(2), at(9), at(4), "reject"),
        task("old", at(2, month=4), at(9, month=4), at(3, month=4), "pass"),  # passed in April
        task("p1", at(2), at(9), at(3), "pass", who="v2"),
    ]
    feedback = [
        FeedbackRow("p1", at(20), rating=4),  # positive (4 of 5)
        FeedbackRow("p1", at(20), rating=3),  # not positive
        FeedbackRow("p2", at(21), like=True),
        FeedbackRow("p2", at(21), like=False),
        FeedbackRow("p2", at(21), rating=5, like=False),  # the rating wins
        FeedbackRow("p2", at(21), clicks=50, downloads=3),  # use only, no vote
        FeedbackRow("p2", AS_OF + timedelta(seconds=1), rating=5),  # after as_of
        FeedbackRow("r1", at(21), rating=5),  # rejected resource
        FeedbackRow("old", at(21), rating=5),  # passed outside the period
    ]
    s = reviewer_stats(tasks, feedback, MAY, AS_OF)
    assert (s["v1"].rated, s["v1"].positive) == (5, 3)
    assert s["v1"].good_rate == pytest.approx(0.6)
    assert (s["v2"].rated, s["v2"].positive) == (2, 1)
    empty = reviewer_stats([task("x", at(2), at(9), at(3), "pass")], [], MAY, AS_OF)["v1"]
    assert empty.good_rate is None
    assert empty.on_time_rate == 1.0


def test_review_stats_for_the_evaluation_keep_the_same_rates() -> None:
    tasks = [
        task("a", at(1), at(5), at(4), "pass"),
        task("b", at(1), at(5), None, None, "overdue"),
        task("c", at(1), at(5), at(6), "reject"),
    ]
    feedback = [FeedbackRow("a", at(20), rating=5), FeedbackRow("a", at(20), like=False)]
    s = reviewer_stats(tasks, feedback, MAY, AS_OF)["v1"]
    rs = s.to_review_stats()
    assert rs.on_time_rate == s.on_time_rate == pytest.approx(1 / 3)
    assert rs.good_rate == s.good_rate == pytest.approx(0.5)
    assert (rs.assigned, rs.reviewed, rs.completed) == (3, 2, 3)


def test_naive_as_of_is_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        reviewer_stats([], [], MAY, datetime(2026, 6, 1))


# ── ranking by use ──
RES = [
    ResourceRow("a", "古诗两首", "小学", "语文", "杭州市"),
    ResourceRow("b", "分数的意义", "小学", "数学", "杭州市"),
    ResourceRow("c", "荷塘月色", "高中", "语文", "宁波市"),
    ResourceRow("d", "静夜思", "小学", "小学语文", "杭州市"),
    ResourceRow("e", "没人用", "小学", "语文", "杭州市"),
]


def test_rank_by_use_sums_clicks_and_downloads_in_the_period() -> None:
    feedback = [
        FeedbackRow("a", at(1, 0, 0), clicks=10, downloads=5),
        FeedbackRow("a", at(31, 23, 59, 59), clicks=5),
        FeedbackRow("a", at(1, 0, 0, month=6), clicks=1000),  # June: out of May
        FeedbackRow("b", at(10), clicks=12, downloads=8),  # 20, ties with a
        FeedbackRow("c", at(10), clicks=3, downloads=1),
        FeedbackRow("d", at(10), clicks=-5, downloads=2),  # negative counts are ignored
        FeedbackRow("d", None, clicks=99),  # undated rows are in no period
    ]
    top = rank_by_use(RES, feedback, MAY)
    assert [(r.rank, r.resource.resource_id, r.uses) for r in top] == [
        (1, "b", 20),
        (1, "a", 20),
        (3, "c", 4),
        (4, "d", 2),
    ]
    assert [r.resource.resource_id for r in rank_by_use(RES, feedback, MAY, subject="语文")] == ["a", "c", "d"]
    assert [r.resource.resource_id for r in rank_by_use(RES, feedback, MAY, subject="语文", city="杭州市")] == [
        "a",
        "d",
    ]
    assert [r.resource.resource_id for r in rank_by_use(RES, feedback, MAY, limit=2)] == ["b", "a"]
    whole = rank_by_use(RES, feedback, None)
    assert whole[0].resource.resource_id == "a"
    assert whole[0].uses == 1020
    assert [r.uses for r in whole if r.resource.resource_id == "d"] == [101]
