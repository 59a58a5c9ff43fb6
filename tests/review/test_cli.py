"""python3 run_bot.py reviews import|feedback|calls on a SQLite file (the CLI's own migrations)."""

from __future__ import annotations

import asyncio

import pytest
from openpyxl import Workbook
from sqlalchemy import select

from storage.models.core import AuditEntry
from storage.models.review import ReviewFeedback, ReviewResource

HEADER = [
    "外部编号",
    "资源名称",
    "资源类型",
    "类别",
    "学段",
    "学科",
    "教材版本",
    "章节",
    "链接",
    "征集活动",
    "提交人账号",
    "提交人",
    "学校",
    "县区",
    "设区市",
]
ROW = [
    "X1",
    "圆的认识",
    "微课",
    "课程教学",
    "小学",
    "数学",
    "人教版",
    "第五单元",
    "https://e.cn/x1",
    "2026年春季征集",
    "Sub01",
    "王小明",
    "上城小学",
    "上城区",
    "杭州市",
]
CALLS = """calls:
  - name: 2026年春季征集
    deadline: 2026-05-28
    categories: [课程教学]
    levels:
      - {pool: city, name: 市级初审, reviewers: 1, due_workdays: 5}
      - {pool: province, name: 省级评审, reviewers: 2, due_workdays: 5, auto_assign: true}
"""


@pytest.fixture
def db_url(tmp_path, monkeypatch) -> str:
    url = f"sqlite+aiosqlite:///{tmp_path / 'cli.sqlite3'}"
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("BOT_DATA_DIR", str(tmp_path / "var"))
    return url


def run(*argv: str) -> int:
    import argparse

    from handlers.review import register_cli

    parser = argparse.ArgumentParser(prog="run_bot.py")
    register_cli(parser.add_subparsers(dest="cmd"))
    args = parser.parse_args(list(argv))
    return asyncio.run(args.func(args))


def read(url: str, model) -> list:
    from storage.db import Database

    async def go():
        db = Database(url)
        try:
            async with db.unit_of_work() as uow:
                return list((await uow.session.scalars(select(model))).all())
        finally:
            await db.dispose()

    return asyncio.run(go())


def test_calls_import_and_feedback(db_url, tmp_path, capsys):
    calls = tmp_path / "calls.yaml"
    calls.write_text(CALLS, "utf-8")
    assert run("reviews", "calls", str(calls)) == 0
    assert "已新建：2026年春季征集（市级初审 → 省级评审" in capsys.readouterr().out
    bad = tmp_path / "bad.yaml"
    bad.write_text("calls:\n  - name: x\n    deadline: 2026-13-01\n    levels: [{pool: city}]\n", "utf-8")
    assert run("reviews", "calls", str(bad)) == 2
    assert "截止日期“2026-13-01”不是存在的日期" in capsys.readouterr().err

    wb = Workbook()
    ws = wb.active
    ws.append(HEADER)
    ws.append(ROW)
    ws.append([*ROW[:5], "", *ROW[6:]])  # row 3: 学科 missing
    ws.append(["X2", *ROW[1:13], "西湖区", "宁波市"])  # row 4: a county of another city
    path = tmp_path / "resources.xlsx"
    wb.save(path)
    assert run("reviews", "import", str(path)) == 0
    out = capsys.readouterr().out
    assert "第 3 行「学科」为空：必填，请补上学科" in out, out
    assert "第 4 行「县区」“西湖区”：不属于宁波市" in out, out
    assert "共 3 行：新增 1，更新 0，未变 0，退回 2" in out, out

    csv = tmp_path / "again.csv"
    changed = [*ROW[:7], "第六单元", *ROW[8:]]
    csv.write_text(",".join(HEADER) + "\n" + ",".join(changed) + "\n", "utf-8")
    assert run("reviews", "import", str(csv)) == 0
    assert "新增 0，更新 1" in capsys.readouterr().out
    [res] = read(db_url, ReviewResource)
    assert res.chapter == "第六单元" and res.external_id == "X1"
    updates = [a for a in read(db_url, AuditEntry) if a.action == "review.resource_update"]
    assert updates and updates[0].before == {"chapter": "第五单元"} and updates[0].actor_id == "cli"

    fb = tmp_path / "fb.csv"
    fb.write_text("资源编号,评价,点击,下载\nX1,赞,12,3\nX9,赞,1,1\nX1,好极了,1,1\n", "utf-8")
    assert run("reviews", "feedback", str(fb)) == 0
    out = capsys.readouterr().out
    assert "第 3 行「资源编号」“X9”不存在" in out and "第 4 行「评价」“好极了”" in out, out
    [f] = read(db_url, ReviewFeedback)
    assert f.positive is True and f.clicks == 12 and f.downloads == 3

    assert run("reviews", "import", str(tmp_path / "missing.csv")) == 2
    assert "读不到文件" in capsys.readouterr().err
