"""Limits: items per stream, streams per caller, and work that stops with the client's deadline."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest

from ruralpost.service.config import Config
from ruralpost.service.server import Running, running
from ruralpost.v1 import station_pb2, station_pb2_grpc
from tests.backends import decision_count
from tests.support import md, station_request


def test_items_per_stream_are_limited(secured: Running) -> None:
    item = station_pb2.CheckStationsRequest(station=station_request().station, as_of="2023-07-15")
    with grpc.insecure_channel(f"127.0.0.1:{secured.port}") as ch:
        call = station_pb2_grpc.StationServiceStub(ch).CheckStations(iter([item] * 5), metadata=md("admin"))
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
        assert decision_count(r.runtime.store) < 20
