"""What a request sees: the active rule set, the store and the per-call limits.

A reload swaps the rule set whole, so a request sees one version; the new set becomes active only
when it loads and passes its golden cases. The first set, at start, passes them too, or the
service does not start.

With a store, the rule set's reference data is the store's newest version (the package's YAML is
version 1, stored at first start). A change (`replace_reference`) passes the same checks and
golden cases before it is stored and active. Other replicas on the same database take it at their
next claim after at most REFERENCE_POLL_SECONDS (`refresh`), or at once when told to reload, once
it passes the same gate there (their rules may differ from the storing replica's, during a rolling
upgrade); a version that fails it is not taken and the replica says so in its log.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ruralpost.service.errors import ServiceError
from ruralpost.service.golden.cases import run_gate
from ruralpost.service.refdata.load import from_mapping
from ruralpost.service.rulebook.packs import RulebookError, content_hash
from ruralpost.service.ruleset import RuleSet, load_ruleset
from ruralpost.service.store import ReferenceVersion, ReferenceVersions, Store, VersionConflict

# How old the replica's view of the store's newest reference version may be: one indexed look-up
# (max(version) of one programme) at most this often, on the claim path (docs/subsidy.md).
REFERENCE_POLL_SECONDS = 2.0
FIRST_AUTHOR = "ruralpost"
FIRST_REASON = "随程序包提供的第一版 (the first version, shipped in the package)"

log = logging.getLogger(__name__)

# Rule folders (by the digest of every file in them) whose golden cases passed in this process, and
# how many: the cases run once per content, not again for each server a process starts (tests, and
# pre-forked workers, which inherit what their parent ran).
_PASSED: dict[str, int] = {}


def _folder_digest(rules_dir: Path) -> str:
    root = rules_dir.resolve()
    return content_hash([p for p in root.rglob("*") if p.is_file()], root)


@dataclass(frozen=True)
class RefusedVersion:
    """A version another replica stored that fails this replica's gate (its golden cases): not taken."""

    version: int
    content_hash: str
    why: str


class ReferenceRefused(RulebookError):
    """A reference-data change that does not pass its checks (the schema, names, rates)."""


def _gate(candidate: RuleSet, rules_dir: Path) -> int:
    """How many golden cases the set passes; RulebookError when one fails (see golden/cases.py)."""
    key = f"{_folder_digest(rules_dir)}:{candidate.reference.version}"
    if key not in _PASSED:
        try:
            _PASSED[key] = run_gate(candidate, rules_dir)
        except ServiceError as e:  # a case the rules refuse as a request (more parcels than allowed, ...)
            raise RulebookError(f"cases: a golden case is no valid request under these rules: {e.message}") from None
    return _PASSED[key]


