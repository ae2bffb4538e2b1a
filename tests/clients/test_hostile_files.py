"""Files made to hurt: workbooks that unzip to far more than they weigh, rows numbered in the
millions, a CSV renamed .xlsx, JSON nested beyond any record. Each is refused (or stopped at the
row limit) from what is cheap to see, in well under a second, with the reason in Chinese and English."""

from __future__ import annotations

import csv
import re
import time
import zipfile
from pathlib import Path

import pytest

from ruralpost.clients.reports.summary import Item
from ruralpost.clients.sheets import template
from ruralpost.clients.sheets.annotate import annotate
from ruralpost.clients.sheets.csvsafe import neutral
from ruralpost.clients.sheets.itemfile import StationCsv
from ruralpost.clients.sheets.readers import EXCEL_MAX_ROW, XLSX_MAX_PARTS, ReadError, TooLarge, open_rows, write_table

SHEET = "xl/worksheets/sheet1.xml"


def workbook(tmp_path: Path, rows: int = 2) -> Path:
    """A real station workbook of `rows` data rows."""
    path = tmp_path / "ok.xlsx"
    example = list(template.examples("stations")[0])
    write_table(path, template.headers("stations", "both"), [example] * rows)
    return path


def rewritten(source: Path, out: Path, sheet: str | None = None, extra: dict[str, bytes] | None = None) -> Path:
    """`source` with its first sheet's XML replaced and parts added, zipped as Excel does."""
    with zipfile.ZipFile(source) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for part in src.infolist():
            data = src.read(part.filename)
            if part.filename == SHEET and sheet is not None:
                data = sheet.encode()
            dst.writestr(part, data)
        for name, data in (extra or {}).items():
            dst.writestr(name, data)
    return out


def renumbered(source: Path, old: int, new: int, dimension: bool = False) -> str:
    """The sheet's XML with row `old` numbered `new` (and its `<dimension>` dropped, as a hand-made
    file may have none)."""
    with zipfile.ZipFile(source) as src:
        xml = src.read(SHEET).decode()
    xml = xml.replace(f'<row r="{old}"', f'<row r="{new}"')
    xml = re.sub(rf'r="([A-Z]+){old}"', rf'r="\g<1>{new}"', xml)
    return xml if dimension else re.sub(r"<dimension [^>]*/>", "", xml)


def test_one_row_at_twenty_million_is_stopped_at_once(tmp_path: Path) -> None:
    far = rewritten(workbook(tmp_path, 1), tmp_path / "far.xlsx", renumbered(workbook(tmp_path, 1), 2, 20_000_000))
    assert far.stat().st_size < 8 * 1024
    started = time.monotonic()
    rows = open_rows(far, max_rows=20_000)
    read = list(rows.rows)
    assert time.monotonic() - started < 1
    assert [r.number for r in read] == [20_000_000] and "20,000" in read[0].problem
    assert rows.stopped and "more than 20,000 rows" in rows.stopped
    # without a row limit (the command line) the row is still not one Excel can hold
    started = time.monotonic()
    read = list(open_rows(far).rows)
    assert time.monotonic() - started < 1
    assert len(read) == 1 and f"{EXCEL_MAX_ROW:,}" in read[0].problem and read[0].number == 20_000_000


def test_rows_a_sheet_skips_count_as_blank_and_toward_the_limit(tmp_path: Path) -> None:
    source = workbook(tmp_path, 3)
    gapped = rewritten(source, tmp_path / "gap.xlsx", renumbered(source, 4, 40, dimension=True))
    rows = open_rows(gapped)
    read = list(rows.rows)
    assert [r.number for r in read] == [2, 3, 40]  # the row past the declared dimension is read too
    assert (rows.count.in_file, rows.count.blank, rows.count.read) == (39, 36, 3)
    limited = open_rows(gapped, max_rows=20)
    read = list(limited.rows)
    assert [r.number for r in read[:2]] == [2, 3] and read[2].problem and limited.stopped
    assert limited.count.in_file <= 20


def test_the_blank_rows_of_a_csv_count_toward_the_limit(tmp_path: Path) -> None:
    path = tmp_path / "blank.csv"
    path.write_text("station_id,township\nS1,a\n" + "\n" * 50 + "S2,b\n", encoding="utf-8")
    rows = open_rows(path, max_rows=10)
    read = list(rows.rows)
    assert [r.number for r in read] == [2, 12] and read[-1].problem == rows.stopped


