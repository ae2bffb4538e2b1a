"""Sign codes belong to their operator (附件3 二(3) 一县一编号), on a real server with an auth file: an
operator registering another operator's code first blocks nothing, both are told of a dispute
without the other's station ids, and only an admin decides whose code it is (ResolveSignCode)."""

from __future__ import annotations

import grpc
import pytest

from ruralpost.cli import main
from ruralpost.service.server import Running
from ruralpost.v1 import common_pb2, progress_pb2, progress_pb2_grpc, station_pb2, station_pb2_grpc
from tests.stations.test_station_service import violations
from tests.support import OPERATOR, TOKENS, code, md, station_request

RIVAL = "某某快递有限公司"  # the auth file's "other" operator
REAL = "KJH-XZ-01"  # 壹公里's township station of 康家会镇, code XZ0004
SQUAT = "MM-XZ-01"  # the rival's station showing the same code


def _request(operator: str, station_id: str, register: bool = True) -> station_pb2.CheckStationRequest:
    request = station_request(operator=operator, station_id=station_id)
    request.register = register
    return request


def _texts(verdict: common_pb2.Verdict, prefix: str = "") -> str:
    """The texts of its reasons (of the rules whose ids start with `prefix`)."""
    return " ".join(
        f"{r.message} {r.message_en} {r.actual} {r.remedy}" for r in verdict.reasons if r.rule_id.startswith(prefix)
    )


def _ids(verdict: common_pb2.Verdict) -> list[str]:
    return [r.rule_id for r in verdict.reasons]


@pytest.fixture
def disputed(secured_on: Running) -> Running:
    """The rival registers XZ0004 first; then 壹公里's real station registers it too."""
    with grpc.insecure_channel(f"127.0.0.1:{secured_on.port}") as ch:
        stub = station_pb2_grpc.StationServiceStub(ch)
        first = stub.CheckStation(_request(RIVAL, SQUAT), metadata=md("other")).verdict
        assert "STN-SIGN-CODE-DISPUTED" not in _ids(first)  # nobody else showed it yet
        stub.CheckStation(_request(OPERATOR, REAL), metadata=md("op"))
    return secured_on


def test_a_code_registered_first_by_another_operator_does_not_block_the_real_station(secured_on: Running) -> None:
    with grpc.insecure_channel(f"127.0.0.1:{secured_on.port}") as ch:
        stub = station_pb2_grpc.StationServiceStub(ch)
        stub.CheckStation(_request(RIVAL, SQUAT), metadata=md("other"))
        real = stub.CheckStation(_request(OPERATOR, REAL), metadata=md("op")).verdict
        # checked, registered and counted: a dispute is advice, not an error
        assert real.outcome == common_pb2.OUTCOME_PASS_WITH_WARNINGS
        assert _ids(real) == ["STN-SIGN-CODE-DISPUTED"]
        assert "另一运营企业" in real.reasons[0].message and "县里裁定" in real.reasons[0].message
        assert SQUAT not in _texts(real) and RIVAL not in _texts(real)
        assert "另一运营企业" in _texts(real)
        # the rival is told of the dispute on its next check too, without 壹公里's station or name
        rival = stub.CheckStation(_request(RIVAL, SQUAT), metadata=md("other")).verdict
        assert "STN-SIGN-CODE-DISPUTED" in _ids(rival) and "STN-SIGN-CODE-DUPLICATE" not in _ids(rival)
        # (STN-OPERATOR names the programme's operator, as the task table does: public, and no station)
        assert REAL not in _texts(rival) and OPERATOR not in _texts(rival, "STN-SIGN-CODE")
        # an admin, who decides, sees both operators and their stations
        seen = stub.CheckStation(_request(OPERATOR, REAL, register=False), metadata=md("admin")).verdict
        (reason,) = [r for r in seen.reasons if r.rule_id == "STN-SIGN-CODE-DISPUTED"]
        assert RIVAL in reason.message and SQUAT in reason.message and SQUAT in reason.message_en
        # the county's progress counts the real station: the squatter did not knock it out
        progress = progress_pb2_grpc.QuotaServiceStub(ch).GetProgress(
            progress_pb2.GetProgressRequest(as_of="2023-07-15"), metadata=md("reader")
        )
    (township,) = [t for t in progress.report.townships if t.township == "康家会镇"]
    assert township.township_stations_done == 1
    registered = {(s.operator, s.station_id): s.outcome for s in secured_on.runtime.store.stations()}
    assert registered == {(RIVAL, SQUAT): "OUTCOME_PASS_WITH_WARNINGS", (OPERATOR, REAL): "OUTCOME_PASS_WITH_WARNINGS"}


def test_an_operators_own_second_station_with_the_code_is_still_a_duplicate(secured_on: Running) -> None:
    with grpc.insecure_channel(f"127.0.0.1:{secured_on.port}") as ch:
        stub = station_pb2_grpc.StationServiceStub(ch)
        stub.CheckStation(_request(OPERATOR, REAL), metadata=md("op"))
        second = stub.CheckStation(_request(OPERATOR, "KJH-XZ-02"), metadata=md("op")).verdict
    assert second.outcome == common_pb2.OUTCOME_FAIL
    assert _ids(second) == ["STN-SIGN-CODE-DUPLICATE"]
    assert REAL in second.reasons[0].message  # its own station: naming it tells the operator nothing new


