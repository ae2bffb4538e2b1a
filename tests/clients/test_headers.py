"""A spreadsheet's header is checked as a whole: missing required columns named once at the top,
data under an empty header cell reported, a header below group titles refused, a file with a
header only refused (exit 2). Real .xlsx (openpyxl) and CSV files against a real server."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import openpyxl  # type: ignore[import-untyped, unused-ignore]
import pytest

from ruralpost.cli import main
from ruralpost.clients.sheets import layout
from ruralpost.service.server import Running
from tests.support import registry_stations

AREA = "面积（平方米）/area_m2"
STATION_ID = "站点编号/station_id"


def table() -> list[list[str]]:
    """The example stations of 康家会镇 as the template's header and rows."""
    rows = [[str(v) for v in layout.to_row(s, layout.STATION_COLUMNS)] for s in registry_stations()]
    return [[c.header for c in layout.STATION_COLUMNS], *rows]


def without(rows: list[list[str]], header: str) -> list[list[str]]:
    at = rows[0].index(header)
    return [r[:at] + r[at + 1 :] for r in rows]


def write_csv(path: Path, rows: list[list[str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as f:
        csv.writer(f).writerows(rows)
    return path


def check(server: Running, capsys: pytest.CaptureFixture[str], path: Path, *argv: str) -> tuple[int, str, str]:
    code = main(["check", str(path), "--as-of", "2023-07-15", "--server", f"127.0.0.1:{server.port}", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_a_missing_required_column_is_named_once_at_the_top(
    server: Running, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = write_csv(tmp_path / "no-area.csv", without(table(), AREA))
    report = tmp_path / "report.html"
    code, out, err = check(server, capsys, path, "--report", str(report))
    assert code == 1
    lines = out.splitlines()
    assert lines[1] == (
        "！缺少必需的列 missing required columns: 面积（平方米）/area_m2 — 各行仍然核验，但都会缺这些项"
        " (the rows are still checked, each lacking these)"
    )
    assert (out + err).count("缺少必需的列") == 1
    assert "共 3 行 rows" in out  # the rows are still checked
    assert "缺少必需的列 missing required columns: 面积（平方米）/area_m2" in report.read_text(encoding="utf-8")

    code, out, _ = check(server, capsys, path, "--format", "json")
    assert any("面积（平方米）/area_m2" in n for n in json.loads(out)["summary"]["notes"])


def test_without_station_ids_a_registered_code_is_no_duplicate(
    server: Running, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    full = write_csv(tmp_path / "full.csv", table())
    assert check(server, capsys, full, "--register")[0] == 0
    code, out, _ = check(server, capsys, write_csv(tmp_path / "no-id.csv", without(table(), STATION_ID)))
    assert "STN-SIGN-CODE-DUPLICATE" not in out
    assert "缺少必需的列 missing required columns: 站点编号/station_id" in out
    assert code == 0


def test_a_merged_pair_of_header_cells_reports_the_data_without_a_header(
    server: Running, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    rows = table()
    at = rows[0].index(AREA)
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append([*rows[0][: at + 1], None, *rows[0][at + 1 :]])
    sheet.merge_cells(start_row=1, start_column=at + 1, end_row=1, end_column=at + 2)  # 面积 over two columns
    for r in rows[1:]:
        sheet.append([*r[:at], None, float(r[at]), *r[at + 1 :]])  # the area in the second one
    path = tmp_path / "merged.xlsx"
    book.save(path)
    code, out, _ = check(server, capsys, path)
    assert code == 1
    assert out.splitlines()[1] == (
        f"！第{at + 2}列没有表头，但有数据（第2行起），这些数据没有核验"
        f" (column {at + 2} has data from row 2 but no header: not checked)"
    )


def test_a_header_below_group_titles_is_refused(
    server: Running, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    rows = table()
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["基本信息", *[None] * 5, "标识牌", *[None] * (len(rows[0]) - 7)])
    sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=6)
    sheet.merge_cells(start_row=1, start_column=7, end_row=1, end_column=12)
    for r in rows:
        sheet.append(r)
    path = tmp_path / "two-rows.xlsx"
    book.save(path)
    code, out, err = check(server, capsys, path)
    assert code == 2 and out == ""
    assert err == (
        "ruralpost: two-rows.xlsx: 表头须在第一行：第2行是列名，上面的行像是分组标题（合并单元格），"
        "请删去上面的行后再提交 (the header must be the first row: row 2 holds the column names"
        " below group titles in merged cells; delete the rows above it)\n"
    )

    # A header naming nothing known: one bilingual line without empty entries.
    write_csv(tmp_path / "other.csv", [["甲", "", "乙"], ["1", "2", "3"]])
    code, _, err = check(server, capsys, tmp_path / "other.csv")
    assert code == 2
    assert err == ("ruralpost: 表头里没有可识别的站点列（甲、乙）(no known station column in the header: 甲、乙)\n")


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_a_header_only_file_exits_2_saying_so(
    server: Running, capsys: pytest.CaptureFixture[str], tmp_path: Path, suffix: str
) -> None:
    path = tmp_path / f"empty{suffix}"
    header = table()[0]
    if suffix == ".csv":
        write_csv(path, [header, [""] * len(header)])
    else:
        book = openpyxl.Workbook()
        book.active.append(header)
        book.save(path)
    code, out, err = check(server, capsys, path)
    assert code == 2 and out == ""
    assert (
        err == f"ruralpost: {path}: 文件里没有数据行（只有表头或空行），没有可核验的"
        " the file has no data rows (a header only)\n"
    )
    code, out, err = main_progress(server, capsys, path)
    assert code == 2 and "the file has no data rows" in err
    parcels = tmp_path / f"parcels{suffix}"
    header = [c.header for c in layout.PARCEL_COLUMNS]
    if suffix == ".csv":
        write_csv(parcels, [header])
    else:
        book = openpyxl.Workbook()
        book.active.append(header)
        book.save(parcels)
    code = main(["claim", str(parcels), "--claim-id", "X", "--server", f"127.0.0.1:{server.port}"])
    out, err = capsys.readouterr()
    assert code == 2 and out == "" and "the file has no data rows" in err


def main_progress(server: Running, capsys: pytest.CaptureFixture[str], path: Path) -> tuple[int, str, str]:
    code = main(["progress", "--as-of", "2023-07-31", "--stations", str(path), "--server", f"127.0.0.1:{server.port}"])
    out, err = capsys.readouterr()
    return code, out, err
