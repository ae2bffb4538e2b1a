"""CSV cells that a spreadsheet would run, written as text.

Excel, WPS and LibreOffice take a cell that starts with `=`, `+`, `-` or `@` (tab and CR too,
which some of them strip first) as a formula: `=HYPERLINK(...)` in a submitted station name would
come back live in the results we write. As OWASP recommends, such a cell is written with a single
quote in front, which the spreadsheet shows as text. A cell that reads whole as a number (-3,
+1.5, -2e3) is left as it is: it is a number in any spreadsheet, never a formula, and a quote
would turn the negative numbers of a numeric column into text.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from typing import Any, TextIO

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return text == text.strip() and text.lower().lstrip("+-") not in ("inf", "infinity", "nan")


def neutral(value: Any) -> Any:
    """The cell as it is safe to write: text a spreadsheet would run gets a leading quote."""
    if isinstance(value, str) and value.startswith(FORMULA_START) and not _number(value):
        return "'" + value
    return value


class Writer:
    """csv.writer whose every cell goes through `neutral`."""

    def __init__(self, out: TextIO, **options: Any) -> None:
        self._writer = csv.writer(out, **options)

    def writerow(self, row: Iterable[Any]) -> None:
        self._writer.writerow([neutral(v) for v in row])

    def writerows(self, rows: Iterable[Iterable[Any]]) -> None:
        for row in rows:
            self.writerow(row)
