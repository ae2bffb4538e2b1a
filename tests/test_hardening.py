"""Who may call what, limits, TLS, metrics, reload over gRPC, several workers sharing a port."""

from __future__ import annotations

import json
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
import yaml
from google.protobuf import json_format
from google.rpc import code_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc

from ruralpost.service.api.auth import token_sha256
from ruralpost.service.api.metrics import serve_metrics
from ruralpost.service.config import Config, ConfigError
from ruralpost.service.server import Running, build, running
from ruralpost.v1 import claim_pb2, claim_pb2_grpc, rules_pb2, rules_pb2_grpc, station_pb2, station_pb2_grpc

from .conftest import ROOT, station_request

OPERATOR = "山西壹公里信息科技有限公司"
TOKENS = {"op": "tok-operator", "other": "tok-other-operator", "approver": "tok-approver", "reader": "tok-reader",
          "admin": "tok-admin"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def auth_file(tmp_path: Path) -> Path:
    entries = [
        {"name": "yigongli-system", "token_sha256": token_sha256(TOKENS["op"]), "role": "operator",
         "operator": OPERATOR},
        {"name": "other-express", "token_sha256": token_sha256(TOKENS["other"]), "role": "operator",
         "operator": "某某快递有限公司"},
        {"name": "caizheng-approver", "token_sha256": token_sha256(TOKENS["approver"]), "role": "approver"},
        {"name": "fagai-reader", "token_sha256": token_sha256(TOKENS["reader"]), "role": "reader"},
        {"name": "ops-admin", "token_sha256": token_sha256(TOKENS["admin"]), "role": "admin"},
    ]
    path = tmp_path / "callers.yaml"
    path.write_text(yaml.safe_dump(entries, allow_unicode=True), encoding="utf-8")
    return path


@pytest.fixture
def secured(tmp_path: Path, auth_file: Path, rules_copy: Path) -> Iterator[Running]:
    config = Config(listen="127.0.0.1:0", db=str(tmp_path / "s.db"), auth_file=auth_file, rules_dir=rules_copy,
                    grace_seconds=1, max_stream_items=3)
    with running(config) as r:
        yield r


def _md(who: str) -> tuple[tuple[str, str], ...]:
    return (("authorization", f"Bearer {TOKENS[who]}"),)


def _code(call: object) -> grpc.StatusCode:
    with pytest.raises(grpc.RpcError) as info:
        call()  # type: ignore[operator]
    return info.value.code()


def test_tokens_and_roles(secured: Running) -> None:
    with grpc.insecure_channel(f"127.0.0.1:{secured.port}") as ch:
        stations = station_pb2_grpc.StationServiceStub(ch)
        rules = rules_pb2_grpc.RulesServiceStub(ch)
        req = station_request()
        assert _code(lambda: stations.CheckStation(req)) == grpc.StatusCode.UNAUTHENTICATED
        assert _code(lambda: stations.CheckStation(req, metadata=(("authorization", "Bearer nope"),))) == \
            grpc.StatusCode.UNAUTHENTICATED
        assert stations.CheckStation(req, metadata=_md("op")).verdict.outcome
        # another operator's station
        assert _code(lambda: stations.CheckStation(req, metadata=_md("other"))) == grpc.StatusCode.PERMISSION_DENIED
        assert _code(lambda: rules.ListRules(rules_pb2.ListRulesRequest(), metadata=_md("op"))) == \
            grpc.StatusCode.PERMISSION_DENIED
        assert rules.ListRules(rules_pb2.ListRulesRequest(), metadata=_md("reader")).rules
        assert _code(lambda: stations.CheckStation(req, metadata=_md("reader"))) == grpc.StatusCode.PERMISSION_DENIED
        assert _code(lambda: stations.CheckStation(req, metadata=_md("approver"))) == \
            grpc.StatusCode.PERMISSION_DENIED
        assert _code(lambda: rules.ReloadRules(rules_pb2.ReloadRulesRequest(), metadata=_md("reader"))) == \
            grpc.StatusCode.PERMISSION_DENIED
        assert stations.CheckStation(req, metadata=_md("admin")).verdict.outcome
        # health stays open for load balancers
        health = health_pb2_grpc.HealthStub(ch).Check(health_pb2.HealthCheckRequest())
        assert health.status == health_pb2.HealthCheckResponse.SERVING
    callers = [row.caller for row in secured.runtime.store.decisions()]
    assert callers == ["ops-admin", "yigongli-system"]


def test_a_foreign_item_in_an_operator_stream_gets_its_own_error(secured: Running) -> None:
    own = station_pb2.CheckStationsRequest(station=station_request().station, as_of="2023-07-15")
    foreign = station_pb2.CheckStationsRequest(station=station_request(operator="某某快递有限公司").station)
    with grpc.insecure_channel(f"127.0.0.1:{secured.port}") as ch:
        answers = list(station_pb2_grpc.StationServiceStub(ch).CheckStations(iter([own, foreign, own]),
                                                                            metadata=_md("op")))
    assert [a.HasField("verdict") for a in answers] == [True, False, True]
    assert answers[1].error.code == code_pb2.PERMISSION_DENIED


def test_items_per_stream_are_limited(secured: Running) -> None:
    item = station_pb2.CheckStationsRequest(station=station_request().station, as_of="2023-07-15")
    with grpc.insecure_channel(f"127.0.0.1:{secured.port}") as ch:
        call = station_pb2_grpc.StationServiceStub(ch).CheckStations(iter([item] * 5), metadata=_md("admin"))
        answers = []
        with pytest.raises(grpc.RpcError) as info:
            for answer in call:
                answers.append(answer)
    assert len(answers) == 3
    assert info.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED


def test_concurrent_streams_per_caller_are_limited(tmp_path: Path) -> None:
    config = Config(listen="127.0.0.1:0", db=str(tmp_path / "l.db"), max_streams_per_caller=1, grace_seconds=1)
    item = station_pb2.CheckStationsRequest(station=station_request().station, as_of="2023-07-15")
    release = threading.Event()

    def slow() -> Iterator[station_pb2.CheckStationsRequest]:
        yield item
        release.wait(10)

    with running(config) as r, grpc.insecure_channel(f"127.0.0.1:{r.port}") as ch:
        stub = station_pb2_grpc.StationServiceStub(ch)
        first = stub.CheckStations(slow())
        next(first)  # the first stream is open and holds the caller's only slot
        with pytest.raises(grpc.RpcError) as info:
            list(stub.CheckStations(iter([item])))
        assert info.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        release.set()
        assert list(first) == []
        assert len(list(stub.CheckStations(iter([item])))) == 1  # the slot is free again


def test_a_stream_stops_working_when_the_client_deadline_passes(tmp_path: Path) -> None:
    config = Config(listen="127.0.0.1:0", db=str(tmp_path / "d.db"), grace_seconds=1)
    item = station_pb2.CheckStationsRequest(station=station_request().station, as_of="2023-07-15")

    def trickle() -> Iterator[station_pb2.CheckStationsRequest]:
        for _ in range(40):
            yield item
            time.sleep(0.05)

    with running(config) as r, grpc.insecure_channel(f"127.0.0.1:{r.port}") as ch:
        with pytest.raises(grpc.RpcError) as info:
            list(station_pb2_grpc.StationServiceStub(ch).CheckStations(trickle(), timeout=0.5))
        assert info.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
        time.sleep(2.5)  # longer than the rest of the trickle would take
        assert r.runtime.store.decision_count() < 20


def test_listening_beyond_loopback_needs_auth_or_insecure(tmp_path: Path, auth_file: Path) -> None:
    with pytest.raises(ConfigError, match="--auth-file"):
        build(Config(listen="0.0.0.0:0", db=str(tmp_path / "a.db")))
    for config in (Config(listen="0.0.0.0:0", db=str(tmp_path / "b.db"), insecure=True, grace_seconds=0),
                   Config(listen="0.0.0.0:0", db=str(tmp_path / "c.db"), auth_file=auth_file, grace_seconds=0)):
        with running(config) as r:
            assert r.port > 0


def _openssl(*args: str) -> None:
    subprocess.run(["openssl", *args], check=True, capture_output=True)


@pytest.fixture
def pki(tmp_path: Path) -> Path:
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed: cannot make test certificates")
    d = tmp_path / "pki"
    d.mkdir()
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=test-ca",
             "-keyout", str(d / "ca.key"), "-out", str(d / "ca.pem"))
    for name, cn in (("server", "localhost"), ("client", "yigongli-system")):
        _openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", f"/CN={cn}", "-keyout", str(d / f"{name}.key"),
                 "-out", str(d / f"{name}.csr"))
        ext = d / f"{name}.ext"
        ext.write_text("subjectAltName=DNS:localhost,IP:127.0.0.1\n")
        _openssl("x509", "-req", "-in", str(d / f"{name}.csr"), "-CA", str(d / "ca.pem"), "-CAkey",
                 str(d / "ca.key"), "-CAcreateserial", "-days", "2", "-extfile", str(ext),
                 "-out", str(d / f"{name}.pem"))
    return d


