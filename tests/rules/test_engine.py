"""The durable_rules adapter: limits guarded before a fact reaches the engine; negations right."""

from __future__ import annotations

import math

import pytest

from ruralpost.service import engine
from ruralpost.service.config import DEFAULT_RULES_DIR
from ruralpost.service.rulebook.packs import Rule, Rulebook, Severity
from ruralpost.service.ruleset import load_ruleset

RULESET = load_ruleset(DEFAULT_RULES_DIR)
ENGINE, PROGRAMME = RULESET.engine, RULESET.book.programme


@pytest.mark.parametrize(
    ("fact", "error"),
    [
        ({"area_m2": math.nan}, "out of the engine's range"),
        ({"area_m2": math.inf}, "out of the engine's range"),
        ({"area_m2": 1e305}, "out of the engine's range"),
        ({"sign_text": "长" * 25_000}, "too long"),
        ({"id": "x"}, "reserved"),
        ({"sid": "x"}, "reserved"),
        ({f"f{i}": i for i in range(300)}, "fields"),
        ({"nested": {"a": 1}}, "flat"),
    ],
)
def test_facts_the_engine_would_mis_evaluate_are_refused(fact: dict[str, object], error: str) -> None:
    with pytest.raises(engine.FactError, match=error):
        ENGINE.fire("station", {"kind": "TOWNSHIP_STATION", **fact})


def test_each_ruleset_stays_within_the_engine_limits() -> None:
    for subject in ENGINE.subjects:
        count = ENGINE.engine_rule_count(subject)
        assert len(ENGINE._handles[subject]) == math.ceil(count / engine.MAX_RULES_PER_RULESET)


@pytest.mark.parametrize(
    ("condition", "negated"),
    [
        ({"$gte": {"a": 10}}, {"$lt": {"a": 10}}),
        ({"a": True}, {"$neq": {"a": True}}),
        ({"$neq": {"a": ""}}, {"a": ""}),
        ({"$ex": {"a": 1}}, {"$nex": {"a": 1}}),
        ({"$and": [{"$gt": {"a": 1}}, {"b": 2}]}, {"$or": [{"$lte": {"a": 1}}, {"$neq": {"b": 2}}]}),
        ({"$iany": {"xs": {"$i": "S"}}}, {"$or": [{"$iall": {"xs": {"$neq": {"$i": "S"}}}}, {"$nex": {"xs": 1}}]}),
        ({"$mt": {"a": "XZ%d"}}, None),
    ],
)
def test_negate(condition: dict[str, object], negated: object) -> None:
    assert engine.negate(condition) == negated


def test_fields_of_reads_keys_and_references() -> None:
    assert engine.fields_of([{"$gte": {"filed_day": {"$m": "opened_day"}}}, {"kind": "X"}]) == {
        "filed_day",
        "opened_day",
        "kind",
    }


def test_sid_pool_never_hands_out_a_sid_twice_at_once() -> None:
    pool = engine._SidPool()
    taken = {pool.take() for _ in range(50)}
    assert len(taken) == 50
    sid = taken.pop()
    pool.give(sid)
    assert pool.take() == sid


@pytest.mark.parametrize("area", [5e-324, 1e-05, 2.5e-300, 0.0, 9.99])
def test_floats_in_exponent_notation_reach_the_engine(area: float) -> None:
    """Found by the differential test: durable_rules refuses 1e-05 (no decimal point): error 204."""
    fact = {"kind": "TOWNSHIP_STATION", "as_of_day": 19_500, "area_m2": area}
    assert "STN-AREA-TOWNSHIP|v" in ENGINE.fire("station", fact)


def test_to_json_keeps_strings_that_look_like_numbers() -> None:
    text = engine.to_json({"a": 1e-05, "b": "1e-05", "c": [2e-07]}, exponent=True)
    assert text == '{"a": 1.0e-05, "b": "1e-05", "c": [2.0e-07]}'


def test_a_fact_matching_more_rules_than_one_assert_takes_is_decided_all_the_same() -> None:
    """A subject's rules are asked in one ruleset first (one assert per fact); a fact matching
    more than the 64 rules durable_rules fires for one assert (error 303, nothing fires) is asked
    again in the rulesets of at most MAX_RULES_PER_RULESET, which cannot overflow."""
    rules = {
        f"T-{i:02d}": Rule(
            id=f"T-{i:02d}", subject="t", severity=Severity.ERROR, basis="setting", description="",
            when=({"$gte": {"n": i}},), require=None, reads=(), severity_overrides=(), field="", expected="",
            actual="", message_zh="", message_en="", remedy="", citation_document="", citation_clause="",
            effective_from="", effective_to="", order=i,
        )
        for i in range(80)
    }  # fmt: skip
    book = Rulebook(root=DEFAULT_RULES_DIR, programme=PROGRAMME, version="t", rules=rules)
    counted = engine.Engine(book)
    assert "t" in counted._whole and len(counted._handles["t"]) == 2
    for n in (10, 63, 64, 79, 10):  # 64 and 79 overflow the one ruleset; the same sid goes on after
        firing = counted.evaluate("t", {"n": n})
        assert [v.rule.id for v in firing.violations] == [f"T-{i:02d}" for i in range(n + 1)]
    assert "station" in ENGINE._whole  # the station rules are more than one ruleset holds
