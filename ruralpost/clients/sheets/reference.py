"""The reference data as files: the JSON form whole, a folder of one CSV per table, or a workbook
of one sheet per table; and back.

In a CSV or a sheet every entry is a row and every key a column. Lists (aliases), true/false and
numbers of fen are written as JSON in their cell and read back as such; every other column is text.
An empty cell is an empty text, or leaves the key out where the value may be none (a date, a list,
a number: its default applies).
"""

from __future__ import annotations

import csv
import io
import json
import zipfile
from pathlib import Path
from typing import Any

TABLES = ("operators", "products", "platforms", "brands", "rates")
# the columns whose cells hold JSON rather than text
TYPED = frozenset({"aliases", "farm", "e_commerce", "rate_fen", "previous_year_fen"})
OPTIONAL = TYPED | {"approved_from", "suspended_from"}  # an empty cell: the key left out


class ReferenceFileError(ValueError):
    """A file that is no reference data; the message names the file and the place."""


def _columns(entries: list[dict[str, Any]]) -> list[str]:
    columns: dict[str, None] = {}
    for entry in entries:
        columns.update(dict.fromkeys(entry))
    return list(columns)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def _entry(row: dict[str, Any], where: str) -> dict[str, Any]:
    entry: dict[str, Any] = {}
    for key, raw in row.items():
        text = "" if raw is None else str(raw).strip()
        if not key or (not text and key in OPTIONAL):
            continue
        if key in TYPED:
            try:
                entry[key] = json.loads(text)
            except ValueError:
                raise ReferenceFileError(
                    f'{where}: 列 {key} 应为 JSON（如 ["别名"]、true、200）(column {key} holds JSON): {text!r}'
                ) from None
        else:
            entry[key] = text
    return entry


def write(data: dict[str, Any], out: Path) -> None:
    """`.json`: the JSON form; `.xlsx`: one sheet per table; otherwise a folder of `<table>.csv`."""
    suffix = out.suffix.lower()
    if suffix == ".json":
        out.write_text(json.dumps(data, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    elif suffix == ".xlsx":
        import openpyxl  # type: ignore[import-untyped, unused-ignore]

        book = openpyxl.Workbook(write_only=True)
        for table in TABLES:
            entries = data.get(table) or []
            sheet = book.create_sheet(table)
            columns = _columns(entries) or ["name"]
            sheet.append(columns)
            for entry in entries:
                sheet.append([_cell(entry.get(c)) for c in columns])
        book.save(out)
    else:
        out.mkdir(parents=True, exist_ok=True)
        for table in TABLES:
            entries = data.get(table) or []
            columns = _columns(entries) or ["name"]
            with (out / f"{table}.csv").open("w", encoding="utf-8-sig", newline="") as f:
                writer = csv.writer(f)
                writer.writerow(columns)
                writer.writerows([_cell(e.get(c)) for c in columns] for e in entries)


def read(path: Path) -> dict[str, Any]:
    """The tables a file (or folder) holds, in the JSON form; tables it does not have are left out."""
    if path.is_dir():
        found = {}
        for table in TABLES:
            file = path / f"{table}.csv"
            if file.is_file():
                lines = csv.DictReader(io.StringIO(file.read_text(encoding="utf-8-sig")))
                found[table] = [_entry(r, f"{file.name} 第 {i} 行 (row {i})") for i, r in enumerate(lines, 2)]
        if not found:
            raise ReferenceFileError(
                f"{path}: 文件夹中没有 {'、'.join(t + '.csv' for t in TABLES)} (no table CSV in the folder)"
            )
        return found
    suffix = path.suffix.lower()
    if suffix == ".json":
        try:
            data = json.loads(path.read_text(encoding="utf-8-sig"))
        except ValueError as e:
            raise ReferenceFileError(f"{path}: 不是有效的 JSON (not valid JSON): {e}") from None
        if not isinstance(data, dict):
            raise ReferenceFileError(f"{path}: 应为以表名为键的对象 (an object of tables is expected)")
        return data
    if suffix == ".xlsx":
        import openpyxl  # type: ignore[import-untyped, unused-ignore]

        try:
            book = openpyxl.load_workbook(path, read_only=True, data_only=True)
        except (zipfile.BadZipFile, KeyError, ValueError) as e:
            raise ReferenceFileError(f"{path}: 不是有效的 Excel 文件 (not a valid .xlsx): {e}") from None
        found = {}
        for table in TABLES:
            if table not in book.sheetnames:
                continue
            rows = list(book[table].iter_rows(values_only=True))
            header = [str(c or "").strip() for c in rows[0]] if rows else []
            found[table] = [
                _entry(dict(zip(header, r, strict=False)), f"{path.name} {table} 第 {i} 行 (row {i})")
                for i, r in enumerate(rows[1:], 2)
                if any(c not in (None, "") for c in r)
            ]
        return found
    raise ReferenceFileError(f"{path}: 只能读 .json、.xlsx 或 CSV 文件夹 (a .json, an .xlsx or a folder of CSV files)")
