"""GetProgress over a full registry (12 township stations + 52 village points = 64 stations).

Starts a real server on a free port with a fresh SQLite file, registers the 64 stations through
CheckStation, then calls, alternating, GetProgress from the registry, GetProgress with the 64
stations in the request, and ListRules (a cheap unary call on the same server, the baseline).
Prints medians in ms and the ratio to the baseline (docs/performance.md: ratios hold, absolutes drift).

    .venv/bin/python bench/progress.py [--calls 50]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import grpc

from ruralpost.service.config import Config
from ruralpost.service.golden import plans
from ruralpost.service.server import running
from ruralpost.v1 import (
    progress_pb2,
    progress_pb2_grpc,
    rules_pb2,
    rules_pb2_grpc,
    station_pb2,
    station_pb2_grpc,
)


def timed(call: Callable[[], object]) -> float:
    start = time.perf_counter()
    call()
    return (time.perf_counter() - start) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=50)
    args = parser.parse_args()
    with (
        tempfile.TemporaryDirectory() as tmp,
        running(Config(listen="127.0.0.1:0", db=str(Path(tmp) / "b.db"), grace_seconds=1)) as server,
        grpc.insecure_channel(f"127.0.0.1:{server.port}") as channel,
    ):
        stations = plans.stations(server.runtime.rules.current.book.programme, {})
        stub = station_pb2_grpc.StationServiceStub(channel)
        for s in stations:
            stub.CheckStation(station_pb2.CheckStationRequest(station=s, as_of="2023-06-15", register=True))
        quota = progress_pb2_grpc.QuotaServiceStub(channel)
        rules = rules_pb2_grpc.RulesServiceStub(channel)
        from_registry = progress_pb2.GetProgressRequest(as_of="2023-07-31")
        in_request = progress_pb2.GetProgressRequest(as_of="2023-07-31", stations=stations)
        report = quota.GetProgress(from_registry).report
        assert (report.township_stations_done, report.village_points_filed) == (12, 52), report
        calls = {
            "GetProgress, 64 stations from the registry": lambda: quota.GetProgress(from_registry),
            "GetProgress, 64 stations in the request": lambda: quota.GetProgress(in_request),
            "ListRules (baseline unary call)": lambda: rules.ListRules(rules_pb2.ListRulesRequest()),
        }
        for call in calls.values():  # warm up
            for _ in range(3):
                call()
        times: dict[str, list[float]] = {name: [] for name in calls}
        for _ in range(args.calls):
            for name, call in calls.items():
                times[name].append(timed(call))
        base = statistics.median(times["ListRules (baseline unary call)"])
        print(f"{len(stations)} stations registered; {args.calls} calls each, alternating")
        for name, values in times.items():
            median = statistics.median(values)
            p90 = sorted(values)[int(len(values) * 0.9) - 1]
            print(f"{name:45s} median {median:7.2f} ms  p90 {p90:7.2f} ms  x{median / base:5.1f} baseline")


if __name__ == "__main__":
    main()
