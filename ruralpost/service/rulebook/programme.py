"""Programme data (静乐县 2023) and the reference look-ups done while facts are built.

The engine cannot look names up, so township and village names (with their aliases) are resolved
to official division codes here; the rules then require a resolved code. Every name is read through
the programme's one `names.Spelling` (prefixes, full width, spacing, variant characters, branches).
"""

from __future__ import annotations

import csv
import datetime as dt
import posixpath
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from ruralpost.service import names
from ruralpost.service.rulebook.schema import ProgrammeModel, RulebookError, validated
from ruralpost.service.rulebook.subsidy import SubsidyConfig

VILLAGE_SUFFIX = "村委会"  # the official division name of an administrative village: 杜家村村委会
VILLAGE = "村"
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


def village_own_name(official: str) -> str:
    """A village's own name from its official name: 村委会 removed, and 村 added unless it ends in 村
    already (杜家村村委会 -> 杜家村, never 杜家村村; 砚湾村委会 -> 砚湾村)."""
    base = official.strip().removesuffix(VILLAGE_SUFFIX)
    return base if base.endswith(VILLAGE) else base + VILLAGE


class Programme:
    """One programme's facts: county, townships and targets, operator, divisions, parameters.

    `model` is the programme data as checked (`schema.ProgrammeModel`, read only): goals, hub,
    zones and the other settings are read from it by attribute. The rule packs' `${…}` parameters
    are filled from the file at load (packs.py).
    """

    def __init__(self, m: ProgrammeModel, base_dir: Path, source: str = "programme data") -> None:
        self.model = m
        self.id: str = m.programme
        self.county_name: str = m.county.name
        self.county_code: str = m.county.code
        self.operator: str = m.operator
        # characters written for the official one (洼 for 窊): 赤泥洼乡 = 赤泥窊乡, 赤泥洼村 = 赤泥窊村
        words = (
            validated(names.NamesModel, _read_yaml(base_dir / m.names, source), _beside(source, m.names))
            if m.names
            else None
        )
        self.names = names.Spelling(words, m.variant_characters)
        self.reference_paths: list[Path] = [(base_dir / m.names).resolve()] if m.names else []
        # 附件2's operator and its branches (programme aliases): one operator (STN-OPERATOR)
        self._operator_names = {self.names.company(n) for n in (m.operator, *m.operator_aliases)}
        self.townships: list[Township] = [
            Township(t.name, t.code, t.township_stations, t.village_points, tuple(t.aliases)) for t in m.townships
        ]
        self._township_by_name: dict[str, Township] = {}
        self._township_by_code = {t.code: t for t in self.townships}
        self._village_found: dict[tuple[str, str], tuple[str, str]] = {}  # (township code, name) -> village_code
        for t in self.townships:
            for name in (t.name, *t.aliases):
                self._township_by_name[self.names.name(name)] = t
        self.milestones: list[Milestone] = sorted(
            (Milestone(name, ms.date, ms.fraction) for name, ms in m.milestones.items()), key=lambda ms: ms.date
        )
        self.retired_townships: dict[str, str] = dict(m.retired_townships)
        # 方案 五: subsidy rates, operators, categories (placeholder amounts: docs/subsidy.md).
        self.subsidy: SubsidyConfig | None = SubsidyConfig(m.subsidy) if m.subsidy else None
        self._county_names = {self.names.name(n) for n in (self.county_name, self.county_name.removesuffix("县"))}
        self._county_names.add(self.county_code)
        # village base name (official name without 村委会, variant characters made official) -> code,
        # per township code; code -> the village's own name (杜家村村委会 -> 杜家村, 砚湾村委会 -> 砚湾村)
        self._villages: dict[str, dict[str, str]] = {}
        self._village_names: dict[str, str] = {}
        self._village_order: dict[str, list[str]] = {}
        self._base_names: dict[str, str] = {}
        self._sign_cache: dict[str, list[str]] = {}
        self._longer: dict[tuple[str, str], list[str]] = {}  # (kind, words) -> markings ending in them
        self.divisions_path = (base_dir / m.divisions).resolve()
        self._read_divisions(m.divisions, source)

    @classmethod
    def read(cls, data: Any, base_dir: Path, source: str = "programme data") -> Programme:
        """The programme of a file's data, checked (RulebookError names every problem)."""
        return cls(validated(ProgrammeModel, data, source), base_dir, source)

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
                    self._villages.setdefault(row["parent_code"], {})[self.names.name(base)] = row["code"]
                    self._village_names[row["code"]] = village_own_name(row["name"])
                    self._base_names[row["code"]] = base
                    self._village_order.setdefault(row["parent_code"], []).append(row["code"])
        except OSError as e:
            raise RulebookError(f"{source}: divisions: cannot read {written}: {e.strerror or e}") from None
        except (UnicodeDecodeError, csv.Error) as e:
            raise RulebookError(f"{name}: not a UTF-8 CSV file: {e}") from None

    def county_code_of(self, name: str) -> str:
        """The county's code when the name is this programme's county, else ""."""
        return self.county_code if self.names.place(name) in self._county_names else ""

    def township(self, name: str) -> Township | None:
        """The programme township a name means: alias, variant character, 山西省/忻州市/静乐县 before it,
        full width and spacing all aside."""
        return self._township_by_name.get(self.names.place(name))

    def township_hint(self, name: str) -> str:
        """Why an unknown township name is unknown, when the programme data knows."""
        note = self.retired_townships.get(self.names.place(name))
        return f"（{note}）" if note else ""

    def official_spelling(self, text: str) -> str:
        """Variant characters replaced by the official ones (赤泥洼村 -> 赤泥窊村)."""
        return self.names.name(text)

    def village_code(self, township_code: str, name: str) -> tuple[str, str]:
        """(code, own name) of an administrative village of the township, named with or without
        村/村委会, after its county or township or not, in either spelling of a variant character;
        ("", the name as written) if none. Remembered like the names it is made of (names.py)."""
        key = (township_code, name)
        found = self._village_found.get(key)
        if found is None:
            if len(self._village_found) >= names.MEMO_SIZE:
                self._village_found.clear()
            found = self._village_found[key] = self._find_village(township_code, name)
        return found

    def _find_village(self, township_code: str, name: str) -> tuple[str, str]:
        villages = self._villages.get(township_code, {})
        township = self._township_by_code.get(township_code)
        written = (township.name, *township.aliases) if township else ()
        for candidate in self.names.village_bases(name, written):
            code = villages.get(candidate)
            if code:
                return code, self._village_names[code]
        return "", village_own_name(self.names.place(name, written))

    def village_name(self, code: str) -> str:
        """The village's own name: its official 村委会 name minus 村委会, ending in 村 (杜家村, 砚湾村)."""
        return self._village_names[code]

    def villages_of(self, township_code: str) -> list[str]:
        """Official names (…村委会 removed) of a township's administrative villages, in division-code order."""
        return [self._base_names[c] for c in self._village_order.get(township_code, [])]

    def county_villages(self) -> list[tuple[str, str]]:
        """(code, own name) of every administrative village of the county, in division-code order."""
        return [(c, self._village_names[c]) for codes in self._village_order.values() for c in codes]

    def is_programme_operator(self, name: str) -> bool:
        """附件2's operator, under its name or a branch's (programme aliases, or branch words)."""
        return self.names.company(name) in self._operator_names

    def brand_key(self, name: str) -> str:
        """A company name as brands are looked up: spelt as names are compared, branch words and case aside."""
        return self.names.company(name).casefold()

    def expected_sign_text(self, kind: str, township: str, village: str) -> str:
        """The words a partnered station's marking shows (附件3 二(2)): 杜家村镇快递综合服务站, 杜家村快递便民服务点."""
        template = self.model.sign_text.of(kind)
        return template.format(township=township, village=village)

    def shows(self, text: str, words: str, kind: str) -> bool:
        """Whether a marking shows the words (注明…字样: contains, with a prefix such as 静乐县 or not).

        Spacing, township aliases and variant characters are ignored. The words must not be the
        tail of another name: 上村快递便民服务点 is not shown by 堂尔上村快递便民服务点.
        """
        text, words = self._comparable(text), self._comparable(words)
        if not words:
            return False
        longer = self._longer.get((kind, words))
        if longer is None:
            if len(self._longer) > 4096:  # words of unknown villages come from requests: keep it small
                self._longer.clear()
            longer = self._longer[kind, words] = [n for n in self._sign_names(kind) if n.endswith(words) and n != words]
        start = text.find(words)
        while start >= 0:
            if not any(text[:start].endswith(name[: len(name) - len(words)]) for name in longer):
                return True
            start = text.find(words, start + 1)
        return False

    def same_name(self, one: str, other: str) -> bool:
        """Two spellings of one name: spacing, full width, township aliases and variant characters aside."""
        return self._comparable(one) == self._comparable(other)

    def _comparable(self, text: str) -> str:
        return self.names.remember("comparable", text, self._make_comparable)

    def _make_comparable(self, text: str) -> str:
        return self.official_spelling(self.canonical_text(names.plain(text)))

    def _sign_names(self, kind: str) -> list[str]:
        """Every marking of the kind the county's names give (for `shows`), computed once."""
        cached = self._sign_cache.get(kind)
        if cached is None:
            if kind == "VILLAGE_POINT":
                names = {self.expected_sign_text(kind, "", own) for _, own in self.county_villages()}
            else:
                names = {self.expected_sign_text(kind, t.name, "") for t in self.townships}
            cached = self._sign_cache[kind] = sorted(self._comparable(n) for n in names)
        return cached

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


def _beside(source: str, written: str) -> str:
    """A file named relative to the programme file, as messages name it (rules/…)."""
    return posixpath.normpath(posixpath.join(posixpath.dirname(source), written))


def _read_yaml(path: Path, source: str) -> Any:
    try:
        with open(path, encoding="utf-8") as f:
            return yaml.safe_load(f) or {}
    except OSError as e:
        raise RulebookError(f"{source}: cannot read {path.name}: {e.strerror or e}") from None
    except yaml.YAMLError as e:
        raise RulebookError(f"{source}: {path.name} is not valid YAML: {e}") from None
