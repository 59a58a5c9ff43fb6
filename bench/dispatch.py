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

     (The mix lives in bench/dispatch_mix.py, the process helpers in bench/targets.py.)

Every measurement runs ``--runs`` times (default 3) and the median is reported: on a shared machine
one run says little. Steps 1–3 run as pairs, the echo bot then the bot, and the throughput ratio is
each pair's own; the mix reports each run's p50/p99 and the median run's table.

Targets: /帮助 throughput >= 70% of the echo bot's; the mix at 50/s with p99 <= 50 ms;
idle RSS < 100 MB.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.dispatch_mix import measure_mix, print_mix  # noqa: E402  (after the path)
from bench.targets import answer_time, cpu_seconds, pct, rss_mb, start_target  # noqa: E402


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
                "load": os.getloadavg()[0],
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


def print_help_bench(args, pairs: list[tuple[dict, dict]]) -> None:
    """Each run's echo and bot rows, then the medians (the ratio is each run's own, bot against the echo
    bot measured just before it, so load from elsewhere hits both alike)."""
    print(
        f"{'':14} {'cmd/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'n':>6} {'errors':>6} {'idle MB':>8} {'peak MB':>8}"
        f" {'CPU ms/cmd':>10} {'gateway CPU':>11}"
    )
    ratios = []
    for i, (echo, bot) in enumerate(pairs, 1):
        ratios.append(bot["throughput"] / echo["throughput"] if echo["throughput"] else float("nan"))
        for name, r in ((f"{i}: echo bot", echo), (f"{i}: bot", bot)):
            print(
                f"{name:14} {r['throughput']:9.1f} {r['p50']:8.1f} {r['p99']:8.1f} {r['n']:6d} {r['errors']:6d} "
                f"{r['idle_rss']:8.1f} {r['peak_rss']:8.1f} {r['cpu_ms']:10.2f} {r['gateway_ms']:11.2f}"
                + (f"   ratio {ratios[-1]:.0%}, load average {r['load']:.1f}" if r is bot else "")
            )

    def median(who: int, key: str) -> float:
        return statistics.median(p[who][key] for p in pairs)

    print(
        f"median of {len(pairs)} run(s): echo {median(0, 'throughput'):.0f} cmd/s at {median(0, 'cpu_ms'):.2f} ms "
        f"CPU/cmd, bot {median(1, 'throughput'):.0f} cmd/s at {median(1, 'cpu_ms'):.2f} ms CPU/cmd"
    )
    print(f"/帮助 throughput ratio bot/echo: {statistics.median(ratios):.0%} (target >= 70%)")
    p99 = median(1, "p99")
    print(f"bot p99 at {args.rate:.0f} cmd/s: {p99:.1f} ms (target <= 100 ms); echo p99 {median(0, 'p99'):.1f} ms")
    print(
        f"bot idle RSS: {median(1, 'idle_rss'):.1f} MB (target < 100 MB); echo idle RSS {median(0, 'idle_rss'):.1f} MB"
    )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=3, help="runs of each measurement; the median is reported")
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
    runs = max(1, args.runs)
    if args.mix_only:
        pairs = [(measure("echo", args), {})]  # the echo bot's latency: the mix's floor
    else:  # the echo bot is the ceiling of each run: the same SDK, gateway and load, no work
        pairs = [(measure("echo", args), measure("bot", args)) for _ in range(runs)]
        print_help_bench(args, pairs)
    echo = pairs[len(pairs) // 2][0]
    if not args.no_mix:
        print_mix([measure_mix(args, None, "SQLite") for _ in range(runs)], args.rate, echo)
        if args.pg:
            import asyncio

            from bench.throwaway import create_pg, drop_pg

            results = []
            for _ in range(runs):
                name, url = asyncio.run(create_pg(args.pg, "mix_bench"))
                try:
                    results.append(measure_mix(args, url, "PostgreSQL"))
                finally:
                    asyncio.run(drop_pg(args.pg, name))
            print_mix(results, args.rate, echo)
    return 0


if __name__ == "__main__":
    sys.exit(main())
