"""A rule set: the rule book, its compiled engine and the programme's reference data, loaded
together (reload: `runtime.py`). The reference data has its own version: answers record both."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

from ruralpost.service.config import DEFAULT_RULES_DIR
from ruralpost.service.engine import Engine
from ruralpost.service.refdata.load import load_reference
from ruralpost.service.refdata.lookup import ReferenceData
from ruralpost.service.rulebook import packs as rulebook


@dataclass(frozen=True)
class RuleSet:
    book: rulebook.Rulebook
    engine: Engine
    reference: ReferenceData

    @property
    def version(self) -> str:
        return self.book.version

    @functools.cached_property
    def _brands(self) -> dict[str, str]:
        """Each name of the reference data's brand table, spelt as the programme compares names, -> its brand."""
        key = self.book.programme.brand_key
        return {key(n): b.name for b in self.reference.tables.brands for n in (b.name, *b.aliases)}

    def brand_of(self, name: str) -> str | None:
        """The express brand a company name belongs to (HUB-BRANDS), or None when the table has none."""
        return self._brands.get(self.book.programme.brand_key(name))


def load_ruleset(rules_dir: Path = DEFAULT_RULES_DIR) -> RuleSet:
    """Loads and compiles a rule set; raises RulebookError when it is not valid."""
    book = rulebook.load(rules_dir)
    return RuleSet(book, Engine(book), load_reference(rules_dir, book.programme.id))
