"""An upbound claim whose kind has no rate in the reference data, on a real server: its pieces are
eligible but no amount is approved (never 0 fen in silence), SUB-RATE-MISSING names the rate that
is missing, and a commit is refused whatever the request accepts, until an admin sets the rate."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
import yaml

from ruralpost.service.config import Config
from ruralpost.service.server import Running, running
from ruralpost.v1 import claim_pb2, claim_pb2_grpc, common_pb2, reference_pb2, reference_pb2_grpc, rules_pb2
from ruralpost.v1.rules_pb2_grpc import RulesServiceStub
from tests.backends import paid_by
from tests.claims.test_subsidy import farm_claim

UPBOUND = "UPBOUND_AGRICULTURAL"


def _without_the_upbound_rate(rules: Path) -> list[dict[str, Any]]:
    """The rule folder's rates without the upbound one; its golden cases keep the shipped rates
    with each upbound base (a county folder whose cases bring their own data), so it still starts.
    Returns the shipped rates."""
    rates_file = rules / "reference" / "jingle-2023" / "rates.yaml"
    shipped: list[dict[str, Any]] = yaml.safe_load(rates_file.read_text(encoding="utf-8"))["rates"]
    kept = [r for r in shipped if r["kind"] != UPBOUND]
    rates_file.write_text(yaml.safe_dump({"rates": kept}, allow_unicode=True), encoding="utf-8")
    for path in (rules / "cases" / "subsidy").glob("*.yaml"):
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
        for base in (doc.get("bases") or {}).values():
            if base.get("claim", {}).get("kind") == "CLAIM_KIND_UPBOUND_AGRICULTURAL":
                base.setdefault("reference", {}).setdefault("rates", shipped)
        path.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return shipped


@pytest.fixture
def no_upbound_rate(tmp_path: Path, rules_copy: Path) -> Iterator[tuple[Running, list[dict[str, Any]]]]:
    shipped = _without_the_upbound_rate(rules_copy)
    config = Config(listen="127.0.0.1:0", db=str(tmp_path / "db.sqlite"), rules_dir=rules_copy, grace_seconds=1)
    with running(config) as server:
        yield server, shipped


def test_no_upbound_rate_approves_nothing_names_the_rate_and_cannot_be_committed(
    no_upbound_rate: tuple[Running, list[dict[str, Any]]],
) -> None:
    server, shipped = no_upbound_rate
    assert server.runtime.rules.current.reference.rate(UPBOUND, "") is None
    with grpc.insecure_channel(f"127.0.0.1:{server.port}") as ch:
        stub = claim_pb2_grpc.SubsidyServiceStub(ch)
        claim = farm_claim("NORATE-0001", [("核桃", "京东"), ("胡麻油", "拼多多")])
        r = stub.EvaluateClaim(claim_pb2.EvaluateClaimRequest(claim=claim))
        assert r.outcome == claim_pb2.CLAIM_OUTCOME_ELIGIBLE
        assert (r.eligible_pieces, r.approved_amount_fen) == (2, 0)
        [missing] = r.reasons  # no SUB-AMOUNT "approve 0", no provisional-rate warning on nothing
        assert missing.rule_id == "SUB-RATE-MISSING" and missing.severity == common_pb2.SEVERITY_WARNING
        assert missing.citation.basis == common_pb2.RULE_BASIS_SETTING
        assert "2件符合条件的快件没有补贴标准" in missing.message and "未核定金额" in missing.message
        assert "缺少电商平台销往县域外农副产品（上行）每件的补贴标准" in missing.message
        assert "kind UPBOUND_AGRICULTURAL" in missing.actual  # as the rates table keys it
        assert "no amount is approved" in missing.message_en

        # no acceptance makes a missing rate payable: nothing is recorded, nothing is paid
        for accept in (False, True):
            with pytest.raises(grpc.RpcError) as e:
                stub.EvaluateClaim(
                    claim_pb2.EvaluateClaimRequest(claim=claim, commit=True, accept_provisional_rates=accept)
                )
            assert e.value.code() == grpc.StatusCode.FAILED_PRECONDITION
            assert "SUB-RATE-MISSING" in (e.value.details() or "") and "不能入账" in (e.value.details() or "")
        assert server.runtime.store.ledger.stored_claim("NORATE-0001") is None
        assert paid_by(server.runtime.store, "NORATE-0001") == []

        # the rule is listed as a setting, beside the other amount rules
        listed = RulesServiceStub(ch).ListRules(rules_pb2.ListRulesRequest(subject="claim_amount"))
        [rule] = [x for x in listed.rules if x.rule_id == "SUB-RATE-MISSING"]
        assert rule.basis == common_pb2.RULE_BASIS_SETTING and "不按0元核定" in rule.description

        # 工信局 sets the rate: the same claim is paid by it, and commits once accepted
        reference_pb2_grpc.ReferenceDataServiceStub(ch).ReplaceReferenceTable(
            reference_pb2.ReplaceReferenceTableRequest(
                table="rates", entries_json=json.dumps(shipped), reason="补入上行标准"
            )
        )
        r = stub.EvaluateClaim(claim_pb2.EvaluateClaimRequest(claim=claim, commit=True, accept_provisional_rates=True))
        assert r.committed and r.approved_amount_fen == 200
        assert [x.rule_id for x in r.reasons] == ["SUB-RATES-PROVISIONAL"]
