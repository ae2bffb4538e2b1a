"""Figures 7 (peer) and 8 (cost) of docs/performance.md.

7: CheckStation on our server against Cerbos's CheckResources over the same stations, after the
agreement check, with bench/load.py's client (grpc.aio, 32 in flight over 8 channels, requests
serialised once) and its rounds alternating between the servers running side by side, so drift
hits all alike. `peer_ratio` = our calls/s with the default `serve` settings ÷ Cerbos's.
8: our server CPU per CheckStation under that load (from /proc, workers included) beside the
in-process cost of the same work (validate + check + record through the servicer, no gRPC), and
the no-op method's CPU per call: what serving costs on top of the work.
"""

from __future__ import annotations

import asyncio
import contextlib
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc

from ruralpost.service.api import call as calls
from ruralpost.service.api.call import Call
from ruralpost.service.api.methods import Methods
from ruralpost.service.api.offload import Offload
from ruralpost.service.config import DEFAULT_RULES_DIR
from ruralpost.service.ruleset import load_ruleset
from ruralpost.service.runtime import ActiveRules, Runtime
from ruralpost.service.store import open_store
from ruralpost.v1 import station_pb2

from ..load import CHECK, Round, Variant, bench_server, measure, mix, summarise
from ..noop import UNARY
from . import agree, cerbos

PEER = f"cerbos {cerbos.VERSION}"


BENCH_CALL = Call("CheckStation", "bench", "ipv4:127.0.0.1:1")


@contextlib.contextmanager
def local_methods() -> Iterator[Methods]:
    """`Methods` as a server builds them (the packaged rules, a fresh SQLite file, one pool
    thread), without a door: the in-process figures call them directly."""
    with tempfile.TemporaryDirectory(prefix="bench-inprocess-") as tmp:
        runtime = Runtime(rules=ActiveRules(DEFAULT_RULES_DIR), store=open_store(str(Path(tmp) / "inprocess.db")))
        pool = ThreadPoolExecutor(max_workers=1)
        try:
            yield Methods(runtime, Offload(pool))
        finally:
            pool.shutdown()
            runtime.store.close()


def inprocess(items: list[bytes], rounds: int, repeat: int) -> dict[str, float]:
    """Per station through the per-call path both doors share (`Methods.check_station`) in a loop,
    decision log flushed each round.

    CPU (all threads of this process, the log writer included) is what compares with the server's
    CPU per call; wall time is kept beside it.
    """
    requests = [station_pb2.CheckStationRequest.FromString(b) for b in items]
    with local_methods() as methods:
        store = methods.runtime.store

        async def checks(n: int) -> None:
            calls.enter(BENCH_CALL)
            for _ in range(n):
                for r in requests:
                    await methods.check_station(r)

        asyncio.run(checks(1))  # warm up: imports, caches, the writer thread
        store.flush()
        cpu, wall = [], []
        for _ in range(rounds):
            c0, w0 = time.process_time(), time.perf_counter()
            asyncio.run(checks(repeat))
            store.flush()
            n = repeat * len(requests)
            cpu.append((time.process_time() - c0) / n * 1e6)
            wall.append((time.perf_counter() - w0) / n * 1e6)
    return {"inprocess_us_per_item": statistics.median(cpu), "inprocess_wall_us_per_item": statistics.median(wall)}


@dataclass
class _Contender:
    label: str
    target: str
    pid: int
    items: list[bytes]
    methods: tuple[str, ...]


def _label(variant: Variant) -> str:
    return "ruralpost serve (default)" if variant == Variant() else f"ruralpost serve --workers {variant.workers}"


def load(
    variants: list[Variant], peer: agree.Peer | None, payloads: list[bytes], rounds: int, seconds: float
) -> dict[str, dict[str, dict[str, float]]]:
    """Every server's medians per method; the first variant also runs the no-op method (figure 8)."""
    items = mix()
    with tempfile.TemporaryDirectory(prefix="bench-peer-") as tmp, contextlib.ExitStack() as stack:
        contenders = []
        for i, variant in enumerate(variants):
            target, pid = stack.enter_context(bench_server(Path(tmp) / f"v{i}.db", variant))
            methods = (UNARY, CHECK) if i == 0 else (CHECK,)
            contenders.append(_Contender(_label(variant), target, pid, items, methods))
        if peer is not None:
            contenders.append(
                _Contender(PEER, peer.server.target, peer.server.pid, payloads, (cerbos.CHECK_RESOURCES,))
            )
        measured: dict[str, list[Round]] = {c.label: [] for c in contenders}
        for _ in range(rounds):
            for c in contenders:
                measured[c.label] += asyncio.run(measure(c.target, c.pid, c.items, 1, seconds, methods=c.methods))
    return {label: summarise(rs) for label, rs in measured.items()}


