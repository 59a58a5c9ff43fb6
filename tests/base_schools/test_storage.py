"""Visits, teacher spaces and lessons through the feed into both databases, and the figures read back:
the active-user definition at its boundaries (every second day, a gap, the period's first and last day
in Asia/Shanghai), rates, lessons, idempotent redelivery and per-item rejections."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from domain.base_schools import BaseSchool, load_definitions, month_period, year_period
from handlers.base_schools.common import compute
from handlers.base_schools.feed import ingest_base_items
from storage.repositories.base_schools import (
    BaseSchoolRepository,
    day_mask,
    popcount_sql,
)

SH = ZoneInfo("Asia/Shanghai")
DEFS = load_definitions()
NOW = datetime(2026, 12, 1, 9, 0, tzinfo=SH)
SCHOOLS = [
    BaseSchool(2026, "杭州第十四中学", "杭州市", "拱墅区", "高中化学", "SP1", "王老师", teachers=10),
    BaseSchool(2026, "宁波中学", "宁波市", None, "英语", "SP2", "林老师"),
]


def visit(account: str, day: int, *, space: str = "SP1", month: int = 11, hour: int = 9) -> dict:
    return {
        "action": "base.space_visit",
        "space_id": space,
        "account": account,
        "time": f"2026-{month:02d}-{day:02d}T{hour:02d}:15:00+08:00",
    }


def november_visits() -> list[dict]:
    items = [visit("every2", d) for d in range(1, 30, 2)]  # 1,3,…,29: 15 days
    items += [visit("every2b", d) for d in range(2, 30, 2)]  # 2,…,28 …
    items += [{**visit("every2b", 30), "time": "2026-11-30T15:30:00Z"}]  # … and 30 Nov, 23:30 local
    items += [visit("gap", d) for d in range(1, 28, 2)]  # 14 days: one short
    items += [{**visit("first", 1), "time": "2026-10-31T16:30:00Z"}]  # 00:30 on 1 Nov local
    items += [visit("first", d) for d in range(3, 30, 2)]  # + 14 = 15
    items += [visit("late", d) for d in range(2, 29, 2)]  # 14 days …
    items += [{**visit("late", 30), "time": "2026-11-30T16:30:00Z"}]  # … 00:30 on 1 Dec: not November
    items += [visit("daily", d, hour=h) for d in range(1, 31) for h in (8, 20)]  # twice a day: 30 days
    items += [visit("other", d, space="SP2") for d in range(1, 31)]
    return items


async def _setup(db) -> list[BaseSchool]:
    async with db.unit_of_work() as uow:
        repo = uow.repo(BaseSchoolRepository)
        await repo.upsert(SCHOOLS, "浙江省", NOW)
        return await repo.schools(2026)


async def test_active_users_at_the_boundaries(db):
    schools = await _setup(db)
    report = await ingest_base_items(db, november_visits(), NOW)
    assert report.rejected == []
    assert report.duplicates == 30  # the second visit of "daily" on each day
    again = await ingest_base_items(db, november_visits()[:5], NOW)
    assert (again.accepted, again.duplicates) == (0, 5)
    nov = month_period(2026, 11)
    async with db.unit_of_work() as uow:
        repo = uow.repo(BaseSchoolRepository)
        figs = {f.school.space_id: f for f in await compute(repo, schools, nov, NOW.date(), DEFS)}
        hz = figs["SP1"].counts
        assert DEFS.required_days(30) == 15
        assert hz.active_users == 4  # every2, every2b, first, daily — not gap, not late
        assert hz.visitors == 6
        assert hz.effective_visits == 15 + 15 + 14 + 15 + 14 + 30
        assert figs["SP2"].counts.active_users == 1
        # 1 Dec belongs to December in Shanghai
        dec = await repo.visit_counts(date(2026, 12, 1), date(2026, 12, 1), 1)
        assert dec["SP1"].visitors == 1 and dec["SP1"].active_users == 1
        # the same month while in progress: on 20 Nov, 20 days and 10 needed
        mid = {f.school.space_id: f for f in await compute(repo, schools, nov, date(2026, 11, 20), DEFS)}
        assert mid["SP1"].counts.active_users == 6  # by then every visitor has exactly every second day
        # a period across months masks both ends: 15 Nov – 10 Dec (26 days, 13 needed)
        cross = await repo.visit_counts(date(2026, 11, 15), date(2026, 12, 10), DEFS.required_days(26))
        assert cross["SP1"].active_users == 1 and cross["SP1"].visit_days == 8 + 8 + 7 + 8 + (7 + 1) + 16
        year = {f.school.space_id: f for f in await compute(repo, schools, year_period(2026, DEFS), NOW.date(), DEFS)}
        assert year["SP1"].counts.active_users == 0  # a month of visits is far from half a year
        assert await repo.ceiling(date(2026, 11, 1), date(2026, 12, 31)) == 2


async def test_teacher_spaces_lessons_and_rejections(db):
    schools = [s for s in await _setup(db) if s.space_id == "SP1"]
    day = "2026-11-02T10:00:00+08:00"
    items: list = [
        {"action": "base.teacher_space_opened", "space_id": "SP1", "account": f"t{i}", "time": day} for i in range(9)
    ]
    items += [
        {
            "action": "base.teacher_space_opened",
            "space_id": "SP1",
            "account": "t9",
            "time": day,
            "detail": {"opened": False},
        }
    ]
    items += [
        {"action": "base.teacher_space_active", "space_id": "SP1", "account": f"t{i}", "detail": {"month": "2026-11"}}
        for i in range(6)
    ]
    items += [
        {"action": "base.teacher_space_active", "space_id": "SP1", "account": "t0", "time": "2026-10-10T10:00:00+08:00"}
    ]
    items += [
        {"action": "base.lesson_published", "space_id": "SP1", "time": day, "detail": {"lesson": f"L{i}"}}
        for i in range(18)
    ]
    items += [{"action": "base.lesson_published", "space_id": "SP1", "time": day, "detail": {"lesson": "L0"}}]
    bad = [
        {"action": "base.space_visit", "space_id": "SP404", "account": "x", "time": day},
        {"action": "base.space_visit", "space_id": "SP1", "time": day},
        {"action": "base.space_visit", "space_id": "SP1", "account": "x", "time": "2025-11-02T10:00:00+08:00"},
    ]
    report = await ingest_base_items(db, items + bad, NOW)
    n = len(items)
    reasons = dict(report.rejected)
    assert sorted(reasons) == [n, n + 1, n + 2]
    assert "SP404" in reasons[n] and "不属于2026年的任何基地校" in reasons[n]
    assert "缺少账号" in reasons[n + 1] and "2025年" in reasons[n + 2]
    assert report.duplicates == 1 and report.accepted == n - 1
    async with db.unit_of_work() as uow:
        repo = uow.repo(BaseSchoolRepository)
        f = {x.school.space_id: x for x in await compute(repo, schools, month_period(2026, 11), NOW.date(), DEFS)}
        assert len(f) == 1
        hz = f["SP1"]
        assert (hz.counts.teacher_spaces, hz.counts.opened, hz.counts.active_teachers) == (10, 9, 6)
        assert hz.values["opening_rate"] == 0.9 and hz.values["active_rate"] == 0.6
        assert hz.counts.lessons == 18
        oct_ = {x.school.space_id: x for x in await compute(repo, schools, month_period(2026, 10), NOW.date(), DEFS)}
        assert oct_["SP1"].counts.opened == 0 and oct_["SP1"].counts.active_teachers == 1
        assert oct_["SP1"].counts.lessons == 0
        # over Oct–Nov (2 months, 1 needed) t0…t5 are active
        two = await repo.teacher_counts(["SP1"], year_period(2026, DEFS), NOW.date(), DEFS)
        assert two["SP1"] == (10, 9, 0)  # 11 months so far, 6 needed: nobody
        # the last state wins: t9 opens later; a reported lesson count larger than the feed's wins
        await repo.report_lessons(schools[0].id or 0, 20, date(2026, 11, 25), "op", NOW)
    await ingest_base_items(
        db,
        [
            {
                "action": "base.teacher_space_opened",
                "space_id": "SP1",
                "account": "t9",
                "time": "2026-11-28T10:00:00+08:00",
            }
        ],
        NOW,
    )
    async with db.unit_of_work() as uow:
        repo = uow.repo(BaseSchoolRepository)
        hz = (await compute(repo, schools[:1], month_period(2026, 11), NOW.date(), DEFS))[0]
        assert hz.counts.opened == 10 and hz.values["opening_rate"] == 1.0 and hz.counts.lessons == 20


def test_day_masks_and_popcount_sql():
    assert day_mask(1, 31) == (1 << 31) - 1 and day_mask(3, 4) == 0b1100
    assert "& 255" in popcount_sql("x")
