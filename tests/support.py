"""Helpers the tests share (fixtures live in conftest.py): example requests, ports, tokens."""

from __future__ import annotations

import json
import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.protobuf import json_format

from ruralpost.v1 import claim_pb2, station_pb2, station_pb2_grpc

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
OPERATOR = "山西壹公里信息科技有限公司"
TOKENS = {
    "op": "tok-operator",
    "other": "tok-other-operator",
    "approver": "tok-approver",
    "reader": "tok-reader",
    "admin": "tok-admin",
}


def free_port() -> int:
    """A port nobody listens on now (for servers that need a fixed port: workers, restarts)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def example(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((EXAMPLES / name).read_text(encoding="utf-8"))
    return data


def station_request(name: str = "township-station.json", **overrides: Any) -> station_pb2.CheckStationRequest:
    """An example request, with station fields replaced (proto JSON values, snake_case names)."""
    request = json_format.ParseDict(example(name), station_pb2.CheckStationRequest())
    json_format.ParseDict(overrides, request.station)
    return request


def registry_stations(name: str = "stations-kangjiahui.jsonl") -> list[station_pb2.Station]:
    """Stations of an example registry file (JSON Lines of proto JSON): the stations the downbound
    example claim's parcels were delivered by (SUB-DOWN-STATION reads the registry)."""
    lines = (EXAMPLES / name).read_text(encoding="utf-8").splitlines()
    return [json_format.Parse(line, station_pb2.Station()) for line in lines if line.strip()]


def register(channel: grpc.Channel, stations: list[station_pb2.Station], as_of: str = "2023-07-15") -> None:
    """Registers stations on a server (CheckStation, register = true), as the operators' systems do."""
    stub = station_pb2_grpc.StationServiceStub(channel)
    for station in stations:
        stub.CheckStation(station_pb2.CheckStationRequest(station=station, as_of=as_of, register=True))


def register_examples(port: int) -> None:
    """The example registry (康家会镇's station and two points) registered on the server at `port`."""
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        register(channel, registry_stations())


def upbound_claim(operator: str = OPERATOR, claim_id: str = "SXYGL-UP-2023-07-0001") -> claim_pb2.Claim:
    """The README's upbound claim (examples/claim-upbound.json) under another operator or id."""
    claim = json_format.ParseDict(example("claim-upbound.json")["claim"], claim_pb2.Claim())
    claim.operator, claim.claim_id = operator, claim_id
    return claim


def md(who: str) -> tuple[tuple[str, str], ...]:
    """The bearer-token metadata of one of the auth file's callers (see conftest.auth_file)."""
    return (("authorization", f"Bearer {TOKENS[who]}"),)


def code(call: Callable[[], object]) -> grpc.StatusCode:
    """The status code a call fails with."""
    with pytest.raises(grpc.RpcError) as info:
        call()
    return info.value.code()
