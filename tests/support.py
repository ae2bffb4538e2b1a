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

from ruralpost.v1 import claim_pb2, station_pb2

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
