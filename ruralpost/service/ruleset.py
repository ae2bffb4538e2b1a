"""A rule set: the rule book, its compiled engine and the programme's reference data, loaded
together (reload: `runtime.py`). The reference data has its own version: answers record both."""

from __future__ import annotations

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


def load_ruleset(rules_dir: Path = DEFAULT_RULES_DIR) -> RuleSet:
    """Loads and compiles a rule set; raises RulebookError when it is not valid."""
    book = rulebook.load(rules_dir)
    return RuleSet(book, Engine(book), load_reference(rules_dir, book.programme.id))
