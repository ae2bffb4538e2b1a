"""What a request sees: the active rule set, the store and the per-call limits.

A reload swaps the rule set whole, so a request sees one version; the new set becomes active only
when it loads and passes its golden cases. The first set, at start, passes them too, or the
service does not start.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ruralpost.service.errors import ServiceError
from ruralpost.service.golden.cases import run_gate
from ruralpost.service.rulebook.packs import RulebookError, content_hash
from ruralpost.service.ruleset import RuleSet, load_ruleset
from ruralpost.service.store import Store

log = logging.getLogger(__name__)

# Rule folders (by the digest of every file in them) whose golden cases passed in this process, and
# how many: the cases run once per content, not again for each server a process starts (tests, and
# pre-forked workers, which inherit what their parent ran).
_PASSED: dict[str, int] = {}


def _folder_digest(rules_dir: Path) -> str:
    root = rules_dir.resolve()
    return content_hash([p for p in root.rglob("*") if p.is_file()], root)


def _gate(candidate: RuleSet, rules_dir: Path) -> int:
    """How many golden cases the set passes; RulebookError when one fails (see golden/cases.py)."""
    key = _folder_digest(rules_dir)
    if key not in _PASSED:
        try:
            _PASSED[key] = run_gate(candidate, rules_dir)
        except ServiceError as e:  # a case the rules refuse as a request (more parcels than allowed, ...)
            raise RulebookError(f"cases: a golden case is no valid request under these rules: {e.message}") from None
    return _PASSED[key]


class ActiveRules:
    """Holds the rule set requests use, and replaces it atomically on reload.

    RulebookError at start when the folder does not load or its golden cases fail."""

    def __init__(self, rules_dir: Path) -> None:
        self.rules_dir = rules_dir
        self._lock = threading.Lock()
        first = load_ruleset(rules_dir)
        try:
            passed = _gate(first, rules_dir)
        except RulebookError as e:
            raise RulebookError(f"黄金用例未通过，不启动 (the golden cases fail, not starting): {e}") from None
        log.info("ruleset %s: %d golden cases passed", first.version, passed)
        self._current = first

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
        try:
            passed = _gate(candidate, self.rules_dir)
        except RulebookError as e:
            raise RulebookError(f"{e} (the old rule set stays)") from None
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
