#!/usr/bin/env python3
"""Dispatch benchmark: the bot against a no-op echo bot, same SDK, same fake gateway, same run.

Each target runs in its own process (as in production), connected through the
real dingtalk-stream SDK to the project's fake DingTalk server, which runs in
this process. Measured per command: frame pushed → reply received.

  1. closed loop: N concurrent users, each sends its next command when the
     previous one is answered → commands/s (throughput);
  2. open loop at a fixed rate (default 50 commands/s) → p50/p99 latency;
  3. resident memory of the idle bot (after start-up, before load).

"CPU ms/cmd" is the target process's CPU time per command in the closed loop; "gateway CPU" is
this process's (fake DingTalk + load threads) for the same commands.

  4. a realistic command mix (``--mix``, on by default): the demo province loaded (domain/demo.py:
     every city's roster, ~2,200 teachers, a term of activity), 50 simulated users in the three
     groups and their 1:1 chats: members asking their own /积分, operators asking /积分 of a random
     teacher and /名单 of a random county, /登记 writes (a trainer row for a random county), /日程
     and /帮助 — open loop at ``--rate`` per second → p50/p99 per command and overall; against
     SQLite and, with ``--pg URL``, PostgreSQL (a throwaway database on that server).

Targets: /帮助 throughput >= 70% of the echo bot's; the mix at 50/s with p99 <= 50 ms;
idle RSS < 100 MB.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    s = sorted(values)
    return s[min(len(s) - 1, round(p / 100 * (len(s) - 1)))]


def start_target(
    kind: str,
    sim,
    workdir: Path,
    profile: str | None = None,
    *,
    database_url: str | None = None,
    superadmins: str = "op-zj-001",
) -> subprocess.Popen:
    env = dict(
        os.environ,
        NO_PROXY="127.0.0.1,localhost",
        DINGTALK_CLIENT_ID=sim.client_id,
        DINGTALK_CLIENT_SECRET=sim.client_secret,
        DINGTALK_OPENAPI_ENDPOINT=sim.base_url,
        BOT_HTTP_PORT="0",
        BOT_DATA_DIR=str(workdir / "var"),
        BOT_LOG_LEVEL="WARNING",
        DATABASE_URL=database_url or f"sqlite+aiosqlite:///{workdir / 'bench.sqlite3'}",
        BOT_SUPERADMINS=superadmins,
    )
    if kind == "bot":
        cmd = [sys.executable, str(ROOT / "run_bot.py"), "run"]
        if profile:  # cProfile of the bot's main thread (the event loop), written when it stops
            cmd[1:1] = ["-m", "cProfile", "-o", profile]
    else:
        cmd = [
            sys.executable,
            "-c",
            (
                f"import sys, threading; sys.path.insert(0, {str(ROOT)!r})\n"
                "from simulator.echo_bot import EchoBot\n"
                f"b = EchoBot(); b.run_in_thread({sim.base_url!r}, {sim.client_id!r}, {sim.client_secret!r})\n"
                "threading.Event().wait()\n"
            ),
        ]
    return subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def answer_time(sim, text: str, user, conversation, timeout: float) -> float | None:
    """Seconds from the frame pushed to the reply received; None when no reply came in time."""
    t0 = time.time()
    msg_id = sim.send_message(text, user=user, conversation=conversation)
    try:
        rec = sim.wait_reply(msg_id, timeout)
    except TimeoutError:
        return None
    return max(0.0, rec.at - t0)


class Load:
    def __init__(self, sim, text: str, conversation_id: str):
        self.sim = sim
        self.text = text
        self.conv = sim.group(conversation_id)
        self.users = [u for u in sim.users if u.staff_id and not u.external]
        self.lock = threading.Lock()
        self.latencies: list[float] = []
        self.errors = 0
        self.done = 0

    def one(self, i: int, timeout: float = 10.0) -> None:
        seconds = answer_time(self.sim, self.text, self.users[i % len(self.users)], self.conv, timeout)
        with self.lock:
            if seconds is None:
                self.errors += 1
            else:
                self.latencies.append(seconds)
                self.done += 1

    def closed_loop(self, users: int, seconds: float) -> float:
        stop = time.monotonic() + seconds
        done = [0]

        def worker(k: int):
            n = 0
            while time.monotonic() < stop:
                self.one(k * 100000 + n)
                n += 1
            with self.lock:
                done[0] += n

        threads = [threading.Thread(target=worker, args=(k,)) for k in range(users)]
        t0 = time.monotonic()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return done[0] / (time.monotonic() - t0)

    def open_loop(self, rate: float, seconds: float) -> None:
        n = int(rate * seconds)
        t0 = time.monotonic()
        threads = []
        for i in range(n):
            delay = t0 + i / rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            t = threading.Thread(target=self.one, args=(i,))
            t.start()
            threads.append(t)
        for t in threads:
            t.join()


def measure(kind: str, args) -> dict:
    from simulator.server import FakeDingTalk

    sim = FakeDingTalk()
    sim.start_in_thread()
    with tempfile.TemporaryDirectory() as tmp:
        proc = start_target(kind, sim, Path(tmp), args.profile if kind == "bot" else None)
        try:
            sim.wait_connected(30)
            text = "/帮助" if kind == "bot" else "hello"
            load = Load(sim, text, "cid-admin-group")
            load.one(0, timeout=30)  # warm-up (first DB connection, templates)
            for i in range(20):
                load.one(i)
            time.sleep(1.0)
            idle = rss_mb(proc.pid)
            load.latencies.clear()
            cpu0, done0, own0 = cpu_seconds(proc.pid), load.done, cpu_seconds(os.getpid())
            throughput = load.closed_loop(args.users, args.seconds)
            cpu_ms = (cpu_seconds(proc.pid) - cpu0) * 1000 / max(1, load.done - done0)
            gateway_ms = (cpu_seconds(os.getpid()) - own0) * 1000 / max(1, load.done - done0)
            closed_errors = load.errors
            load.latencies.clear()
            load.errors = 0
            load.open_loop(args.rate, args.seconds)
            lat = [x * 1000 for x in load.latencies]
            peak = rss_mb(proc.pid)
            return {
                "throughput": throughput,
                "p50": pct(lat, 50),
                "p99": pct(lat, 99),
                "n": len(lat),
                "errors": load.errors + closed_errors,
                "idle_rss": idle,
                "peak_rss": peak,
                "cpu_ms": cpu_ms,
                "gateway_ms": gateway_ms,
            }
        finally:
            proc.terminate()
            try:
                _, err = proc.communicate(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                err = ""
            sim.stop()
            if proc.returncode not in (0, -15) and err:
                print(f"[{kind}] exited {proc.returncode}: {err[-2000:]}", file=sys.stderr)


# ── the realistic mix ────────────────────────────────────────────────────────────────────────

MIX = (("/积分", 0.30), ("/积分 T", 0.15), ("/名单", 0.20), ("/登记", 0.10), ("/日程", 0.10), ("/帮助", 0.15))
GROUPS = ("cid-admin-group", "cid-trainer-group", "cid-reviewer-group")


async def _seed_mix(database_url: str, workdir: Path) -> dict:
    """The demo province, 40 of its reviewers linked to simulated users, 10 operators granted cities."""
    from dataclasses import replace

    from bot.clock import SystemClock
    from bot.commands import Registry
    from bot.config import load_settings
    from bot.context import Services
    from bot.replies import Renderer
    from domain.roster import Role
    from domain.territory import Territory
    from handlers.demo import seed_demo
    from handlers.roster.common import regions
    from storage.db import Database
    from storage.migrate import upgrade
    from storage.repositories.roster import GrantRepository, RosterRepository

    settings = load_settings(database_url=database_url, bot_data_dir=str(workdir / "var"))
    await upgrade(database_url)
    clock = SystemClock(settings.tz)
    services = Services(settings=settings, clock=clock, renderer=Renderer(), registry=Registry())
    db = Database(database_url)
    try:
        await seed_demo(db, services, clock.now(), bind_groups=True)
        tree = regions(services)
        members, operators, counties, teachers = [], [], [], []
        async with db.unit_of_work() as uow:
            repo = uow.repo(RosterRepository)
            reviewers = [m for m in await repo.in_territory(Territory(tree.province)) if m.role is Role.REVIEWER]
            for i, m in enumerate(reviewers[:40]):
                uid = f"mix-m-{i:02d}"
                await repo.save(replace(m, user_id=uid), now=clock.now())
                members.append((uid, m.name))
            grants = uow.repo(GrantRepository)
            for i, city in enumerate(tree.cities[:9]):
                uid = f"mix-op-{i:02d}"
                await grants.grant(
                    uid, f"{city.stem}运营员", Territory(tree.province, city.name), by="bench", now=clock.now()
                )
                operators.append((uid, f"{city.stem}运营员", city.name))
            counties = [(c.name, k.name) for c in tree.cities for k in tree.counties_of(c.name)]
            teachers = [r.account for r in reviewers[40:400]]
    finally:
        await db.dispose()
    return {"members": members, "operators": operators, "counties": counties, "teachers": teachers}


class MixLoad:
    """Open-loop load of the command mix; latencies per command kind."""

    def __init__(self, sim, plan: dict, seed: int = 7):
        import random

        self.sim = sim
        self.rng = random.Random(seed)
        self.plan = plan
        self.lock = threading.Lock()
        self.latencies: dict[str, list[float]] = {k: [] for k, _ in MIX}
        self.errors = 0
        self.n = 0

    def pick(self) -> tuple[str, str, str, str]:
        """(kind, text, user, conversation)."""
        rng, plan = self.rng, self.plan
        kinds, weights = zip(*MIX, strict=True)
        kind = rng.choices(kinds, weights)[0]
        op_id, _op_name, city = rng.choice(plan["operators"]) if rng.random() < 0.8 else ("op-zj-001", "", "")
        member_id = rng.choice(plan["members"])[0]
        group = rng.choice(GROUPS)
        if kind == "/积分":
            return kind, "/积分", member_id, rng.choice((group, "p2p"))
        if kind == "/积分 T":
            return kind, f"/积分 {rng.choice(plan['teachers'])}", "op-zj-001", "p2p"
        if kind == "/名单":
            _c, k = rng.choice([x for x in plan["counties"] if not city or x[0] == city])
            return kind, f"/名单 {k}", op_id, rng.choice((group, "p2p"))
        if kind == "/登记":
            _c, k = rng.choice([x for x in plan["counties"] if not city or x[0] == city])
            self.n += 1
            # A valid row (a name has no digits: 测试甲乙…), so /登记 measures a write, not a rejection.
            name = "测试" + "".join("甲乙丙丁戊己庚辛壬癸"[int(c)] for c in str(self.n))
            # A reviewer (3–5 a county; the demo leaves a seat free in most counties), so most rows are
            # stored; once a county is full the answer is the quota message (still read, validate, reply).
            row = (
                f"/登记 县={k} 姓名={name} 学段=小学 学科=数学 学校=测试小学 账号=Bench{self.n:05d} "
                f"手机=136{self.n:08d} 职称/职务=一级教师 教师类型=其他"
            )
            return kind, row, op_id, "cid-reviewer-group"
        return kind, kind, rng.choice((member_id, op_id)), group

    def one(self, kind: str, text: str, user: str, conversation: str, timeout: float = 15.0) -> None:
        conv = self.sim.private(user) if conversation == "p2p" else self.sim.group(conversation)
        seconds = answer_time(self.sim, text, user, conv, timeout)
        with self.lock:
            if seconds is None:
                self.errors += 1
            else:
                self.latencies[kind].append(seconds * 1000)

    def open_loop(self, rate: float, seconds: float) -> None:
        n = int(rate * seconds)
        jobs = [self.pick() for _ in range(n)]
        t0 = time.monotonic()
        threads = []
        for i, job in enumerate(jobs):
            delay = t0 + i / rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            t = threading.Thread(target=self.one, args=job)
            t.start()
            threads.append(t)
        for t in threads:
            t.join()


def measure_mix(args, database_url: str | None, label: str) -> dict:
    import asyncio

    from simulator.server import DEFAULT_USERS, FakeDingTalk, SimUser

    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        url = database_url or f"sqlite+aiosqlite:///{workdir / 'mix.sqlite3'}"
        t0 = time.monotonic()
        plan = asyncio.run(_seed_mix(url, workdir))
        seeded = time.monotonic() - t0
        users = [
            *DEFAULT_USERS,
            *(SimUser(uid, name, org="审核员") for uid, name in plan["members"]),
            *(SimUser(uid, name, org=city) for uid, name, city in plan["operators"]),
        ]
        sim = FakeDingTalk(users=users)
        sim.start_in_thread()
        profile = f"{args.profile}-{label}" if args.profile else None
        proc = start_target("bot", sim, workdir, profile, database_url=url)
        try:
            sim.wait_connected(30)
            load = MixLoad(sim, plan)
            for _ in range(30):  # warm-up: every kind once or more
                load.one(*load.pick(), timeout=30)
            for v in load.latencies.values():
                v.clear()
            per_kind = _per_kind(load, proc.pid, args.per_kind) if args.per_kind else {}
            load.errors = 0
            cpu0, own0 = cpu_seconds(proc.pid), cpu_seconds(os.getpid())
            spy = _spy(proc.pid, f"{args.spy}-{label}.txt", args.seconds) if args.spy else None
            load.open_loop(args.rate, args.seconds)
            if spy is not None:
                spy.wait(timeout=60)
            n = max(1, sum(len(v) for v in load.latencies.values()))
            return {
                "label": label,
                "per_kind": per_kind,
                "seeded_s": seeded,
                "latencies": load.latencies,
                "errors": load.errors,
                "rss": rss_mb(proc.pid),
                "cpu_ms": (cpu_seconds(proc.pid) - cpu0) * 1000 / n,
                "gateway_ms": (cpu_seconds(os.getpid()) - own0) * 1000 / n,
            }
        finally:
            proc.terminate()
            try:
                proc.communicate(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
            sim.stop()


def _per_kind(load: MixLoad, pid: int, n: int) -> dict[str, tuple[float, float]]:
    """Each kind alone, one command at a time: bot CPU ms per command and the median latency."""
    out = {}
    for kind, _w in MIX:
        jobs = []
        while len(jobs) < n:
            job = load.pick()
            if job[0] == kind:
                jobs.append(job)
        cpu0 = cpu_seconds(pid)
        for job in jobs:
            load.one(*job)
        cpu = (cpu_seconds(pid) - cpu0) * 1000 / n
        out[kind] = (cpu, pct(load.latencies[kind], 50))
        load.latencies[kind].clear()
    return out


def _spy(pid: int, path: str, seconds: float) -> subprocess.Popen:
    """py-spy (pip install py-spy) sampling every thread of the bot for ``seconds``: collapsed stacks in ``path``."""
    cmd = ["py-spy", "record", "--pid", str(pid), "--format", "raw", "--rate", "200", "--nonblocking", "--gil"]
    cmd += ["--duration", str(max(1, round(seconds))), "-o", path]
    return subprocess.Popen(cmd, stdout=subprocess.DEVNULL)


def print_mix(r: dict, rate: float, echo: dict) -> None:
    every = [x for v in r["latencies"].values() for x in v]
    print(
        f"\nmix on {r['label']} at {rate:.0f} cmd/s (province seeded in {r['seeded_s']:.1f} s, "
        f"bot RSS after {r['rss']:.1f} MB):"
    )
    alone = r["per_kind"]
    print(f"  {'command':10} {'n':>5} {'p50 ms':>8} {'p99 ms':>8}" + ("   alone: CPU ms  p50 ms" if alone else ""))
    for kind, _w in MIX:
        v = r["latencies"][kind]
        extra = f"   {alone[kind][0]:13.2f} {alone[kind][1]:7.1f}" if kind in alone else ""
        print(f"  {kind:10} {len(v):5d} {pct(v, 50):8.1f} {pct(v, 99):8.1f}{extra}")
    p99 = pct(every, 99)
    print(
        f"  {'all':10} {len(every):5d} {pct(every, 50):8.1f} {p99:8.1f}   errors {r['errors']}   "
        f"[target p99 <= 50 ms: {'ok' if p99 <= 50 and not r['errors'] else 'MISSED'}]"
    )
    print(f"  {'echo bot':10} {echo['n']:5d} {echo['p50']:8.1f} {echo['p99']:8.1f}   (same SDK and gateway, no work)")
    print(
        f"  bot CPU {r['cpu_ms']:.2f} ms/cmd (all its threads), gateway+load CPU {r['gateway_ms']:.2f} ms/cmd; "
        f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
    )


def print_help_bench(args, echo: dict) -> None:
    bot = measure("bot", args)
    ratio = bot["throughput"] / echo["throughput"] if echo["throughput"] else float("nan")
    print(
        f"{'':10} {'cmd/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'n':>6} {'errors':>6} {'idle MB':>8} {'peak MB':>8}"
        f" {'CPU ms/cmd':>10} {'gateway CPU':>11}"
    )
    for name, r in (("echo bot", echo), ("bot", bot)):
        print(
            f"{name:10} {r['throughput']:9.1f} {r['p50']:8.1f} {r['p99']:8.1f} {r['n']:6d} {r['errors']:6d} "
            f"{r['idle_rss']:8.1f} {r['peak_rss']:8.1f} {r['cpu_ms']:10.2f} {r['gateway_ms']:11.2f}"
        )
    print(f"/帮助 throughput ratio bot/echo: {ratio:.0%} (target >= 70%); load average {os.getloadavg()[0]:.1f}")
    print(f"bot p99 at {args.rate:.0f} cmd/s: {bot['p99']:.1f} ms (target <= 100 ms); echo p99 {echo['p99']:.1f} ms")
    print(f"bot idle RSS: {bot['idle_rss']:.1f} MB (target < 100 MB); echo idle RSS {echo['idle_rss']:.1f} MB")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--users", type=int, default=20, help="concurrent users in the closed loop")
    ap.add_argument("--seconds", type=float, default=10.0, help="duration of each phase")
    ap.add_argument("--rate", type=float, default=50.0, help="commands/s of the open-loop phase")
    ap.add_argument("--profile", metavar="FILE", help="write a cProfile of the bot process to FILE")
    ap.add_argument("--no-mix", action="store_true", help="skip the realistic command mix")
    ap.add_argument(
        "--per-kind", type=int, default=0, metavar="N", help="before the mix: N of each kind alone (CPU per command)"
    )
    ap.add_argument("--mix-only", action="store_true", help="only the realistic command mix")
    ap.add_argument("--spy", metavar="PREFIX", help="py-spy the bot during the mix: PREFIX-<database>.txt")
    ap.add_argument(
        "--pg",
        metavar="URL",
        nargs="?",
        const="postgresql+asyncpg://postgres@127.0.0.1:5432/test",
        help="also run the mix on PostgreSQL (a throwaway database on that server)",
    )
    args = ap.parse_args()
    echo = measure("echo", args)  # the ceiling of this run: the same SDK, gateway and load, no work
    if not args.mix_only:
        print_help_bench(args, echo)
    if not args.no_mix:
        print_mix(measure_mix(args, None, "SQLite"), args.rate, echo)
        if args.pg:
            import asyncio

            from bench.throwaway import create_pg, drop_pg

            name, url = asyncio.run(create_pg(args.pg, "mix_bench"))
            try:
                print_mix(measure_mix(args, url, "PostgreSQL"), args.rate, echo)
            finally:
                asyncio.run(drop_pg(args.pg, name))
    return 0


if __name__ == "__main__":
    sys.exit(main())
