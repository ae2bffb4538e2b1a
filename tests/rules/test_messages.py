"""Messages as an official writes them (docs/rules.md, revision 2), over every reason the golden cases give.

No doubled words (鹅城镇乡镇快递…, （未写明）未写明, 杜家村村…), money in 元, and no raw enum names or
Python booleans in the English text.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest

from ruralpost.service.config import DEFAULT_RULES_DIR
from ruralpost.service.golden import cases
from ruralpost.service.ruleset import load_ruleset
from ruralpost.service.stations.check import check_station
from tests.support import station_request

RULESET = load_ruleset(DEFAULT_RULES_DIR)
REASONS = [(r.case.name, reason) for r in cases.run_all(RULESET, DEFAULT_RULES_DIR) for reason in r.reasons]
RAW_NAME = re.compile(r"\b[A-Z]+(?:_[A-Z]+)+\b")  # TOWNSHIP_STATION, BESIDE_DOOR, OUTCOME_PASS …


def test_the_golden_cases_give_reasons_of_every_kind() -> None:
    ids = {reason.rule_id for _, reason in REASONS}
    assert {"STN-HOURS-TEXT", "QTA-TOWNSHIP-STATION", "QTA-EXCLUDED", "HUB-FUNCTIONS", "SUB-AMOUNT"} <= ids


@pytest.mark.parametrize(("case", "reason"), REASONS, ids=[f"{c}:{r.rule_id}" for c, r in REASONS])
def test_a_message_reads_as_an_official_writes_it(case: str, reason: object) -> None:
    zh, en = reason.message, reason.message_en  # type: ignore[attr-defined]
    actual = reason.actual  # type: ignore[attr-defined]
    # what the request wrote is echoed as written (a marking 杜家村村快递便民服务点 is quoted back)
    texts = [t.replace(actual, "") if actual else t for t in (zh, reason.expected, reason.remedy)]  # type: ignore[attr-defined]
    for text in texts:
        assert "乡镇乡镇" not in text and "镇乡镇快递" not in text
        assert "村村快递" not in text
        assert not re.search(r"（未[写填]明?）未[写填]", text), text
        assert not re.search(r"\d分(?!档)", text), text  # money in 元, never 200分
    assert not re.search(r"\b(True|False)\b", en), en
    assert not RAW_NAME.search(en), en


def test_a_zone_minimum_above_one_is_said_to_be_a_setting(rules_copy: Path) -> None:
    """附件3 四(2) gives no number of zones: a programme that asks for two says it is its own setting."""
    programme = rules_copy / "programmes" / "jingle-2023.yaml"
    text = programme.read_text(encoding="utf-8")
    programme.write_text(text.replace("zones: {min_count: 1}", "zones: {min_count: 2}"), encoding="utf-8")
    ruleset = load_ruleset(rules_copy)
    station = station_request(zones=["营业区"]).station
    (reason,) = check_station(ruleset, station, dt.date(2023, 7, 15)).reasons
    assert reason.rule_id == "STN-ZONES" and reason.expected == ">= 2"
    assert "至少2个功能区为本方案设定，待确认" in reason.message and "setting of this programme" in reason.message_en
    (none,) = check_station(RULESET, station_request(zones=[]).station, dt.date(2023, 7, 15)).reasons
    assert none.rule_id == "STN-ZONES" and "设定" not in none.message  # one zone is the standard's own reading
