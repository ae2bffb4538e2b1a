"""Figures 2 and 3: CheckStation and CheckStations against no-op methods on the same server.

The server runs in its own process (bench.server); this asyncio client keeps `in_flight` calls
going, alternating product and baseline rounds, and reports medians.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Iterator
from pathlib import Path

import grpc

from ruralpost.v1 import station_pb2

from .load import bench_server
from .noop import STREAM, UNARY
from .stations import requests

CHECK = "/ruralpost.v1.StationService/CheckStation"
CHECKS = "/ruralpost.v1.StationService/CheckStations"


async def _unary_round(
    channel: grpc.aio.Channel, path: str, items: list[station_pb2.CheckStationRequest], total: int, in_flight: int
) -> tuple[float, list[float]]:
    call = channel.unary_unary(
        path,
        request_serializer=station_pb2.CheckStationRequest.SerializeToString,
        response_deserializer=station_pb2.CheckStationResponse.FromString,
    )
    latencies: list[float] = []

    async def worker(offset: int) -> None:
        for i in range(offset, total, in_flight):
            t0 = time.perf_counter()
            await call(items[i % len(items)])
            latencies.append(time.perf_counter() - t0)

    start = time.perf_counter()
    await asyncio.gather(*(worker(k) for k in range(in_flight)))
    return total / (time.perf_counter() - start), latencies


async def _stream_round(
    channel: grpc.aio.Channel, path: str, items: list[station_pb2.CheckStationsRequest], total: int
) -> float:
    call = channel.stream_stream(
        path,
        request_serializer=station_pb2.CheckStationsRequest.SerializeToString,
        response_deserializer=station_pb2.CheckStationsResponse.FromString,
    )

    def feed() -> Iterator[station_pb2.CheckStationsRequest]:
        for i in range(total):
            yield items[i % len(items)]

    start = time.perf_counter()
    count = 0
    async for _ in call(feed()):
        count += 1
    assert count == total
    return total / (time.perf_counter() - start)


def _quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def _measure(target: str, rounds: int, unary_calls: int, stream_items: int, in_flight: int) -> dict[str, float]:
    unary_items = requests()
    # The golden cases' stations: about half the items show a sign code that another operator's
    # station of the same stream shows, so the stream measures the in-batch dispute path too.
    stream_items_list = [station_pb2.CheckStationsRequest(station=r.station, as_of=r.as_of) for r in unary_items]
    ours, base, lat_all = [], [], []
    s_ours, s_base = [], []
    async with grpc.aio.insecure_channel(target) as channel:
        await _unary_round(channel, UNARY, unary_items, 500, in_flight)  # warm up both paths
        await _unary_round(channel, CHECK, unary_items, 500, in_flight)
        for _ in range(rounds):
            rate, _ = await _unary_round(channel, UNARY, unary_items, unary_calls, in_flight)
            base.append(rate)
            rate, lat = await _unary_round(channel, CHECK, unary_items, unary_calls, in_flight)
            ours.append(rate)
            lat_all.extend(lat)
        for _ in range(max(1, rounds // 2)):
            s_base.append(await _stream_round(channel, STREAM, stream_items_list, stream_items))
            s_ours.append(await _stream_round(channel, CHECKS, stream_items_list, stream_items))
    return {
        "unary_calls_per_s": statistics.median(ours),
        "noop_calls_per_s": statistics.median(base),
        "unary_ratio": statistics.median(ours) / statistics.median(base),
        "unary_p50_ms": _quantile(lat_all, 0.50) * 1e3,
        "unary_p99_ms": _quantile(lat_all, 0.99) * 1e3,
        "stream_items_per_s": statistics.median(s_ours),
        "noop_stream_items_per_s": statistics.median(s_base),
        "stream_ratio": statistics.median(s_ours) / statistics.median(s_base),
        "in_flight": in_flight,
    }


def grpc_figures(
    db: Path, rounds: int = 5, unary_calls: int = 3000, stream_items: int = 10_000, in_flight: int = 32
) -> dict[str, float]:
    with bench_server(db) as (target, _):
        return asyncio.run(_measure(target, rounds, unary_calls, stream_items, in_flight))
