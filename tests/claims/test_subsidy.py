"""SubsidyService over a real server and a real SQLite file: answers, amounts, bad input, the stream."""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
import yaml
from google.protobuf import json_format
from google.rpc import code_pb2, error_details_pb2
from grpc_status import rpc_status

from ruralpost.service.config import DEFAULT_RULES_DIR, Config
from ruralpost.service.server import Running, running
from ruralpost.v1 import (
    claim_pb2,
    claim_pb2_grpc,
    common_pb2,
    reference_pb2,
    reference_pb2_grpc,
    rules_pb2,
    rules_pb2_grpc,
    station_pb2,
)
from tests.backends import decisions, paid_by
from tests.support import example, register, registry_stations, station_request


def claim_request(
    name: str = "claim-upbound.json", commit: bool = False, accept: bool = False, **overrides: Any
) -> claim_pb2.EvaluateClaimRequest:
    """An example claim; `accept`: the approver accepts the provisional rates the amount rests on."""
    data = example(name)
    data["claim"].update(overrides)
    data["commit"] = commit
    data["acceptProvisionalRates"] = accept
    return json_format.ParseDict(data, claim_pb2.EvaluateClaimRequest())


def parcel(waybill: str, **fields: Any) -> dict[str, Any]:
    base = {
        "waybill": waybill,
        "shippedOn": "2023-07-03",
        "productCategory": "藜麦",
        "platform": "拼多多",
        "originCounty": "静乐县",
        "destinationCounty": "太原市",
    }
    return {**base, **fields}


@pytest.fixture
def stub(channel: grpc.Channel) -> claim_pb2_grpc.SubsidyServiceStub:
    return claim_pb2_grpc.SubsidyServiceStub(channel)


def field_violations(error: grpc.RpcError) -> dict[str, str]:
    status = rpc_status.from_call(error)  # type: ignore[arg-type]
    assert status is not None
    found = {}
    for detail in status.details:
        bad = error_details_pb2.BadRequest()
        if detail.Unpack(bad):
            found.update({v.field: v.description for v in bad.field_violations})
    return found


def test_upbound_example_partially_eligible(stub: claim_pb2_grpc.SubsidyServiceStub) -> None:
    r = stub.EvaluateClaim(claim_request())
    assert r.claim_id == "SXYGL-UP-2023-07-0001"
    assert r.outcome == claim_pb2.CLAIM_OUTCOME_PARTIALLY_ELIGIBLE
    assert (r.eligible_pieces, r.rejected_pieces, r.approved_amount_fen) == (3, 2, 300)
    assert [(j.index, j.waybill, list(j.rule_ids)) for j in r.rejections] == [
        (3, "ZTO780260000004", ["SUB-UP-AGRI"]),
        (4, "SF1402600000001", ["SUB-DUP-CLAIM"]),
    ]
    # each rejection carries its rules' messages, with the parcel's own values
    assert [[(x.rule_id, x.severity) for x in j.reasons] for j in r.rejections] == [
        [("SUB-UP-AGRI", common_pb2.SEVERITY_ERROR)],
        [("SUB-DUP-CLAIM", common_pb2.SEVERITY_ERROR)],
    ]
    agri = r.rejections[0].reasons[0]
    assert agri.message.startswith("品类“手机壳”未填写或经审核不属于农副产品") and "'手机壳'" in agri.message_en
    assert "“SF1402600000001”在本申报中重复出现" in r.rejections[1].reasons[0].message
    assert [(t.rule_id, t.count) for t in r.tallies] == [("SUB-UP-AGRI", 1), ("SUB-DUP-CLAIM", 1)]
    # requested 500 fen, computed 300: a warning, and the computed amount is approved; the rate it
    # was computed by is provisional, and the answer says so
    amount, provisional = r.reasons
    assert amount.rule_id == "SUB-AMOUNT" and amount.expected == "3.00元" and amount.actual == "5.00元"
    assert "5.00元" in amount.message and "3.00元" in amount.message
    assert provisional.rule_id == "SUB-RATES-PROVISIONAL" and provisional.severity == common_pb2.SEVERITY_WARNING
    assert "暂定" in provisional.message and "上行农副产品每件1.00元" in provisional.message
    assert provisional.citation.basis == common_pb2.RULE_BASIS_SETTING
    assert amount.citation.clause.startswith("五")
    assert r.ruleset_version and not r.committed


