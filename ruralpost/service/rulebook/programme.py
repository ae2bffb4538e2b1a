"""Programme data (静乐县 2023) and the reference look-ups done while facts are built.

The engine cannot look names up, so township and village names (with their aliases) are resolved
to official division codes here; the rules then require a resolved code.
"""

from __future__ import annotations

import csv
import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ruralpost.service.rulebook.subsidy import SubsidyConfig

VILLAGE_SUFFIX = "村委会"


@dataclass(frozen=True)
class Township:
    name: str
    code: str
    township_stations: int
    village_points: int
    aliases: tuple[str, ...]


@dataclass(frozen=True)
class Milestone:
    """A pacing date of 方案 四(二)/六(二): work due by `date` is on time on that day itself."""

    name: str
    date: dt.date
    fraction: float  # share of each county goal due after the date; 0 when the milestone sets none


class Programme:
    """One programme's facts: county, townships and targets, operator, divisions, parameters."""

    def __init__(self, data: dict[str, Any], base_dir: Path) -> None:
        self.data = data
        self.id: str = data["programme"]
        self.county_name: str = data["county"]["name"]
        self.county_code: str = str(data["county"]["code"])
        self.operator: str = data["operator"]
        self.townships: list[Township] = [
            Township(
                name=t["name"],
                code=str(t["code"]),
                township_stations=int(t["township_stations"]),
                village_points=int(t["village_points"]),
                aliases=tuple(t.get("aliases", ())),
            )
            for t in data["townships"]
        ]
        self._township_by_name: dict[str, Township] = {}
        for t in self.townships:
            for name in (t.name, *t.aliases):
                self._township_by_name[name] = t
        self.milestones: list[Milestone] = sorted(
            (Milestone(name, _date(m["date"]), float(m.get("fraction", 0.0)))
             for name, m in (data.get("milestones") or {}).items()),
            key=lambda m: m.date)
        self.hub_deadline: dt.date | None = _date(data["hub"]["deadline"]) if "hub" in data else None
        self.retired_townships: dict[str, str] = dict(data.get("retired_townships", {}))
        # 方案 五: subsidy rates, operators, categories (placeholder amounts: docs/subsidy.md).
        self.subsidy: SubsidyConfig | None = SubsidyConfig(data["subsidy"]) if "subsidy" in data else None
        self._county_names = {self.county_name, self.county_name.removesuffix("县"), self.county_code}
        # village base name (without 村委会) -> code, per township code
        self._villages: dict[str, dict[str, str]] = {}
        self._village_names: dict[str, str] = {}
        with open(base_dir / data["divisions"], encoding="utf-8", newline="") as f:
            for row in csv.DictReader(f):
                if row["level"] != "village":
                    continue
                base = row["name"].removesuffix(VILLAGE_SUFFIX)
                self._villages.setdefault(row["parent_code"], {})[base] = row["code"]
                self._village_names[row["code"]] = base

    def county_code_of(self, name: str) -> str:
        """The county's code when the name is this programme's county, else ""."""
        return self.county_code if name.strip() in self._county_names else ""

    def township(self, name: str) -> Township | None:
        return self._township_by_name.get(name.strip())

    def township_hint(self, name: str) -> str:
        """Why an unknown township name is unknown, when the programme data knows."""
        note = self.retired_townships.get(name.strip())
        return f"（{note}）" if note else ""

    def village_code(self, township_code: str, name: str) -> tuple[str, str]:
        """(code, base name) of an administrative village named with or without 村/村委会."""
        villages = self._villages.get(township_code, {})
        name = name.strip()
        for candidate in (name.removesuffix(VILLAGE_SUFFIX), name.removesuffix("村"), name):
            code = villages.get(candidate)
            if code:
                return code, candidate
        return "", name.removesuffix(VILLAGE_SUFFIX).removesuffix("村")

    def villages_of(self, township_code: str) -> list[str]:
        """Base names of a township's administrative villages, in division-code order."""
        villages = self._villages.get(township_code, {})
        return sorted(villages, key=lambda name: villages[name])

    def required_fraction(self, as_of: dt.date) -> float:
        """The share of each county goal in force on `as_of`: that of the last milestone passed."""
        return max((m.fraction for m in self.milestones if as_of > m.date), default=0.0)

    def canonical_text(self, text: str) -> str:
        """Replaces township aliases by the programme's spelling (赤泥窊乡 -> 赤泥洼乡)."""
        for t in self.townships:
            for alias in t.aliases:
                if alias in text:
                    text = text.replace(alias, t.name)
        return text


def _date(value: object) -> dt.date:
    """A programme date, written unquoted: rules read it as a `${…}` parameter and the engine
    compares it as a day number; a quoted one would reach the engine as a string, compared wrongly."""
    if not isinstance(value, dt.date):
        raise TypeError(f"date {value!r} must be an unquoted YYYY-MM-DD")
    return value
