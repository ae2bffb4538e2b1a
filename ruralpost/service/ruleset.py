"""A rule set: the rule book and its compiled engine, loaded together (reload: `runtime.py`)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ruralpost.service.config import DEFAULT_RULES_DIR
from ruralpost.service.engine import Engine
from ruralpost.service.rulebook import packs as rulebook


@dataclass(frozen=True)
class RuleSet:
    book: rulebook.Rulebook
    engine: Engine

    @property
    def version(self) -> str:
        return self.book.version


def load_ruleset(rules_dir: Path = DEFAULT_RULES_DIR) -> RuleSet:
    """Loads and compiles a rule set; raises RulebookError when it is not valid."""
    book = rulebook.load(rules_dir)
    return RuleSet(book, Engine(book))
