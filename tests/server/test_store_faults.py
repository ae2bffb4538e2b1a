"""The store on PostgreSQL: registry behaviour, and a database outage answered with UNAVAILABLE."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator
from urllib.parse import urlsplit, urlunsplit

import grpc
import pytest
from google.protobuf import json_format

from ruralpost.service.config import Config
from ruralpost.service.server import running
from ruralpost.v1 import claim_pb2, claim_pb2_grpc, station_pb2, station_pb2_grpc
from tests.backends import decision_count
from tests.support import example, station_request


class TcpProxy:
    """A forwarding proxy that can cut every connection and refuse new ones: a database outage."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.up = threading.Event()
        self.up.set()
        self.conns: list[socket.socket] = []
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if not self.up.is_set():
                client.close()
                continue
            server = socket.create_connection(self.target)
            with self.lock:
                self.conns += [client, server]
            for a, b in ((client, server), (server, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(a: socket.socket, b: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := a.recv(65536):
                b.sendall(data)
        for s in (a, b):
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)

    def cut(self) -> None:
        self.up.clear()
        with self.lock:
            for s in self.conns:
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)
                s.close()  # not left to the collector (a ResourceWarning)
            self.conns.clear()

    def restore(self) -> None:
        self.up.set()

    def close(self) -> None:
        self.cut()
        self.listener.close()


@pytest.fixture
def proxied_pg(pg_db: str) -> Iterator[tuple[str, TcpProxy]]:
    parts = urlsplit(pg_db)
    proxy = TcpProxy((parts.hostname or "127.0.0.1", parts.port or 5432))
    netloc = f"{parts.username}@127.0.0.1:{proxy.port}" if parts.username else f"127.0.0.1:{proxy.port}"
    try:
        yield urlunsplit(parts._replace(netloc=netloc)), proxy
    finally:
        proxy.close()


def test_registry_on_postgresql(pg_db: str) -> None:
    with (
        running(Config(listen="127.0.0.1:0", db=pg_db, grace_seconds=1)) as r,
        grpc.insecure_channel(f"127.0.0.1:{r.port}") as ch,
    ):
        stub = station_pb2_grpc.StationServiceStub(ch)
        first = station_request()
        first.register = True
        assert stub.CheckStation(first).verdict.outcome == 1
        assert stub.CheckStation(first).verdict.outcome == 1  # re-registering itself: no duplicate
        other = station_request(station_id="KJH-XZ-99")
        assert [x.rule_id for x in stub.CheckStation(other).verdict.reasons] == ["STN-SIGN-CODE-DUPLICATE"]
        assert [(s.station_id, s.outcome) for s in r.runtime.store.stations()] == [("KJH-XZ-01", "OUTCOME_PASS")]
        assert decision_count(r.runtime.store) == 3


def test_database_outage_is_unavailable_and_recovers(proxied_pg: tuple[str, TcpProxy]) -> None:
    url, proxy = proxied_pg
    with (
        running(Config(listen="127.0.0.1:0", db=url, grace_seconds=1)) as r,
        grpc.insecure_channel(f"127.0.0.1:{r.port}") as ch,
    ):
        stub = station_pb2_grpc.StationServiceStub(ch)
        assert stub.CheckStation(station_request(), timeout=10).verdict.outcome == 1
        proxy.cut()
        with pytest.raises(grpc.RpcError) as info:
            stub.CheckStation(station_request(), timeout=20)
        assert info.value.code() == grpc.StatusCode.UNAVAILABLE
        assert "数据库" in (info.value.details() or "")
        proxy.restore()
        assert stub.CheckStation(station_request(), timeout=20).verdict.outcome == 1


def test_both_streams_end_unavailable_while_the_database_is_down(proxied_pg: tuple[str, TcpProxy]) -> None:
    """The same answer from both streams: the whole stream fails UNAVAILABLE (the client resumes
    with the items not answered), never an item-by-item error that a client would take as final."""
    url, proxy = proxied_pg
    station_item = station_pb2.CheckStationsRequest(station=station_request().station, as_of="2023-07-15")
    claim = json_format.ParseDict(example("claim-upbound.json"), claim_pb2.EvaluateClaimRequest()).claim
    claim_item = claim_pb2.EvaluateClaimsRequest(claim=claim)
    with (
        running(Config(listen="127.0.0.1:0", db=url, grace_seconds=1)) as r,
        grpc.insecure_channel(f"127.0.0.1:{r.port}") as ch,
    ):
        stations = station_pb2_grpc.StationServiceStub(ch)
        claims = claim_pb2_grpc.SubsidyServiceStub(ch)
        answers = stations.CheckStations(iter([station_item] * 2), timeout=20)
        assert [a.HasField("verdict") for a in answers] == [True, True]
        assert [a.HasField("result") for a in claims.EvaluateClaims(iter([claim_item] * 2), timeout=20)] == [True, True]
        proxy.cut()
        for call in (
            lambda: list(stations.CheckStations(iter([station_item] * 2), timeout=20)),
            lambda: list(claims.EvaluateClaims(iter([claim_item] * 2), timeout=20)),
        ):
            with pytest.raises(grpc.RpcError) as info:
                call()
            assert info.value.code() == grpc.StatusCode.UNAVAILABLE
        proxy.restore()
        assert [a.HasField("result") for a in claims.EvaluateClaims(iter([claim_item]), timeout=20)] == [True]
