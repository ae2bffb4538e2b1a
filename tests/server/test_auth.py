"""Who may call what: bearer tokens, roles, operator scope, and no open port beyond loopback."""

from __future__ import annotations

from pathlib import Path

import grpc
import pytest
from google.rpc import code_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc

from ruralpost.service.config import Config, ConfigError
from ruralpost.service.server import Running, build, running
from ruralpost.v1 import claim_pb2, claim_pb2_grpc, rules_pb2, rules_pb2_grpc, station_pb2, station_pb2_grpc
from tests.backends import decisions
from tests.support import code, md, station_request, upbound_claim


def test_tokens_and_roles(secured: Running) -> None:
    with grpc.insecure_channel(f"127.0.0.1:{secured.port}") as ch:
        stations = station_pb2_grpc.StationServiceStub(ch)
        rules = rules_pb2_grpc.RulesServiceStub(ch)
        req = station_request()
        assert code(lambda: stations.CheckStation(req)) == grpc.StatusCode.UNAUTHENTICATED
        assert (
            code(lambda: stations.CheckStation(req, metadata=(("authorization", "Bearer nope"),)))
            == grpc.StatusCode.UNAUTHENTICATED
        )
        assert stations.CheckStation(req, metadata=md("op")).verdict.outcome
        # another operator's station
        assert code(lambda: stations.CheckStation(req, metadata=md("other"))) == grpc.StatusCode.PERMISSION_DENIED
        assert (
            code(lambda: rules.ListRules(rules_pb2.ListRulesRequest(), metadata=md("op")))
            == grpc.StatusCode.PERMISSION_DENIED
        )
        assert rules.ListRules(rules_pb2.ListRulesRequest(), metadata=md("reader")).rules
        assert code(lambda: stations.CheckStation(req, metadata=md("reader"))) == grpc.StatusCode.PERMISSION_DENIED
        assert code(lambda: stations.CheckStation(req, metadata=md("approver"))) == grpc.StatusCode.PERMISSION_DENIED
        assert (
            code(lambda: rules.ReloadRules(rules_pb2.ReloadRulesRequest(), metadata=md("reader")))
            == grpc.StatusCode.PERMISSION_DENIED
        )
        assert stations.CheckStation(req, metadata=md("admin")).verdict.outcome
        # health stays open for load balancers
        health = health_pb2_grpc.HealthStub(ch).Check(health_pb2.HealthCheckRequest())
        assert health.status == health_pb2.HealthCheckResponse.SERVING
    callers = [row.caller for row in decisions(secured.runtime.store)]
    assert callers == ["ops-admin", "yigongli-system"]


def test_a_foreign_item_in_an_operator_stream_gets_its_own_error(secured: Running) -> None:
    own = station_pb2.CheckStationsRequest(station=station_request().station, as_of="2023-07-15")
    foreign = station_pb2.CheckStationsRequest(station=station_request(operator="某某快递有限公司").station)
    with grpc.insecure_channel(f"127.0.0.1:{secured.port}") as ch:
        answers = list(
            station_pb2_grpc.StationServiceStub(ch).CheckStations(iter([own, foreign, own]), metadata=md("op"))
        )
    assert [a.HasField("verdict") for a in answers] == [True, False, True]
    assert answers[1].error.code == code_pb2.PERMISSION_DENIED


def test_claim_roles_dry_run_commit_and_operator_scope(secured: Running) -> None:
    with grpc.insecure_channel(f"127.0.0.1:{secured.port}") as ch:
        subsidy = claim_pb2_grpc.SubsidyServiceStub(ch)
        dry = claim_pb2.EvaluateClaimRequest(claim=upbound_claim(), commit=False)
        commit = claim_pb2.EvaluateClaimRequest(claim=upbound_claim(), commit=True, accept_provisional_rates=True)
        foreign = claim_pb2.EvaluateClaimRequest(claim=upbound_claim("某某快递有限公司", "OTHER-1"), commit=False)
        assert subsidy.EvaluateClaim(dry, metadata=md("op")).eligible_pieces == 3
        assert code(lambda: subsidy.EvaluateClaim(commit, metadata=md("op"))) == grpc.StatusCode.PERMISSION_DENIED
        assert code(lambda: subsidy.EvaluateClaim(foreign, metadata=md("op"))) == grpc.StatusCode.PERMISSION_DENIED
        assert code(lambda: subsidy.EvaluateClaim(dry, metadata=md("reader"))) == grpc.StatusCode.PERMISSION_DENIED
        committed = subsidy.EvaluateClaim(commit, metadata=md("approver"))
        assert committed.committed and committed.approved_amount_fen > 0
        answers = list(
            subsidy.EvaluateClaims(
                iter(
                    [
                        claim_pb2.EvaluateClaimsRequest(
                            claim=upbound_claim(claim_id="SXYGL-UP-2023-07-0002"), commit=False
                        ),
                        claim_pb2.EvaluateClaimsRequest(
                            claim=upbound_claim(claim_id="SXYGL-UP-2023-07-0003"),
                            commit=True,
                            accept_provisional_rates=True,
                        ),
                    ]
                ),
                metadata=md("op"),
            )
        )
        assert answers[0].HasField("result")
        assert answers[1].error.code == code_pb2.PERMISSION_DENIED
    rows = decisions(secured.runtime.store)
    assert [(r.method, r.caller) for r in rows[:2]] == [
        ("EvaluateClaims", "yigongli-system"),
        ("EvaluateClaim:commit", "caizheng-approver"),
    ]


def test_listening_beyond_loopback_needs_auth_or_insecure(tmp_path: Path, auth_file: Path) -> None:
    with pytest.raises(ConfigError, match="--auth-file"):
        build(Config(listen="0.0.0.0:0", db=str(tmp_path / "a.db")))
    for config in (
        Config(listen="0.0.0.0:0", db=str(tmp_path / "b.db"), insecure=True, grace_seconds=0),
        Config(listen="0.0.0.0:0", db=str(tmp_path / "c.db"), auth_file=auth_file, grace_seconds=0),
    ):
        with running(config) as r:
            assert r.port > 0
