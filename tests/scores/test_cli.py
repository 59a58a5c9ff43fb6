"""``python3 run_bot.py scores …``: teacher list and activity import with per-row reports, rule files."""

from __future__ import annotations

import json
from datetime import date

from openpyxl import Workbook

from storage.repositories.scores import ScoreRepository, TeacherRepository

TEACHERS_CSV = """账号,姓名,学校,县(市、区),设区市
LiMing01,李明,西湖小学,西湖区,杭州市
liming01,李敏,西湖二小,西湖,杭州
,无账号,某校,西湖区,杭州市
Bad01,张三,某校,鄞州区,杭州市
Bad02,李四,某校,西湖区,火星市
LiMing01,重复,某校,西湖区,杭州市
"""


def test_teacher_import_reports_each_bad_row(cli, capsys):
    f = cli.tmp / "teachers.csv"
    f.write_text(TEACHERS_CSV, encoding="utf-8-sig")
    assert cli("scores", "teachers", str(f)) == 0
    out = capsys.readouterr().out
    assert "第 4 行：缺少账号" in out
    assert "第 5 行：县(市、区)“鄞州区”不属于杭州市" in out
    assert "第 6 行：设区市“火星市”不在浙江省" in out
    assert "第 7 行：账号“LiMing01”与第 2 行重复" in out
    assert "新增 2，更新 0，未变 0，未导入 4" in out
    got = cli.query(lambda uow: uow.repo(TeacherRepository).find("liming01"))
    assert [(t.name, t.county, t.city) for t in got] == [("李敏", "西湖区", "杭州市")]
    # the same list again from xlsx: nothing new, one change
    wb = Workbook()
    ws = wb.active
    ws.append(["平台账号", "姓名", "学校名称", "县区", "市"])
    ws.append(["LiMing01", "李明", "西湖小学（新校区）", "西湖区", "杭州市"])
    ws.append(["liming01", "李敏", "西湖二小", "西湖区", "杭州市"])
    wb.save(cli.tmp / "teachers.xlsx")
    assert cli("scores", "teachers", str(cli.tmp / "teachers.xlsx")) == 0
    assert "新增 0，更新 1，未变 1，未导入 0" in capsys.readouterr().out


def test_activity_import_csv_and_ndjson(cli, capsys):
    (cli.tmp / "t.csv").write_text(TEACHERS_CSV, encoding="utf-8")
    cli("scores", "teachers", str(cli.tmp / "t.csv"))
    capsys.readouterr()
    csv_text = (
        "account,action,time,event_id,minutes\n"
        "LiMing01,class_teaching,2026-03-02 09:00,c1,20\n"
        "LiMing01,class_teaching,2026-03-02 10:00,c2,14\n"
        "LiMing01,class_teaching,2026-03-02 09:00,c1,20\n"
        "Nobody,login,2026-03-02 09:00,,\n"
        "LiMing01,login,2026/03/02,,\n"
    )
    f = cli.tmp / "act.csv"
    f.write_text(csv_text, encoding="gbk")
    assert cli("scores", "activity", str(f)) == 0
    out = capsys.readouterr().out
    assert "第 5 行：账号“Nobody”不在教师名单中" in out and "第 6 行：时间" in out
    assert "共 5，新计入 2，重复 1，未计入 2" in out
    nd = cli.tmp / "act.ndjson"
    nd.write_text(
        json.dumps({"account": "LiMing01", "action": "login", "time": "2026-03-03T08:00:00+08:00"}) + "\nnot json\n",
        encoding="utf-8",
    )
    assert cli("scores", "activity", str(nd)) == 0
    out = capsys.readouterr().out
    assert "第 2 项：不是有效的 JSON" in out or "第 2 行：不是有效的 JSON" in out
    totals = cli.query(lambda uow: uow.repo(ScoreRepository).all_totals())
    assert totals[(1, "w", date(2026, 3, 2))] == 5 + 1
    assert cli("scores", "activity", str(cli.tmp / "missing.csv")) == 2


def test_rule_files(cli, capsys, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "name: x\nrules:\n  - code: a\n    group: g\n    name: n\n    actions: [login]\n"
        "    points: -1\n    caps: [{count: 5, per: fortnight}]\n",
        encoding="utf-8",
    )
    assert cli("scores", "rules", "check", str(bad)) == 2
    err = capsys.readouterr().err
    assert "第 7 行" in err and "不能为负数" in err and "第 8 行" in err and "fortnight" in err
    assert cli("scores", "rules", "load", str(bad)) == 2
    capsys.readouterr()
    good = tmp_path / "school-year.yaml"
    good.write_text(
        open("domain/data/points_rules_default.yaml", encoding="utf-8")
        .read()
        .replace('year_start: "01-01"', 'year_start: "09-01"'),
        encoding="utf-8",
    )
    assert cli("scores", "rules", "check", str(good)) == 0
    assert "积分年度从 9月1日起" in capsys.readouterr().out
    (tmp_path / "t.csv").write_text(TEACHERS_CSV, encoding="utf-8")
    cli("scores", "teachers", str(tmp_path / "t.csv"))
    nd = tmp_path / "a.json"
    nd.write_text(
        json.dumps(
            [
                {
                    "account": "LiMing01",
                    "action": "class_create",
                    "time": "2026-08-31T09:00:00+08:00",
                    "detail": {"students": 30},
                },
                {
                    "account": "LiMing01",
                    "action": "class_create",
                    "time": "2026-09-01T09:00:00+08:00",
                    "detail": {"students": 30},
                },
            ]
        ),
        encoding="utf-8",
    )
    cli("scores", "activity", str(nd))
    totals = cli.query(lambda uow: uow.repo(ScoreRepository).all_totals())
    assert totals[(1, "y", date(2026, 1, 1))] == 50  # one class per calendar year
    assert cli("scores", "rules", "load", str(good)) == 0
    assert "已启用" in capsys.readouterr().out
    totals = cli.query(lambda uow: uow.repo(ScoreRepository).all_totals())
    assert totals[(1, "y", date(2025, 9, 1))] == 50 and totals[(1, "y", date(2026, 9, 1))] == 50
    assert cli("scores", "rules", "show") == 0 and "9月1日" in capsys.readouterr().out
    assert cli("scores", "rules", "default") == 0
    totals = cli.query(lambda uow: uow.repo(ScoreRepository).all_totals())
    assert totals[(1, "y", date(2026, 1, 1))] == 50 and (1, "y", date(2025, 9, 1)) not in totals
    assert cli("scores", "rebuild") == 0
