"""Reading submissions lazily, one row at a time: CSV, JSON Lines and Excel (.xlsx).

Rows keep the number a person sees in the file (the spreadsheet row, header = row 1; the line in
JSON Lines), so a bad row can be reported where it is. Nothing here knows the column layout.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SUFFIXES = (".csv", ".jsonl", ".xlsx")


class ReadError(ValueError):
    """The file cannot be read at all (not a row problem)."""


@dataclass
class Row:
    number: int
    cells: dict[str, Any] = field(default_factory=dict)
    problem: str = ""            # set when the row itself could not be read (bad JSON line)


@dataclass
class Rows:
    """A file's header (None for JSON Lines) and its rows, read as they are iterated."""

    path: Path
    header: list[str] | None
    rows: Iterator[Row]
    total_hint: int | None       # about how many rows, for the progress bar; None when unknown


def kind_of(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise ReadError(f"{path}: 不支持的文件类型 {suffix or '（无扩展名）'}，应为 .csv、.jsonl 或 .xlsx")
    return suffix


def _count_lines(path: Path) -> int:
    count = 0
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            count += block.count(b"\n")
    return count


def _csv_rows(path: Path, count: bool) -> Rows:
    # utf-8-sig: Excel writes a BOM in front of the first header.
    f = path.open(encoding="utf-8-sig", newline="")
    try:
        reader = csv.reader(f)
        header = next(reader, None)
    except (UnicodeDecodeError, csv.Error) as e:
        f.close()
        raise ReadError(f"{path}: 无法读取 CSV（应为 UTF-8 编码）：{e}") from None
    if header is None:
        f.close()
        raise ReadError(f"{path}: 文件是空的")

    def rows() -> Iterator[Row]:
        with f:
            number = 1
            while True:
                number += 1
                try:
                    values = next(reader)
                except StopIteration:
                    return
                except (UnicodeDecodeError, csv.Error) as e:
                    yield Row(number, problem=f"无法读取这一行：{e}")
                    return
                if not any(v.strip() for v in values):
                    continue
                if len(values) > len(header) and any(v.strip() for v in values[len(header):]):
                    yield Row(number, problem=f"这一行有{len(values)}列，表头只有{len(header)}列")
                    continue
                yield Row(number, dict(zip(header, values, strict=False)))

    hint = max(_count_lines(path) - 1, 0) if count else None
    return Rows(path, header, rows(), hint)


def _jsonl_rows(path: Path, count: bool) -> Rows:
    def rows() -> Iterator[Row]:
        with path.open(encoding="utf-8-sig") as f:
            for number, line in enumerate(f, start=1):
                if not line.strip():
                    continue
                try:
                    data = json.loads(line)
                except json.JSONDecodeError as e:
                    yield Row(number, problem=f"不是合法的 JSON：{e.msg}（第{e.colno}个字符）")
                    continue
                if not isinstance(data, dict):
                    yield Row(number, problem="应为一个 JSON 对象")
                    continue
                yield Row(number, data)

    return Rows(path, None, rows(), _count_lines(path) if count else None)


def _xlsx_rows(path: Path) -> Rows:
    import openpyxl  # type: ignore[import-untyped, unused-ignore]
    from openpyxl.utils.exceptions import InvalidFileException  # type: ignore[import-untyped, unused-ignore]

    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (InvalidFileException, OSError, KeyError, ValueError) as e:
        raise ReadError(f"{path}: 无法读取 Excel 文件：{e}") from None
    sheet = book.worksheets[0]
    it = sheet.iter_rows(values_only=True)
    first = next(it, None)
    if first is None:
        book.close()
        raise ReadError(f"{path}: 第一个工作表是空的")
    header = ["" if v is None else str(v).strip() for v in first]
    total = sheet.max_row - 1 if sheet.max_row else None

    def rows() -> Iterator[Row]:
        try:
            for number, values in enumerate(it, start=2):
                if all(v is None or (isinstance(v, str) and not v.strip()) for v in values):
                    continue
                cells = {h: v for h, v in zip(header, values, strict=False) if h and v is not None}
                extra = [v for v in values[len(header):] if v is not None]
                if extra:
                    yield Row(number, problem=f"这一行有超出表头的数据（{len(values)}列）")
                    continue
                yield Row(number, cells)
        finally:
            book.close()

    return Rows(path, header, rows(), total)


def open_rows(path: Path, count: bool = False) -> Rows:
    """The file's rows; `count` also estimates how many (one fast pass for text files)."""
    suffix = kind_of(path)
    if not path.is_file():
        raise ReadError(f"{path}: 文件不存在")
    if suffix == ".csv":
        return _csv_rows(path, count)
    if suffix == ".jsonl":
        return _jsonl_rows(path, count)
    return _xlsx_rows(path)


def write_table(path: Path, header: list[str], rows: list[list[Any]],
                notes: list[list[str]] | None = None, sheet: str = "Sheet1") -> None:
    """Writes a small table as CSV (UTF-8 with BOM, so Excel shows Chinese) or .xlsx."""
    if path.suffix.lower() == ".xlsx":
        import openpyxl  # type: ignore[import-untyped, unused-ignore]

        book = openpyxl.Workbook()
        ws = book.active
        assert ws is not None
        ws.title = sheet
        ws.append(header)
        for r in rows:
            ws.append(r)
        if notes:
            info = book.create_sheet("填写说明")
            for n in notes:
                info.append(n)
        book.save(path)
        return
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows(rows)
    path.write_text(buffer.getvalue(), encoding="utf-8-sig")
