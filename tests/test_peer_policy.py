"""The peer of `make bench` (bench/peer): the station rules translated to a Cerbos CEL policy.

The translation is checked as text, with no network and no binary. Where the pinned Cerbos binary
is already cached (a `make bench` or `python -m bench.peer` ran here), Cerbos's DENYs are checked
against our verdicts on the benchmark stations, the golden cases' stations, and stations with one
fact removed at a time (the missing-fact modelling); without it those tests are skipped, never
downloaded.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Iterator
from typing import Any

import pytest
from google.protobuf import json_format

from bench.load import mix
from bench.peer import agree, cerbos
from bench.peer.policy import Untranslatable, cel, fires, lua_to_re2, policy
from bench.stations import requests
from ruralpost.service.config import DEFAULT_RULES_DIR
from ruralpost.service.ruleset import RuleSet, load_ruleset
from ruralpost.v1 import station_pb2


@pytest.fixture(scope="module")
def ruleset() -> RuleSet:
    return load_ruleset(DEFAULT_RULES_DIR)


def test_comparisons_read_a_field_only_when_present() -> None:
    assert cel({"$gte": {"area_m2": 10}}) == "(has(R.attr.area_m2) && R.attr.area_m2 >= 10.0)"
    assert cel({"$neq": {"township_code": ""}}) == '(has(R.attr.township_code) && R.attr.township_code != "")'
    assert cel({"kind": "VILLAGE_POINT"}) == '(has(R.attr.kind) && R.attr.kind == "VILLAGE_POINT")'
    assert cel({"sign_present": True}) == "(has(R.attr.sign_present) && R.attr.sign_present == true)"
    assert cel({"$nex": {"sign_code": 1}}) == "!has(R.attr.sign_code)"


def test_field_to_field_reads_both_fields() -> None:
    assert cel({"$gte": {"filed_day": {"$m": "opened_day"}}}) == (
        "(has(R.attr.filed_day) && has(R.attr.opened_day) && R.attr.filed_day >= R.attr.opened_day)"
    )
    assert cel({"sign_text": {"$m": "filed_name"}}) == (
        "(has(R.attr.sign_text) && has(R.attr.filed_name) && R.attr.sign_text == R.attr.filed_name)"
    )
    assert cel({"$gt": {"a": {"$mul": {"$l": {"$m": "b"}, "$r": 2}}}}) == (
        "(has(R.attr.a) && has(R.attr.b) && R.attr.a > (R.attr.b * 2.0))"
    )


def test_lists_and_logic() -> None:
    assert cel({"$iany": {"equipment": {"$i": "SHELVES"}}}) == (
        '(has(R.attr.equipment) && size(R.attr.equipment) > 0 && R.attr.equipment.exists(x, x == "SHELVES"))'
    )
    assert cel({"$iall": {"equipment": {"$neq": {"$i": "SHELVES"}}}}) == (
        '(has(R.attr.equipment) && size(R.attr.equipment) > 0 && R.attr.equipment.all(x, x != "SHELVES"))'
    )
    assert cel({"$or": [{"$ex": {"a": 1}}, {"$and": [{"b": 1}, {"$nex": {"c": 1}}]}]}) == (
        "(has(R.attr.a) || ((has(R.attr.b) && R.attr.b == 1.0) && !has(R.attr.c)))"
    )


def test_patterns_become_whole_string_re2() -> None:
    assert lua_to_re2("XZ%d%d%d%d") == r"^(?:XZ\d\d\d\d)$"
    assert lua_to_re2("[0-2]%d:[0-5]%d-[0-2]%d:[0-5]%d") == r"^(?:[0-2]\d:[0-5]\d-[0-2]\d:[0-5]\d)$"
    assert lua_to_re2("a%.b$") == r"^(?:a\.b\$)$"  # `$` and `^` are plain characters to durable_rules
    assert lua_to_re2("[^%a%d]+") == r"^(?:[^A-Za-z\d]+)$"
    assert cel({"$mt": {"sign_code": "C%d"}}) == r'(has(R.attr.sign_code) && R.attr.sign_code.matches("^(?:C\\d)$"))'
    with pytest.raises(Untranslatable):
        lua_to_re2("%b()")
    with pytest.raises(Untranslatable):
        cel({"$add": {"a": 1}})


def test_a_rule_fires_as_the_engine_decides_it(ruleset: RuleSet) -> None:
    rules = {r.id: r for r in ruleset.book.rules_for("station")}
    missable = set(ruleset.book.facts["station"])
    # scope, then the requirement's negated form, read only when its missable fact is present
    assert fires(rules["STN-AREA-TOWNSHIP"], missable) == (
        '((has(R.attr.kind) && R.attr.kind == "TOWNSHIP_STATION") && '
        "(has(R.attr.area_m2) && (has(R.attr.area_m2) && R.attr.area_m2 < 10.0)))"
    )
    # effective dates are part of the scope
    assert "R.attr.as_of_day >= " in fires(rules["STN-SAFETY-CCTV"], missable)
    # a filed station fires when its record number or filing date is wanting (filing before opening
    # is allowed: the rule reads no opening date)
    record = fires(rules["STN-FILING-RECORD"], missable)
    assert record == (
        "((has(R.attr.filed) && R.attr.filed == true) && "
        '((has(R.attr.record_number) && R.attr.record_number == "") || !has(R.attr.filed_day)))'
    )
    # a missing fact still fires when the rest of the requirement is wanting: the rule as it read
    # before revision 3 (filed no earlier than opened), with the opening date a missable fact
    before = dataclasses.replace(
        rules["STN-FILING-RECORD"],
        require=(*(rules["STN-FILING-RECORD"].require or ()), {"$gte": {"filed_day": {"$m": "opened_day"}}}),
    )
    old = fires(before, missable | {"opened_day"})
    assert '!has(R.attr.opened_day) && !((has(R.attr.record_number) && R.attr.record_number != "")' in old
    # a fact the requirement reads beyond its fields (`reads`) never fires while missing
    assert fires(rules["STN-TOWNSHIP-UNKNOWN"], missable).startswith("(has(R.attr.township) && ")


def test_the_policy_has_one_allow_per_rule(ruleset: RuleSet) -> None:
    rules = ruleset.book.rules_for("station")
    document = policy(rules, set(ruleset.book.facts["station"]))["resourcePolicy"]
    assert document["resource"] == "station"
    assert [r["actions"] for r in document["rules"]] == [[r.id] for r in rules]
    assert {r["effect"] for r in document["rules"]} == {"EFFECT_ALLOW"}


def _one_fact_removed() -> Iterator[bytes]:
    """For one township station and one village point of the mix, each field removed in turn."""
    items = mix()
    for item in (items[0], items[1], items[12], items[13]):
        base = json_format.MessageToDict(station_pb2.CheckStationRequest.FromString(item))
        paths: list[tuple[str, ...]] = []
        for key, value in base["station"].items():
            paths.append((key,))
            if isinstance(value, dict):
                paths += [(key, inner) for inner in value]
        for path in paths:
            request: dict[str, Any] = copy.deepcopy(base)
            holder = request["station"]
            for key in path[:-1]:
                holder = holder[key]
            del holder[path[-1]]
            yield json_format.ParseDict(request, station_pb2.CheckStationRequest()).SerializeToString()


@pytest.fixture(scope="module")
def peer(ruleset: RuleSet) -> Iterator[agree.Peer]:
    if cerbos.cached_binary() is None:
        pytest.skip(
            f"Cerbos {cerbos.VERSION} is not cached in {cerbos.cache_dir()} (nor CERBOS_BIN): "
            "run `python -m bench.peer --check` once to install it from the npm registry"
        )
    with agree.peer(ruleset) as p:
        yield p


def test_cerbos_agrees_on_the_benchmark_stations(ruleset: RuleSet, peer: agree.Peer) -> None:
    found = agree.stations(ruleset, mix())
    assert len(found) == 52 and any(s.ours for s in found) and not all(s.ours for s in found)
    agree.check(peer, found)


def test_cerbos_agrees_on_golden_and_incomplete_stations(ruleset: RuleSet, peer: agree.Peer) -> None:
    items = [r.SerializeToString() for r in requests()] + list(_one_fact_removed())
    found = agree.stations(ruleset, items)
    assert len(found) > 100
    agree.check(peer, found)


def test_the_checker_sees_a_difference(ruleset: RuleSet, peer: agree.Peer) -> None:
    found = agree.stations(ruleset, mix()[:2])
    found[0].ours = found[0].ours | {"STN-ZONES"}
    with pytest.raises(agree.Disagreement, match="only ours \\['STN-ZONES'\\]"):
        agree.check(peer, found)
