"""What operations see: Prometheus metrics and request ids in trailers."""

from __future__ import annotations

import urllib.request

import grpc
import pytest

from ruralpost.cli import parser
from ruralpost.service.api.metrics import serve_metrics
from ruralpost.v1 import station_pb2_grpc
from tests.support import free_port, station_request


def test_prometheus_metrics(channel: grpc.Channel) -> None:
    port = free_port()
    serve_metrics(f"127.0.0.1:{port}")
    station_pb2_grpc.StationServiceStub(channel).CheckStation(station_request(area_m2=3.0))
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    assert 'ruralpost_requests_total{code="OK",method="CheckStation"}' in text
    assert 'ruralpost_verdicts_total{outcome="OUTCOME_FAIL",subject="station"}' in text
    assert 'ruralpost_rules_fired_total{rule_id="STN-AREA-TOWNSHIP"}' in text
    assert "ruralpost_request_seconds_bucket" in text


def test_request_id_is_returned_and_taken_from_the_client(channel: grpc.Channel) -> None:
    stub = station_pb2_grpc.StationServiceStub(channel)
    _, call = stub.CheckStation.with_call(station_request(), metadata=(("x-request-id", "audit-2023-07-0001"),))
    assert ("x-request-id", "audit-2023-07-0001") in tuple(call.trailing_metadata())
    _, call = stub.CheckStation.with_call(station_request())
    generated = dict(call.trailing_metadata())["x-request-id"]
    assert len(generated) == 32


@pytest.mark.parametrize(
    ("argv", "listen"),
    [
        (["--metrics-listen", "0.0.0.0:9100"], "0.0.0.0:9100"),
        (["--metrics-listen", "[::]:9100"], "[::]:9100"),
        (["--metrics-port", "9100"], "127.0.0.1:9100"),  # the older option: loopback, as before
        ([], None),
    ],
)
def test_metrics_listen_and_the_older_metrics_port(argv: list[str], listen: str | None) -> None:
    assert parser().parse_args(["serve", *argv]).metrics_listen == listen


REFUSED = [["--metrics-listen", "9100"], ["--metrics-port", "x"], ["--metrics-listen", "h:1", "--metrics-port", "2"]]


@pytest.mark.parametrize("argv", REFUSED)
def test_a_metrics_address_that_is_not_host_port_is_refused(argv: list[str]) -> None:
    with pytest.raises(SystemExit) as e:
        parser().parse_args(["serve", *argv])
    assert e.value.code == 2
