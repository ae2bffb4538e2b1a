"""An error stays small whatever the request: 100,000 bad fields are answered with the first ones
(100 at most, within 4 KB) and a count of the rest, on the gRPC door (where a huge status would cut
the stream) and the HTTP door alike."""

from __future__ import annotations

import grpc
from google.protobuf import json_format
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from ruralpost.limits import MAX_VIOLATIONS
from ruralpost.service.server import Running
from ruralpost.v1 import station_pb2_grpc
from tests.http.jsondoor import unary
from tests.support import station_request

ZONES = 100_000


def hostile_request() -> object:
    request = station_request()
    request.station.zones.extend(["\x01"] * ZONES)  # each one a bad name
    return request


def test_field_violations_are_capped_over_grpc(http_server: Running) -> None:
    with grpc.insecure_channel(f"127.0.0.1:{http_server.port}") as ch:
        try:
            station_pb2_grpc.StationServiceStub(ch).CheckStation(hostile_request())
            raise AssertionError("accepted")
        except grpc.RpcError as e:
            assert e.code() == grpc.StatusCode.INVALID_ARGUMENT
            status = rpc_status.from_call(e)
    assert status is not None and len(status.SerializeToString()) < 16_000
    bad = error_details_pb2.BadRequest()
    assert status.details[0].Unpack(bad)
    assert 10 < len(bad.field_violations) <= MAX_VIOLATIONS
    omitted = ZONES + 1 - len(bad.field_violations)  # every zone, and "more than 32 items"
    assert f"and {omitted:,} more" in status.message and f"另有 {omitted:,} 处" in status.message


def test_field_violations_are_capped_over_http(http_server: Running) -> None:
    message = json_format.MessageToDict(hostile_request())
    answer = unary(http_server.http_port, "StationService/CheckStation", message)
    assert answer.status == 400 and answer.code == "invalid_argument"
    assert len(answer.violations()) <= MAX_VIOLATIONS and "more" in answer.body["message"]
