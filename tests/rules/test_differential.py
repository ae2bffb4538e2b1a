"""Differential test: durable_rules and an independent evaluator agree on random station facts.

durable_rules coerces types and has corner cases of its own; the facts we build are typed and
flat, and on them the two evaluations of the same compiled conditions must fire the same rules.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ruralpost.service.config import DEFAULT_RULES_DIR
from ruralpost.service.ruleset import load_ruleset
from tests.rules.reference_engine import ReferenceEngine

RULESET = load_ruleset(DEFAULT_RULES_DIR)
ENGINE = RULESET.engine
DEFINITIONS: dict[str, Any] = {}
for compiled in ENGINE._compiled["station"]:
    DEFINITIONS.update(compiled.definitions("station"))
REFERENCE = ReferenceEngine(DEFINITIONS)

texts = st.sampled_from(
    [
        "",
        "康家会镇",
        "赤泥洼乡",
        "静乐县",
        "140926",
        "XZ0004",
        "C0031",
        "XZ00041",
        "C0000",
        "08:30-18:00",
        "9:00-18:00",
        "山西壹公里信息科技有限公司",
        "a",
        "康家会村快递便民服务点",
        "8:30-18:00",
        "OPEN",
        "CLOSED",
        "SUSPENDED",
    ]
)
optional = {
    "mode": st.sampled_from(["SELF_OPERATED", "PARTNERED"]),
    "county": texts,
    "county_code": st.sampled_from(["", "140926"]),
    "township": texts,
    "township_code": st.sampled_from(["", "140926102"]),
    "village": texts,
    "village_code": st.sampled_from(["", "140926102220"]),
    "operator": texts,
    "fixed_premises": st.booleans(),
    "sign_present": st.booleans(),
    "sign_placement": st.sampled_from(["ABOVE_DOOR", "BESIDE_DOOR", "OUTER_WALL", "NONE"]),
    "sign_unified": st.booleans(),
    "sign_obstructed": st.booleans(),
    "sign_fixed": st.booleans(),
    "sign_text": texts,
    "sign_text_shows": st.booleans(),
    "programme_operator": st.booleans(),
    "sign_code": texts,
    "sign_code_duplicates": st.integers(0, 3),
    "sign_code_disputes": st.integers(0, 3),
    "sign_code_awarded_elsewhere": st.booleans(),
    "filed_name": texts,
    "hours_sign_posted": st.booleans(),
    "area_m2": st.floats(0, 1000, allow_nan=False),
    "cctv_retention_days": st.integers(0, 400),
    "filed": st.booleans(),
    "filed_day": st.integers(19_000, 19_700),
    "opened_day": st.integers(19_000, 19_700),
    "days_open": st.integers(-30, 400),
    "daily_parcels": st.integers(0, 2000),
    "status_since_day": st.integers(19_000, 19_700),
    "changed_day": st.integers(19_000, 19_700),
    "refiled": st.booleans(),
    "change_refile_days": st.integers(-5, 40),
    "services": st.lists(st.sampled_from(["SEND", "RECEIVE", "DELIVER"]), min_size=1, unique=True),
    "equipment": st.lists(
        st.sampled_from(["RECEPTION_DESK", "SHELVES", "BARCODE_SCANNER", "VIDEO_SURVEILLANCE", "FIRE_EXTINGUISHER"]),
        min_size=1,
        unique=True,
    ),
}
always = {
    "kind": st.sampled_from(["TOWNSHIP_STATION", "VILLAGE_POINT"]),
    "as_of_day": st.integers(16_000, 20_000),
    "business_hours": texts,
    "zone_count": st.integers(0, 5),
    "service_count": st.integers(0, 3),
    "record_number": texts,
    "expected_sign_text": texts,
    "status": st.sampled_from(["OPEN", "SUSPENDED", "CLOSED"]),
}
facts = st.fixed_dictionaries(always, optional=optional)


@settings(max_examples=600, deadline=None)
@given(facts)
@pytest.mark.slow
def test_engine_and_reference_fire_the_same_rules(fact: dict[str, Any]) -> None:
    assert ENGINE.fire("station", fact) == REFERENCE.fire({**fact, "subject": "station"})
