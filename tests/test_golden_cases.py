"""Golden cases beside the rules (rules/cases/<pack>/*.yaml): every case holds, and every rule of
the packs below has a case that makes it fire and one that shows it not firing."""

from __future__ import annotations

import pytest

from service import cases
from service.ruleset import DEFAULT_RULES_DIR, RuleSet, load_ruleset

COVERED_PREFIXES = ("QTA-", "HUB-")  # the progress and hub packs


@pytest.fixture(scope="module")
def ruleset() -> RuleSet:
    return load_ruleset(DEFAULT_RULES_DIR)


def test_every_golden_case_holds(ruleset: RuleSet) -> None:
    results = cases.run_all(ruleset, DEFAULT_RULES_DIR)
    assert results, "no golden cases found"
    assert [r.describe() for r in results if not r.ok] == []


@pytest.mark.parametrize("prefix", COVERED_PREFIXES)
def test_every_rule_has_a_firing_and_a_passing_case(ruleset: RuleSet, prefix: str) -> None:
    assert any(rid.startswith(prefix) for rid in ruleset.book.rules)
    gaps = cases.coverage_gaps(ruleset, cases.load_cases(DEFAULT_RULES_DIR))
    assert [g for g in gaps if g.startswith(prefix)] == []
