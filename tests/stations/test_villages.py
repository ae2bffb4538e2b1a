"""The marking of every one of the county's 223 administrative villages (附件3 二(2)).

Expectations are written here from the division list by the words of the standard (“XXX村快递便民
服务点”, XXX村 the village's own name: its official name without 村委会, ending in 村), not by the
code under test; then the service must accept that marking, with and without a prefix, and must
itself render it when it asks for one.
"""

from __future__ import annotations

import csv
import re

import pytest
import yaml
from google.protobuf import json_format

from ruralpost.service.config import DEFAULT_RULES_DIR
from ruralpost.service.dates import parse_date
from ruralpost.service.golden import merge, plans
from ruralpost.service.ruleset import load_ruleset
from ruralpost.service.stations.check import check_station
from ruralpost.v1 import station_pb2

RULESET = load_ruleset(DEFAULT_RULES_DIR)
BASE = yaml.safe_load((DEFAULT_RULES_DIR / "cases" / "stations" / "_bases.yaml").read_text(encoding="utf-8"))
PARTNERED = BASE["bases"]["partnered_point"]
AS_OF = parse_date(PARTNERED["as_of"])


def _villages() -> list[tuple[str, str]]:
    """(township, official village name) of every administrative village, from the division list."""
    with open(DEFAULT_RULES_DIR / "reference" / "jingle-divisions-2023.csv", encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    townships = {r["code"]: r["name"] for r in rows if r["level"] == "township"}
    return [(townships[r["parent_code"]], r["name"]) for r in rows if r["level"] == "village"]


VILLAGES = _villages()


def _words(official: str) -> str:
    """附件3 二(2) read for this village: its own name, then 快递便民服务点."""
    assert official.endswith("村委会"), official
    own = official[: -len("村委会")]
    if not own.endswith("村"):
        own += "村"
    return own + "快递便民服务点"


def _verdict(township: str, village: str, text: str) -> list[tuple[str, str]]:
    data = merge(PARTNERED["station"], {"township": township, "village": village, "signage": {"text": text}})
    station = json_format.ParseDict(data, station_pb2.Station())
    return [(r.rule_id, r.expected) for r in check_station(RULESET, station, AS_OF).reasons]


def test_the_division_list_has_223_villages() -> None:
    assert len(VILLAGES) == 223


def test_no_expected_marking_doubles_村() -> None:
    markings = [_words(official) for _, official in VILLAGES]
    assert not [m for m in markings if "村村" in m]
    assert "杜家村快递便民服务点" in markings and "砚湾村快递便民服务点" in markings
    assert len([m for m in markings if m in {"王村快递便民服务点", "辛村快递便民服务点", "宋家村快递便民服务点"}]) == 3


@pytest.mark.parametrize(("township", "official"), VILLAGES, ids=[f"{t}{v}" for t, v in VILLAGES])
def test_every_village_marking_passes_and_is_the_one_asked_for(township: str, official: str) -> None:
    words = _words(official)
    own = words.removesuffix("快递便民服务点")
    for village in (official, own):  # the village named officially or by its own name
        assert _verdict(township, village, words) == []
        assert _verdict(township, village, f"静乐县{words}") == []
    # a shop name shows nothing: the service asks for the village's words, rendered by itself
    reasons = _verdict(township, official, "便民超市")
    assert [rid for rid, _ in reasons] == ["STN-SIGN-TEXT"]
    asked = re.fullmatch(r"含“(.+)”字样", reasons[0][1])
    assert asked is not None and asked.group(1) == words and "村村" not in asked.group(1)


def test_the_sample_registry_writes_the_same_markings() -> None:
    """golden/plans.py builds its stations' markings from the official names too."""
    for _, official in VILLAGES:
        assert plans.marking(official) == _words(official)
