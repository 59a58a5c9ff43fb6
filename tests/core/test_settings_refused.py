"""Every bad setting is refused before anything is touched: the real ``run_bot.py`` prints one line
naming the setting and exits with code 2, before migrations run or connections open."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from bot.config import check_setup, load_settings

ROOT = Path(__file__).resolve().parents[2]
REGIONS = ROOT / "domain" / "data" / "zhejiang_regions.yaml"


def _cases(tmp: Path) -> list[tuple[dict[str, str], str, str]]:
    """(environment, setting named in the line, a word of the reason)."""
    regular = tmp / "a-file"
    regular.write_text("x")
    bad_quota = tmp / "bad-quota.yaml"
    bad_quota.write_text("quotas:\n  county: {reviewer: 9-3}\n", encoding="utf-8")
    no_regions = tmp / "no-regions.yaml"
    no_regions.write_text("regions: nowhere.yaml\n", encoding="utf-8")
    bad_regions = tmp / "bad-regions.yaml"
    (tmp / "regions.yaml").write_text("浙江省: [1, 2\n", encoding="utf-8")
    bad_regions.write_text("regions: regions.yaml\n", encoding="utf-8")
    unknown_key = tmp / "unknown.yaml"
    unknown_key.write_text(f"regions: {REGIONS}\nquota: {{}}\n", encoding="utf-8")
    db = f"sqlite+aiosqlite:///{tmp / 'never' / 'bot.sqlite3'}"
    return [
        ({"ROSTER_CONFIG": str(tmp / "missing.yaml"), "DATABASE_URL": db}, "ROSTER_CONFIG", "cannot read"),
        ({"ROSTER_CONFIG": str(bad_quota), "DATABASE_URL": db}, "ROSTER_CONFIG", "quotas"),
        ({"ROSTER_CONFIG": str(no_regions), "DATABASE_URL": db}, "ROSTER_CONFIG", "nowhere.yaml"),
        ({"ROSTER_CONFIG": str(bad_regions), "DATABASE_URL": db}, "ROSTER_CONFIG", "regions.yaml"),
        ({"ROSTER_CONFIG": str(unknown_key), "DATABASE_URL": db}, "ROSTER_CONFIG", "quota"),
        ({"DATABASE_URL": f"sqlite+aiosqlite:///{regular}/bot.db"}, "DATABASE_URL", "is a file"),
        ({"DATABASE_URL": "sqlite+aiosqlite:///"}, "DATABASE_URL", "file path"),
        ({"DATABASE_URL": "sqlite+aiosqlite:///:memory:"}, "DATABASE_URL", "in-memory"),
        ({"DATABASE_URL": f"sqlite+aiosqlite:///{tmp}"}, "DATABASE_URL", "directory"),
        ({"DATABASE_URL": "postgresql+asyncpg://postgres@127.0.0.1:5432"}, "DATABASE_URL", "name the database"),
        ({"DATABASE_URL": "postgresql+asyncpg://postgres@127.0.0.1:5432:7/x"}, "DATABASE_URL", "URL"),
        ({"DATABASE_URL": "mysql://x/y"}, "DATABASE_URL", "must be"),
        ({"BOT_DATA_DIR": str(regular), "DATABASE_URL": ""}, "BOT_DATA_DIR", "is a file"),
        ({"BOT_LOG_LEVEL": "LOUD", "DATABASE_URL": db}, "BOT_LOG_LEVEL", "WARNING"),
        ({"ACTIVITY_MAX_BYTES": "0", "DATABASE_URL": db}, "ACTIVITY_MAX_BYTES", "> 0"),
        ({"BOT_DIALOGUE_MINUTES": "-5", "DATABASE_URL": db}, "BOT_DIALOGUE_MINUTES", "> 0"),
        ({"BOT_PUBLIC_URL": "bot.example.cn", "DATABASE_URL": db}, "BOT_PUBLIC_URL", "http"),
        ({"BOT_HTTP_PORT": "70000", "DATABASE_URL": db}, "BOT_HTTP_PORT", "65535"),
    ]


def test_each_bad_setting_is_one_line_naming_it(tmp_path, monkeypatch):
    from bot.config import ConfigError

    for env, setting, word in _cases(tmp_path):
        with monkeypatch.context() as m:
            for k, v in env.items():
                m.setenv(k, v)
            try:
                check_setup(load_settings())
            except ConfigError as exc:
                line = str(exc)
            else:
                raise AssertionError(f"{env} accepted")
        assert setting in line and word in line and "\n" not in line, (env, line)
    assert not (tmp_path / "never").exists()


# The cases of the issue (and a few more) through the real entry point, in parallel.
ENTRY_POINT_CASES = (0, 1, 5, 6, 12, 14)


def test_bad_settings_refused_by_the_real_entry_point(tmp_path):
    base = {k: v for k, v in os.environ.items() if not k.startswith(("DINGTALK_", "BOT_", "ROSTER_", "DATABASE_"))}
    base["BOT_DATA_DIR"] = str(tmp_path / "data")
    procs = []
    cases = _cases(tmp_path)
    for env, setting, word in (cases[i] for i in ENTRY_POINT_CASES):
        p = subprocess.Popen(
            [sys.executable, str(ROOT / "run_bot.py"), "run"],
            env={**base, **env},
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        procs.append((p, setting, word))
    for p, setting, word in procs:
        out, err = p.communicate(timeout=120)
        lines = [line for line in err.splitlines() if line.strip()]
        assert p.returncode == 2, (setting, err[-1500:])
        assert len(lines) == 1 and setting in lines[0] and word in lines[0], (setting, word, err)
        assert "Traceback" not in err and "Unclosed" not in err and not out.strip()
    # Nothing was touched: no database file, no data directory.
    assert not (tmp_path / "never").exists() and not (tmp_path / "data").exists()


def test_good_settings_pass_the_check(tmp_path):
    cfg = tmp_path / "roster.yaml"
    cfg.write_text(f"regions: {REGIONS}\nquotas:\n  county: {{reviewer: 3-9}}\n", encoding="utf-8")
    check_setup(
        load_settings(
            database_url=f"sqlite+aiosqlite:///{tmp_path / 'new' / 'dir' / 'bot.sqlite3'}", roster_config=str(cfg)
        )
    )
    check_setup(load_settings(database_url="postgresql+asyncpg://postgres@127.0.0.1:5432/test"))
    assert not (tmp_path / "new").exists()
