"""Names as people write them -> the one spelling the facts compare: one normalisation for every subject.

Stations, progress, claims and the county hub all read names through `Spelling`, so 静乐县康家会镇,
康家会镇 and ＸＺ０００４/XZ0004 are the same wherever they are written. What varies between counties
(the administrative prefixes, village endings, words of a branch, of business hours) is reference
data (`rules/reference/names.yaml`); the programme's variant characters (洼 for 窊) come with it.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

_Word = Annotated[str, Field(min_length=1)]
_SPACE = re.compile(r"\s+")
_DASHES = re.compile(r"-+")
_ONE_DIGIT_HOUR = re.compile(r"(?<!\d)(\d):")
_DIGIT = re.compile(r"\d")
# Spellings remembered per programme: a county's few names (its townships, villages, the operator,
# the usual hours) come with every station, and the normalisation costs more than the rest of a
# fact. A pure function of the text; bounded, so odd spellings cannot grow it without end.
MEMO_SIZE = 8192


class Hours(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    to: list[_Word] = Field(default_factory=list, description="ways of writing 'until' (至, 到, —)")
    shift_separators: list[_Word] = Field(default_factory=list, description="between the shifts of one day")
    day_words: list[_Word] = Field(default_factory=list, description="words of a day range (周一至周日)")


class NamesModel(BaseModel):
    """`rules/reference/names.yaml`: the words names are written with."""

    model_config = ConfigDict(extra="forbid", strict=True)
    admin_prefixes: list[_Word] = Field(default_factory=list, description="province, city, county before a name")
    village_suffixes: list[_Word] = Field(default_factory=list, description="村委会, 村: a village's endings")
    branch_suffixes: list[_Word] = Field(default_factory=list, description="分公司: a branch of a company")
    branch_places: list[_Word] = Field(default_factory=list, description="places written before a branch word")
    hours: Hours = Field(default_factory=Hours)


def plain(text: str) -> str:
    """NFKC (full width -> half width) with all spacing removed: the base of every comparison."""
    return _SPACE.sub("", unicodedata.normalize("NFKC", text))


@functools.lru_cache(maxsize=MEMO_SIZE)
def code(text: str) -> str:
    """A sign code as the county numbers it: ＸＺ０００４, xz0004 and XZ 0004 are XZ0004 (read
    three times per check: remembered like the names, bounded)."""
    return plain(text).upper()


def _longest_first(words: Iterable[str]) -> tuple[str, ...]:
    return tuple(sorted({plain(w) for w in words if plain(w)}, key=len, reverse=True))


class Spelling:
    """The normalisation of one programme's names (reference words plus its variant characters)."""

    def __init__(self, model: NamesModel | None = None, variants: Mapping[str, str] | None = None) -> None:
        m = model or NamesModel()
        self._memo: dict[tuple[str, str], str] = {}
        self._variants = str.maketrans(dict(variants or {}))
        self.admin_prefixes = _longest_first(self.name(p) for p in m.admin_prefixes)
        self.village_suffixes = _longest_first(self.name(s) for s in m.village_suffixes)
        self.branch_suffixes = _longest_first(self.name(s) for s in m.branch_suffixes)
        self.branch_places = _longest_first(self.name(p) for p in m.branch_places)
        self._to = str.maketrans({plain(w): "-" for w in m.hours.to if len(plain(w)) == 1})
        self._to_words = _longest_first(w for w in m.hours.to if len(plain(w)) > 1)
        separators = _longest_first(m.hours.shift_separators)
        self._shifts = re.compile("|".join(re.escape(s) for s in separators)) if separators else None
        self._day_words = _longest_first(m.hours.day_words)

    def remember(self, kind: str, text: str, spell: Callable[[str], str]) -> str:
        """`spell(text)`, computed once per kind and text (bounded): for pure functions of a name."""
        key = (kind, text)
        found = self._memo.get(key)
        if found is None:
            found = spell(text)  # first: it may remember other spellings itself
            if len(self._memo) >= MEMO_SIZE:
                self._memo.clear()
            self._memo[key] = found
        return found

    def name(self, text: str) -> str:
        """`plain`, with variant characters made official (赤泥洼村 -> 赤泥窊村)."""
        return self.remember("name", text, self._name)

    def _name(self, text: str) -> str:
        return plain(text).translate(self._variants)

    def place(self, text: str, also: Iterable[str] = ()) -> str:
        """A county, township or village name without the administrative units written before it
        (山西省忻州市静乐县康家会镇 -> 康家会镇), in any combination and order; `also` adds more
        prefixes (a village written after its township). A name that is only a prefix stays itself."""
        if not also:
            return self.remember("place", text, self._place)
        return self._place(text, also)

    def _place(self, text: str, also: Iterable[str] = ()) -> str:
        name = self.name(text)
        prefixes = self.admin_prefixes + _longest_first(self.name(a) for a in also)
        stripped = True
        while stripped:
            stripped = False
            for prefix in prefixes:
                if name.startswith(prefix) and len(name) > len(prefix):
                    name, stripped = name[len(prefix) :], True
                    break
        return name

    def village_bases(self, text: str, also: Iterable[str] = ()) -> list[str]:
        """The forms of a village name to look up: without each village ending, then as written."""
        name = self.place(text, also)
        bases = [name.removesuffix(s) for s in self.village_suffixes if name.endswith(s) and name != s]
        return [*bases, name]

    def company(self, text: str) -> str:
        """A company without its branch words: 山西壹公里信息科技有限公司静乐分公司 -> 山西壹公里信息科技有限公司."""
        return self.remember("company", text, self._company)

    def _company(self, text: str) -> str:
        name = self.name(text)
        for suffix in self.branch_suffixes:
            if name.endswith(suffix) and len(name) > len(suffix):
                name = name[: -len(suffix)]
                trimmed = True
                while trimmed:
                    trimmed = False
                    for place in self.branch_places:
                        if name.endswith(place) and len(name) > len(place):
                            name, trimmed = name[: -len(place)], True
                            break
                break
        return name

    def hours(self, text: str) -> str:
        """Business hours as the rule reads them: each shift as HH:MM-HH:MM, shifts joined by ","
        (周一至周日 8:00-12:00，14:00-18:00 -> 08:00-12:00,14:00-18:00); day ranges are left out."""
        return self.remember("hours", text, self._hours)

    def _hours(self, text: str) -> str:
        hours = plain(text)
        for word in self._to_words:
            hours = hours.replace(word, "-")
        hours = hours.translate(self._to)
        parts = self._shifts.split(hours) if self._shifts else [hours]
        shifts = []
        for part in parts:
            found = _DIGIT.search(part)
            if found is None:
                if self._only_day_words(part):
                    continue  # a day range on its own (周一至周日，8:00-18:00)
                shifts.append(part)
                continue
            if self._only_day_words(part[: found.start()]):
                part = part[found.start() :]
            shifts.append(_ONE_DIGIT_HOUR.sub(r"0\1:", _DASHES.sub("-", part)))
        return ",".join(shifts)

    def _only_day_words(self, text: str) -> bool:
        while text:
            word = next((w for w in self._day_words if text.startswith(w)), None)
            if word is None:
                return False
            text = text[len(word) :]
        return True