class ActiveRules:
    """Holds the rule set requests use, and replaces it atomically on reload.

    RulebookError at start when the folder does not load or its golden cases fail."""

    def __init__(self, rules_dir: Path, poll_seconds: float = REFERENCE_POLL_SECONDS) -> None:
        self.rules_dir = rules_dir
        self.references: ReferenceVersions | None = None
        self.poll_seconds = poll_seconds
        self.reference_number = 0  # the store's number of the active reference data (0: no store)
        self.refused: RefusedVersion | None = None  # a newer stored version this replica did not take
        self._lock = threading.Lock()
        first, _ = self._load()
        self._current = self._first(first)
        self._next_poll = time.monotonic() + poll_seconds

    def _first(self, candidate: RuleSet) -> RuleSet:
        try:
            passed = _gate(candidate, self.rules_dir)
        except RulebookError as e:
            raise RulebookError(f"黄金用例未通过，不启动 (the golden cases fail, not starting): {e}") from None
        log.info(
            "ruleset %s, reference data %s: %d golden cases passed",
            candidate.version,
            candidate.reference.version,
            passed,
        )
        return candidate

    def use_store(self, references: ReferenceVersions) -> None:
        """From now on the reference data is the store's newest version (the package's data is
        stored as version 1 when the store has none). At start, after the folder loaded and passed
        its cases: an unchanged version 1 runs no case again."""
        with self._lock:
            self.references = references
            candidate, number = self._load()
            self._current, self.reference_number = self._first(candidate), number

    @property
    def current(self) -> RuleSet:
        return self._current

    def _load(self) -> tuple[RuleSet, int]:
        """The folder's rule set with the store's newest reference data (and its number; 0 without a
        store). The first start stores the package's data as version 1."""
        candidate = load_ruleset(self.rules_dir)
        if self.references is None:
            return candidate, 0
        programme = candidate.reference.programme
        stored = self.references.get(programme)
        if stored is None:
            shipped = candidate.reference
            data = shipped.tables.model_dump(mode="json", by_alias=True)
            with contextlib.suppress(VersionConflict):  # another replica stored it first
                self.references.add(programme, 1, shipped.version, data, FIRST_AUTHOR, FIRST_REASON)
            stored = self.references.get(programme)
            assert stored is not None
        return self._with_stored(candidate, stored), stored.version

    @staticmethod
    def _with_stored(ruleset: RuleSet, stored: ReferenceVersion) -> RuleSet:
        source = f"reference data version {stored.version}"
        return dataclasses.replace(ruleset, reference=from_mapping(stored.programme, stored.tables, source))

    def reload(self) -> tuple[RuleSet, int]:
        """Loads the folder again and activates it; returns the new set and the cases it passed.

        Raises RulebookError (and keeps the old set) when it does not load or a case fails.
        """
        with self._lock:
            return self._activate(*self._load())

    def reload_if_changed(self) -> tuple[RuleSet, int] | None:
        """`reload`, or None when the folder and the store hold the active set already: a pre-forked
        worker told of a sibling's ReloadRules (the sibling itself is told too) does not run the
        cases again."""
        with self._lock:
            candidate, number = self._load()
            same = (candidate.version, candidate.reference.version) == (
                self._current.version,
                self._current.reference.version,
            )
            return None if same else self._activate(candidate, number)

    def _activate(self, candidate: RuleSet, number: int) -> tuple[RuleSet, int]:
        try:
            passed = _gate(candidate, self.rules_dir)
        except RulebookError as e:
            raise RulebookError(f"{e} (the old rule set stays)") from None
        self._current, self.reference_number, self.refused = candidate, number, None
        return candidate, passed

    def refresh(self) -> None:
        """Takes the store's newest reference version when another replica stored one; asks the
        store at most every `poll_seconds`. The version passes the same gate here as a change made
        here (its schema, then the golden cases with this replica's rules: the replica that stored
        it may run other rules); one that fails is not taken, the current version stays, and one
        error line says so (once per version, as a refused reload is logged)."""
        if self.references is None or time.monotonic() < self._next_poll:
            return
        with self._lock:
            self._next_poll = time.monotonic() + self.poll_seconds
            programme = self._current.reference.programme
            newest = self.references.newest_number(programme)
            if newest <= self.reference_number or (self.refused is not None and newest == self.refused.version):
                return
            stored = self.references.get(programme)
            if stored is None or stored.version <= self.reference_number:
                return
            try:
                candidate = self._with_stored(self._current, stored)
                passed = _gate(candidate, self.rules_dir)
            except RulebookError as e:
                self.refused = RefusedVersion(stored.version, stored.content_hash, str(e))
                log.error(
                    "reference data version %d (%s) from the store not taken, version %d stays: %s",
                    stored.version,
                    stored.content_hash,
                    self.reference_number,
                    e,
                )
                return
            self._current, self.reference_number, self.refused = candidate, stored.version, None
            log.info(
                "reference data version %d (%s) taken from the store: %d golden cases passed",
                stored.version,
                stored.content_hash,
                passed,
            )

    def replace_reference(self, changes: dict[str, Any], author: str, reason: str) -> tuple[ReferenceVersion, int]:
        """Stores the newest version with the tables in `changes` (JSON form) replaced whole as the
        next version, and activates it, when it passes the schema (ReferenceRefused) and the
        golden cases (RulebookError); the old version stays otherwise. VersionConflict when another
        replica stored a version meanwhile. Returns the stored version and the cases passed."""
        assert self.references is not None, "reference data changes need a store"
        with self._lock:
            self._next_poll = 0.0
        self.refresh()  # build on the newest version
        with self._lock:
            refused = self.refused
            if refused is not None and refused.version > self.reference_number:
                raise RulebookError(
                    f"本副本未采用数据库中最新的第 {refused.version} 版（在本副本的规则下黄金用例未通过），"
                    f"不能在旧版本上修改；请先使各副本的规则一致 (this replica did not take version "
                    f"{refused.version} of the store, whose golden cases fail under its rules; make the "
                    f"replicas' rules agree first): {refused.why}"
                )
            current = self._current
            programme = current.reference.programme
            tables = {**current.reference.tables.model_dump(mode="json", by_alias=True), **changes}
            try:
                reference = from_mapping(programme, tables, "reference")
            except RulebookError as e:
                raise ReferenceRefused(str(e)) from None
            candidate = dataclasses.replace(current, reference=reference)
            passed = _gate(candidate, self.rules_dir)
            data = reference.tables.model_dump(mode="json", by_alias=True)
            stored = self.references.add(programme, self.reference_number + 1, reference.version, data, author, reason)
            self._current, self.reference_number = candidate, stored.version
            return stored, passed


@dataclass
class Runtime:
    """The state a servicer works on: active rules, the store and the per-call limits."""

    rules: ActiveRules
    store: Store
    max_stream_items: int = 1_000_000
    # After a ReloadRules: tells the other pre-forked workers to reload too (None: one process).
    on_reload: Callable[[], None] | None = None
