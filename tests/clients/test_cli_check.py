"""`ruralpost check|rules|template` end to end against a real server, with real CSV/JSONL/XLSX files."""

from __future__ import annotations

import csv
import datetime as dt
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import openpyxl  # type: ignore[import-untyped, unused-ignore]
import pytest

from ruralpost.cli import main
from ruralpost.clients.reports import table
from ruralpost.clients.sheets import template
from ruralpost.service.server import Running
from tests.support import ROOT

AS_OF = "2023-07-15"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def check(server: Running, capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    return run(capsys, "check", *argv, "--server", f"127.0.0.1:{server.port}", "--as-of", AS_OF)


def write_csv(path: Path, header: list[str], rows: list[list[Any]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def station_rows(n: int) -> list[list[Any]]:
    """n stations from the template's two examples, each with its own id and sign code."""
    examples = template.examples("stations")
    rows = []
    for i in range(n):
        row = list(examples[i % 2])
        row[0] = f"S{i:05d}"
        row[15] = f"XZ{1000 + i:04d}" if i % 2 == 0 else f"C{5000 + i:04d}"
        rows.append(row)
    return rows


def test_template_then_check_passes(server: Running, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    form = tmp_path / "stations.csv"
    assert run(capsys, "template", "stations", "--out", str(form))[0] == 0
    code, out, err = check(server, capsys, str(form))
    assert code == 0, err
    assert "通过 PASS " in out and "通过（有提醒） PASS WITH WARNINGS" in out
    assert "STN-AREA-VILLAGE" in out  # grouped by rule under its outcome
    assert err == ""


def test_csv_with_bad_rows_goes_on_and_reports_row_numbers(
    server: Running, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    header = template.headers("stations", "both")
    rows = station_rows(6)
    rows[1][19] = "四平方米"  # row 3: area not a number
    rows[2][19] = "8.5"  # row 4: a township station too small -> FAIL
    rows[3][19] = "1000000"  # row 5: an absurd floor area; the server refuses the item
    rows[4][7] = "也许"  # row 6: fixed premises neither 是 nor 否
    path = write_csv(tmp_path / "bad.csv", header, rows)
    out_file = tmp_path / "result.json"
    code, out, _ = check(server, capsys, str(path), "--format", "json", "--out", str(out_file))
    assert code == 1
    data = json.loads(out_file.read_text(encoding="utf-8"))
    items = {i["row"]: i for i in data["items"]}
    assert [i["row"] for i in data["items"]] == [2, 3, 4, 5, 6, 7]
    assert items[3]["outcome"] == "BAD_ROW" and items[3]["column"] == "面积（平方米）/area_m2"
    assert "四平方米" in items[3]["problem"] and items[3]["station_id"] == "S00001"
    assert items[4]["outcome"] == "FAIL"
    assert [r["rule_id"] for r in items[4]["reasons"]] == ["STN-AREA-TOWNSHIP"]
    assert items[4]["reasons"][0]["column"] == "面积（平方米）/area_m2"
    assert items[5]["outcome"] == "BAD_ROW" and "station.area_m2" in items[5]["problem"]
    assert items[5]["column"] == "面积（平方米）/area_m2"
    assert items[6]["outcome"] == "BAD_ROW" and items[6]["column"] == "固定经营场所/fixed_premises"
    assert items[7]["outcome"] == "PASS_WITH_WARNINGS"  # the batch went on after the bad rows
    assert data["summary"]["outcomes"] == {"FAIL": 1, "BAD_ROW": 3, "PASS_WITH_WARNINGS": 1, "PASS": 1}
    # The file has the items; the terminal got the summary table.
    assert "无法核验（坏行） BAD ROW" in out and "STN-AREA-TOWNSHIP" in out


def test_jsonl_flat_rows_whole_requests_and_a_broken_line(
    server: Running, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    root = ROOT
    example = json.loads((root / "examples" / "township-station.json").read_text(encoding="utf-8"))
    example["station"]["areaM2"] = 9
    lines = [
        json.dumps(
            {
                "站点编号": "J1",
                "kind": "乡镇站",
                "township": "鹅城镇",
                "area_m2": 30,
                "fixed_premises": True,
                "services": ["SEND", "RECEIVE"],
            },
            ensure_ascii=False,
        ),
        "{not json",
        json.dumps(example, ensure_ascii=False),
        "",
        json.dumps({"station_id": "J4", "kind": "VILLAGE_POINT", "cctv_retention_days": "a month"}),
    ]
    path = tmp_path / "stations.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out_file = tmp_path / "result.csv"
    code, _, _ = check(server, capsys, str(path), "--format", "csv", "--out", str(out_file))
    assert code == 1
    with out_file.open(encoding="utf-8-sig", newline="") as f:  # a BOM, for Excel
        rows = list(csv.DictReader(f))
    assert [r["行号/row"] for r in rows] == ["1", "2", "3", "5"]
    assert rows[0]["站点编号/station_id"] == "J1" and rows[0]["结果/outcome"] == "FAIL"
    assert {"STN-EQUIP-DESK", "STN-SIGN-CODE-MISSING"} <= set(rows[0]["规则/rule_ids"].split(";"))
    assert rows[1]["结果/outcome"] == "BAD_ROW" and "JSON" in rows[1]["问题/problem"]
    assert rows[2]["站点编号/station_id"] == "KJH-XZ-01" and rows[2]["规则/rule_ids"] == "STN-AREA-TOWNSHIP"
    assert "面积9平方米" in rows[2]["原因/reasons"]
    assert rows[3]["结果/outcome"] == "BAD_ROW" and rows[3]["列/column"] == "cctv_retention_days"


def test_xlsx_with_chinese_headers_and_typed_cells(
    server: Running, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / "stations.xlsx"
    template.write("stations", path, lang="zh")
    book = openpyxl.load_workbook(path)
    sheet = book.worksheets[0]
    header = [c.value for c in sheet[1]]
    assert "站点编号" in header and "填写说明" in book.sheetnames
    # Excel's own types: a real boolean, a date cell, a number.
    sheet.cell(row=2, column=header.index("固定经营场所") + 1, value=True)
    sheet.cell(row=2, column=header.index("开业日期") + 1, value=dt.datetime(2023, 5, 2))
    sheet.cell(row=3, column=header.index("面积（平方米）") + 1, value=3)
    sheet.append([])  # blank rows are skipped
    sheet.append(["X9", "县城站"])  # row 5: an unknown kind
    book.save(path)
    code, out, err = check(server, capsys, str(path), "--format", "json")
    assert code == 1, err
    data = json.loads(out)
    items = {i["row"]: i for i in data["items"]}
    assert items[2]["outcome"] == "PASS"
    assert "STN-AREA-VILLAGE" in [r["rule_id"] for r in items[3]["reasons"]]
    assert items[5]["outcome"] == "BAD_ROW" and items[5]["column"] == "站点类型"
    assert data["summary"]["total"] == 3


def test_register_makes_the_sign_code_taken(
    server: Running, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    header = template.headers("stations", "en")
    first = write_csv(tmp_path / "first.csv", header, station_rows(1))
    assert check(server, capsys, str(first), "--register")[0] == 0
    other = station_rows(1)
    other[0][0] = "OTHER-01"  # another station showing the same code
    second = write_csv(tmp_path / "second.csv", header, other)
    code, out, _ = check(server, capsys, str(second), "--format", "json")
    assert code == 1
    reasons = json.loads(out)["items"][0]["reasons"]
    assert [r["rule_id"] for r in reasons] == ["STN-SIGN-CODE-DUPLICATE"]


def test_usage_errors_exit_2(server: Running, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert check(server, capsys, str(tmp_path / "missing.csv"))[0] == 2
    (tmp_path / "list.doc").write_text("station_id\nA\n", encoding="utf-8")
    code, _, err = check(server, capsys, str(tmp_path / "list.doc"))
    assert code == 2 and ".csv" in err
    no_columns = write_csv(tmp_path / "people.csv", ["姓名", "电话"], [["张三", "123"]])
    code, _, err = check(server, capsys, str(no_columns))
    assert code == 2 and "没有可识别" in err
    with pytest.raises(SystemExit) as caught:
        main(["check", str(no_columns), "--as-of", "15/07/2023"])
    assert caught.value.code == 2


def test_rules_table_and_json(server: Running, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "rules", "--server", f"127.0.0.1:{server.port}", "--subject", "station")
    assert code == 0
    assert "STN-AREA-TOWNSHIP" in out and "错误 ERROR" in out and "附件3" in out
    code, out, _ = run(capsys, "rules", "--server", f"127.0.0.1:{server.port}")
    assert max(table.width(line) for line in out.splitlines()) <= 120  # an ordinary terminal
    assert "county_hub" not in out and "SEED" not in out and "INFERRED" not in out
    assert "县级共配中心" in out and "据方案推定" in out
    code, out, _ = run(capsys, "rules", "--server", f"127.0.0.1:{server.port}", "--format", "json")
    assert code == 0 and any(r["rule_id"] == "STN-ZONES" for r in json.loads(out)["rules"])


def test_console_script_and_connection_error_exit_2(tmp_path: Path) -> None:
    """The installed `ruralpost` entry point; nothing listens on the port, so exit 2."""
    with __import__("socket").socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    form = tmp_path / "form.csv"
    form.write_text(template.csv_text("stations"), encoding="utf-8")
    script = Path(sys.executable).parent / "ruralpost"
    argv = [str(script), "check", str(form), "--server", f"127.0.0.1:{port}", "--attempts", "2"]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2, done.stderr
    # one line, no retry WARNINGs from the client's log (they need -v)
    assert done.stderr.startswith(f"ruralpost: 无法连接 127.0.0.1:{port}：") and done.stdout == ""
    assert len(done.stderr.splitlines()) == 1 and "WARNING" not in done.stderr, done.stderr
