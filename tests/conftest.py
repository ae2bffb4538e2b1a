"""A real server on a free port with a real SQLite file; typed stubs to call it."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.protobuf import json_format

from ruralpost.service.config import DEFAULT_RULES_DIR, Config
from ruralpost.service.server import Running, running
from ruralpost.v1 import station_pb2

from .backends import db, pg_db  # noqa: F401  (fixtures for every test module)

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"


@pytest.fixture
def rules_copy(tmp_path: Path) -> Path:
    """A copy of the bundled rule folder that a test may edit (reloads, broken packs)."""
    target = tmp_path / "rules"
    shutil.copytree(DEFAULT_RULES_DIR, target)
    return target


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Running]:
    with running(Config(listen="127.0.0.1:0", db=str(tmp_path / "ruralpost.db"), grace_seconds=1)) as r:
        yield r


@pytest.fixture
def channel(server: Running) -> Iterator[grpc.Channel]:
    with grpc.insecure_channel(f"127.0.0.1:{server.port}") as ch:
        yield ch


def example(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((EXAMPLES / name).read_text(encoding="utf-8"))
    return data


def station_request(name: str = "township-station.json", **overrides: Any) -> station_pb2.CheckStationRequest:
    """An example request, with station fields replaced (proto JSON values, snake_case names)."""
    request = json_format.ParseDict(example(name), station_pb2.CheckStationRequest())
    json_format.ParseDict(overrides, request.station)
    return request