def test_downbound_example_tiers(stub: claim_pb2_grpc.SubsidyServiceStub, channel: grpc.Channel) -> None:
    # nothing registered: no parcel was delivered by a station of the county registry
    r = stub.EvaluateClaim(claim_request("claim-downbound.json"))
    assert r.outcome == claim_pb2.CLAIM_OUTCOME_INELIGIBLE and r.approved_amount_fen == 0
    assert [(t.rule_id, t.count) for t in r.tallies] == [("SUB-DOWN-STATION", 4), ("SUB-DOWN-FEE", 1)]
    register(channel, registry_stations())  # the example registry: 康家会镇's station and two points
    r = stub.EvaluateClaim(claim_request("claim-downbound.json"))
    assert r.outcome == claim_pb2.CLAIM_OUTCOME_PARTIALLY_ELIGIBLE
    # placeholder tiers by the registered stations' kinds: village point 50 + township station 30 + village point 50
    assert (r.eligible_pieces, r.rejected_pieces, r.approved_amount_fen) == (3, 1, 130)
    assert [list(j.rule_ids) for j in r.rejections] == [["SUB-DOWN-FEE"]]
    amount, provisional = r.reasons
    assert (amount.rule_id, amount.expected, amount.actual) == ("SUB-AMOUNT", "1.30元", "1.80元")
    assert provisional.rule_id == "SUB-RATES-PROVISIONAL" and "村级快递便民服务点交付0.50元" in provisional.message
    assert amount.citation.basis == common_pb2.RULE_BASIS_INFERRED


def test_downbound_station_must_be_registered_in_the_township_and_open(
    stub: claim_pb2_grpc.SubsidyServiceStub, channel: grpc.Channel
) -> None:
    """SUB-DOWN-STATION reads the registry: the code registered, in the parcel's township, open on the
    shipping date (the latest registration holds the station's facts); the tier is the registered
    station's kind, never the code's shape."""
    stations = registry_stations()
    odd = station_pb2.Station()
    odd.CopyFrom(stations[2])
    odd.station_id = "KJH-C-09"
    odd.signage.code = "XZ0099"  # a village point showing a township-station-shaped code (it fails, yet is registered)
    register(channel, [*stations, odd])
    closed = station_pb2.Station()
    closed.CopyFrom(stations[2])  # KJH-C-08, C0032: registered again, closed from 2023-08-05
    closed.status, closed.status_since = station_pb2.STATION_STATUS_CLOSED, "2023-08-05"
    register(channel, [closed], as_of="2023-08-05")

    def answer(*items: tuple[str, str, str]) -> claim_pb2.EvaluateClaimResponse:
        parcels = [
            {
                "waybill": f"ZTO7800002000{i:02d}",
                "shippedOn": day,
                "destinationTownship": township,
                "stationCode": code,
                "deliveredToAddress": True,
            }
            for i, (code, township, day) in enumerate(items)
        ]
        return stub.EvaluateClaim(claim_request("claim-downbound.json", parcels=parcels, declaredPieces=len(items)))

    r = answer(("C9999", "康家会镇", "2023-08-02"))  # registered nowhere: not paid as a village point
    assert r.outcome == claim_pb2.CLAIM_OUTCOME_INELIGIBLE and r.approved_amount_fen == 0
    assert [list(j.rule_ids) for j in r.rejections] == [["SUB-DOWN-STATION"]]
    r = answer(
        ("C0031", "鹅城镇", "2023-08-02"),  # registered in 康家会镇, not the destination
        ("C0032", "康家会镇", "2023-08-04"),  # open then
        ("C0032", "康家会镇", "2023-08-06"),  # closed from 08-05
        ("C0031", "康家会镇", "2023-08-06"),
    )
    assert [(j.index, list(j.rule_ids)) for j in r.rejections] == [(0, ["SUB-DOWN-STATION"]), (2, ["SUB-DOWN-STATION"])]
    assert r.approved_amount_fen == 100
    r = answer(("XZ0099", "康家会镇", "2023-08-02"))
    assert r.outcome == claim_pb2.CLAIM_OUTCOME_ELIGIBLE and r.approved_amount_fen == 50  # a village point's rate


