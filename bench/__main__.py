"""`make bench` / `python -m bench [--quick]`: the eight figures of docs/performance.md, each against a
baseline measured in the same run, written to bench/results.json. Benchmarks are not tests:
nothing here fails on speed; the targets set for some figures are printed beside them.
It fails only when the peer (figure 7) answers differently from our engine on some station."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import psycopg

from tests.backends import pg_schema

from . import batch_cli, claim_100k
from .engine_bench import engine_figures
from .grpc_bench import grpc_figures
from .peer import figures as peer_figures
from .peer.agree import Disagreement

RESULTS = Path(__file__).resolve().parent / "results.json"
TARGETS = {
    "engine_ratio": (">=", 0.25),
    "unary_ratio": (">=", 0.5),
    "stream_ratio": (">=", 0.6),
    "claim_100k_seconds": ("<=", 1.5),
    "rss_growth": ("<=", 1.10),
}


def _target(name: str, value: float) -> str:
    if name not in TARGETS:
        return ""
    op, limit = TARGETS[name]
    met = value >= limit if op == ">=" else value <= limit
    return f"   [target {op} {limit}: {'met' if met else 'NOT met'}]"


def main(argv: list[str]) -> int:
    quick = "--quick" in argv
    started = time.perf_counter()
    results: dict[str, Any] = {}
    detail: dict[str, Any] = {}

    print("1. engine: station rules through durable_rules vs a plain-Python if-chain of the same rules", flush=True)
    e = engine_figures(rounds=3 if quick else 7)
    detail["engine"] = e
    results["engine_ratio"] = e["engine_ratio"]
    print(
        f"   engine {e['engine_us']:.1f} µs/station, plain {e['plain_us']:.1f} µs: engine_ratio "
        f"{e['engine_ratio']:.2f} (plain / engine time)" + _target("engine_ratio", e["engine_ratio"])
    )

    print("2-3. gRPC: CheckStation / CheckStations vs no-op methods on the same server", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        g = grpc_figures(
            Path(tmp) / "bench.db",
            rounds=3 if quick else 5,
            unary_calls=1000 if quick else 2000,
            stream_items=2000 if quick else 5000,
        )
    detail["grpc"] = g
    results.update({k: g[k] for k in ("unary_ratio", "unary_p50_ms", "unary_p99_ms", "stream_ratio")})
    print(
        f"   unary {g['unary_calls_per_s']:.0f} calls/s vs no-op {g['noop_calls_per_s']:.0f}: unary_ratio "
        f"{g['unary_ratio']:.2f}; p50 {g['unary_p50_ms']:.2f} ms, p99 {g['unary_p99_ms']:.2f} ms "
        f"({g['in_flight']:.0f} in flight)" + _target("unary_ratio", g["unary_ratio"])
    )
    print(
        f"   stream {g['stream_items_per_s']:.0f} items/s vs no-op {g['noop_stream_items_per_s']:.0f}: "
        f"stream_ratio {g['stream_ratio']:.2f}" + _target("stream_ratio", g["stream_ratio"])
    )

    parcels = 20_000 if quick else 100_000
    print(
        f"4. claims: one {parcels:,}-parcel claim, evaluate and commit (baseline: the same claim as a dry run)",
        flush=True,
    )
    with tempfile.TemporaryDirectory() as tmp:
        c = claim_100k.measure(str(Path(tmp) / "claims.db"), runs=3, parcels=parcels)
    detail["claims_sqlite"] = c
    results["claim_100k_seconds"] = c["commit_s"] * 100_000 / parcels
    print(
        f"   SQLite: commit {c['commit_s']:.3f} s ({c['commit_parcels_per_s']:,.0f} parcels/s), dry run "
        f"{c['dry_run_s']:.3f} s" + _target("claim_100k_seconds", results["claim_100k_seconds"])
    )
    try:
        psycopg.connect(claim_100k.PG_DEFAULT, connect_timeout=3).close()
        with pg_schema(claim_100k.PG_DEFAULT) as url:
            p = claim_100k.measure(url, runs=3, parcels=parcels)
        detail["claims_postgresql"] = p
        print(
            f"   PostgreSQL: commit {p['commit_s']:.3f} s ({p['commit_parcels_per_s']:,.0f} parcels/s), "
            f"dry run {p['dry_run_s']:.3f} s"
        )
    except psycopg.Error as err:
        print(f"   PostgreSQL skipped: not reachable ({str(err).strip()[:120]})")

    rows = 10_000 if quick else 30_000
    print(
        f"5. batch CLI: ruralpost check, {rows:,} stations from CSV to summary, JSON and HTML report "
        "(baseline: a no-op echo stream of the same rows)",
        flush=True,
    )
    with tempfile.TemporaryDirectory(prefix="bench-batch-") as tmp:
        b = batch_cli.run(rows, 1, Path(tmp))
    detail["batch_cli"] = b
    results["batch_rows_per_s"] = b["cli_rows_per_s"]
    print(
        f"   {b['cli_rows_per_s']:,} rows/s vs echo {b['echo_rows_per_s']:,} rows/s: ratio {b['ratio_cli_to_echo']:.3f}"
        "   [target: not lower than the tree before's in the same conditions]"
    )

    total = 100_000 if quick else 300_000
    print(f"6. memory: RSS after {total:,} engine evaluations vs after 10,000", flush=True)
    out = subprocess.run(
        [sys.executable, "-m", "bench.engine_bench", str(total)], capture_output=True, text=True, check=True
    )
    m = json.loads(out.stdout)
    detail["memory"] = m
    results["rss_growth"] = m["rss_growth"]
    print(
        f"   {m['rss_early_kib'] / 1024:.1f} MiB -> {m['rss_late_kib'] / 1024:.1f} MiB: rss_growth "
        f"{m['rss_growth']:.3f}" + _target("rss_growth", m["rss_growth"])
    )

    print(
        "7. peer: CheckStation vs Cerbos CheckResources on the same stations (the station rules as a CEL "
        "resource policy), side by side, same client, same cores",
        flush=True,
    )
    status = 0
    try:
        f = peer_figures.run(quick)
    except Disagreement as e:
        print(f"   FAILED: {e}", flush=True)
        detail["peer"] = {"disagreement": str(e)}
        status = 1
    else:
        detail["peer"] = f
        results["peer_ratio"] = f.get("peer_ratio")  # None when Cerbos could not run here
        results["server_cpu_us_per_call"] = f["server_cpu_us_per_call"]
        results["inprocess_us_per_item"] = f["inprocess_us_per_item"]
        peer_figures.report(f)
        print("8. cost: server CPU per CheckStation under that load vs the same work in process", flush=True)
        peer_figures.report_cost(f)
        print(
            "   [target: inprocess_us_per_item <= 0.5 × the tree before, side by side in one run: "
            "python -m bench.inprocess --variant OLD_TREE]"
        )

    results["quick"] = quick
    results["detail"] = detail
    results["elapsed_s"] = time.perf_counter() - started
    RESULTS.write_text(json.dumps(results, indent=2, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"written {RESULTS} ({results['elapsed_s']:.0f} s in all)")
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
