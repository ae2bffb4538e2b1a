"""A real server on a free port with a real SQLite file; typed stubs to call it."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.protobuf import json_format
from ruralpost.v1 import station_pb2

from service.server import Config, Running, running

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"


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


PG_BASE = os.environ.get("RURALPOST_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")


def _pg_connect(url: str) -> Any:
    import psycopg

    return psycopg.connect(url, connect_timeout=3, autocommit=True)


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A PostgreSQL URL whose tables live in a fresh schema, dropped afterwards.

    Skips, saying why, where no PostgreSQL is reachable (set RURALPOST_TEST_PG to point at one).
    """
    try:
        admin = _pg_connect(PG_BASE)
    except Exception as e:  # any connection failure means: no PostgreSQL here
        pytest.skip(f"PostgreSQL not reachable at {PG_BASE}: {e}")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield f"{PG_BASE}?options=-csearch_path%3D{schema}"
    finally:
        admin.execute(f'DROP SCHEMA "{schema}" CASCADE')
        admin.close()