def test_tls_and_mutual_tls(tmp_path: Path, pki: Path) -> None:
    ca = (pki / "ca.pem").read_bytes()
    config = Config(listen="127.0.0.1:0", db=str(tmp_path / "t.db"), tls_cert=pki / "server.pem",
                    tls_key=pki / "server.key", client_ca=pki / "ca.pem", grace_seconds=0)
    with running(config) as r:
        target = f"localhost:{r.port}"
        with grpc.secure_channel(target, grpc.ssl_channel_credentials(root_certificates=ca)) as ch:
            assert _code(lambda: station_pb2_grpc.StationServiceStub(ch).CheckStation(
                station_request(), timeout=5)) == grpc.StatusCode.UNAVAILABLE  # no client certificate
        creds = grpc.ssl_channel_credentials(root_certificates=ca, private_key=(pki / "client.key").read_bytes(),
                                             certificate_chain=(pki / "client.pem").read_bytes())
        with grpc.secure_channel(target, creds) as ch:
            verdict = station_pb2_grpc.StationServiceStub(ch).CheckStation(station_request(), timeout=5).verdict
            assert verdict.subject_id == "KJH-XZ-01"
        with grpc.insecure_channel(target) as ch:
            assert _code(lambda: station_pb2_grpc.StationServiceStub(ch).CheckStation(
                station_request(), timeout=5)) == grpc.StatusCode.UNAVAILABLE


