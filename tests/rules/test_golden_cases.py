"""Every golden case of every rule pack, and every rule covered both ways."""

from __future__ import annotations

import pytest

from ruralpost.service.config import DEFAULT_RULES_DIR
from ruralpost.service.golden import cases
from ruralpost.service.ruleset import load_ruleset

RULESET = load_ruleset(DEFAULT_RULES_DIR)
CASES = cases.load_cases(DEFAULT_RULES_DIR)


@pytest.mark.parametrize("case", CASES, ids=[f"{c.pack}:{c.name}" for c in CASES])
def test_golden_case(case: cases.Case) -> None:
    result = cases.RUNNERS[case.pack](RULESET, case)
    assert result.ok, result.describe()


def test_every_rule_has_a_firing_and_a_passing_case() -> None:
    assert cases.coverage_gaps(RULESET, CASES) == []


def test_a_case_that_expects_the_wrong_rule_fails() -> None:
    """The runner really compares: a wrong expectation is reported, not passed."""
    case = next(c for c in CASES if c.rule_ids == ("STN-AREA-TOWNSHIP",))
    wrong = cases.Case(case.pack, case.name, case.path, case.input, case.outcome, ("STN-ZONES",), ())
    result = cases.RUNNERS[case.pack](RULESET, wrong)
    assert not result.ok
    assert "STN-AREA-TOWNSHIP" in result.describe()


def test_coverage_gap_is_reported_for_a_rule_without_cases() -> None:
    only_passing = [c for c in CASES if "STN-ZONES" not in c.rule_ids]
    assert "STN-ZONES: no golden case makes it fire" in cases.coverage_gaps(RULESET, only_passing)
