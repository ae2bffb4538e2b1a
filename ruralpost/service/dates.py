"""Dates as the programme writes them (YYYY-MM-DD) and as the engine compares them (day numbers)."""

from __future__ import annotations

import datetime as dt
import functools
import re

MIN_YEAR, MAX_YEAR = 2000, 2100  # outside these a date is a typing mistake, not a programme date
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_EPOCH = dt.date(1970, 1, 1)


@functools.lru_cache(maxsize=4096)
def parse_date(text: str) -> dt.date:
    """YYYY-MM-DD strictly, within MIN_YEAR-MAX_YEAR; ValueError saying why otherwise. A request
    repeats the few dates of its day and its station: each text is parsed once (bounded)."""
    try:
        if not _DATE.match(text):
            raise ValueError
        date = dt.date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"not a date of the form YYYY-MM-DD: {text[:40]!r}") from None
    if not MIN_YEAR <= date.year <= MAX_YEAR:
        raise ValueError(f"year {date.year} outside {MIN_YEAR}-{MAX_YEAR}")
    return date


def date_or_none(text: str) -> dt.date | None:
    """The date, or None where the text is not one (a parcel's shipping date may be anything)."""
    try:
        return parse_date(text)
    except ValueError:
        return None


def day_number(date: dt.date) -> int:
    """Days since 1970-01-01: dates become integers the engine compares."""
    return (date - _EPOCH).days