def test_a_dispute_in_an_admins_stream_is_named_with_both_stations(secured_on: Running) -> None:
    items = [
        station_pb2.CheckStationsRequest(station=_request(RIVAL, SQUAT).station, as_of="2023-07-15"),
        station_pb2.CheckStationsRequest(station=_request(OPERATOR, REAL).station, as_of="2023-07-15"),
    ]
    with grpc.insecure_channel(f"127.0.0.1:{secured_on.port}") as ch:
        answers = list(station_pb2_grpc.StationServiceStub(ch).CheckStations(iter(items), metadata=md("admin")))
    second = answers[1].verdict
    assert _ids(second) == ["STN-SIGN-CODE-DISPUTED"]
    assert f"{RIVAL}（{SQUAT}）" in second.reasons[0].message


def test_only_an_admin_resolves_a_dispute_and_the_award_decides_both_checks(disputed: Running) -> None:
    resolve = station_pb2.ResolveSignCodeRequest(
        county="静乐县",
        sign_code="ｘｚ0004",
        operator=f"{OPERATOR}静乐分公司",
        reason="县邮政管理局核实：该编号由壹公里申领",
    )
    with grpc.insecure_channel(f"127.0.0.1:{disputed.port}") as ch:
        stub = station_pb2_grpc.StationServiceStub(ch)
        for who in ("op", "other", "approver", "reader"):
            assert code(lambda who=who: stub.ResolveSignCode(resolve, metadata=md(who))) == (
                grpc.StatusCode.PERMISSION_DENIED
            )
        assert code(lambda: stub.ResolveSignCode(resolve)) == grpc.StatusCode.UNAUTHENTICATED
        answer = stub.ResolveSignCode(resolve, metadata=md("admin"))
        assert (answer.award.county, answer.award.sign_code, answer.award.operator) == ("140926", "XZ0004", OPERATOR)
        assert (answer.award.author, answer.award.reason) == ("ops-admin", resolve.reason)
        assert answer.award.awarded_at.endswith("Z") and not answer.HasField("previous")
        assert {(h.operator, h.station_id) for h in answer.holders} == {(OPERATOR, REAL), (RIVAL, SQUAT)}
        # the winner passes cleanly; the rival's station fails, told only that the county decided
        assert stub.CheckStation(_request(OPERATOR, REAL), metadata=md("op")).verdict.outcome == common_pb2.OUTCOME_PASS
        lost = stub.CheckStation(_request(RIVAL, SQUAT), metadata=md("other")).verdict
        assert lost.outcome == common_pb2.OUTCOME_FAIL
        assert "STN-SIGN-CODE-AWARDED" in _ids(lost) and "STN-SIGN-CODE-DISPUTED" not in _ids(lost)
        assert REAL not in _texts(lost) and OPERATOR not in _texts(lost, "STN-SIGN-CODE")
        assert "另一运营企业" in _texts(lost, "STN-SIGN-CODE")
        # a later decision replaces it; both are kept, with who and why
        again = stub.ResolveSignCode(
            station_pb2.ResolveSignCodeRequest(
                county="140926", sign_code="XZ0004", operator=RIVAL, reason="复核后改判"
            ),
            metadata=md("admin"),
        )
        assert again.previous.operator == OPERATOR and again.award.operator == RIVAL
        assert _ids(stub.CheckStation(_request(OPERATOR, REAL), metadata=md("op")).verdict) == ["STN-SIGN-CODE-AWARDED"]
    awards = disputed.runtime.store.sign_code_awards("140926", "XZ0004")
    assert [(a.operator, a.author, a.reason) for a in awards] == [
        (OPERATOR, "ops-admin", resolve.reason),
        (RIVAL, "ops-admin", "复核后改判"),
    ]


def test_a_resolution_names_a_holder_and_says_why(disputed: Running) -> None:
    with grpc.insecure_channel(f"127.0.0.1:{disputed.port}") as ch:
        stub = station_pb2_grpc.StationServiceStub(ch)

        def refused(request: station_pb2.ResolveSignCodeRequest) -> dict[str, str]:
            with pytest.raises(grpc.RpcError) as info:
                stub.ResolveSignCode(request, metadata=md("admin"))
            assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
            return violations(info.value)

        no_reason = station_pb2.ResolveSignCodeRequest(county="静乐县", sign_code="XZ0004", operator=OPERATOR)
        assert list(refused(no_reason)) == ["reason"]
        stranger = station_pb2.ResolveSignCodeRequest(
            county="静乐县", sign_code="XZ0004", operator="第三快递有限公司", reason="误填"
        )
        said = refused(stranger)["operator"]
        assert "第三快递有限公司" in said and RIVAL in said and OPERATOR in said  # the holders, for the admin
        assert "在静乐县（140926）没有登记" in said  # the county by its name, its code beside it
    assert disputed.runtime.store.sign_code_awards() == []


def test_ruralpost_signcode_resolve_is_the_admins_command(
    disputed: Running, capsys: pytest.CaptureFixture[str]
) -> None:
    server = ["--server", f"127.0.0.1:{disputed.port}"]
    command = ["signcode", "resolve", "--county", "静乐县", "--code", "XZ0004", "--operator", OPERATOR]
    assert main([*command, "--reason", "县里核实", *server, "--token", TOKENS["op"]]) == 2  # refused: the caller's role
    assert "PERMISSION_DENIED" in capsys.readouterr().err
    assert main([*command, "--reason", "县里核实", *server, "--token", TOKENS["admin"]]) == 0
    out = capsys.readouterr().out
    assert f"已裁定给 {OPERATOR}" in out
    assert f"{OPERATOR}\t{REAL}\t通过 passes" in out and f"{RIVAL}\t{SQUAT}\tSTN-SIGN-CODE-AWARDED" in out
    assert [a.reason for a in disputed.runtime.store.sign_code_awards()] == ["县里核实"]