def test_ineligible_claim_pays_nothing_but_lists_rejected_parcels(stub: claim_pb2_grpc.SubsidyServiceStub) -> None:
    r = stub.EvaluateClaim(claim_request(operator="某某快递有限公司"))
    assert r.outcome == claim_pb2.CLAIM_OUTCOME_INELIGIBLE
    assert (r.eligible_pieces, r.approved_amount_fen, r.rejected_pieces) == (0, 0, 2)
    assert len(r.rejections) == 2
    [reason] = r.reasons  # SUB-AMOUNT is not judged on an ineligible claim
    assert reason.rule_id == "SUB-OPERATOR" and "某某快递有限公司" in reason.message
    assert reason.message_en and reason.remedy and reason.field == "claim.operator"


def test_count_mismatch_message_has_the_numbers(stub: claim_pb2_grpc.SubsidyServiceStub) -> None:
    r = stub.EvaluateClaim(claim_request(declaredPieces=9))
    assert r.outcome == claim_pb2.CLAIM_OUTCOME_INELIGIBLE
    assert [x.rule_id for x in r.reasons] == ["SUB-COUNT-MISMATCH"]
    assert "申报件数9件与所列快件5件不一致" in r.reasons[0].message


def test_malformed_parcels_are_rejections_not_errors(stub: claim_pb2_grpc.SubsidyServiceStub) -> None:
    parcels = [
        parcel("SF00000001"),
        parcel(""),
        parcel("坏单号\x00" + "x" * 100_000),
        parcel("SF00000002", shippedOn="七月"),
        parcel("SF00000003", productCategory="藜" * 70_000),
    ]
    req = claim_request(parcels=parcels, declaredPieces=5, requestedAmountFen="100")
    r = stub.EvaluateClaim(req)
    assert r.outcome == claim_pb2.CLAIM_OUTCOME_PARTIALLY_ELIGIBLE
    assert r.eligible_pieces == 1 and [x.rule_id for x in r.reasons] == ["SUB-RATES-PROVISIONAL"]
    assert [(j.index, list(j.rule_ids)) for j in r.rejections] == [
        (1, ["SUB-WAYBILL"]),
        (2, ["SUB-WAYBILL"]),
        (3, ["SUB-DATE"]),
    ]
    assert len(r.rejections[1].waybill) == 64  # echoed back clipped
    # a 70,000-character product is in no list: held for review, its name echoed back clipped
    assert r.held_pieces == 1 and [(h.index, h.rule_id) for h in r.held] == [(4, "SUB-UP-AGRI-REVIEW")]
    assert len(r.held[0].message) < 120


@pytest.mark.parametrize(
    ("overrides", "fields"),
    [
        ({"claimId": ""}, {"claim.claim_id"}),
        ({"claimId": "   "}, {"claim.claim_id"}),
        ({"period": "2023-7"}, {"claim.period"}),
        ({"period": "2023-13"}, {"claim.period"}),
        ({"period": ""}, {"claim.period"}),
        ({"declaredPieces": -1, "requestedAmountFen": "-5"}, {"claim.declared_pieces", "claim.requested_amount_fen"}),
        (
            {"parcels": [parcel("SF00000001"), parcel("SF00000002", feeChargedFen="-1")]},
            {"claim.parcels[1].fee_charged_fen"},
        ),
        ({"programme": "other-2024"}, {"claim.programme"}),
        ({"kind": 9}, {"claim.kind"}),
        ({"claimId": "", "period": "July"}, {"claim.claim_id", "claim.period"}),
    ],
)
def test_bad_claims_are_invalid_argument(
    stub: claim_pb2_grpc.SubsidyServiceStub, overrides: dict[str, Any], fields: set[str]
) -> None:
    with pytest.raises(grpc.RpcError) as e:
        stub.EvaluateClaim(claim_request(**overrides))
    assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert set(field_violations(e.value)) == fields


