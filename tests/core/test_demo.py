"""The demo province: an empty database gets a plausible province; one with data is refused."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from handlers.demo import DEMO_ENABLED

ROOT = Path(__file__).resolve().parents[2]


async def test_demo_in_chat_fills_an_empty_database_and_refuses_a_second_time(
    start_bot, chat, database_url, monkeypatch
):
    import handlers.demo as demo

    original = demo.seed_demo

    async def small(db, services, now, *, bind_groups, teachers_per_county=20):
        return await original(db, services, now, bind_groups=bind_groups, teachers_per_county=2)

    monkeypatch.setattr(demo, "seed_demo", small)
    bot = await start_bot(database_url=database_url)
    refused = await chat.say("/演示数据", conversation="cid-p2p-op-zj-001")
    assert "只在本地模拟器里可用" in refused
    bot.services.provide(DEMO_ENABLED, True)
    assert "没有使用 /演示数据 的权限" in await chat.say("/演示数据", user="t-hz-001", conversation="cid-p2p-t-hz-001")
    started = await chat.say("/演示数据", conversation="cid-p2p-op-zj-001")
    assert "正在生成演示省份" in started  # acknowledged at once, the work follows
    done = await chat.private_to("op-zj-001", "演示省份已生成", timeout=90)
    assert "三个群已绑定" in done
    province = await chat.say("/名单 全省", conversation="cid-admin-group", timeout=20)
    assert "杭州市" in province and "丽水市" in province
    score = await chat.say("/积分", user="t-hz-001", conversation="cid-reviewer-group")
    assert "李明" in score and "空间登录" in score
    rank = await chat.say("/排行 全省", conversation="cid-admin-group")
    assert "杭州市" in rank
    hz = await chat.say("/名单", user="city-hz-001", conversation="cid-p2p-city-hz-001")
    assert "西湖区" in hz  # the simulator's Hangzhou operator holds the city
    again = await chat.say("/演示数据", conversation="cid-p2p-op-zj-001")
    assert "已有名单" in again


def test_demo_cli_refuses_a_database_with_data(tmp_path):
    env = dict(
        os.environ,
        DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'demo.sqlite3'}",
        BOT_DATA_DIR=str(tmp_path / "var"),
        DINGTALK_CLIENT_ID="",
        DINGTALK_CLIENT_SECRET="",
    )
    first = subprocess.run(
        [sys.executable, str(ROOT / "run_bot.py"), "demo", "--teachers-per-county", "1"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    assert first.returncode == 0, first.stderr
    assert "演示省份已生成" in first.stdout
    second = subprocess.run(
        [sys.executable, str(ROOT / "run_bot.py"), "demo"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )
    assert second.returncode == 2 and "未做任何改动" in second.stderr
