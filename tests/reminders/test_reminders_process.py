"""Real bot processes: kill -9 in the middle of a 700-person fan-out, then a restart: exactly one
message each; two processes on one PostgreSQL: one runs the jobs, the other takes over after kill -9."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from datetime import datetime
from pathlib import Path

from bot.clock import SHANGHAI
from storage.db import Database
from storage.migrate import upgrade
from tests.reminders.conftest import holiday_dir_making_today_a_workday, seed_fanout

ROOT = Path(__file__).resolve().parents[2]


def _spawn(sim, tmp_path, url: str, holidays: Path, **extra: str) -> subprocess.Popen:
    env = dict(
        os.environ,
        DINGTALK_CLIENT_ID=sim.client_id,
        DINGTALK_CLIENT_SECRET=sim.client_secret,
        DINGTALK_OPENAPI_ENDPOINT=sim.base_url,
        BOT_HTTP_PORT="0",
        BOT_DATA_DIR=str(tmp_path),
        DATABASE_URL=url,
        BOT_SUPERADMINS="op-zj-001",
        NO_PROXY="127.0.0.1,localhost",
        REMINDER_HOUR="0",
        REMINDER_HOLIDAYS_DIR=str(holidays),
        SCHEDULER_LEASE_SECONDS="3",
        OUTBOX_STALE_SECONDS="3",
        **extra,
    )
    return subprocess.Popen(
        [sys.executable, str(ROOT / "run_bot.py"), "run"],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def _stop(proc: subprocess.Popen) -> str:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            return proc.communicate(timeout=20)[1]
        except subprocess.TimeoutExpired:
            proc.kill()
    return proc.communicate()[1] if proc.stderr and not proc.stderr.closed else ""


def _received(sim) -> Counter:
    """Reminders that reached each person: reminder cards delivered to their 1:1 chat (the default), or
    batchSend messages minus the flow-controlled users."""
    got: Counter = Counter()
    for r in sim.records:
        if r.kind == "card_deliver" and "上报培训计划" in sim.read_text(r):
            got[r.conversation_id.removeprefix("cid-p2p-")] += 1
        elif r.kind == "oto_send" and "上报培训计划" in sim.text_of(r):
            flow = (r.response or {}).get("flowControlledStaffIdList", [])
            got.update(u for u in r.payload["userIds"] if u not in flow)
    return got


def _wait(pred, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


async def test_kill_9_mid_fan_out_then_restart_sends_each_person_once(sim, tmp_path):
    today = datetime.now(SHANGHAI).date()
    path = tmp_path / "bot.sqlite3"
    url = f"sqlite+aiosqlite:///{path}"
    await upgrade(url)
    db = Database(url)
    people = await seed_fanout(db, 700, today=today, sim=sim)
    await db.dispose()
    holidays = holiday_dir_making_today_a_workday(tmp_path, today)

    def sent_rows() -> int:
        with sqlite3.connect(path, timeout=5) as conn:
            return int(
                conn.execute("SELECT count(*) FROM outbox WHERE status='sent' AND purpose='reminder'").fetchone()[0]
            )

    def calls() -> int:  # one createAndDeliver per card (recorded as one card_create)
        return sum(1 for r in sim.records if r.kind == "card_create" and "上报培训计划" in sim.read_text(r))

    first = _spawn(sim, tmp_path, url, holidays, DINGTALK_QPS="5")
    try:
        # Mid fan-out, at a moment when every call DingTalk saw is also marked sent: kill -9.
        await asyncio.to_thread(_wait, lambda: 8 <= calls() == sent_rows(), 60, "the fan-out to be under way")
        first.send_signal(signal.SIGKILL)
        first.wait(10)
    finally:
        if first.poll() is None:
            first.kill()
    before = sum(_received(sim).values())
    assert 0 < before < 700
    second = _spawn(sim, tmp_path, url, holidays)
    try:
        await asyncio.to_thread(_wait, lambda: len(_received(sim)) >= 700, 90, "every person to be reached")
    finally:
        err = _stop(second)
    got = _received(sim)
    assert set(got) == set(people)
    assert [u for u, n in got.items() if n != 1] == [], "duplicates"
    assert "Traceback" not in err, err[-2000:]


async def test_two_processes_on_postgresql_one_runs_jobs_and_the_other_takes_over(sim, tmp_path, pg_url):
    url = pg_url
    procs: list[subprocess.Popen] = []
    try:
        today = datetime.now(SHANGHAI).date()
        db = Database(url)
        people = await seed_fanout(db, 60, today=today, prefix="p", sim=sim)
        holidays = holiday_dir_making_today_a_workday(tmp_path, today)
        procs = [_spawn(sim, tmp_path, url, holidays), _spawn(sim, tmp_path, url, holidays)]
        await asyncio.to_thread(_wait, lambda: len(_received(sim)) >= 60, 60, "every person to be reached")

        async def holder() -> str:
            async with db.unit_of_work() as uow:
                from sqlalchemy import text

                return str(
                    await uow.session.scalar(
                        text(
                            "SELECT holder FROM scheduler_leases WHERE name='scheduler' "
                            "AND expires_at > now() at time zone 'utc'"
                        )
                    )
                    or ""
                )

        async def unsent() -> int:
            async with db.unit_of_work() as uow:
                from sqlalchemy import text

                return int(
                    await uow.session.scalar(text("SELECT count(*) FROM outbox WHERE status IN ('pending', 'sending')"))
                    or 0
                )

        # kill -9 once DingTalk's answers are written (a kill between a send and its commit is the one
        # window where a message may go twice: see docs/reminders.md).
        while await unsent():  # another process's rows: nothing to await but the database  # noqa: ASYNC110
            await asyncio.sleep(0.05)
        leader_pid = int((await holder()).split(":")[1])
        leader = next(p for p in procs if p.pid == leader_pid)
        other = next(p for p in procs if p is not leader)
        leader.send_signal(signal.SIGKILL)
        leader.wait(10)
        started = time.monotonic()
        while f":{other.pid}:" not in await holder():
            assert time.monotonic() - started < 60, "no takeover within 60 s"
            await asyncio.sleep(0.2)
        assert set(_received(sim)) == set(people) and set(_received(sim).values()) == {1}
        await db.dispose()
    finally:
        for p in procs:
            _stop(p)


async def test_two_processes_on_postgresql_keep_to_one_rate_together(sim, tmp_path, pg_url):
    """DingTalk's 20 calls a second per API hold for the organisation: with two bot processes on one
    PostgreSQL only the scheduler-lease holder's outbox worker sends, so together they never exceed it."""
    from sqlalchemy import func, select

    from storage.models.core import OutboxMessage

    url = pg_url
    procs: list[subprocess.Popen] = []
    sim.rate_limit = 20
    try:
        db = Database(url)
        now = datetime.now(SHANGHAI)
        async with db.unit_of_work() as uow:  # 120 different messages: one batchSend each
            for i in range(120):
                await uow.outbox.enqueue(
                    kind="users",
                    user_ids=[f"q{i:03d}"],
                    msg_key="sampleMarkdown",
                    msg_param={"title": "通知", "text": f"第 {i} 条通知"},
                    now=now,
                    purpose="test",
                )
        holidays = holiday_dir_making_today_a_workday(tmp_path, now.date())
        procs = [_spawn(sim, tmp_path, url, holidays), _spawn(sim, tmp_path, url, holidays)]

        async def unsent() -> int:
            async with db.unit_of_work() as uow:
                q = select(func.count()).select_from(OutboxMessage).where(OutboxMessage.status != "sent")
                return int(await uow.session.scalar(q) or 0)

        started = time.monotonic()
        while await unsent():  # another process's rows: nothing to await but the database
            assert time.monotonic() - started < 60, "not sent within 60 s"
            await asyncio.sleep(0.1)
        await db.dispose()
    finally:
        errors = [_stop(p) for p in procs]
    per_second = sim.calls_per_second()["oto"]
    assert sum(per_second.values()) == 120 and max(per_second.values()) <= 20, per_second
    assert not [r for r in sim.records if r.kind == "rejected"]  # no QpsLimit answer at all
    assert all("Traceback" not in e for e in errors), errors
