"""What a request sees: the active rule set, the store and the per-call limits.

A reload swaps the rule set whole, so a request sees one version; the new set becomes active only
when it loads and passes its golden cases.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ruralpost.service.golden.cases import run_gate
from ruralpost.service.ruleset import RuleSet, load_ruleset
from ruralpost.service.store import Store


class ActiveRules:
    """Holds the rule set requests use, and replaces it atomically on reload."""

    def __init__(self, rules_dir: Path) -> None:
        self.rules_dir = rules_dir
        self._current = load_ruleset(rules_dir)
        self._lock = threading.Lock()

    @property
    def current(self) -> RuleSet:
        return self._current

    def reload(self) -> tuple[RuleSet, int]:
        """Loads the folder again and activates it; returns the new set and the cases it passed.

        Raises RulebookError (and keeps the old set) when it does not load or a case fails.
        """
        with self._lock:
            return self._activate(load_ruleset(self.rules_dir))

    def reload_if_changed(self) -> tuple[RuleSet, int] | None:
        """`reload`, or None when the folder holds the active set already: a pre-forked worker
        told of a sibling's ReloadRules (the sibling itself is told too) does not run the cases again."""
        with self._lock:
            candidate = load_ruleset(self.rules_dir)
            return None if candidate.version == self._current.version else self._activate(candidate)

    def _activate(self, candidate: RuleSet) -> tuple[RuleSet, int]:
        passed = run_gate(candidate, self.rules_dir)
        self._current = candidate
        return candidate, passed


@dataclass
class Runtime:
    """The state a servicer works on: active rules, the store and the per-call limits."""

    rules: ActiveRules
    store: Store
    max_stream_items: int = 1_000_000
    # After a ReloadRules: tells the other pre-forked workers to reload too (None: one process).
    on_reload: Callable[[], None] | None = None
