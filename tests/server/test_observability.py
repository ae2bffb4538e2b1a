"""What operations see: Prometheus metrics and request ids in trailers."""

from __future__ import annotations

import urllib.request

import grpc

from ruralpost.service.api.metrics import serve_metrics
from ruralpost.v1 import station_pb2_grpc
from tests.support import free_port, station_request


def test_prometheus_metrics(channel: grpc.Channel) -> None:
    port = free_port()
    serve_metrics(port)
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
