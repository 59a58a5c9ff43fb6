"""The real entry point as a process: it connects to (fake) DingTalk through the SDK,
answers, and shuts down cleanly on SIGTERM and on SIGINT (Ctrl+C)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_run_bot_answers_and_stops_cleanly(sim, tmp_path, sig):
    env = dict(
        os.environ,
        DINGTALK_CLIENT_ID=sim.client_id,
        DINGTALK_CLIENT_SECRET=sim.client_secret,
        DINGTALK_OPENAPI_ENDPOINT=sim.base_url,
        BOT_HTTP_PORT="0",
        BOT_DATA_DIR=str(tmp_path),
        DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'bot.sqlite3'}",
        BOT_SUPERADMINS="op-zj-001",
        NO_PROXY="127.0.0.1,localhost",
    )
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "run_bot.py"), "run"],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        sim.wait_connected(30)
        msg_id = sim.send_message("/绑定 管理员群", user="op-zj-001", conversation="cid-admin-group")
        assert "已把本群" in sim.text_of(sim.wait_reply(msg_id, 15))
        proc.send_signal(sig)
        out, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err[-2000:]
    assert "stopping" in out and "Traceback" not in err, err[-2000:]
