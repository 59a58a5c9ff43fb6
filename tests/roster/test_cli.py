"""python run_bot.py roster import|export, and the round trip import → export → import."""

from __future__ import annotations

import io

import pytest
from docx import Document

from domain.regions import load_default_regions
from storage.forms import FormData
from storage.forms.roster_form import ROSTER_FORM, read_roster, write_roster_xlsx
from storage.forms.xlsx_io import write_xlsx
from tests.roster.factory import city_members

TREE = load_default_regions()


@pytest.fixture
def use_db(tmp_path, monkeypatch):
    """Point the CLI at a fresh SQLite file; returns a function to switch to another one."""

    def switch(name: str) -> None:
        monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / name}")

    monkeypatch.setenv("BOT_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.delenv("ROSTER_CONFIG", raising=False)
    switch("one.sqlite3")
    return switch


def run(*argv: str) -> int:
    """``python run_bot.py roster …`` (the roster subcommands alone: other features' CLIs are theirs)."""
    import argparse
    import asyncio

    from handlers.roster.export import register_cli

    parser = argparse.ArgumentParser(prog="run_bot.py")
    register_cli(parser.add_subparsers(dest="cmd"))
    args = parser.parse_args(list(argv))
    return asyncio.run(args.func(args))


def rows_of(data: bytes, name: str = "x.xlsx") -> list[tuple]:
    return sorted((r.role.value, tuple(r.values.values())) for r in read_roster(data, name).rows)


def test_import_reports_each_row_and_saves_the_good_ones(use_db, tmp_path, capsys):
    good = city_members(TREE, "杭州市", reviewers=3)[:5]
    data = FormData(
        header={"报送单位": "杭州市教育技术中心"},
        sections={
            "admin": [good[0].row(), ["鄞州区", "刘洋", "鄞州区教育局", "", "", "13800000099", "教师"]],
            "trainer": [good[1].row()],
            "reviewer": [m.row() for m in good[2:5]]
            + [["西湖区", "钱七", "大学", "数学", "一中", "Q7", "13700009999", "", "其他"]],
        },
    )
    path = tmp_path / "杭州市-附件1.xlsx"
    path.write_bytes(write_xlsx(ROSTER_FORM, data))
    assert run("roster", "import", str(path), "--city", "杭州市", "--dry-run") == 1
    out = capsys.readouterr().out
    assert "试运行，未保存" in out
    assert run("roster", "import", str(path), "--city", "杭州", "--all-or-nothing") == 1
    assert "一行也没有保存" in capsys.readouterr().out
    assert run("roster", "import", str(path), "--city", "杭州市") == 1
    out = capsys.readouterr().out
    assert f"体系管理员 {good[0].name}：通过" in out
    assert "「县(市、区)」：“鄞州区”不对，应为杭州市下属的县(市、区)（“鄞州区”属于宁波市）（刘洋）" in out
    assert "「学段」：“大学”不对" in out and "钱七" in out
    assert out.strip().endswith("杭州市：共7行，已登记5行，2行有问题")
    # Importing again: every person already holds the seat.
    assert run("roster", "import", str(path), "--city", "杭州市") == 1
    assert "已登记0行" in capsys.readouterr().out


def test_round_trip_import_export_import_gives_the_same_roster(use_db, tmp_path, capsys):
    members = city_members(TREE, "杭州市", reviewers=5)
    source = tmp_path / "in.xlsx"
    source.write_bytes(write_roster_xlsx(members, {"报送单位": "杭州市教育技术中心"}, tree=TREE))
    assert run("roster", "import", str(source), "--city", "杭州市") == 0
    first = tmp_path / "first.xlsx"
    assert run("roster", "export", "--city", "杭州市", "--format", "xlsx", "--out", str(first)) == 0
    use_db("two.sqlite3")
    assert run("roster", "import", str(first), "--city", "杭州市") == 0
    second = tmp_path / "second.xlsx"
    assert run("roster", "export", "--city", "杭州市", "--out", str(second), "--contact", "陈建国") == 0
    out = capsys.readouterr().out
    assert f"杭州市：{len(members)}人" in out
    expected = sorted((m.role.value, tuple(m.row())) for m in members)
    assert rows_of(first.read_bytes()) == expected == rows_of(second.read_bytes())
    assert read_roster(second.read_bytes(), "x.xlsx").header["联系人姓名"] == "陈建国"
    word = tmp_path / "hz.docx"
    assert run("roster", "export", "--city", "杭州市", "--format", "docx", "--out", str(word)) == 0
    doc = Document(io.BytesIO(word.read_bytes()))
    assert len(doc.tables) == 3 and len(doc.tables[2].rows) == 1 + 14 * 5
    assert rows_of(word.read_bytes(), "x.docx") == expected


def test_bad_arguments(use_db, tmp_path, capsys):
    assert run("roster", "import", str(tmp_path / "missing.xlsx"), "--city", "杭州市") == 2
    assert "cannot read" in capsys.readouterr().err
    bad = tmp_path / "bad.xlsx"
    bad.write_bytes(b"not a workbook")
    assert run("roster", "import", str(bad), "--city", "杭州市") == 2
    assert "无法打开" in capsys.readouterr().err
    assert run("roster", "export", "--city", "北京市") == 2
    assert "不是浙江省的设区市" in capsys.readouterr().err
