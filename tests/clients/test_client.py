"""The client library against real servers: answers, refusals, retries on UNAVAILABLE only,
auth metadata, and a stream that survives a server restart."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent import futures
from pathlib import Path

import grpc
import pytest
from google.protobuf import json_format

from ruralpost.clients import ClientOptions, RuralpostClient, RuralpostError
from ruralpost.clients.sheets.template import EXAMPLE_STATIONS
from ruralpost.service.config import Config
from ruralpost.service.server import Running, build, stop
from ruralpost.v1 import common_pb2, rules_pb2, station_pb2
from tests.support import free_port

FAST = {"backoff_initial": 0.02, "backoff_max": 0.1}


def _station(n: int = 0, **fields: object) -> station_pb2.Station:
    station = json_format.ParseDict(EXAMPLE_STATIONS[n], station_pb2.Station())
    for name, value in fields.items():
        setattr(station, name, value)
    return station


def test_check_station_and_list_rules(server: Running) -> None:
    with RuralpostClient(ClientOptions(target=f"127.0.0.1:{server.port}")) as client:
        verdict = client.check_station(_station(area_m2=8.5), as_of="2023-07-15")
        assert verdict.outcome == common_pb2.OUTCOME_FAIL
        assert [r.rule_id for r in verdict.reasons] == ["STN-AREA-TOWNSHIP"]
        rules = client.list_rules(subject="station")
        assert "STN-AREA-TOWNSHIP" in {r.rule_id for r in rules.rules}
        assert rules.ruleset_version == verdict.ruleset_version


def test_a_refusal_is_raised_at_once_with_the_bad_fields(server: Running) -> None:
    client = RuralpostClient(ClientOptions(target=f"127.0.0.1:{server.port}", attempts=5, **FAST))
    with client, pytest.raises(RuralpostError) as caught:
        client.check_station(_station(opened_on="2023-13-01"))
    assert caught.value.code == grpc.StatusCode.INVALID_ARGUMENT
    assert not caught.value.is_connection
    assert [v.field for v in caught.value.violations] == ["station.opened_on"]
    assert client.retries == 0


def test_stream_answers_in_order_with_item_errors(server: Running) -> None:
    requests = [
        station_pb2.CheckStationsRequest(station=s, as_of="2023-07-15")
        for s in (_station(0), station_pb2.Station(area_m2=float("nan")), _station(1))
    ]
    with RuralpostClient(ClientOptions(target=f"127.0.0.1:{server.port}")) as client:
        answers = list(client.check_stations(iter(requests)))
    assert [a.index for a in answers] == [0, 1, 2]
    assert answers[0].verdict.outcome == common_pb2.OUTCOME_PASS
    assert RuralpostError.from_status(answers[1].error).violations[0].field == "station.area_m2"
    assert answers[2].verdict.subject_id == "KJH-C-07"


def test_unary_call_waits_for_a_server_that_comes_up(tmp_path: Path) -> None:
    port = free_port()
    started: list[Running] = []
    timer = threading.Timer(
        0.3,
        lambda: started.append(
            build(Config(listen=f"127.0.0.1:{port}", db=str(tmp_path / "late.db"), grace_seconds=0))
        ),
    )
    timer.start()
    try:
        with RuralpostClient(ClientOptions(target=f"127.0.0.1:{port}", attempts=300, timeout=20, **FAST)) as c:
            assert c.list_rules().rules
            assert c.retries >= 1
    finally:
        timer.join()
        for r in started:
            stop(r, 0)


def test_unreachable_server_is_a_connection_error_after_the_attempts() -> None:
    with RuralpostClient(ClientOptions(target=f"127.0.0.1:{free_port()}", attempts=3, **FAST)) as client:
        with pytest.raises(RuralpostError) as caught:
            client.list_rules()
        assert caught.value.code == grpc.StatusCode.UNAVAILABLE and caught.value.is_connection
        assert client.retries == 2


class _Scripted:
    """A stand-in RulesService (not our code): answers with the scripted codes, then succeeds,
    and records the metadata of every call."""

    def __init__(self, codes: list[grpc.StatusCode]) -> None:
        self.codes = codes
        self.calls: list[dict[str, str]] = []

    def list_rules(
        self, request: rules_pb2.ListRulesRequest, context: grpc.ServicerContext
    ) -> rules_pb2.ListRulesResponse:
        self.calls.append(dict(context.invocation_metadata()))  # type: ignore[arg-type]
        if self.codes:
            context.abort(self.codes.pop(0), "scripted")
        return rules_pb2.ListRulesResponse(ruleset_version="scripted")


@pytest.fixture
def scripted() -> Iterator[tuple[_Scripted, int]]:
    service = _Scripted([])
    handler = grpc.method_handlers_generic_handler(
        "ruralpost.v1.RulesService",
        {
            "ListRules": grpc.unary_unary_rpc_method_handler(
                service.list_rules,
                request_deserializer=rules_pb2.ListRulesRequest.FromString,
                response_serializer=rules_pb2.ListRulesResponse.SerializeToString,
            )
        },
    )
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    server.add_generic_rpc_handlers((handler,))
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    yield service, port
    server.stop(0)


def test_retries_on_unavailable_only_and_sends_the_token(scripted: tuple[_Scripted, int]) -> None:
    service, port = scripted
    options = ClientOptions(target=f"127.0.0.1:{port}", token="s3cret", attempts=4, **FAST)
    with RuralpostClient(options) as client:
        service.codes[:] = [grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.UNAVAILABLE]
        assert client.list_rules().ruleset_version == "scripted"
        assert len(service.calls) == 3
        assert {c["authorization"] for c in service.calls} == {"Bearer s3cret"}

        service.calls.clear()
        service.codes[:] = [grpc.StatusCode.RESOURCE_EXHAUSTED]
        with pytest.raises(RuralpostError) as caught:
            client.list_rules()
        assert caught.value.code == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert len(service.calls) == 1

        service.calls.clear()
        service.codes[:] = [grpc.StatusCode.UNAVAILABLE] * 4
        with pytest.raises(RuralpostError):
            client.list_rules()
        assert len(service.calls) == 4


def test_a_deadline_bounds_the_call_retries_included(scripted: tuple[_Scripted, int]) -> None:
    service, port = scripted
    service.codes[:] = [grpc.StatusCode.UNAVAILABLE] * 1000
    options = ClientOptions(target=f"127.0.0.1:{port}", attempts=1000, backoff_initial=0.05, backoff_max=0.05)
    started = time.monotonic()
    with RuralpostClient(options) as client, pytest.raises(RuralpostError):
        client.list_rules(timeout=0.5)
    assert time.monotonic() - started < 2.0


def test_stream_resumes_after_a_server_restart(tmp_path: Path) -> None:
    port = free_port()
    config = Config(listen=f"127.0.0.1:{port}", db=str(tmp_path / "restart.db"), grace_seconds=0)
    running = build(config)
    total, restart_at = 600, 150
    station = _station(0)
    requests = (station_pb2.CheckStationsRequest(station=station, as_of="2023-07-15") for _ in range(total))
    indexes: list[int] = []
    try:
        with RuralpostClient(ClientOptions(target=f"127.0.0.1:{port}", attempts=20, **FAST)) as client:
            for answer in client.check_stations(requests):
                assert answer.verdict.outcome == common_pb2.OUTCOME_PASS
                indexes.append(answer.index)
                if len(indexes) == restart_at:
                    stop(running, 0)
                    running = build(config)
            assert client.retries >= 1
    finally:
        stop(running, 0)
    assert indexes == list(range(total))
