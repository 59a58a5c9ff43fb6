"""附件2 indicator sets and checklist states (pure)."""

from __future__ import annotations

from datetime import date

import pytest

from domain.evaluation import (
    ACHIEVED,
    CONFIRMED,
    NOT_ACHIEVED,
    PENDING,
    REJECTED,
    SUBMITTED,
    EvaluationFileError,
    NoReviewStats,
    PointsShare,
    Report,
    ReportError,
    ReviewStats,
    checklist,
    indicator_set_for,
    kinds_matching,
    parse_indicator_set,
    parse_report,
)

S = indicator_set_for(2026)
TODAY = date(2026, 6, 1)


def states(items):
    return {i.indicator.id: i.state for i in items}


def test_indicator_sets_per_role_and_year(tmp_path):
    assert [len(S.indicators(r)) for r in ("admin", "trainer", "reviewer")] == [8, 4, 4]
    assert S.min_points == 60 and S.target_share == 0.4 and S.deadline(2026) == date(2026, 10, 31)
    assert S.indicator("trainer.4").text.endswith("不少于2000字。")
    text = open("domain/data/evaluation/2021.yaml", encoding="utf-8").read()
    (tmp_path / "2021.yaml").write_text(text, encoding="utf-8")
    (tmp_path / "2027.yaml").write_text(
        text.replace("year: 2021", "year: 2027").replace(
            "min_points: 60, target_share: 0.4", "min_points: 80, target_share: 0.5"
        ),
        encoding="utf-8",
    )
    assert indicator_set_for(2026, tmp_path).min_points == 60
    assert indicator_set_for(2027, tmp_path).min_points == 80
    assert indicator_set_for(2030, tmp_path).target_share == 0.5


def test_bad_indicator_file():
    with pytest.raises(EvaluationFileError, match="source“guess”未知"):
        parse_indicator_set("year: 2026\nroles:\n  admin:\n    - {id: a, source: guess}\n", "x.yaml")
    with pytest.raises(EvaluationFileError, match="未定义的证据类型"):
        parse_indicator_set("year: 2026\nroles:\n  admin:\n    - {id: a, source: reported, requires: [{kind: 跳舞}]}\n")


def test_report_parsing():
    k = S.kinds["培训"]
    assert parse_report(k, ["2026-05-10", "平台", "应用", "45"], TODAY) == {
        "date": date(2026, 5, 10),
        "topic": "平台 应用",
        "participants": 45,
    }
    for args, words in [
        (["2026-05-10", "主题"], "缺少人数"),
        (["2026-02-30", "主题", "3"], "不存在"),
        (["2026-07-01", "主题", "3"], "晚于今天"),
        (["2026-05-10", "主题", "很多"], "应为整数"),
        (["2026-05-10", "主题", "0"], "不少于 1"),
    ]:
        with pytest.raises(ReportError, match=words):
            parse_report(k, args, TODAY)
    art = S.kinds["文章"]
    assert parse_report(art, ["https://zjer.cn/a/1", "2000字"])["characters"] == 2000
    with pytest.raises(ReportError, match="不少于 2000"):
        parse_report(art, ["https://zjer.cn/a/1", "1999"])
    with pytest.raises(ReportError, match="网址"):
        parse_report(art, ["zjer.cn", "2100"])
    data = S.kinds["数据"]
    assert parse_report(data, ["秋季", "1050", "1000", "19000", "20000"])["semester"] == "秋季"
    with pytest.raises(ReportError, match="学生数误差 5.5%"):
        parse_report(data, ["秋季", "1050", "1000", "18900", "20000"])
    assert kinds_matching(S, "trainer", "文章") is art and kinds_matching(S, "reviewer", "文章") is None


def _r(i, kind, fields, status=SUBMITTED, reason=""):
    return Report(i, kind, fields, status, reason)