def test_prometheus_metrics(channel: grpc.Channel) -> None:
    port = _free_port()
    serve_metrics(port)
    station_pb2_grpc.StationServiceStub(channel).CheckStation(station_request(area_m2=3.0))
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    assert 'ruralpost_requests_total{code="OK",method="CheckStation"}' in text
    assert 'ruralpost_verdicts_total{outcome="OUTCOME_FAIL",subject="station"}' in text
    assert 'ruralpost_rules_fired_total{rule_id="STN-AREA-TOWNSHIP"}' in text
    assert "ruralpost_request_seconds_bucket" in text


def test_reload_over_grpc_by_an_admin(secured: Running, rules_copy: Path) -> None:
    with grpc.insecure_channel(f"127.0.0.1:{secured.port}") as ch:
        rules = rules_pb2_grpc.RulesServiceStub(ch)
        before = secured.runtime.rules.current.version
        pack = rules_copy / "stations.yaml"
        pack.write_text(pack.read_text(encoding="utf-8").replace("remedy: 配置货架", "remedy: 请配置货架"),
                        encoding="utf-8")
        answer = rules.ReloadRules(rules_pb2.ReloadRulesRequest(), metadata=_md("admin"))
        assert (answer.previous_version, answer.ruleset_version != before) == (before, True)
        assert answer.cases_passed > 70
        pack.write_text(pack.read_text(encoding="utf-8").replace("{$gte: {area_m2: 10}}", "{$gte: {area_m2: 1}}"),
                        encoding="utf-8")
        with pytest.raises(grpc.RpcError) as info:
            rules.ReloadRules(rules_pb2.ReloadRulesRequest(), metadata=_md("admin"))
        assert info.value.code() == grpc.StatusCode.FAILED_PRECONDITION
        assert "golden case" in (info.value.details() or "")
        assert secured.runtime.rules.current.version == answer.ruleset_version