def test_no_claim_is_invalid_argument(stub: claim_pb2_grpc.SubsidyServiceStub) -> None:
    with pytest.raises(grpc.RpcError) as e:
        stub.EvaluateClaim(claim_pb2.EvaluateClaimRequest(commit=True))
    assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert set(field_violations(e.value)) == {"claim"}


@pytest.fixture
def small_limit_server(tmp_path: Path) -> Iterator[Running]:
    """A server whose programme allows 6 parcels per claim (the shipped limit is 200,000): as many as
    the largest golden claim has, so the folder still passes its golden cases and the server starts."""
    rules = tmp_path / "rules"
    shutil.copytree(DEFAULT_RULES_DIR, rules)
    path = rules / "programmes" / "jingle-2023.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["subsidy"]["max_parcels"] = 6
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    roster = rules / "reference" / "jingle-2023" / "operators.yaml"
    data = yaml.safe_load(roster.read_text(encoding="utf-8"))
    data["operators"].append(
        {
            "name": "暂停测试物流有限公司",
            "kind": "DOWNBOUND_PARCEL",
            "decided_by": "供销社、邮政公司",
            "suspended_from": "2023-07-20",
        }
    )
    data["operators"].append(
        {
            "name": "新入选物流有限公司",
            "kind": "UPBOUND_AGRICULTURAL",
            "decided_by": "工信局",
            "approved_from": "2023-07-01",
        }
    )
    roster.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with running(Config(listen="127.0.0.1:0", db=str(tmp_path / "db.sqlite"), rules_dir=rules, grace_seconds=1)) as r:
        yield r


def test_parcel_limit_and_operator_dynamic_management(small_limit_server: Running) -> None:
    with grpc.insecure_channel(f"127.0.0.1:{small_limit_server.port}") as ch:
        stub = claim_pb2_grpc.SubsidyServiceStub(ch)
        ecz = station_request(station_id="ECZ-XZ-01", township="鹅城镇", filed_name="鹅城镇快递综合服务站")
        ecz.station.signage.text, ecz.station.signage.code = "鹅城镇快递综合服务站", "XZ0001"
        register(ch, [ecz.station])  # the downbound parcels below are delivered by 鹅城镇's station
        seven = [parcel(f"SF0000001{i}") for i in range(7)]
        with pytest.raises(grpc.RpcError) as e:
            stub.EvaluateClaim(claim_request(parcels=seven, declaredPieces=7, requestedAmountFen="700"))
        assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert "limit of 6" in field_violations(e.value)["claim.parcels"]
        assert stub.EvaluateClaim(claim_request()).eligible_pieces  # 5 parcels: within the limit

        three = [parcel(f"SF0000000{i}") for i in range(3)]

        def reasons(**overrides: Any) -> list[str]:
            fields = {"parcels": three, "declaredPieces": 3, "requestedAmountFen": "300", **overrides}
            req = claim_request(**fields)
            return [x.rule_id for x in stub.EvaluateClaim(req).reasons]

        # approved from 2023-07-01 for upbound only
        assert reasons(operator="新入选物流有限公司") == ["SUB-RATES-PROVISIONAL"]
        assert reasons(
            operator="新入选物流有限公司",
            period="2023-06",
            parcels=[parcel(f"SF0000000{i}", shippedOn="2023-06-03") for i in range(3)],
        ) == ["SUB-OPERATOR"]
        # suspended from 2023-07-20: July is no longer claimable, June still is; not approved upbound
        down = [
            {
                "waybill": f"ZTO00000000{i}",
                "shippedOn": "2023-06-03",
                "destinationTownship": "鹅城镇",
                "stationCode": "XZ0001",
                "deliveredToAddress": True,
            }
            for i in range(3)
        ]
        june = claim_request(
            "claim-downbound.json",
            operator="暂停测试物流有限公司",
            period="2023-06",
            parcels=down,
            declaredPieces=3,
            requestedAmountFen="90",
        )
        assert stub.EvaluateClaim(june).outcome == claim_pb2.CLAIM_OUTCOME_ELIGIBLE
        july_parcels = [{**p, "shippedOn": "2023-07-03"} for p in down]
        july = claim_request(
            "claim-downbound.json",
            operator="暂停测试物流有限公司",
            period="2023-07",
            parcels=july_parcels,
            declaredPieces=3,
            requestedAmountFen="90",
        )
        r = stub.EvaluateClaim(july)
        assert r.outcome == claim_pb2.CLAIM_OUTCOME_INELIGIBLE
        assert [x.rule_id for x in r.reasons] == ["SUB-OPERATOR"]
        assert "自2023-07-20起暂停资格" in r.reasons[0].message
        assert reasons(operator="暂停测试物流有限公司") == ["SUB-OPERATOR"]


