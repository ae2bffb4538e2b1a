"""The reference data as files: the JSON form whole, a folder of one CSV per table, or a workbook
of one sheet per table; and back.

In a CSV or a sheet every entry is a row and every key a column. Lists (aliases), true/false and
numbers of fen are written as JSON in their cell and read back as such; every other column is text.
An empty cell is an empty text, or leaves the key out where the value may be none (a date, a list,
a number: its default applies). A workbook is read with the station files' limits (readers.py): one
that would cost too much to read is refused before it is parsed (`ReferenceTooLarge`), so the
console can take one from anyone it lets change the data.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from pathlib import Path
from typing import Any

from ruralpost.clients.sheets.readers import ReadError, Rows, TooLarge, Workbook

TABLES = ("operators", "products", "platforms", "brands", "rates")
# the columns whose cells hold JSON rather than text
TYPED = frozenset({"aliases", "farm", "e_commerce", "rate_fen", "previous_year_fen"})
OPTIONAL = TYPED | {"approved_from", "suspended_from"}  # an empty cell: the key left out


class ReferenceFileError(ValueError):
    """A file that is no reference data; the message names the file and the place."""


class ReferenceTooLarge(ReferenceFileError):
    """A workbook that would cost more to read than the readers' limits allow."""


def _columns(entries: list[dict[str, Any]]) -> list[str]:
    columns: dict[str, None] = {}
    for entry in entries:
        columns.update(dict.fromkeys(entry))
    return list(columns)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def _text(raw: Any) -> str:
    """A cell as text: a date Excel made of a typed date is that day, a whole number has no ".0"."""
    if isinstance(raw, dt.datetime) and raw.time() == dt.time():
        return raw.date().isoformat()
    if isinstance(raw, dt.date):
        return raw.isoformat()
    if isinstance(raw, float) and raw.is_integer():
        return str(int(raw))
    return "" if raw is None else str(raw).strip()


def _entry(row: dict[str, Any], where: str) -> dict[str, Any]:
    entry: dict[str, Any] = {}
    for key, raw in row.items():
        text = _text(raw)
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


def read(path: Path, max_rows: int | None = None) -> dict[str, Any]:
    """The tables a file (or folder) holds, in the JSON form; tables it does not have are left out.
    `max_rows`: the most rows a sheet of a workbook may have (blank ones included)."""
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
        except RecursionError:
            raise ReferenceFileError(f"{path}: JSON 嵌套过深 (JSON nested too deeply)") from None
        if not isinstance(data, dict):
            raise ReferenceFileError(f"{path}: 应为以表名为键的对象 (an object of tables is expected)")
        return data
    if suffix == ".xlsx":
        return _workbook(path, max_rows)
    raise ReferenceFileError(f"{path}: 只能读 .json、.xlsx 或 CSV 文件夹 (a .json, an .xlsx or a folder of CSV files)")


def _workbook(path: Path, max_rows: int | None) -> dict[str, Any]:
    """The tables of a workbook's sheets named after them; other sheets are not read."""
    try:
        book = Workbook(path)
    except TooLarge as e:
        raise ReferenceTooLarge(str(e)) from None
    except ReadError as e:
        raise ReferenceFileError(f"不是有效的 Excel 文件 (not a valid .xlsx): {e}") from None
    with book:
        found = {}
        for table in TABLES:
            if table in book.names:
                try:
                    rows = book.rows(table, max_rows)
                except ReadError as e:
                    raise ReferenceFileError(str(e)) from None
                found[table] = _sheet_entries(rows, path.name, table)
        return found


def _sheet_entries(rows: Rows, name: str, table: str) -> list[dict[str, Any]]:
    header = [h for h in rows.header or [] if h]
    entries = []
    for row in rows.rows:
        where = f"{name} {table} 第 {row.number} 行 (row {row.number})"
        if row.problem:
            error = ReferenceTooLarge if rows.stopped else ReferenceFileError
            raise error(f"{where}: {row.problem}")
        # every column of the header, so that an empty cell reads as an empty text
        entries.append(_entry({h: row.cells.get(h) for h in header}, where))
    return entries