def test_workers_share_the_port_and_the_registry(tmp_path: Path) -> None:
    port = _free_port()
    cli = Path(sys.executable).parent / "ruralpost"
    proc = subprocess.Popen([str(cli), "serve", "--workers", "2", "--listen", f"127.0.0.1:{port}",
                             "--db", str(tmp_path / "w.db")], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)
    try:
        time.sleep(0.5)
        codes = [f"XZ{n:04d}" for n in range(1, 41)]
        # separate channels spread the calls over both workers (each connection lands on one)
        for i, code in enumerate(codes):
            with grpc.insecure_channel(f"127.0.0.1:{port}", options=[("grpc.use_local_subchannel_pool", 1)]) as ch:
                grpc.channel_ready_future(ch).result(timeout=30)
                req = station_request(station_id=f"S{i:02d}", signage={"code": code})
                req.register = True
                assert station_pb2_grpc.StationServiceStub(ch).CheckStation(req).verdict.outcome == 1
        duplicates = 0
        for i, code in enumerate(codes):
            with grpc.insecure_channel(f"127.0.0.1:{port}", options=[("grpc.use_local_subchannel_pool", 1)]) as ch:
                req = station_request(station_id=f"T{i:02d}", signage={"code": code})
                reasons = station_pb2_grpc.StationServiceStub(ch).CheckStation(req).verdict.reasons
                duplicates += [r.rule_id for r in reasons] == ["STN-SIGN-CODE-DUPLICATE"]
        assert duplicates == len(codes)  # every worker sees what the others registered
        # the ledger too: claims sharing waybills, committed concurrently over separate connections
        claims = [_claim(claim_id=f"W-{k}") for k in range(6)]  # the same 5 parcels each
        answers: list[claim_pb2.EvaluateClaimResponse] = []

        def commit(claim: claim_pb2.Claim) -> None:
            with grpc.insecure_channel(f"127.0.0.1:{port}", options=[("grpc.use_local_subchannel_pool", 1)]) as ch:
                answers.append(claim_pb2_grpc.SubsidyServiceStub(ch).EvaluateClaim(
                    claim_pb2.EvaluateClaimRequest(claim=claim, commit=True), timeout=30))

        threads = [threading.Thread(target=commit, args=(c,)) for c in claims]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(a.eligible_pieces for a in answers) == [0, 0, 0, 0, 0, 3]  # paid once, whoever won
        children = subprocess.run(["pgrep", "-P", str(proc.pid)], capture_output=True, text=True).stdout.split()
        assert len(children) == 2
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.communicate()


def test_request_id_is_returned_and_taken_from_the_client(channel: grpc.Channel) -> None:
    stub = station_pb2_grpc.StationServiceStub(channel)
    _, call = stub.CheckStation.with_call(station_request(), metadata=(("x-request-id", "audit-2023-07-0001"),))
    assert ("x-request-id", "audit-2023-07-0001") in tuple(call.trailing_metadata())
    _, call = stub.CheckStation.with_call(station_request())
    generated = dict(call.trailing_metadata())["x-request-id"]
    assert len(generated) == 32


def _claim(operator: str = OPERATOR, claim_id: str = "SXYGL-UP-2023-07-0001") -> claim_pb2.Claim:
    data = json.loads((ROOT / "examples" / "claim-upbound.json").read_text(encoding="utf-8"))["claim"]
    claim = json_format.ParseDict(data, claim_pb2.Claim())
    claim.operator, claim.claim_id = operator, claim_id
    return claim


def test_claim_roles_dry_run_commit_and_operator_scope(secured: Running) -> None:
    with grpc.insecure_channel(f"127.0.0.1:{secured.port}") as ch:
        subsidy = claim_pb2_grpc.SubsidyServiceStub(ch)
        dry = claim_pb2.EvaluateClaimRequest(claim=_claim(), commit=False)
        commit = claim_pb2.EvaluateClaimRequest(claim=_claim(), commit=True)
        foreign = claim_pb2.EvaluateClaimRequest(claim=_claim("某某快递有限公司", "OTHER-1"), commit=False)
        assert subsidy.EvaluateClaim(dry, metadata=_md("op")).eligible_pieces == 3
        assert _code(lambda: subsidy.EvaluateClaim(commit, metadata=_md("op"))) == grpc.StatusCode.PERMISSION_DENIED
        assert _code(lambda: subsidy.EvaluateClaim(foreign, metadata=_md("op"))) == grpc.StatusCode.PERMISSION_DENIED
        assert _code(lambda: subsidy.EvaluateClaim(dry, metadata=_md("reader"))) == grpc.StatusCode.PERMISSION_DENIED
        committed = subsidy.EvaluateClaim(commit, metadata=_md("approver"))
        assert committed.committed and committed.approved_amount_fen > 0
        answers = list(subsidy.EvaluateClaims(iter([
            claim_pb2.EvaluateClaimsRequest(claim=_claim(claim_id="SXYGL-UP-2023-07-0002"), commit=False),
            claim_pb2.EvaluateClaimsRequest(claim=_claim(claim_id="SXYGL-UP-2023-07-0003"), commit=True),
        ]), metadata=_md("op")))
        assert answers[0].HasField("result")
        assert answers[1].error.code == code_pb2.PERMISSION_DENIED
    rows = secured.runtime.store.decisions()
    assert [(r.method, r.caller) for r in rows[:2]] == [("EvaluateClaims", "yigongli-system"),
                                                        ("EvaluateClaim:commit", "caizheng-approver")]
