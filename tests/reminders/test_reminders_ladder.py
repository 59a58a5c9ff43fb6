"""The working-day ladder, holiday files and the planner (pure)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from domain.calendar import DEFAULT_CYCLE
from domain.reminders import (
    DUE,
    ESCALATE,
    HolidayFileError,
    Ladder,
    Obligation,
    ObligationError,
    OnDate,
    Status,
    Subject,
    WorkCalendar,
    ladder_days,
    load_obligations,
    parse_holiday_file,
    steps_on,
)
from domain.reminders.model import AfterEvent, Audience, AudienceKind, Event
from domain.reminders.planner import (
    ACK,
    CITY_OVERDUE,
    CITY_UNACKED,
    DONE,
    PROVINCE,
    RunInput,
    group_by_content,
    plan_run,
)

CAL = WorkCalendar.load()


def _ob(due: date, **kw) -> Obligation:
    return Obligation(
        id="x",
        title="测试",
        due=OnDate(due),
        audience=Audience(AudienceKind.COUNTY),
        done="self_reported",
        number=1,
        **kw,
    )


def test_labour_day_2026_gets_no_step_and_the_make_up_saturday_does():
    days = {d: name for name, d in ladder_days(date(2026, 4, 30), Ladder(), CAL)}
    assert not any(date(2026, 5, d) in days for d in range(1, 6))  # 1–5 May: the holiday
    assert days[date(2026, 5, 9)] == ESCALATE  # Saturday 9 May is a working day
    assert days[date(2026, 4, 30)] == DUE and days[date(2026, 5, 6)] == "T+1"
    # A step that would fall in the holiday moves to the working day before it.
    due = date(2026, 5, 8)  # T-7 = 1 May (holiday) → 30 April; T-3 = 5 May → 30 April too
    steps = {name: d for name, d in ladder_days(due, Ladder(), CAL)}
    assert steps["T-3"] == date(2026, 4, 30) and "T-7" not in steps  # the later step wins the shared day
    assert all(CAL.is_workday(d) for d in steps.values())


def test_a_whole_year_every_step_on_its_working_day_none_on_holidays():
    cycle = load_obligations(DEFAULT_CYCLE.read_text(encoding="utf-8"))
    obs = [ob for ob in cycle if not isinstance(ob.due, AfterEvent)]  # "after an event": test_after_event_*
    fired: dict[tuple[str, date], list[tuple[str, date]]] = {}
    d = date(2026, 1, 1)
    while d.year == 2026:
        for ob in obs:
            for s in steps_on(ob, d, CAL):
                assert CAL.is_workday(d), (ob.id, s)
                fired.setdefault((ob.id, s.due), []).append((s.step, d))
        d += timedelta(days=1)
    for ob in obs:
        due = ob.due.instances(date(2026, 6, 1))[1]
        expected = ladder_days(due, ob.ladder, CAL)
        assert fired[(ob.id, due)] == expected, ob.id
        assert [s for s, _ in expected][-1] == ESCALATE
    assert len(fired[("roster", date(2026, 4, 30))]) == 9


def test_holiday_file_for_a_year_the_package_lacks(tmp_path):
    assert 2027 in CAL.missing_years(date(2026, 12, 1))
    (tmp_path / "2027.yaml").write_text(
        "year: 2027\nholidays: [2027-01-01, 2027-02-06..2027-02-12]\nworkdays: [2027-02-14]\n", encoding="utf-8"
    )
    cal = WorkCalendar.load(tmp_path)
    assert cal.missing_years(date(2026, 12, 1)) == []
    assert not cal.is_workday(date(2027, 2, 8)) and cal.is_workday(date(2027, 2, 14))  # a Sunday made a workday
    assert cal.is_workday(date(2027, 3, 1))
    for bad, match in (
        ("year: 2027\nholidays: [2027-02-30]\n", "2027-02-30"),
        ("year: 2027\nholidays: [2026-05-01]\n", "不在 2027 年"),
        ("holidays: []\n", "year"),
        ("year: 2027\nholidays: [2027-01-02]\nworkdays: [2027-01-02]\n", "同时"),
    ):
        with pytest.raises(HolidayFileError, match=match):
            parse_holiday_file(bad, "2027.yaml")


def test_after_event_due_dates_count_working_days():
    ob = Obligation(
        id="review",
        title="审核任务",
        due=AfterEvent("call_opened", 5),
        audience=Audience(AudienceKind.MEMBER, "reviewer"),
        done="self_reported",
    )
    opened = Event(date(2026, 4, 29))
    assert ob.due.due_after(opened, CAL) == date(2026, 5, 9)  # 30 Apr, 6–8 May, Sat 9 May
    assert steps_on(ob, date(2026, 5, 9), CAL, events=[opened])[0].step == DUE
    # Without workdays the due day is the one the event records; before_workdays counts working days back.
    own = Obligation(
        id="tasks",
        title="审核任务",
        due=AfterEvent("review_assigned", None),
        audience=Audience(AudienceKind.MEMBER, "reviewer"),
        done="self_reported",
        ladder=Ladder((3, 1), 1, False, before_in_workdays=True),
    )
    task = Event(date(2026, 4, 27), frozenset({"r1"}), due=date(2026, 5, 7))
    days = {name: d for name, d in ladder_days(date(2026, 5, 7), own.ladder, CAL)}
    # 3 working days before Thursday 7 May: 29 April (1–5 May is the holiday); T-1 6 May; T+1 Friday 8 May.
    assert days == {"T-3": date(2026, 4, 29), "T-1": date(2026, 5, 6), DUE: date(2026, 5, 7), "T+1": date(2026, 5, 8)}
    assert [s.step for s in steps_on(own, date(2026, 4, 29), CAL, events=[task])] == ["T-3"]
    assert steps_on(own, date(2026, 4, 30), CAL, events=[task]) == []


def test_bad_obligations_are_named():
    base = "obligations:\n  - {id: a, title: t, month: 2, day: 30, who: 市级中心, done: q}\n"
    with pytest.raises(ObligationError, match="第 1 个"):
        load_obligations(base)
    with pytest.raises(ObligationError, match="第 1 个"):
        load_obligations(base.replace("month: 2, day: 30", "month: 2, day: 3").replace("市级中心", "家长"))
    with pytest.raises(ObligationError, match="完成条件"):
        load_obligations(base.replace("day: 30", "day: 3"), known_queries={"roster_complete"})
    after = base.replace("month: 2, day: 30", "after: {event: %s}")
    events = {"review_assigned": True, "call_opened": False}
    with pytest.raises(ObligationError, match="不是已登记的事件"):
        load_obligations(after % "opened", known_events=events)
    with pytest.raises(ObligationError, match="需要 workdays"):
        load_obligations(after % "call_opened", known_events=events)
    assert load_obligations(after % "review_assigned", known_events=events)[0].due == AfterEvent(
        "review_assigned", None
    )


def _inp(step: str, **kw) -> RunInput:
    ob = _ob(date(2026, 6, 30))
    from domain.reminders.ladder import Step

    s = Step(date(2026, 6, 1), date(2026, 6, 30), step, "x")
    subjects = [
        Subject("浙江省/杭州市/西湖区", "杭州市西湖区", "杭州市", ("t-hz-001",), "浙江省/杭州市/西湖区"),
        Subject("浙江省/杭州市/萧山区", "杭州市萧山区", "杭州市", ("t-hz-002",), "浙江省/杭州市/萧山区"),
    ]
    statuses = {"浙江省/杭州市/西湖区": Status(False, "西湖区还缺资源审核员2名"), "浙江省/杭州市/萧山区": Status(True)}
    return RunInput(
        steps=[s],
        obligations={"x": ob},
        subjects={("x", date(2026, 6, 30)): subjects},
        statuses={("x", date(2026, 6, 30)): statuses},
        city_operators={"杭州市": ("city-hz-001",)},
        province_operators=("op-zj-001",),
        **kw,
    )


def test_only_laggards_acknowledgement_and_escalation():
    plan = plan_run(_inp("T-7"))
    assert [(k.person, i.missing) for k, i in plan.personal] == [("t-hz-001", "西湖区还缺资源审核员2名")]
    assert plan.done == 1 and plan.city == [] and plan.province == []
    # Acknowledged: silent before the due day, reminded again on it.
    acks = {("x", date(2026, 6, 30), "t-hz-001"): ACK}
    assert plan_run(_inp("T-3", acks=acks)).personal == []
    assert len(plan_run(_inp("T0", acks=acks)).personal) == 1
    # 已完成 that the store does not confirm does not silence.
    assert len(plan_run(_inp("T-3", acks={("x", date(2026, 6, 30), "t-hz-001"): DONE})).personal) == 1
    # Unacknowledged after two steps → the city operator; overdue → the city operator; after the ladder → province.
    two = {("x", date(2026, 6, 30), "t-hz-001"): 2}
    assert [k.step for k, _ in plan_run(_inp("T-1", delivered=two)).city] == [CITY_UNACKED]
    assert [k.step for k, _ in plan_run(_inp("T+1")).city] == [CITY_OVERDUE]
    esc = plan_run(_inp(ESCALATE))
    assert esc.personal == [] and [(k.step, k.person) for k, _ in esc.province] == [(PROVINCE, "op-zj-001")]


def test_one_message_per_person_and_identical_ones_together():
    from domain.reminders.planner import Item

    a = Item(1, "名单", date(2026, 4, 30), "T-3", "缺", "")
    b = Item(2, "报告", date(2026, 4, 30), "T-3", "缺", "")
    groups = group_by_content([("p1", a), ("p1", b), ("p2", a), ("p3", a), ("p1", a)])
    assert sorted((len(items), people) for items, people in groups) == [(1, ["p2", "p3"]), (2, ["p1"])]
