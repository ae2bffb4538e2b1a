"""Texts an inspector signs: over the reasons of every golden case (so every rule's firing case),
no API field path (`station.`, `claim.`), none of our "解读" reasoning, no negative number of days,
and a caveat (系统设定，待确认 / 非官方 / 占位) at most once. The field path stays in `field`."""

from __future__ import annotations

import re

import pytest

from ruralpost.service.config import DEFAULT_RULES_DIR
from ruralpost.service.golden import cases
from ruralpost.service.ruleset import load_ruleset
from ruralpost.v1 import common_pb2

RULESET = load_ruleset(DEFAULT_RULES_DIR)
RESULTS = cases.run_all(RULESET, DEFAULT_RULES_DIR)
REASONS = [(r.case.name, reason) for r in RESULTS for reason in r.reasons]
NEGATIVE_DAYS = re.compile(r"(?<![\d:])[-−]\d+\s*(?:天|日|days?\b)")
CAVEAT_ZH = re.compile(r"（[^（）]*(?:待确认|非官方|参考值|占位)[^（）]*）")
CAVEAT_EN = re.compile(r"\([^()]*(?:to be confirmed|not official|not an official|placeholder)[^()]*\)", re.I)


def test_every_rule_but_the_parcel_rules_gives_a_reason_in_some_golden_case() -> None:
    """Parcel rules answer as rejections (rule ids per parcel): their texts are checked as written below."""
    parcel_rules = {rid for rid, rule in RULESET.book.rules.items() if rule.subject == "parcel"}
    assert set(RULESET.book.rules) - parcel_rules <= {reason.rule_id for _, reason in REASONS}


@pytest.mark.parametrize("rule_id", sorted(RULESET.book.rules))
def test_every_rule_s_texts_as_written_name_no_field_path_and_no_reasoning(rule_id: str) -> None:
    rule = RULESET.book.rules[rule_id]
    for text in (rule.message_zh, rule.message_en, rule.remedy):
        assert "station." not in text and "claim." not in text and "解读" not in text, text


def _texts(reason: common_pb2.Reason) -> list[str]:
    return [reason.message, reason.message_en, reason.remedy]


@pytest.mark.parametrize(("case", "reason"), REASONS, ids=[f"{c}:{r.rule_id}" for c, r in REASONS])
def test_a_reason_reads_as_an_inspector_signs_it(case: str, reason: common_pb2.Reason) -> None:
    for text in _texts(reason):
        assert "station." not in text and "claim." not in text, text
        assert "解读" not in text, text
        assert not NEGATIVE_DAYS.search(text), text
    assert len(CAVEAT_ZH.findall(reason.message)) <= 1, reason.message
    assert len(CAVEAT_EN.findall(reason.message_en)) <= 1, reason.message_en


def test_the_checks_catch_what_they_look_for() -> None:
    """The patterns are not vacuous: the texts the old rules wrote are caught."""
    assert NEGATIVE_DAYS.search("未备案，开办-17天")
    assert len(CAVEAT_ZH.findall("应不少于5平方米（系统参考值，非官方标准）（系统设定，待确认）")) == 2
    assert not NEGATIVE_DAYS.search("营业时间08:00-18:00，开办17天")


def test_a_missing_fact_is_named_in_the_inspector_s_words() -> None:
    missing = [r for _, r in REASONS if r.rule_id == "STN-SIGN-CODE-MISSING"]
    assert missing and missing[0].message.startswith("标识牌编号未填写")
    assert missing[0].field == "station.signage.code"
    advice = [r for _, r in REASONS if r.rule_id == "STN-SIGN-PLACEMENT-MISSING" and "未填报" in r.message]
    assert advice, "a missing fact only advice reads says 未填报"


def test_the_last_day_of_filing_says_that_day_is_included() -> None:
    pending = [r for _, r in REASONS if r.rule_id == "STN-FILING-PENDING"]
    assert pending and all("（含当日）" in r.message for r in pending)
