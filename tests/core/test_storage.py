"""Storage contract tests for the runtime repositories: run on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

import pytest
from sqlalchemy import text

from bot.clock import SHANGHAI
from storage.inbox_sql import InboxSql, InboxWrite
from storage.repositories.core import Auditor, InboxRepository

T0 = datetime(2026, 4, 20, 9, 0, tzinfo=SHANGHAI)


async def test_inbox_stores_once_and_marks_handled_once(db):
    sql = InboxSql(db.engine)
    assert (await sql.write(InboxWrite(stores=[("m1", {"msgId": "m1"})]), T0)).new == {"m1"}
    assert (await sql.write(InboxWrite(stores=[("m1", {}), ("m2", {"msgId": "m2"})]), T0)).new == {"m2"}
    await sql.close()  # it keeps its connection between transactions
    async with db.unit_of_work() as uow:
        inbox = uow.repo(InboxRepository)
        assert await inbox.unhandled() == [("m1", {"msgId": "m1"}), ("m2", {"msgId": "m2"})]
        assert await inbox.mark_handled(["m1"], T0) == {"m1"}
        assert await inbox.mark_handled(["m1", "m2"], T0) == {"m2"}
        assert await inbox.is_handled("m1") and await inbox.is_handled("zz") is None
    async with db.unit_of_work() as uow:
        assert await uow.repo(InboxRepository).unhandled() == []
        assert await uow.repo(InboxRepository).forget_before(T0 + timedelta(seconds=1)) == 2


async def test_burst_shares_one_transaction(db):
    """A burst of frames is stored in one write; redeliveries, also within the burst, are refused;
    the handled marks and reply rows of a burst share one write too."""
    from bot.claims import Inbox
    from bot.clock import ManualClock
    from storage.db import Database

    inbox_db = Database(db.url, pool_size=1, max_overflow=1)  # as BotApp: a connection of its own
    inbox = Inbox(inbox_db, ManualClock(T0))
    assert await inbox.store("a0", {})
    ids = [f"a{i}" for i in range(30)] + ["a5"]
    results = await asyncio.gather(*(inbox.store(m, {"msgId": m}) for m in ids))
    assert results == [False] + [True] * 29 + [False]
    assert inbox.batches == 2
    row = {
        "kind": "group",
        "conversation_id": "c",
        "msg_key": "sampleMarkdown",
        "msg_param": {"title": "t", "text": "x"},
        "purpose": "reply",
        "held": True,
    }
    done = await asyncio.gather(*(inbox.finish(m, [{**row, "reply_to_msg_id": m}]) for m in ["a1", "a2", "a1"]))
    assert inbox.batches == 3
    assert done[2] is None and len(done[0]) == len(done[1]) == 1  # a1 twice: answered once
    # written through the driver, read back by the ORM as it would have written them
    async with db.unit_of_work() as uow:
        # None in a JSON column is the JSON null (as the ORM writes it), not SQL NULL
        assert (await uow.session.execute(text("SELECT count(*) FROM outbox WHERE user_ids IS NULL"))).scalar() == 0
        held = await uow.outbox.get(done[0][0])
        assert (held.status, held.kind, held.conversation_id, held.user_ids) == ("sending", "group", "c", None)
        assert held.msg_param == {"title": "t", "text": "x"} and held.reply_to_msg_id == "a1"
        assert held.created_at == held.claimed_at == held.next_attempt_at == T0 and held.attempts == 0
    private = {**row, "kind": "users", "user_ids": ["u1"], "held": False, "purpose": "reply_private"}
    failing, two = await asyncio.gather(  # one batch: each finish gets its own rows' ids, in draft order
        inbox.finish("a3", [{**row, "kind": "users", "user_ids": ["张三"], "reply_to_msg_id": "a3"}]),
        inbox.finish("a4", [{**private, "reply_to_msg_id": "a4"}, {**row, "reply_to_msg_id": "a4"}]),
    )
    assert failing is not None and two is not None and len(two) == 2
    async with db.unit_of_work() as uow:
        rows = [await uow.outbox.get(oid) for oid in [*failing, *two]]
        assert [(r.reply_to_msg_id, r.kind, r.purpose, r.status) for r in rows] == [
            ("a3", "users", "reply", "sending"),
            ("a4", "users", "reply_private", "pending"),
            ("a4", "group", "reply", "sending"),
        ]
    await asyncio.gather(
        inbox.sent(done[0][0]), inbox.retry(done[1][0], "refused"), inbox.retry(failing[0], "x", failed=True)
    )
    async with db.unit_of_work() as uow:
        sent = await uow.outbox.get(done[0][0])
        assert sent.status == "sent" and sent.sent_at == T0
        retried = await uow.outbox.get(done[1][0])
        assert (retried.status, retried.last_error, retried.next_attempt_at) == ("pending", "refused", T0)
        failed = await uow.outbox.get(failing[0])
        assert (failed.status, failed.user_ids, failed.last_error) == ("failed", ["张三"], "x")
        assert [m for m, _d in await uow.repo(InboxRepository).unhandled()][:2] == ["a0", "a10"]  # same time: by msgId
    await inbox.close()
    await inbox_db.dispose()


async def test_unit_of_work_rolls_back_on_error(db):
    with pytest.raises(RuntimeError):
        async with db.unit_of_work() as uow:
            await uow.dialogues.save("c9", "u9", "k", {}, T0, timedelta(minutes=30))
            raise RuntimeError("boom")
    async with db.unit_of_work() as uow:
        assert await uow.dialogues.get_any("c9", "u9") is None


async def test_datetimes_come_back_aware(db):
    async with db.unit_of_work() as uow:
        entry = Auditor("u1", "", T0).entry(
            "x.y", "e", "1", before={"a": 1}, after={"a": 2}, reason="因为", territory="浙江省/杭州市"
        )
        await uow.audit.record(entry)
    async with db.unit_of_work() as uow:
        [entry] = await uow.audit.list(territory_prefix="浙江省/杭州")
        assert entry.at == T0 and entry.at.tzinfo is not None
        assert entry.before == {"a": 1} and entry.reason == "因为"


async def test_outbox_claim_is_exclusive_and_batches_of_20(db):
    ids = [f"u{i}" for i in range(45)]
    async with db.unit_of_work() as uow:
        rows = await uow.outbox.enqueue(
            kind="users", user_ids=ids, msg_key="sampleText", msg_param={"content": "提醒"}, now=T0
        )
        assert [len(r.user_ids) for r in rows] == [20, 20, 5]

    async def claim():
        async with db.unit_of_work() as uow:
            return [r.id for r in await uow.outbox.claim_due(T0, limit=10)]

    a, b = await asyncio.gather(claim(), claim())
    assert sorted(a + b) == sorted(set(a + b)) and len(a + b) == 3
    async with db.unit_of_work() as uow:
        assert await uow.outbox.depth() == 3
        assert await uow.outbox.claim_due(T0) == []  # all claimed ("sending")
        stale = await uow.outbox.claim_due(T0 + timedelta(minutes=5))  # a crashed worker's claims come back
        assert len(stale) == 3
        await uow.outbox.mark_sent(stale[0].id, T0)
        await uow.outbox.reschedule(stale[1].id, T0 + timedelta(minutes=1), "throttled", user_ids=["u3"])
    async with db.unit_of_work() as uow:
        assert await uow.outbox.depth() == 2
        due = await uow.outbox.claim_due(T0 + timedelta(minutes=1))
        assert [r.user_ids for r in due] == [["u3"]] and due[0].attempts == 3


async def test_dialogue_state_expires(db):
    async with db.unit_of_work() as uow:
        await uow.dialogues.save("c", "u", "k", {"step": 1}, T0, timedelta(minutes=30))
    async with db.unit_of_work() as uow:
        d = await uow.dialogues.get("c", "u", T0 + timedelta(minutes=29))
        assert d.data == {"step": 1} and d.kind == "k"
    async with db.unit_of_work() as uow:
        assert await uow.dialogues.get("c", "u", T0 + timedelta(minutes=31)) is None
    async with db.unit_of_work() as uow:
        assert await uow.dialogues.get_any("c", "u") is None


async def test_group_binding_and_downloads(db):
    async with db.unit_of_work() as uow:
        before, after = await uow.groups.bind("cid1", "reviewer", "审核群", "op", T0)
        assert before is None and after.role == "reviewer"
        before, after = await uow.groups.bind("cid1", "trainer", "审核群", "op", T0)
        assert before.role == "reviewer" and after.role == "trainer"
        row = await uow.downloads.add(
            filename="a.xlsx", content_type="x", data=b"abc", created_by="op", now=T0, ttl=timedelta(hours=24)
        )
        fid = row.id
    async with db.unit_of_work() as uow:
        assert [b.conversation_id for b in await uow.groups.for_role("trainer")] == ["cid1"]
        assert (await uow.downloads.get_live(fid, T0 + timedelta(hours=23))).data == b"abc"
        assert await uow.downloads.get_live(fid, T0 + timedelta(hours=25)) is None
        assert await uow.downloads.purge_expired(T0 + timedelta(hours=25)) == 1
