"""The "done" query of the members' evaluation reports, against the store (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import date

from domain.reminders.model import Audience, AudienceKind, Obligation, Yearly
from domain.roster import Role
from handlers.reminders.done import DONE_QUERIES, Env, subjects_for
from storage.models.scores import EvalReport
from tests.reminders.conftest import T0, seed


async def test_evaluation_reports_name_what_each_member_still_lacks(db):
    from domain.roster.config import load_roster_config

    await seed(
        db,
        [
            (Role.REVIEWER, "杭州市/西湖区", "r-all"),
            (Role.REVIEWER, "杭州市/西湖区", "r-two"),
            (Role.REVIEWER, "杭州市/萧山区", "r-none"),
            (Role.TRAINER, "杭州市/萧山区", "r-two"),  # the same person as a trainer: counted per role
        ],
    )
    reports = [("r-all", k, "submitted") for k in ("建议", "参训", "培训")]
    reports += [("r-two", "参训", "confirmed"), ("r-two", "培训", "submitted"), ("r-two", "建议", "rejected")]
    async with db.unit_of_work() as uow:
        for uid, kind, status in reports:
            uow.session.add(
                EvalReport(
                    year=2026, user_id=uid, role="reviewer", kind=kind, fields={}, status=status, submitted_at=T0
                )
            )
    ob = Obligation("ev", "考核材料", Yearly(10, 15), Audience(AudienceKind.MEMBER), "evaluation_reports_submitted")
    env = Env(load_roster_config(None).load_regions())
    async with db.unit_of_work() as uow:
        subjects = await subjects_for(uow, ob, env)
        got = await DONE_QUERIES[ob.done](uow, ob, date(2026, 10, 15), subjects, env)
    by = {(s.people[0], s.key.split(":")[2]): got[s.key] for s in subjects}
    assert by[("r-all", "reviewer")].done
    assert not by[("r-two", "reviewer")].done and by[("r-two", "reviewer")].missing == "还缺报告：学科资源建设建议"
    assert by[("r-none", "reviewer")].missing == "还缺报告：学科资源建设建议、参加省级培训、区域教师学科资源使用培训"
    trainer = by[("r-two", "trainer")]  # his reviewer reports do not count for his trainer seat
    assert not trainer.done and trainer.missing.startswith("还缺报告：线下培训讲座或会议交流、参加省级培训")