def test_stream_answers_each_claim_in_order(stub: claim_pb2_grpc.SubsidyServiceStub) -> None:
    first = claim_request(commit=True, accept=True)
    second = claim_request(
        commit=True,
        accept=True,
        claimId="SXYGL-UP-2023-07-0002",
        parcels=[parcel("SF1402600000001"), parcel("SF1402600000099")],
        declaredPieces=2,
        requestedAmountFen="100",
    )
    other_contents = claim_request(commit=True, accept=True, requestedAmountFen="1")
    items = [first, claim_request(claimId=""), second, first, other_contents]
    answers = list(
        stub.EvaluateClaims(
            claim_pb2.EvaluateClaimsRequest(
                claim=r.claim, commit=r.commit, accept_provisional_rates=r.accept_provisional_rates
            )
            for r in items
        )
    )
    assert [a.index for a in answers] == [0, 1, 2, 3, 4]
    assert answers[0].result.committed and answers[0].result.eligible_pieces == 3
    assert answers[1].error.code == code_pb2.INVALID_ARGUMENT
    # the second claim repeats a waybill the first one was paid for
    assert [list(j.rule_ids) for j in answers[2].result.rejections] == [["SUB-DUP-LEDGER"]]
    assert answers[2].result.approved_amount_fen == 100
    assert answers[3].result == answers[0].result
    assert answers[4].error.code == code_pb2.ALREADY_EXISTS


def test_every_evaluation_is_logged(server: Running, stub: claim_pb2_grpc.SubsidyServiceStub) -> None:
    stub.EvaluateClaim(claim_request())
    stub.EvaluateClaim(claim_request(commit=True, accept=True))
    stub.EvaluateClaim(claim_request(commit=True, accept=True))
    rows = decisions(server.runtime.store, 10)
    assert [r.method for r in rows] == ["EvaluateClaim:stored", "EvaluateClaim:commit", "EvaluateClaim"]
    assert {r.subject_id for r in rows} == {"SXYGL-UP-2023-07-0001"}
    assert rows[0].outcome == "CLAIM_OUTCOME_PARTIALLY_ELIGIBLE"
    assert rows[0].rule_ids == "SUB-AMOUNT,SUB-RATES-PROVISIONAL,SUB-UP-AGRI,SUB-DUP-CLAIM"
    assert {r.reference_version for r in rows} == {server.runtime.rules.current.reference.version}
    assert len(rows[0].input_digest) == 64 and rows[0].as_of == "2023-07-31"


def test_list_rules_says_rates_are_provisional(channel: grpc.Channel) -> None:
    rules = rules_pb2_grpc.RulesServiceStub(channel)
    parcel_rules = rules.ListRules(rules_pb2.ListRulesRequest(subject="parcel")).rules
    assert {r.rule_id for r in parcel_rules} == {
        "SUB-UP-AGRI",
        "SUB-UP-AGRI-REVIEW",
        "SUB-UP-PLATFORM",
        "SUB-UP-PLATFORM-REVIEW",
        "SUB-UP-OUTSIDE",
        "SUB-UP-ORIGIN",
        "SUB-DOWN-RURAL",
        "SUB-DOWN-STATION",
        "SUB-DOWN-ADDRESS",
        "SUB-DOWN-FEE",
        "SUB-DUP-CLAIM",
        "SUB-DUP-LEDGER",
        "SUB-DATE",
        "SUB-WAYBILL",
    }
    amount, provisional, missing = rules.ListRules(rules_pb2.ListRulesRequest(subject="claim_amount")).rules
    assert amount.rule_id == "SUB-AMOUNT" and provisional.rule_id == "SUB-RATES-PROVISIONAL"
    assert missing.rule_id == "SUB-RATE-MISSING" and missing.basis == common_pb2.RULE_BASIS_SETTING
    assert "占位" in provisional.description and "暂定" in provisional.description
    assert provisional.basis == common_pb2.RULE_BASIS_SETTING
    assert not re.search(r"\d分", amount.description + provisional.description)  # money in 元


