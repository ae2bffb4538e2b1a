"""The active rule set (rule book + compiled engine) and its atomic replacement on reload."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

from ruralpost.service.engine import Engine
from ruralpost.service.rulebook import packs as rulebook

DEFAULT_RULES_DIR = Path(__file__).resolve().parents[2] / "rules"


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

    def reload(self) -> tuple[RuleSet, int]:
        """Loads the folder again; the new set becomes active only if all its golden cases pass.

        Returns the new set and how many cases it passed.

        Raises RulebookError (and keeps the old set) when it does not load or a case fails.
        """
        from ruralpost.service.golden.cases import coverage_gaps, load_cases, run_all

        with self._lock:
            candidate = load_ruleset(self.rules_dir)
            results = run_all(candidate, self.rules_dir)
            failed = [r.describe() for r in results if not r.ok]
            failed += coverage_gaps(candidate, load_cases(self.rules_dir))
            if failed:
                raise rulebook.RulebookError(
                    f"{len(failed)} golden case problem(s), the old rule set stays: " + "; ".join(failed[:5]))
            self._current = candidate
            return candidate, len(results)