def test_a_zip_bomb_of_one_shared_string_is_refused_from_the_zip_directory(tmp_path: Path) -> None:
    string = "<sst><si><t>" + "x" * (80 * 1024 * 1024) + "</t></si></sst>"
    bomb = rewritten(workbook(tmp_path), tmp_path / "bomb.xlsx", extra={"xl/sharedStrings.xml": string.encode()})
    assert bomb.stat().st_size < 200 * 1024
    started = time.monotonic()
    with pytest.raises(TooLarge) as refused:
        open_rows(bomb)
    assert time.monotonic() - started < 1
    assert "sharedStrings.xml" in str(refused.value) and "不像 Excel" in str(refused.value)


def test_a_workbook_of_too_many_parts_is_refused(tmp_path: Path) -> None:
    parts = {f"xl/media/p{i}.bin": b"" for i in range(XLSX_MAX_PARTS)}
    crowded = rewritten(workbook(tmp_path), tmp_path / "crowded.xlsx", extra=parts)
    with pytest.raises(TooLarge) as refused:
        open_rows(crowded)
    assert "parts" in str(refused.value) and "部件" in str(refused.value)


def test_a_csv_renamed_xlsx_says_so(tmp_path: Path) -> None:
    path = tmp_path / "stations.xlsx"
    path.write_text("station_id,township\nS1,a\n", encoding="utf-8")
    with pytest.raises(ReadError) as refused:
        open_rows(path)
    assert "CSV" in str(refused.value) and "not an Excel workbook" in str(refused.value)


def test_json_nested_beyond_any_record_is_refused(tmp_path: Path) -> None:
    deep = "[" * 100_000 + "]" * 100_000
    path = tmp_path / "deep.json"
    path.write_text(deep, encoding="utf-8")
    with pytest.raises(ReadError) as refused:
        open_rows(path)
    assert "nested too deeply" in str(refused.value)
    lines = tmp_path / "deep.jsonl"
    lines.write_text('{"station_id": "S1"}\n' + deep + "\n", encoding="utf-8")
    read = list(open_rows(lines).rows)
    assert read[0].cells == {"station_id": "S1"} and "嵌套过深" in read[1].problem


# ---- downloads safe to open

HOSTILE_CELLS = ['=HYPERLINK("http://x","y")', "=cmd|' /C calc'!A0", "@SUM(1+1)", "+1+cmd", "-2+3", "\t=1", "\r=1"]


def test_results_csv_cells_are_never_formulas(tmp_path: Path) -> None:
    out = tmp_path / "results.csv"
    with out.open("w", encoding="utf-8-sig", newline="") as f:
        writer = StationCsv(f)
        for n, cell in enumerate(HOSTILE_CELLS, start=2):
            writer.write(Item(row=n, station_id=cell, township="-3", problem=cell))
    with out.open(encoding="utf-8-sig", newline="") as f:
        records = list(csv.reader(f))[1:]
    assert [r[1] for r in records] == ["'" + c for c in HOSTILE_CELLS]
    assert {r[2] for r in records} == {"-3"}  # a number stays a number


def test_the_annotated_csv_keeps_the_cells_as_text(tmp_path: Path) -> None:
    source = tmp_path / "stations.csv"
    with source.open("w", encoding="utf-8", newline="") as f:
        csv.writer(f).writerows([["station_id", "area_m2"], *([c, "-12.5"] for c in HOSTILE_CELLS)])
    out = tmp_path / "annotated.csv"
    annotate(source, out, {2: Item(row=2, problem="=1+1")})
    with out.open(encoding="utf-8-sig", newline="") as f:
        records = list(csv.reader(f))[1:]
    assert [r[0] for r in records] == ["'" + c for c in HOSTILE_CELLS]
    assert {r[1] for r in records} == {"-12.5"} and records[0][-1] == "'=1+1"
    assert (neutral("-inf"), neutral("1e3"), neutral(-3), neutral("静乐县")) == ("'-inf", "1e3", -3, "静乐县")


def test_a_cell_over_128_kib_leaves_the_annotation_refused_not_crashed(tmp_path: Path) -> None:
    source = tmp_path / "wide.csv"
    source.write_text("station_id,township\nS1," + "x" * (200 * 1024) + "\nS2,b\n", encoding="utf-8")
    read = list(open_rows(source).rows)
    assert "field larger than field limit" in read[0].problem and read[1].cells["station_id"] == "S2"
    with pytest.raises(ReadError) as refused:
        annotate(source, tmp_path / "out.csv", {3: Item(row=3)})
    assert "cannot add the verdict columns" in str(refused.value)
