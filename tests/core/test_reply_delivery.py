"""How a reply leaves (bot/delivery.py): a reply whose handler wrote nothing is posted by webhook first and
then finished with one write on SQLite (one instance per file); on PostgreSQL, and whenever the handler
wrote, the handled mark and the reply's outbox row commit first. Either way a refused webhook reaches
the person by OpenAPI, and a crash between DingTalk's acceptance and the handled mark handles the
message again (answered twice: the unavoidable window of tests/core/test_crash.py)."""

from __future__ import annotations

import asyncio

from sqlalchemy import select

from bot.commands import Router
from storage.models.core import OutboxMessage
from storage.repositories.core import InboxRepository

failing = Router("test-failing")


@failing.command("爆炸", alias="explode", help="总是出错的测试命令")
async def _explode(ctx, args):
    raise RuntimeError("boom")


async def _reply_rows(bot, msg_id: str) -> list[tuple[str, str | None]]:
    async with bot.db.unit_of_work() as uow:
        rows = await uow.session.execute(
            select(OutboxMessage.status, OutboxMessage.last_error).where(OutboxMessage.reply_to_msg_id == msg_id)
        )
        return [tuple(r) for r in rows]


async def _handled(bot, msg_id: str) -> bool | None:
    async with bot.db.unit_of_work() as uow:
        return await uow.repo(InboxRepository).is_handled(msg_id)


async def test_refused_webhook_reply_reaches_the_person_by_openapi(start_bot, chat, sim, database_url):
    bot = await start_bot(database_url=database_url)
    asked = {
        "group": await chat.send("/我是谁", conversation="cid-admin-group", webhook_refused=True),
        "p2p": await chat.send("/我是谁", user="t-hz-001", conversation="cid-p2p-t-hz-001", webhook_refused=True),
        "wrote": await chat.send("/绑定 审核员群", conversation="cid-reviewer-group", webhook_refused=True),
    }
    kinds = {"group": "group_send", "p2p": "oto_send", "wrote": "group_send"}
    for what, msg_id in asked.items():
        rec = await asyncio.to_thread(sim.wait_reply, msg_id, 10)
        assert rec.kind == kinds[what], (what, rec.kind)
    await bot.dispatcher.drain()
    for msg_id in asked.values():
        assert [r.kind for r in sim.replies_to(msg_id)] in (["group_send"], ["oto_send"])  # once
        assert await _handled(bot, msg_id)
        for _ in range(100):  # the outbox marks it sent right after DingTalk accepted it
            rows = await _reply_rows(bot, msg_id)
            if not (rows and rows[0][0] == "sending"):
                break
            await asyncio.sleep(0.05)
        assert rows == [("sent", None)]  # one row, sent by the outbox


async def test_read_only_reply_by_webhook_writes_no_outbox_row_on_sqlite(start_bot, chat, sim, database_url):
    bot = await start_bot(database_url=database_url)
    msg_id = await chat.send("/我是谁", conversation="cid-admin-group")
    assert (await asyncio.to_thread(sim.wait_reply, msg_id, 10)).kind == "webhook_reply"
    await bot.dispatcher.drain()
    assert await _handled(bot, msg_id)
    # SQLite: posted first, then only the handled mark; PostgreSQL: a held row, then marked sent
    expected = [] if bot.db.dialect == "sqlite" else [("sent", None)]
    assert await _reply_rows(bot, msg_id) == expected


async def test_handled_mark_after_a_webhook_answer_is_retried_not_dropped(start_bot, chat, sim):
    """The database refuses the handled mark once after the reply went out: tried again, so the message
    is not handled (and answered) a second time."""
    bot = await start_bot()
    real_finish, calls = bot.inbox.finish, []

    async def finish_failing_once(msg_id, rows):
        calls.append(msg_id)
        if len(calls) == 1:
            raise RuntimeError("database is locked")
        return await real_finish(msg_id, rows)

    bot.inbox.finish = finish_failing_once
    msg_id = await chat.send("/我是谁", conversation="cid-admin-group")
    assert (await asyncio.to_thread(sim.wait_reply, msg_id, 10)).kind == "webhook_reply"
    await bot.dispatcher.drain()
    assert calls == [msg_id, msg_id] and await _handled(bot, msg_id)
    assert await bot.recover() == 0 and len(sim.replies_to(msg_id)) == 1


async def test_crash_between_webhook_answer_and_handled_mark_handles_the_message_again(start_bot, chat, sim):
    """The process "dies" after DingTalk accepted the webhook reply and before the handled mark committed:
    the next process finds the message unhandled, handles it again and answers it again (SQLite)."""
    bot = await start_bot(bot_handler_timeout=1.0)
    stuck: list[asyncio.Task] = []

    async def never(_msg_id, _rows):  # the mark never commits: the process ends here
        stuck.append(asyncio.current_task())
        await asyncio.Event().wait()

    bot.inbox.finish = never
    msg_id = await chat.send("/我是谁", conversation="cid-admin-group")
    first = await asyncio.to_thread(sim.wait_reply, msg_id, 10)
    assert first.kind == "webhook_reply" and "王芳" in sim.text_of(first)
    await bot.stop()
    for task in stuck:
        task.cancel()
    assert await _handled(bot, msg_id) is False  # stored, not handled: nothing recorded the reply
    again = await start_bot()  # same database file: handles what was left at start-up
    await asyncio.to_thread(sim.wait_for, lambda _r: len(sim.replies_to(msg_id)) == 2, 10)
    await again.dispatcher.drain()
    assert await _handled(again, msg_id)
    assert [r.kind for r in sim.replies_to(msg_id)] == ["webhook_reply", "webhook_reply"]


async def test_an_apology_is_committed_before_it_is_sent(start_bot, chat, sim):
    """After an error (or a timeout) the handler's own commit may have gone through just before: the
    apology takes the committed way (a held row behind the conditional mark), never posted first."""
    bot = await start_bot(extra_routers=[failing])
    msg_id = await chat.send("/爆炸", conversation="cid-admin-group")
    rec = await asyncio.to_thread(sim.wait_reply, msg_id, 10)
    assert rec.kind == "webhook_reply" and "抱歉" in sim.text_of(rec)
    await bot.dispatcher.drain()
    assert await _handled(bot, msg_id) and await _reply_rows(bot, msg_id) == [("sent", None)]
