"""A missing fact's reason is known by the fact declaring its id (the packs' `facts:` sections), not
by how the id is spelled; severities are the packs' three, typed."""

from __future__ import annotations

from ruralpost.service import verdicts
from ruralpost.service.config import DEFAULT_RULES_DIR
from ruralpost.service.rulebook import packs
from ruralpost.v1 import common_pb2

BOOK = packs.load(DEFAULT_RULES_DIR)


def _warning(rule_id: str) -> common_pb2.Reason:
    return common_pb2.Reason(rule_id=rule_id, severity=common_pb2.SEVERITY_WARNING)


def test_the_missing_ids_are_the_facts_declared_ones() -> None:
    declared = {spec.missing_id for specs in BOOK.facts.values() for spec in specs.values()}
    assert BOOK.missing_ids == declared
    assert "STN-KIND-MISSING" in BOOK.missing_ids
    assert not BOOK.missing_ids & set(BOOK.rules)


def test_a_missing_fact_only_advice_reads_is_a_warning_of_the_outcome() -> None:
    # advice never blocks: not given, it is a warning (未填报); what more than advice needs: INCOMPLETE
    assert verdicts.outcome([_warning("FACT-GONE")], False) == common_pb2.OUTCOME_PASS_WITH_WARNINGS
    assert verdicts.outcome([_warning("FACT-GONE")], True) == common_pb2.OUTCOME_INCOMPLETE
    assert verdicts.outcome([], False) == common_pb2.OUTCOME_PASS


def test_severities_are_typed() -> None:
    assert {r.severity for r in BOOK.rules.values()} == set(packs.Severity)
    assert all(isinstance(s, packs.Severity) for r in BOOK.rules.values() for _, s in r.severity_overrides)
