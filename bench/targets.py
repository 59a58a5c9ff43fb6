"""The processes the dispatch benchmark measures (the bot, the no-op echo bot) and what it reads off them."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


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
