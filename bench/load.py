"""Server cost under load: calls/s, p99 and server CPU per call (docs/performance.md figure 8).

One grpc.aio client keeps 32 calls in flight over 8 channels with pre-serialised requests, 52
distinct stations of both kinds (half passing, half failing, every one with a sign code), and
alternates rounds of the product method and the no-op method on the same server. Server CPU
comes from /proc (the server process and its children, so pre-forked workers count).

`python -m bench.load [--seconds S] [--rounds N] [--variant TREE:THREADS:WORKERS ...] [--timed]` prints
the figures; `--timed` how much of a CheckStation's CPU in the server is the check's own.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
from google.protobuf import json_format

from ruralpost.service.config import DEFAULT_RULES_DIR
from ruralpost.service.golden import merge, plans
from ruralpost.service.ruleset import load_ruleset
from ruralpost.v1 import station_pb2

from .inprocess import HERE
from .inprocess import measure as measure_inprocess
from .noop import UNARY

CHECK = "/ruralpost.v1.StationService/CheckStation"
AS_OF = "2023-07-15"
# What makes a station fail (each one a different rule), applied to every other station.
FAULTS: list[dict[str, Any]] = [
    {"areaM2": 4.0},
    {"equipment": ["EQUIPMENT_RECEPTION_DESK", "EQUIPMENT_SHELVES"]},
    {"signage": {"obstructed": True}},
    {"hoursSignPosted": False},
    {"filing": {"filed": False}, "openedOn": "2023-05-01"},
    {"cctvRetentionDays": 7},
]


def mix() -> list[bytes]:
    """52 distinct CheckStation requests, serialised: 12 township stations and 40 village points."""
    programme = load_ruleset(DEFAULT_RULES_DIR).book.programme
    planned = plans.plan_stations(programme, {})
    township = [s for s in planned if s["kind"] == "STATION_KIND_TOWNSHIP_STATION"]
    points = [s for s in planned if s["kind"] == "STATION_KIND_VILLAGE_POINT"][:40]
    out = []
    for i, station in enumerate(township + points):
        if i % 2:
            station = merge(station, FAULTS[i % len(FAULTS)])
        request = station_pb2.CheckStationRequest(as_of=AS_OF)
        json_format.ParseDict(station, request.station)
        out.append(request.SerializeToString())
    return out


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process and its live children (pre-forked workers)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for p in [pid, *_children(pid)]:
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / ticks
    return total


def _children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            found += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            continue
    return found + [g for c in found for g in _children(c)]


@dataclass
class Round:
    method: str
    calls_per_s: float
    cpu_us_per_call: float
    p99_ms: float
    client_cpu_us_per_call: float  # this process: the client shares the machine's cores


async def _round(
    channels: list[grpc.aio.Channel], method: str, items: list[bytes], seconds: float, in_flight: int, pid: int
) -> Round:
    calls = [ch.unary_unary(method, request_serializer=None, response_deserializer=None) for ch in channels]
    latencies: list[float] = []
    stop_at = time.perf_counter() + seconds
    count = 0

    async def worker(k: int) -> None:
        nonlocal count
        call = calls[k % len(calls)]
        i = k
        while time.perf_counter() < stop_at:
            t0 = time.perf_counter()
            await call(items[i % len(items)])
            latencies.append(time.perf_counter() - t0)
            i += in_flight
            count += 1

    cpu0, client0, t0 = cpu_seconds(pid), time.process_time(), time.perf_counter()
    await asyncio.gather(*(worker(k) for k in range(in_flight)))
    elapsed, cpu = time.perf_counter() - t0, cpu_seconds(pid) - cpu0
    client = time.process_time() - client0
    latencies.sort()
    p99 = latencies[int(0.99 * len(latencies))] * 1e3
    return Round(method, count / elapsed, cpu / count * 1e6, p99, client / count * 1e6)


async def measure(
    target: str,
    pid: int,
    items: list[bytes],
    rounds: int,
    seconds: float,
    methods: tuple[str, ...] = (UNARY, CHECK),
    in_flight: int = 32,
    channels: int = 8,
) -> list[Round]:
    opened = [
        grpc.aio.insecure_channel(target, options=[("grpc.use_local_subchannel_pool", 1)]) for _ in range(channels)
    ]
    try:
        for method in methods:  # warm up
            await _round(opened, method, items, 1.0, in_flight, pid)
        out = []
        for _ in range(rounds):
            for method in methods:
                out.append(await _round(opened, method, items, seconds, in_flight, pid))
        return out
    finally:
        for ch in opened:
            await ch.close()


@dataclass(frozen=True)
class Variant:
    """A server to compare: the code of a source tree (default: this one), a thread count, workers."""

    tree: str = ""
    threads: int = 0  # 0: the server's default
    workers: int = 0  # 0: the server's default (`serve`: the usable cores)

    @property
    def label(self) -> str:
        tree = Path(self.tree).name if self.tree else "this tree"
        return f"{tree}, threads {self.threads or 'default'}, workers {self.workers or 'default'}"


@contextmanager
def bench_server(db: Path, variant: Variant = Variant(), timed: list[str] | None = None) -> Iterator[tuple[str, int]]:
    """The product server with the no-op baselines (bench.server), in its own process. With
    `timed`, the server times its station checks (BENCH_TIMED) and the line it prints when it
    stops is appended there."""
    env = dict(os.environ)
    if variant.tree:  # the other tree's code first on the path (A/B across commits in one run)
        env["PYTHONPATH"] = variant.tree
    if timed is not None:
        env["BENCH_TIMED"] = "1"
    args = [sys.executable, "-m", "bench.server", "0", str(db), str(variant.threads), str(variant.workers)]
    proc = subprocess.Popen(
        args,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env,
        cwd=variant.tree or None,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        while line and not line.startswith("ready"):  # workers say more first
            line = proc.stdout.readline()
        if not line:
            raise RuntimeError("bench server did not start")
        yield f"127.0.0.1:{line.split()[1]}", proc.pid
    finally:
        if proc.stdin:
            proc.stdin.close()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
        if timed is not None:  # what it printed after "ready" waits in the pipe
            timed += [line for line in proc.stdout.read().splitlines() if line.startswith("timed ")]
        proc.stdout.close()


def summarise(rounds: list[Round]) -> dict[str, dict[str, float]]:
    by: dict[str, list[Round]] = {}
    for r in rounds:
        by.setdefault(r.method, []).append(r)
    return {
        m: {
            "calls_per_s": statistics.median(x.calls_per_s for x in rs),
            "cpu_us_per_call": statistics.median(x.cpu_us_per_call for x in rs),
            "p99_ms": statistics.median(x.p99_ms for x in rs),
            "client_cpu_us_per_call": statistics.median(x.client_cpu_us_per_call for x in rs),
        }
        for m, rs in by.items()
    }


def compare(variants: list[Variant], rounds: int, seconds: float) -> dict[str, dict[str, dict[str, float]]]:
    """Every variant's figures, their servers running side by side and measured in alternation."""
    items = mix()
    with tempfile.TemporaryDirectory() as tmp, contextlib.ExitStack() as stack:
        servers = [stack.enter_context(bench_server(Path(tmp) / f"v{i}.db", v)) for i, v in enumerate(variants)]
        measured: dict[str, list[Round]] = {v.label: [] for v in variants}
        for _ in range(rounds):
            for v, (target, pid) in zip(variants, servers, strict=True):
                measured[v.label] += asyncio.run(measure(target, pid, items, 1, seconds))
        return {label: summarise(rs) for label, rs in measured.items()}