# ---- the reference data the offices keep (rules/reference/jingle-2023/)


def farm_claim(claim_id: str, products: list[tuple[str, str]]) -> claim_pb2.Claim:
    """An upbound claim of one parcel per (product, platform), 1.00元 a piece requested."""
    parcels = [
        parcel(f"SF{claim_id[-4:]}{i:05d}", productCategory=product, platform=platform)
        for i, (product, platform) in enumerate(products)
    ]
    return claim_request(
        claimId=claim_id, parcels=parcels, declaredPieces=len(parcels), requestedAmountFen=str(100 * len(parcels))
    ).claim


def test_farm_products_of_the_catalogue_and_national_platforms_are_eligible(
    stub: claim_pb2_grpc.SubsidyServiceStub,
) -> None:
    products = [("核桃", "苏宁易购"), ("红枣", "1688"), ("土鸡蛋", "淘宝"), ("羊肉", "抖店"), ("苹果", "快手")]
    r = stub.EvaluateClaim(claim_pb2.EvaluateClaimRequest(claim=farm_claim("FARM-0001", products)))
    assert r.outcome == claim_pb2.CLAIM_OUTCOME_ELIGIBLE
    assert (r.eligible_pieces, r.rejected_pieces, r.held_pieces, r.approved_amount_fen) == (5, 0, 0, 500)
    assert [x.rule_id for x in r.reasons] == ["SUB-RATES-PROVISIONAL"]
    assert r.reference_version


def test_unknown_product_is_held_and_a_not_farm_product_rejected(stub: claim_pb2_grpc.SubsidyServiceStub) -> None:
    products = [("薄皮核桃", "京东"), ("松花粉", "京东"), ("手机", "京东"), ("大枣", "某某团购群")]
    r = stub.EvaluateClaim(claim_pb2.EvaluateClaimRequest(claim=farm_claim("FARM-0002", products)))
    assert r.outcome == claim_pb2.CLAIM_OUTCOME_PARTIALLY_ELIGIBLE
    assert (r.eligible_pieces, r.rejected_pieces, r.held_pieces, r.approved_amount_fen) == (1, 1, 2, 100)
    assert [(j.index, list(j.rule_ids)) for j in r.rejections] == [(2, ["SUB-UP-AGRI"])]
    assert [(h.index, h.rule_id, h.severity) for h in r.held] == [
        (1, "SUB-UP-AGRI-REVIEW", common_pb2.SEVERITY_WARNING),
        (3, "SUB-UP-PLATFORM-REVIEW", common_pb2.SEVERITY_WARNING),
    ]
    assert "松花粉" in r.held[0].message and "待审核" in r.held[0].message
    assert "某某团购群" in r.held[1].message and r.held[1].waybill == "SF000200003"


def test_the_park_is_decided_by_the_roster(stub: claim_pb2_grpc.SubsidyServiceStub) -> None:
    claim = farm_claim("PARK-0001", [("小米", "京东")])
    claim.operator = "静乐县智通电子商务产业物流园区有限公司"
    r = stub.EvaluateClaim(claim_pb2.EvaluateClaimRequest(claim=claim))
    assert r.outcome == claim_pb2.CLAIM_OUTCOME_INELIGIBLE
    [operator] = r.reasons
    assert operator.rule_id == "SUB-OPERATOR" and "不在工信局审核的运营企业名单内" in operator.message
    assert operator.citation.basis == common_pb2.RULE_BASIS_INFERRED
    assert "附件1" in operator.citation.document and "四(三)" in operator.citation.clause
    assert "核定" not in operator.message + operator.remedy + operator.expected


def ledger_row(server: Running, claim_id: str) -> tuple[str, bool]:
    """The reference version and the acceptance the ledger keeps for a committed claim."""
    with server.runtime.store.engine.connect() as conn:
        row = conn.exec_driver_sql(
            "SELECT reference_version, provisional_rates_accepted FROM claims WHERE claim_id = ?", (claim_id,)
        ).one()
    return str(row[0]), bool(row[1])


