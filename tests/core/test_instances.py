"""Several instances on one PostgreSQL: three real bot processes, one database, one fake DingTalk that
spreads frames over their connections. A burst of /登记 (half of them with an expired webhook, so
their replies go through the shared outbox), one instance killed with SIGKILL in the middle; the
others take over its stored messages and held replies. Every registration exists once, every
message is answered once (an extra copy only when proven inside the kill's unavoidable window)."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
from collections import Counter

from tests.core.procs import (
    REPLY_KINDS,
    ROOT,
    Tally,
    bot_env,
    outbox_snapshot,
    registrations,
)
from tests.core.test_crash import NAME, _settled, person

BURST = 30


def test_three_instances_one_killed_mid_burst(sim, pg_url, tmp_path):
    sim.spread = True
    before = sim.connections
    procs = []
    for n in range(3):
        work = tmp_path / f"i{n}"
        work.mkdir()
        log = open(work / "bot.log", "w")
        procs.append(
            subprocess.Popen(
                [sys.executable, str(ROOT / "run_bot.py"), "run"],
                env=bot_env(sim, pg_url, work, BOT_HANDLER_TIMEOUT="5"),  # 3 s scheduler lease: procs.bot_env
                cwd=work,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        )
    try:
        sim.wait_for(lambda _r: sim.connections >= before + 3 and sim.bot_connected, 90)
        mid = sim.send_message("/绑定 审核员群", user="op-zj-001", conversation="cid-reviewer-group")
        assert "已把本群" in sim.text_of(sim.wait_reply(mid, 30))
        since = sim.last_seq
        names = {}
        for i in range(BURST):
            name, line = person(50, i)
            msg_id = f"multi-{i:02d}"
            names[msg_id] = name
            sim.send_message(
                line, user="op-zj-001", conversation="cid-reviewer-group", msg_id=msg_id, webhook_expired=i % 2 == 1
            )
        tally = Tally(sim, REPLY_KINDS, since=since)
        sim.wait_for(lambda _r: tally.update().count >= BURST // 3, 60)
        procs[0].send_signal(signal.SIGKILL)
        procs[0].wait()
        killed_seq = sim.last_seq
        unsent = asyncio.run(outbox_snapshot(pg_url))
        allowed: Counter[str] = Counter()
        for rec in sim.records:
            if rec.kind in REPLY_KINDS and since < rec.seq <= killed_seq:
                for n in set(NAME.findall(sim.text_of(rec))):
                    if any(names.get(m) == n for m in unsent):
                        allowed[n] += 1
        for msg_id in names:  # DingTalk pushes every message again (to the live instances)
            sim.send_message(
                "", user="op-zj-001", conversation="cid-reviewer-group", msg_id=msg_id, redeliver_same_message_id=True
            )
        answered = Tally(sim, REPLY_KINDS, since=since, names=NAME)
        sim.wait_for(lambda _r: set(answered.update().by_name) >= set(names.values()), 90)
        asyncio.run(_settled(pg_url))
    finally:
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in procs:
            p.wait(30)
    regs = asyncio.run(registrations(pg_url))
    assert all(regs[n] == 1 for n in names.values()), regs
    counts = Tally(sim, REPLY_KINDS, since=since, names=NAME).update().by_name
    extra = {n: counts[n] - 1 for n in names.values() if counts[n] != 1}
    assert all(c <= allowed[n] for n, c in extra.items()), (extra, allowed)
    # The live instances answered (each got some of the spread frames) and stopped cleanly.
    assert all(p.returncode == 0 for p in procs[1:])
    logs = "".join((tmp_path / f"i{n}" / "bot.log").read_text() for n in (1, 2))
    assert "Traceback" not in logs, logs[-3000:]
