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

Targets: bot throughput >= 50% of the echo bot's; p99 <= 100 ms at 50/s; idle RSS < 150 MB.
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


def start_target(kind: str, sim, workdir: Path, profile: str | None = None) -> subprocess.Popen:
    env = dict(os.environ, NO_PROXY="127.0.0.1,localhost", DINGTALK_CLIENT_ID=sim.client_id,
               DINGTALK_CLIENT_SECRET=sim.client_secret, DINGTALK_OPENAPI_ENDPOINT=sim.base_url,
               BOT_HTTP_PORT="0", BOT_DATA_DIR=str(workdir / "var"), BOT_LOG_LEVEL="WARNING",
               DATABASE_URL=f"sqlite+aiosqlite:///{workdir / 'bench.sqlite3'}", BOT_SUPERADMINS="op-zj-001")
    if kind == "bot":
        cmd = [sys.executable, str(ROOT / "run_bot.py"), "run"]
        if profile:     # cProfile of the bot's main thread (the event loop), written when it stops
            cmd[1:1] = ["-m", "cProfile", "-o", profile]
    else:
        cmd = [sys.executable, "-c", (
            f"import sys, threading; sys.path.insert(0, {str(ROOT)!r})\n"
            "from simulator.echo_bot import EchoBot\n"
            f"b = EchoBot(); b.run_in_thread({sim.base_url!r}, {sim.client_id!r}, {sim.client_secret!r})\n"
            "threading.Event().wait()\n")]
    return subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


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
        user = self.users[i % len(self.users)]
        t0 = time.time()
        msg_id = self.sim.send_message(self.text, user=user, conversation=self.conv)
        try:
            rec = self.sim.wait_reply(msg_id, timeout)
        except TimeoutError:
            with self.lock:
                self.errors += 1
            return
        with self.lock:
            self.latencies.append(max(0.0, rec.at - t0))
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
            load.one(0, timeout=30)                       # warm-up (first DB connection, templates)
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
            return {"throughput": throughput, "p50": pct(lat, 50), "p99": pct(lat, 99), "n": len(lat),
                    "errors": load.errors + closed_errors, "idle_rss": idle, "peak_rss": peak, "cpu_ms": cpu_ms,
                    "gateway_ms": gateway_ms}
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


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--users", type=int, default=20, help="concurrent users in the closed loop")
    ap.add_argument("--seconds", type=float, default=10.0, help="duration of each phase")
    ap.add_argument("--rate", type=float, default=50.0, help="commands/s of the open-loop phase")
    ap.add_argument("--profile", metavar="FILE", help="write a cProfile of the bot process to FILE")
    args = ap.parse_args()
    echo = measure("echo", args)
    bot = measure("bot", args)
    ratio = bot["throughput"] / echo["throughput"] if echo["throughput"] else float("nan")
    print(f"{'':10} {'cmd/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'n':>6} {'errors':>6} {'idle MB':>8} {'peak MB':>8}"
          f" {'CPU ms/cmd':>10} {'gateway CPU':>11}")
    for name, r in (("echo bot", echo), ("bot", bot)):
        print(f"{name:10} {r['throughput']:9.1f} {r['p50']:8.1f} {r['p99']:8.1f} {r['n']:6d} {r['errors']:6d} "
              f"{r['idle_rss']:8.1f} {r['peak_rss']:8.1f} {r['cpu_ms']:10.2f} {r['gateway_ms']:11.2f}")
    print(f"throughput ratio bot/echo: {ratio:.0%} (target >= 50%)")
    print(f"bot p99 at {args.rate:.0f} cmd/s: {bot['p99']:.1f} ms (target <= 100 ms); "
          f"echo p99 {echo['p99']:.1f} ms")
    print(f"bot idle RSS: {bot['idle_rss']:.1f} MB (target < 150 MB); echo idle RSS {echo['idle_rss']:.1f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