def test_reported_states():
    training = {"date": date(2026, 5, 10), "topic": "应用", "participants": 30}
    article = {"url": "https://zjer.cn/a", "characters": 2400}
    reports = [
        _r(1, "培训", training, CONFIRMED),
        _r(2, "文章", article, SUBMITTED),
        _r(3, "参训", {"date": date(2026, 4, 1), "title": "省培"}, REJECTED, "没有附通知"),
    ]
    items = {i.indicator.id: i for i in checklist(S, "trainer", reports=reports, today=TODAY, year=2026)}
    assert items["trainer.1"].state == ACHIEVED and "30人（已确认）" in items["trainer.1"].evidence[0]
    assert items["trainer.4"].state == PENDING and "待市级确认" in items["trainer.4"].note
    assert items["trainer.2"].state == NOT_ACHIEVED and "没有附通知" in items["trainer.2"].note
    assert items["trainer.3"].state == PENDING and items["trainer.3"].source == "本人报告"
    # after the deadline, nothing reported means 未达成
    late = checklist(S, "trainer", reports=reports, today=date(2026, 11, 1), year=2026)
    assert states(late)["trainer.3"] == NOT_ACHIEVED


def test_two_part_and_distinct_requirements():
    reps = [_r(1, "参训", {"date": date(2026, 4, 1), "title": "省培"}, CONFIRMED)]
    item = checklist(S, "admin", reports=reps, today=TODAY, year=2026)[1]
    assert item.state == PENDING and item.note == "还差：组织校级管理员培训"
    spring = {
        "semester": "春季",
        "platform_teachers": 1000,
        "yearbook_teachers": 1000,
        "platform_students": 1,
        "yearbook_students": 1,
    }
    one = checklist(
        S, "admin", reports=[_r(1, "数据", spring, CONFIRMED), _r(2, "数据", spring, CONFIRMED)], today=TODAY, year=2026
    )[0]
    assert one.state == PENDING and "2 次" in one.note
    both = checklist(
        S,
        "admin",
        reports=[_r(1, "数据", spring, CONFIRMED), _r(2, "数据", dict(spring, semester="秋季"), CONFIRMED)],
        today=TODAY,
        year=2026,
    )[0]
    assert both.state == ACHIEVED


def test_points_share_indicator():
    def item(q, t):
        return checklist(S, "admin", points=PointsShare("西湖区", q, t), today=TODAY, year=2026)[5]

    assert item(40, 100).state == ACHIEVED
    low = item(39, 100)
    assert low.state == NOT_ACHIEVED and low.note == "还差 1 人" and "39/100" in low.evidence[0]
    assert item(0, 0).state == PENDING
    assert checklist(S, "admin", today=TODAY, year=2026)[5].state == PENDING


async def test_review_stats_indicators():
    assert await NoReviewStats().review_stats("m", date(2026, 1, 1), date(2026, 12, 31)) is None
    none = checklist(S, "reviewer", today=TODAY, year=2026)
    assert states(none)["reviewer.1"] == PENDING and states(none)["reviewer.2"] == PENDING
    good = ReviewStats(assigned=20, completed=20, on_time=19, reviewed=20, rated=10, good=9, errors=0)
    items = checklist(S, "reviewer", review=good, today=TODAY, year=2026)
    assert states(items)["reviewer.1"] == ACHIEVED and states(items)["reviewer.2"] == ACHIEVED
    assert "按时完成率 95%" in items[1].evidence[0]
    late = ReviewStats(assigned=20, completed=20, on_time=10, reviewed=20, rated=10, good=9, errors=1)
    items = checklist(S, "reviewer", review=late, today=TODAY, year=2026)
    assert states(items)["reviewer.1"] == NOT_ACHIEVED and "按时完成率需>=90%" in items[1].note
    unrated = ReviewStats(completed=3, on_time=3, reviewed=3)
    assert states(checklist(S, "reviewer", review=unrated, today=TODAY, year=2026))["reviewer.2"] == PENDING