def timed_check(tree: str, rounds: int, seconds: float) -> dict[str, float]:
    """Under this load, on a one-process server: the server's CPU per CheckStation, and of it the
    station check's own (`Methods._check`, validation to decision-log row, by its thread's CPU
    clock in the server), beside the same check in process (`bench.inprocess`)."""
    timed: list[str] = []
    with (
        tempfile.TemporaryDirectory() as tmp,
        bench_server(Path(tmp) / "timed.db", Variant(tree, workers=1), timed) as (target, pid),
    ):
        rounds_run = asyncio.run(measure(target, pid, mix(), rounds, seconds, methods=(CHECK,)))
    if not timed:
        raise RuntimeError("the bench server printed no timing (a tree older than BENCH_TIMED?)")
    spent_ns, checks = (int(x) for x in timed[-1].split()[1:3])
    return {
        "server_cpu_us_per_call": summarise(rounds_run)[CHECK]["cpu_us_per_call"],
        "check_in_server_us": spent_ns / checks / 1e3,
        "check_in_process_us": measure_inprocess(tree or HERE, 3, 10),
    }


def _variant(text: str) -> Variant:
    """TREE:THREADS:WORKERS, any part empty for its default."""
    tree, threads, workers = (*text.split(":"), "", "")[:3]
    return Variant(tree, int(threads or 0), int(workers or 0))


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.load")
    p.add_argument("--seconds", type=float, default=5.0)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument(
        "--variant",
        action="append",
        default=[],
        help="TREE:THREADS:WORKERS (any part may be empty), repeatable; default: this tree as it is",
    )
    p.add_argument(
        "--timed",
        action="store_true",
        help="one-process servers of each tree: how much of a CheckStation's CPU is the check's own",
    )
    args = p.parse_args(argv)
    variants = [_variant(v) for v in args.variant] or [Variant()]
    if args.timed:
        for v in variants:
            f = timed_check(v.tree, args.rounds, args.seconds)
            print(
                f"{Path(v.tree).name if v.tree else 'this tree':12s} server {f['server_cpu_us_per_call']:4.0f} µs "
                f"CPU per CheckStation; the check's own: {f['check_in_server_us']:4.0f} µs in the server, "
                f"{f['check_in_process_us']:4.0f} µs in process",
                flush=True,
            )
        return 0
    for label, figures in compare(variants, args.rounds, args.seconds).items():
        for method, f in figures.items():
            print(
                f"{label:40s} {method.rsplit('/', 1)[-1]:13s} {f['calls_per_s']:7.0f} calls/s "
                f"{f['cpu_us_per_call']:6.0f} µs CPU/call  p99 {f['p99_ms']:.1f} ms  "
                f"(client {f['client_cpu_us_per_call']:.0f} µs CPU/call)",
                flush=True,
            )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
