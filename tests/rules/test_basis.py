"""Revision 2: every rule states its basis; ListRules and every reason carry it, and a reason from a
`setting` rule says in its own words that the setting is ours and awaits the county's confirmation."""

from __future__ import annotations

import grpc

from ruralpost.service.config import DEFAULT_RULES_DIR
from ruralpost.service.rulebook import packs
from ruralpost.service.verdicts import SETTING_MARK_EN, SETTING_MARK_ZH
from ruralpost.v1 import common_pb2, rules_pb2, rules_pb2_grpc, station_pb2_grpc
from tests.support import station_request

BOOK = packs.load(DEFAULT_RULES_DIR)


def test_every_rule_of_every_pack_has_a_basis() -> None:
    assert {r.basis for r in BOOK.rules.values()} <= {"programme", "national", "inferred", "setting"}
    assert len(BOOK.rules) > 50


def test_no_pack_writes_the_setting_mark_itself() -> None:
    """One mechanism (verdicts.reason) marks settings: a mark written into a text would double."""
    for rule in BOOK.rules.values():
        for text in (rule.message_zh, rule.message_en, rule.description):
            assert SETTING_MARK_ZH not in text and "待确认）" not in text, rule.id


def test_list_rules_carries_the_basis_of_every_rule(channel: grpc.Channel) -> None:
    rules = rules_pb2_grpc.RulesServiceStub(channel).ListRules(rules_pb2.ListRulesRequest()).rules
    by_id = {r.rule_id: r for r in rules}
    assert set(by_id) == set(BOOK.rules)
    for rule_id, info in by_id.items():
        assert info.basis != common_pb2.RULE_BASIS_UNSPECIFIED, rule_id
        assert info.citation.basis == info.basis, rule_id
    assert by_id["STN-SAFETY-CCTV"].basis == common_pb2.RULE_BASIS_NATIONAL
    assert by_id["STN-AREA-TOWNSHIP"].basis == common_pb2.RULE_BASIS_PROGRAMME
    assert by_id["STN-HOURS-TEXT"].basis == common_pb2.RULE_BASIS_SETTING


def test_a_reason_carries_its_basis_and_a_setting_says_so(channel: grpc.Channel) -> None:
    stub = station_pb2_grpc.StationServiceStub(channel)
    verdict = stub.CheckStation(station_request(business_hours="看情况", area_m2=8.0)).verdict
    by_id = {r.rule_id: r for r in verdict.reasons}
    hours, area = by_id["STN-HOURS-TEXT"], by_id["STN-AREA-TOWNSHIP"]
    assert hours.citation.basis == common_pb2.RULE_BASIS_SETTING
    assert hours.message.endswith(SETTING_MARK_ZH) and hours.message_en.endswith(SETTING_MARK_EN)
    assert area.citation.basis == common_pb2.RULE_BASIS_PROGRAMME
    assert SETTING_MARK_ZH not in area.message
    missing = station_request()
    missing.station.ClearField("area_m2")
    (reason,) = stub.CheckStation(missing).verdict.reasons
    assert reason.rule_id == "STN-AREA-MISSING" and reason.citation.basis == common_pb2.RULE_BASIS_PROGRAMME
