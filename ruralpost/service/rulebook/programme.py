"""Programme data (静乐县 2023) and the reference look-ups done while facts are built.

The engine cannot look names up, so township and village names (with their aliases) are resolved
to official division codes here; the rules then require a resolved code.
"""

from __future__ import annotations

import csv
import datetime as dt
import posixpath
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ruralpost.service.rulebook.schema import ProgrammeModel, RulebookError, validated
from ruralpost.service.rulebook.subsidy import SubsidyConfig

VILLAGE_SUFFIX = "村委会"
DIVISION_COLUMNS = ("code", "name", "level", "parent_code")


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
    """One programme's facts: county, townships and targets, operator, divisions, parameters.

    `data` stays the raw mapping (rules read it as `${…}` parameters, a few modules by key);
    `schema.ProgrammeModel` has checked every key read, so those reads cannot fail.
    """

    def __init__(self, data: dict[str, Any], base_dir: Path, source: str = "programme data") -> None:
        self.data = data
        m = validated(ProgrammeModel, data, source)
        self.id: str = m.programme
        self.county_name: str = m.county.name
        self.county_code: str = m.county.code
        self.operator: str = m.operator
        self.townships: list[Township] = [
            Township(t.name, t.code, t.township_stations, t.village_points, tuple(t.aliases)) for t in m.townships
        ]
        self._township_by_name: dict[str, Township] = {}
        for t in self.townships:
            for name in (t.name, *t.aliases):
                self._township_by_name[name] = t
        self.milestones: list[Milestone] = sorted(
            (Milestone(name, ms.date, ms.fraction) for name, ms in m.milestones.items()), key=lambda ms: ms.date
        )
        self.hub_deadline: dt.date | None = m.hub.deadline
        self.retired_townships: dict[str, str] = dict(m.retired_townships)
        # 方案 五: subsidy rates, operators, categories (placeholder amounts: docs/subsidy.md).
        self.subsidy: SubsidyConfig | None = SubsidyConfig(m.subsidy) if m.subsidy else None
        self._county_names = {self.county_name, self.county_name.removesuffix("县"), self.county_code}
        # village base name (without 村委会) -> code, per township code
        self._villages: dict[str, dict[str, str]] = {}
        self._village_names: dict[str, str] = {}
        self.divisions_path = (base_dir / m.divisions).resolve()
        self._read_divisions(m.divisions, source)

    def _read_divisions(self, written: str, source: str) -> None:
        """The division list; a mistake in it names the CSV file and line (or the programme's key)."""
        name = posixpath.normpath(posixpath.join(posixpath.dirname(source), written))
        try:
            with open(self.divisions_path, encoding="utf-8", newline="") as f:
                reader = csv.DictReader(f)
                missing = set(DIVISION_COLUMNS) - set(reader.fieldnames or ())
                if missing:
                    raise RulebookError(
                        f"{name}: line 1: the header lacks {sorted(missing)} (columns: {','.join(DIVISION_COLUMNS)})"
                    )
                for row in reader:
                    if any(row.get(c) is None for c in DIVISION_COLUMNS):
                        raise RulebookError(
                            f"{name}: line {reader.line_num}: fewer than {len(DIVISION_COLUMNS)} columns"
                        )
                    if row["level"] != "village":
                        continue
                    base = row["name"].removesuffix(VILLAGE_SUFFIX)
                    self._villages.setdefault(row["parent_code"], {})[base] = row["code"]
                    self._village_names[row["code"]] = base
        except OSError as e:
            raise RulebookError(f"{source}: divisions: cannot read {written}: {e.strerror or e}") from None
        except (UnicodeDecodeError, csv.Error) as e:
            raise RulebookError(f"{name}: not a UTF-8 CSV file: {e}") from None

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