def test_commit_on_provisional_rates_needs_the_approvers_acceptance(
    server: Running, stub: claim_pb2_grpc.SubsidyServiceStub
) -> None:
    claim = farm_claim("RATE-0001", [("核桃", "京东"), ("胡麻油", "拼多多")])
    with pytest.raises(grpc.RpcError) as e:
        stub.EvaluateClaim(claim_pb2.EvaluateClaimRequest(claim=claim, commit=True))
    assert e.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "SUB-RATES-PROVISIONAL" in (e.value.details() or "") and "accept_provisional_rates" in (
        e.value.details() or ""
    )
    assert server.runtime.store.ledger.stored_claim("RATE-0001") is None  # nothing recorded
    assert paid_by(server.runtime.store, "RATE-0001") == []

    r = stub.EvaluateClaim(claim_pb2.EvaluateClaimRequest(claim=claim, commit=True, accept_provisional_rates=True))
    assert r.committed and r.approved_amount_fen == 200
    version = server.runtime.rules.current.reference.version
    assert r.reference_version == version
    assert ledger_row(server, "RATE-0001") == (version, True)
    # the stored answer comes back as stored, acceptance or not
    again = stub.EvaluateClaim(claim_pb2.EvaluateClaimRequest(claim=claim, commit=True))
    assert again == r
    # nothing to pay, nothing to accept: an ineligible claim commits without the acceptance
    nothing = farm_claim("RATE-0002", [("手机", "京东")])
    r = stub.EvaluateClaim(claim_pb2.EvaluateClaimRequest(claim=nothing, commit=True))
    assert r.committed and r.outcome == claim_pb2.CLAIM_OUTCOME_INELIGIBLE
    assert ledger_row(server, "RATE-0002") == (version, False)


def test_a_committed_claim_keeps_the_reference_version_it_was_decided_on(tmp_path: Path, rules_copy: Path) -> None:
    config = Config(listen="127.0.0.1:0", db=str(tmp_path / "db.sqlite"), rules_dir=rules_copy, grace_seconds=1)
    with running(config) as server, grpc.insecure_channel(f"127.0.0.1:{server.port}") as ch:
        stub = claim_pb2_grpc.SubsidyServiceStub(ch)
        claim = farm_claim("KEEP-0001", [("松花粉", "京东"), ("核桃", "京东")])
        committed = stub.EvaluateClaim(
            claim_pb2.EvaluateClaimRequest(claim=claim, commit=True, accept_provisional_rates=True)
        )
        assert committed.held_pieces == 1 and committed.eligible_pieces == 1
        # 工信局 adds 松花粉 to the catalogue: a new version of the reference data
        products = json.loads(
            reference_pb2_grpc.ReferenceDataServiceStub(ch)
            .GetReferenceData(reference_pb2.GetReferenceDataRequest())
            .data_json
        )["products"]
        songhuafen = {"name": "松花粉", "aliases": [], "class": "林产品采集品", "section": "02 林产品"}
        reference_pb2_grpc.ReferenceDataServiceStub(ch).ReplaceReferenceTable(
            reference_pb2.ReplaceReferenceTableRequest(
                table="products", entries_json=json.dumps([*products, songhuafen]), reason="工信局审核"
            )
        )
        assert server.runtime.rules.current.reference.version != committed.reference_version
        # the committed claim is answered as stored, on its own version
        assert stub.EvaluateClaim(claim_pb2.EvaluateClaimRequest(claim=claim)) == committed
        assert ledger_row(server, "KEEP-0001")[0] == committed.reference_version
        # the same parcels under a new claim id: now eligible, on the new version
        claim.claim_id = "KEEP-0002"
        fresh = stub.EvaluateClaim(claim_pb2.EvaluateClaimRequest(claim=claim))
        assert fresh.held_pieces == 0 and fresh.reference_version == server.runtime.rules.current.reference.version
        assert [list(j.rule_ids) for j in fresh.rejections] == [["SUB-DUP-LEDGER"]]  # 核桃 was paid
