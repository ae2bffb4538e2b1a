"""The active rule set (rule book + compiled engine) and its atomic replacement on reload."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

from . import rulebook
from .engine import Engine

DEFAULT_RULES_DIR = Path(__file__).resolve().parent.parent / "rules"


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


class ActiveRules:
    """Holds the rule set requests use; a reload swaps it whole, so a request sees one version."""

    def __init__(self, rules_dir: Path) -> None:
        self.rules_dir = rules_dir
        self._current = load_ruleset(rules_dir)
        self._lock = threading.Lock()

    @property
    def current(self) -> RuleSet:
        return self._current

    def replace(self, ruleset: RuleSet) -> None:
        with self._lock:
            self._current = ruleset
