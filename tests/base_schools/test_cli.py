"""``python3 run_bot.py base-schools import FILE`` (YAML, xlsx, CSV) with per-row reports, and base-school
items in ``scores activity FILE``."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from openpyxl import Workbook

from storage.repositories.base_schools import BaseSchoolRepository

YAML = """year: 2026
schools:
  - {学校: 杭州第十四中学, 设区市: 杭州市, 县(市、区): 拱墅区, 学科(专业): 高中化学, 空间编号: SP1,
     项目负责人: 王老师, 教师数: 120}
  - {学校: 宁波中学, 设区市: 宁波, 学科: 英语, 空间编号: SP2}
  - {学校: 某校, 设区市: 火星市, 学科: 英语, 空间编号: SP3}
  - {学校: 另一校, 设区市: 杭州市, 学科: 英语, 空间编号: SP1}
"""


def test_yaml_import_reports_bad_rows(cli, capsys):
    f = cli.tmp / "list.yaml"
    f.write_text(YAML, encoding="utf-8")
    assert cli("base-schools", "import", str(f), "--dry-run") == 0
    assert "试运行" in capsys.readouterr().out
    assert cli.query(lambda uow: uow.repo(BaseSchoolRepository).schools(2026)) == []
    assert cli("base-schools", "import", str(f)) == 0
    out = capsys.readouterr().out
    assert "第 3 项：设区市“火星市”不在浙江省" in out
    assert "第 4 项：空间编号“SP1”与第 1 行重复" in out
    assert "基地校名单（2026年）：新增 2，更新 0，未变 0，未导入 2。" in out
    schools = cli.query(lambda uow: uow.repo(BaseSchoolRepository).schools(2026))
    assert [(s.name, s.city, s.teachers) for s in schools] == [
        ("宁波中学", "宁波市", None),
        ("杭州第十四中学", "杭州市", 120),
    ]
    f.write_text(YAML.replace("教师数: 120", "教师数: 130"), encoding="utf-8")
    assert cli("base-schools", "import", str(f)) == 0
    assert "新增 0，更新 1，未变 1" in capsys.readouterr().out


def test_xlsx_import_and_unusable_files(cli, capsys):
    wb = Workbook()
    ws = wb.active
    ws.append(["年度", "学校", "设区市", "县(市、区)", "学科(专业)", "空间编号", "项目负责人", "特色空间"])
    ws.append([2026, "杭州学军中学", "杭州市", "西湖区", "高中物理", "SP9", "赵老师", 2])
    ws.append([2026, "无编号中学", "杭州市", "西湖区", "高中物理", None, "赵老师", None])
    ws.append([None, None, None, None, None, None, None, None])
    ws.append(["二〇二六", "某校", "杭州市", "西湖区", "高中物理", "SP8", "", "三"])
    f = cli.tmp / "list.xlsx"
    wb.save(f)
    assert cli("base-schools", "import", str(f)) == 0
    out = capsys.readouterr().out
    assert "第 3 行：缺少空间编号" in out and "第 5 行：年度“二〇二六”应为四位年份" in out
    assert "新增 1" in out
    bad = cli.tmp / "bad.xlsx"
    bad.write_bytes(b"PK\x03\x04 not really")
    assert cli("base-schools", "import", str(bad)) == 2
    assert "无法读取 xlsx" in capsys.readouterr().err
    assert cli("base-schools", "import", str(cli.tmp / "missing.yaml")) == 2
    assert "读不到文件" in capsys.readouterr().err
    y = cli.tmp / "bad.yaml"
    y.write_text("schools: [a, b", encoding="utf-8")
    assert cli("base-schools", "import", str(y)) == 2
    assert "YAML 格式错误" in capsys.readouterr().err
    y.write_text("- {学校: 某校}\n", encoding="utf-8")
    assert cli("base-schools", "import", str(y)) == 0
    assert "缺少年度" in capsys.readouterr().out


def test_scores_activity_file_routes_base_items(cli, capsys):
    # the CLI runs on the system clock: the list is for the year of "yesterday"
    yesterday_at = datetime.now(ZoneInfo("Asia/Shanghai")) - timedelta(days=1)
    yesterday = yesterday_at.isoformat()
    f = cli.tmp / "list.yaml"
    f.write_text(YAML.replace("year: 2026", f"year: {yesterday_at.year}"), encoding="utf-8")
    assert cli("base-schools", "import", str(f)) == 0
    capsys.readouterr()
    items = [
        {"action": "base.space_visit", "space_id": "SP1", "account": "v1", "time": yesterday},
        {"action": "base.space_visit", "space_id": "SP404", "account": "v1", "time": yesterday},
        {"action": "base.space_visit", "space_id": "SP1", "time": yesterday},
    ]
    a = cli.tmp / "activity.json"
    a.write_text(json.dumps(items), encoding="utf-8")
    assert cli("scores", "activity", str(a)) == 0
    out = capsys.readouterr().out
    assert "第 2 项：空间编号“SP404”" in out and "第 3 项：缺少账号" in out
    assert "新计入 1" in out and "未计入 2" in out
