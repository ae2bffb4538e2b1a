"""The submitter's own spreadsheet back, with the verdict in columns beside each row.

People fix what they sent: the file they know, every column and row where they left it, the
outcome, rules, reasons and remedies added on the right. Excel stays Excel (the first sheet gets
the columns; other sheets, widths and formats stay as openpyxl keeps them); CSV and tab-separated
text come back as UTF-8 with a BOM (Excel opens it with the Chinese intact), with the delimiter they had,
and with every cell a spreadsheet would run as a formula written as text (csvsafe).
Rows are matched by the spreadsheet row number the readers give (header = row 1).
"""

from __future__ import annotations

import csv
from collections.abc import Mapping
from pathlib import Path

from ruralpost.clients.reports.labels import OUTCOME_COLOR, outcome_label, shown
from ruralpost.clients.reports.summary import Item
from ruralpost.clients.sheets import csvsafe
from ruralpost.clients.sheets.readers import EXCEL_MAX_ROW, ReadError, detect, kind_of

VERDICT_HEADER = [
    "核验结果/outcome",
    "规则/rule_ids",
    "原因/reasons",
    "整改/remedies",
    "依据/citations",
    "问题/problem",
]
SPREADSHEETS = (".csv", ".tsv", ".txt", ".xlsx")


def verdict_cells(item: Item) -> list[str]:
    """The verdict columns of one row."""
    return [
        outcome_label(item.outcome),
        ";".join(r.rule_id for r in item.reasons),
        "；".join(shown(r.message) for r in item.reasons),
        "；".join(dict.fromkeys(shown(r.remedy) for r in item.reasons if r.remedy)),
        "；".join(
            dict.fromkeys(
                f"{r.citation.document} {r.citation.clause}".strip() for r in item.reasons if r.citation.document
            )
        ),
        item.problem,
    ]


def annotated_name(source_name: str) -> str:
    """ "stations.xlsx" -> "stations-核验结果.xlsx"; text files come back as .csv or .tsv."""
    path = Path(source_name)
    suffix = path.suffix.lower()
    if suffix == ".txt":
        suffix = ".tsv"
    return f"{path.stem}-核验结果{suffix}"


def annotate(source: Path, out: Path, items: Mapping[int, Item]) -> None:
    """Writes `source` with the verdict columns of `items` (by row number) added to `out`."""
    suffix = kind_of(source)
    if suffix not in SPREADSHEETS:
        raise ReadError(f"{source.name}: 只有表格文件能加上结果列 (only spreadsheets get verdict columns)")
    if suffix == ".xlsx":
        _xlsx(source, out, items)
    else:
        _text(source, out, items)


def _text(source: Path, out: Path, items: Mapping[int, Item]) -> None:
    text = detect(source)
    with source.open(encoding=text.encoding, newline="") as f:
        first = f.readline()
        delimiter = "\t" if first.count("\t") > first.count(",") else ","
        f.seek(0)
        try:
            records = list(csv.reader(f, delimiter=delimiter))
        except csv.Error as e:  # a cell over the csv module's 128 KiB, say: the checked rows stand
            raise ReadError(f"{source.name}: 无法加上结果列 (cannot add the verdict columns)：{e}") from None
    width = max((len(r) for r in records), default=0)
    with out.open("w", encoding="utf-8-sig", newline="") as f:
        writer = csvsafe.Writer(f, delimiter=delimiter)
        for number, record in enumerate(records, start=1):
            padded = record + [""] * (width - len(record))
            if number == 1:
                writer.writerow(padded + VERDICT_HEADER)
            else:
                item = items.get(number)
                writer.writerow(padded + (verdict_cells(item) if item else [""] * len(VERDICT_HEADER)))


def _xlsx(source: Path, out: Path, items: Mapping[int, Item]) -> None:
    import openpyxl  # type: ignore[import-untyped, unused-ignore]
    from openpyxl.styles import Font, PatternFill  # type: ignore[import-untyped, unused-ignore]

    book = openpyxl.load_workbook(source)
    sheet = book.worksheets[0]
    first = sheet.max_column + 1
    bold = Font(bold=True)
    for i, name in enumerate(VERDICT_HEADER):
        cell = sheet.cell(row=1, column=first + i, value=name)
        cell.font = bold
    for number, item in items.items():
        if number < 2 or number > EXCEL_MAX_ROW:  # a row Excel cannot hold was not read either
            continue
        for i, value in enumerate(verdict_cells(item)):
            sheet.cell(row=number, column=first + i, value=value)
        colour = OUTCOME_COLOR[item.outcome].lstrip("#").upper()
        outcome = sheet.cell(row=number, column=first)
        outcome.fill = PatternFill("solid", fgColor=colour)
        outcome.font = Font(bold=True, color="FFFFFF")
    for i, width in enumerate((16, 28, 60, 40, 40, 40)):
        sheet.column_dimensions[openpyxl.utils.get_column_letter(first + i)].width = width
    book.save(out)