def run(
    quick: bool = False,
    rounds: int | None = None,
    seconds: float | None = None,
    workers: tuple[int, ...] = (1,),
    say: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Figures 7 and 8; the peer is skipped, with the reason, when Cerbos cannot run here.

    Raises agree.Disagreement when Cerbos and our engine differ on a station: then no figure is
    worth printing.
    """
    rounds = rounds or (2 if quick else 5)
    seconds = seconds or (2.0 if quick else 5.0)
    ruleset = load_ruleset(DEFAULT_RULES_DIR)
    items = mix()
    out: dict[str, Any] = {"rounds": rounds, "seconds": seconds, "stations": len(items)}
    out.update(inprocess(items, rounds=3 if quick else 5, repeat=10 if quick else 40))
    variants = [Variant(), *(Variant(workers=w) for w in workers)]  # the default: the usable cores
    with contextlib.ExitStack() as stack:
        peer: agree.Peer | None = None
        payloads: list[bytes] = []
        try:
            if cerbos.cached_binary() is None:
                say(f"   installing {cerbos.PACKAGE}@{cerbos.VERSION} from the npm registry into {cerbos.cache_dir()}")
            peer = stack.enter_context(agree.peer(ruleset))
        except (cerbos.CerbosUnavailable, OSError, grpc.RpcError) as e:
            out["peer_skipped"] = f"{type(e).__name__}: {e}".strip()[:500]
        if peer is not None:
            found = agree.stations(ruleset, items)
            payloads = agree.check(peer, found)  # raises Disagreement, listing every difference
            out["peer_agreement"] = {
                "stations": len(found),
                "stations_failing": sum(1 for s in found if s.ours),
                "rules": len(peer.actions),
                "violations": sum(len(s.ours) for s in found),
            }
        out["servers"] = load(variants, peer, payloads, rounds, seconds)
    ours = out["servers"][_label(Variant())]
    out["server_cpu_us_per_call"] = ours[CHECK]["cpu_us_per_call"]
    out["noop_cpu_us_per_call"] = ours[UNARY]["cpu_us_per_call"]
    if peer is not None:
        theirs = out["servers"][PEER][cerbos.CHECK_RESOURCES]
        out["peer_ratio"] = ours[CHECK]["calls_per_s"] / theirs["calls_per_s"]
        for v in variants[1:]:
            out[f"peer_ratio_workers{v.workers}"] = (
                out["servers"][_label(v)][CHECK]["calls_per_s"] / theirs["calls_per_s"]
            )
    return out


def report(f: dict[str, Any], say: Callable[[str], None] = print) -> None:
    """The lines `make bench` and `python -m bench.peer` print for figures 7 and 8."""
    if "peer_skipped" in f:
        say(f"   peer skipped: {f['peer_skipped']}")
    else:
        a = f["peer_agreement"]
        say(
            f"   agreement: Cerbos DENYs = our violations on all {a['stations']} stations "
            f"({a['rules']} rules as actions, {a['violations']} violations on {a['stations_failing']} stations)"
        )
    for label, methods in f["servers"].items():
        for method, m in methods.items():
            say(
                f"   {label:30s} {method.rsplit('/', 1)[-1]:14s} {m['calls_per_s']:7.0f} calls/s  "
                f"p99 {m['p99_ms']:6.1f} ms  {m['cpu_us_per_call']:6.0f} µs CPU/call "
                f"(client {m['client_cpu_us_per_call']:.0f})"
            )
    if "peer_ratio" in f:
        ours = f["servers"][_label(Variant())][CHECK]
        theirs = f["servers"][PEER][cerbos.CHECK_RESOURCES]
        extra = "".join(
            f", {k.removeprefix('peer_ratio_')} {v:.2f}" for k, v in f.items() if k.startswith("peer_ratio_")
        )
        met = "met" if f["peer_ratio"] >= 1.5 and ours["p99_ms"] < theirs["p99_ms"] else "NOT met"
        say(
            f"   peer_ratio {f['peer_ratio']:.2f} (ours ÷ Cerbos calls/s, default serve{extra}); "
            f"p99 {ours['p99_ms']:.1f} vs {theirs['p99_ms']:.1f} ms   [target >= 1.5 and p99 below: {met}]"
        )


def report_cost(f: dict[str, Any], say: Callable[[str], None] = print) -> None:
    limit = 2 * (f["noop_cpu_us_per_call"] + f["inprocess_us_per_item"])
    met = "met" if f["server_cpu_us_per_call"] <= limit else "NOT met"
    say(
        f"   server_cpu_us_per_call {f['server_cpu_us_per_call']:.0f} (no-op {f['noop_cpu_us_per_call']:.0f}), "
        f"inprocess_us_per_item {f['inprocess_us_per_item']:.0f} CPU ({f['inprocess_wall_us_per_item']:.0f} wall)"
        f"   [target <= 2 × (no-op + in-process) = {limit:.0f}: {met}]"
    )
