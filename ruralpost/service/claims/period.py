"""A claim period YYYY-MM (方案 五: the programme year, claimed month by month)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass


@dataclass(frozen=True)
class Period:
    """A claim period YYYY-MM: its first and last day."""

    text: str
    number: int  # YYYYMM
    first: dt.date
    last: dt.date

    @classmethod
    def parse(cls, text: str) -> Period:
        year, month = int(text[:4]), int(text[5:7])
        first = dt.date(year, month, 1)
        last = (first.replace(day=28) + dt.timedelta(days=4)).replace(day=1) - dt.timedelta(days=1)
        return cls(text, year * 100 + month, first, last)
