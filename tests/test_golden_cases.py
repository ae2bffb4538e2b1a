"""Every golden case in rules/cases passes, and every rule has a case that fires it and one that passes.

Runs in-process through the same code the servicers call (service.cases), so `make test` and a
rule reload apply one check.
"""

from __future__ import annotations

import pytest

from service import cases
from service.ruleset import DEFAULT_RULES_DIR, RuleSet, load_ruleset


@pytest.fixture(scope="module")
def ruleset() -> RuleSet:
    return load_ruleset(DEFAULT_RULES_DIR)


def test_every_golden_case_passes(ruleset: RuleSet) -> None:
    results = cases.run_all(ruleset, DEFAULT_RULES_DIR)
    assert results, "no golden cases found"
    failed = [r.describe() for r in results if not r.ok]
    assert not failed, "\n".join(failed)


def test_subsidy_rules_have_cases_that_fire_and_pass(ruleset: RuleSet) -> None:
    # Only the SUB-* rules for now: the station pack's cases come with the station branch. Once they
    # are merged, this should assert coverage_gaps(...) == [] for every rule.
    gaps = cases.coverage_gaps(ruleset, cases.load_cases(DEFAULT_RULES_DIR))
    assert [g for g in gaps if g.startswith("SUB-")] == []
    assert any(rid.startswith("SUB-") for rid in ruleset.book.rules)
