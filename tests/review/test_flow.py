"""The review feature end to end through the real SDK and the fake DingTalk, on SQLite and PostgreSQL:
import → preview → confirm → card → a button press through the card callback → provincial level
assigned → disagreement → third reviewer → shelved; decline → alternate told in the same minute;
overdue by moving the injected clock → reassigned."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select

from domain.reminders.workdays import WorkCalendar
from storage.models.core import AuditEntry
from tests.review.conftest import HZ, NOW, REVIEWER_G, World, resource
from tests.scores.util import SH


async def test_review_pipeline(world: World):
    w = world
    # intake: two resources, the same external id again unchanged, then changed (an audited update)
    status, body = await w.post("/api/v1/resources", [resource("R1"), resource("R2"), resource("R1")])
    assert status == 200 and body["accepted"] == 2 and body["duplicates"] == 1, body
    status, body = await w.post("/api/v1/resources", [resource("R1", chapter="第五单元")])
    assert body["updated"] == 1 and body["accepted"] == 0, body
    async with w.bot.db.unit_of_work() as uow:
        audit = await uow.audit.list(entity="review_resource")
        assert any(a.action == "review.resource_update" and a.after == {"chapter": "第五单元"} for a in audit)
    assert (await w.post("/api/v1/resources", [], token="wrong"))[0] == 401

    # preview, then confirm: only that territory's operators
    assert "不能操作宁波市" in await w.say("/分配 预览 宁波市", user=HZ)
    preview = await w.say("/分配 预览", user=HZ)
    assert "分配预览：杭州市" in preview and "资源 2 个" in preview and "派出 2 项" in preview, preview
    confirmed = await w.confirm()
    assert "已派发 2 项" in confirmed, confirmed
    r1 = (await w.tasks(1))[0]
    await w.card_to(r1.reviewer_id, r1.card_id)
    params = w.sim.card_params(r1.card_id, r1.reviewer_id)
    assert "分数的意义R1" in params["markdown"] and "第五单元" in params["markdown"]
    summary = await w.sim.awaits(
        lambda r: r.kind == "group_send" and r.conversation_id == REVIEWER_G and "新一批审核任务" in w.sim.text_of(r),
        timeout=10,
    )
    assert "小学·数学：" in w.sim.text_of(summary) and "李明" not in w.sim.text_of(summary)

    # a button press through the card callback: handled once, audited, card updated
    since = w.sim.last_seq
    await w.sim.apress_card_button(r1.card_id, r1.reviewer_id, "pass:1")
    assert "已记录：资源 #1 通过" in await w.private(r1.reviewer_id, "资源 #1")
    await w.sim.awaits(
        lambda r: (
            r.kind == "card_update"
            and r.payload.get("outTrackId") == r1.card_id
            and "已通过" in r.payload["cardParamMap"].get("status", "")
        ),
        timeout=10,
        since=since,
    )
    # a second press says already recorded
    await w.sim.apress_card_button(r1.card_id, r1.reviewer_id, "pass:1", force=True)
    assert "你已审过" in await w.private(r1.reviewer_id, "你已审过")

    # the provincial level was assigned automatically: two reviewers, not the city reviewer
    prov = [t for t in await w.tasks(1) if t.level_index == 1]
    assert len(prov) == 2 and r1.reviewer_id not in {t.reviewer_id for t in prov}
    a, b = prov
    await w.card_to(a.reviewer_id, a.card_id)
    assert "第三位" not in await w.say("/通过 1 很好", user=a.reviewer_id, conversation="p2p")
    reply = await w.say("/不通过 1 内容有科学性错误", user=b.reviewer_id, conversation="p2p")
    assert "第三位审核员" in reply, reply
    third = [t for t in await w.tasks(1) if t.level_index == 1 and t.state == "open"]
    assert len(third) == 1 and third[0].reviewer_id not in {a.reviewer_id, b.reviewer_id, r1.reviewer_id}
    await w.card_to(third[0].reviewer_id, third[0].card_id)
    assert "资源已上架" in await w.say("/通过 1", user=third[0].reviewer_id, conversation="p2p")
    assert await w.status(1) == "shelved"

    # decline → an alternate is told in the same minute
    r2 = (await w.tasks(2))[0]
    assert "改派给其他审核员" in await w.say("/不能审 2 与提交人是亲属", user=r2.reviewer_id, conversation="p2p")
    alt = [t for t in await w.tasks(2) if t.state == "open"]
    assert len(alt) == 1 and alt[0].reviewer_id != r2.reviewer_id
    await w.card_to(alt[0].reviewer_id, alt[0].card_id)
    assert w.clock.now() == NOW
    # the reply, not the card update that may land in the same chat just then
    moved = await w.chat.send("/通过 2", user=r2.reviewer_id, conversation=f"cid-p2p-{r2.reviewer_id}")
    await w.sim.awaits(lambda r: r.msg_id == moved and "已转给其他审核员" in w.sim.text_of(r), 10)

    # overdue: move the clock past the due day and the grace → reassigned, reviewer and operator told
    w.clock.set(datetime.combine(alt[0].due_on + timedelta(days=3), datetime.min.time(), SH).replace(hour=9))
    while not WorkCalendar.load().is_workday(w.clock.now().date()):
        w.clock.advance(timedelta(days=1))
    result = await w.bot.scheduler.run_now("review_deadlines")
    assert result["reassigned"] == 1, result
    assert "已超时" in await w.private(alt[0].reviewer_id, "已超时")
    assert "审核超时" in await w.private(HZ, "审核超时")
    last = [t for t in await w.tasks(2) if t.state == "open"]
    assert len(last) == 1 and last[0].reviewer_id not in {r2.reviewer_id, alt[0].reviewer_id}
    await w.card_to(last[0].reviewer_id, last[0].card_id)
    async with w.bot.db.unit_of_work() as uow:
        actions = {a.action for a in (await uow.session.scalars(select(AuditEntry))).all()}
    assert {"review.assign", "review.verdict", "review.decline", "review.overdue", "review.move"} <= actions
