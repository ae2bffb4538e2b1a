"""Figures 2 and 3: CheckStation and CheckStations against no-op methods on the same server.

The server runs in its own process (bench.server); this asyncio client keeps `in_flight` calls
going, alternating product and baseline rounds, and reports medians.

`python -m bench.grpc_bench --variant OTHER_TREE [--rounds N] [--items N]` measures figure 3's
stream for this tree and others side by side (their servers running at once, rounds alternating).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import grpc

from ruralpost.v1 import station_pb2

from .load import Variant, bench_server
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


def _stream_items() -> list[station_pb2.CheckStationsRequest]:
    # The golden cases' stations: about half the items show a sign code that another operator's
    # station of the same stream shows, so the stream measures the in-batch dispute path too.
    return [station_pb2.CheckStationsRequest(station=r.station, as_of=r.as_of) for r in requests()]


async def _measure(target: str, rounds: int, unary_calls: int, stream_items: int, in_flight: int) -> dict[str, float]:
    unary_items = requests()
    stream_items_list = _stream_items()
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


def compare_streams(trees: list[str], rounds: int, items: int) -> dict[str, tuple[float, float]]:
    """Figure 3 for each tree ("" this one): its CheckStations and no-op stream items/s, medians."""
    stream = _stream_items()
    found: dict[str, tuple[list[float], list[float]]] = {t: ([], []) for t in trees}
    with tempfile.TemporaryDirectory() as tmp, contextlib.ExitStack() as stack:
        servers = [stack.enter_context(bench_server(Path(tmp) / f"s{i}.db", Variant(t))) for i, t in enumerate(trees)]

        async def run() -> None:
            channels = [grpc.aio.insecure_channel(target) for target, _ in servers]
            try:
                for ch in channels:  # warm up
                    await _stream_round(ch, CHECKS, stream, items // 5)
                for _ in range(rounds):
                    for tree, ch in zip(trees, channels, strict=True):
                        found[tree][1].append(await _stream_round(ch, STREAM, stream, items))
                        found[tree][0].append(await _stream_round(ch, CHECKS, stream, items))
            finally:
                for ch in channels:
                    await ch.close()

        asyncio.run(run())
    return {t: (statistics.median(ours), statistics.median(base)) for t, (ours, base) in found.items()}


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.grpc_bench")
    p.add_argument("--variant", action="append", default=[], help="another source tree, repeatable")
    p.add_argument("--rounds", type=int, default=6)
    p.add_argument("--items", type=int, default=5000, help="items per stream")
    args = p.parse_args(argv)
    for tree, (ours, base) in compare_streams([*args.variant, ""], args.rounds, args.items).items():
        name = Path(tree).name if tree else "this tree"
        print(f"{name:12s} CheckStations {ours:6.0f} items/s, no-op stream {base:6.0f}: ratio {ours / base:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
