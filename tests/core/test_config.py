"""Configuration: environment, TOML file, one clear line and exit code 2 on a bad value."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.config import ConfigError, load_settings

ROOT = Path(__file__).resolve().parents[2]


def test_defaults_and_environment(monkeypatch, tmp_path):
    for k in list(os.environ):
        if k.startswith(("DINGTALK_", "BOT_", "DATABASE_URL")):
            monkeypatch.delenv(k)
    s = load_settings()
    assert s.simulator_mode and s.bot_timezone == "Asia/Shanghai" and s.bot_watchdog_seconds == 120
    assert s.resolved_database_url.startswith("sqlite+aiosqlite:///") and s.resolved_database_url.endswith(
        "var/bot.sqlite3"
    )
    monkeypatch.setenv("DINGTALK_CLIENT_ID", "dingabc")
    monkeypatch.setenv("DINGTALK_CLIENT_SECRET", "sec")
    monkeypatch.setenv("BOT_SUPERADMINS", "a1, b2，c3")
    monkeypatch.setenv("DINGTALK_OPENAPI_ENDPOINT", "http://127.0.0.1:9/")
    s = load_settings()
    assert not s.simulator_mode and s.robot_code == "dingabc" and s.bot_superadmins == ["a1", "b2", "c3"]
    assert s.dingtalk_openapi_endpoint == "http://127.0.0.1:9"


def test_toml_file_and_precedence(monkeypatch, tmp_path):
    f = tmp_path / "bot.toml"
    f.write_text('bot_http_port = 9001\nbot_timezone = "Asia/Urumqi"\nroster_auto_approve = true\n')
    monkeypatch.setenv("BOT_CONFIG_FILE", str(f))
    monkeypatch.setenv("BOT_TIMEZONE", "Asia/Shanghai")
    s = load_settings()
    assert s.bot_http_port == 9001 and s.roster_auto_approve is True
    assert s.bot_timezone == "Asia/Shanghai"  # the environment wins over the file


@pytest.mark.parametrize(
    ("name", "value", "needle"),
    [
        ("BOT_HTTP_PORT", "eighty", "BOT_HTTP_PORT"),
        ("BOT_TIMEZONE", "Mars/Base", "BOT_TIMEZONE"),
        ("DATABASE_URL", "mysql://x", "DATABASE_URL"),
        ("DINGTALK_OPENAPI_ENDPOINT", "api.dingtalk.com", "DINGTALK_OPENAPI_ENDPOINT"),
        ("BOT_WATCHDOG_SECONDS", "-1", "BOT_WATCHDOG_SECONDS"),
    ],
)
def test_bad_setting_is_one_line(monkeypatch, name, value, needle):
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as e:
        load_settings()
    assert needle in str(e.value) and "\n" not in str(e.value)


def test_bad_setting_stops_start_up_with_exit_code_2(tmp_path):
    env = dict(os.environ, BOT_HTTP_PORT="eighty", BOT_DATA_DIR=str(tmp_path))
    proc = subprocess.run(
        [sys.executable, str(ROOT / "run_bot.py")], env=env, capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 2
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "BOT_HTTP_PORT" in lines[0], proc.stderr
