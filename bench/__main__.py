"""`make bench` / `python -m bench [--quick]`: prints each figure with its same-run baseline and
writes bench/results.json. Benchmarks are not tests: nothing here fails on speed."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

from .engine_bench import engine_figures
from .grpc_bench import grpc_figures

RESULTS = Path(__file__).resolve().parent / "results.json"


def main(argv: list[str]) -> int:
    quick = "--quick" in argv
    figures: dict[str, float] = {}
    print("1. engine: station rules through durable_rules vs a plain-Python if-chain of the same rules")
    e = engine_figures(rounds=3 if quick else 7)
    figures.update(e)
    print(f"   engine {e['engine_us']:.1f} µs/station, plain {e['plain_us']:.1f} µs -> engine_ratio "
          f"{e['engine_ratio']:.2f} (plain / engine time)")
    with tempfile.TemporaryDirectory() as tmp:
        print("2-3. gRPC: CheckStation / CheckStations vs no-op methods on the same server")
        g = grpc_figures(Path(tmp) / "bench.db", rounds=3 if quick else 5,
                         unary_calls=1000 if quick else 3000, stream_items=3000 if quick else 10_000)
    figures.update(g)
    print(f"   unary {g['unary_calls_per_s']:.0f} calls/s vs no-op {g['noop_calls_per_s']:.0f} -> unary_ratio "
          f"{g['unary_ratio']:.2f}; p50 {g['unary_p50_ms']:.2f} ms, p99 {g['unary_p99_ms']:.2f} ms "
          f"({g['in_flight']:.0f} in flight)")
    print(f"   stream {g['stream_items_per_s']:.0f} items/s vs no-op {g['noop_stream_items_per_s']:.0f} -> "
          f"stream_ratio {g['stream_ratio']:.2f}")
    total = 100_000 if quick else 1_000_000
    print(f"6. memory: RSS after {total:,} engine evaluations vs after 10,000")
    out = subprocess.run([sys.executable, "-m", "bench.engine_bench", str(total)], capture_output=True,
                         text=True, check=True)
    m = json.loads(out.stdout)
    figures.update(m)
    print(f"   {m['rss_early_kib'] / 1024:.1f} MiB -> {m['rss_late_kib'] / 1024:.1f} MiB: rss_growth "
          f"{m['rss_growth']:.3f}")
    RESULTS.write_text(json.dumps(figures, indent=2, sort_keys=True) + "\n")
    print(f"written {RESULTS.relative_to(Path.cwd()) if RESULTS.is_relative_to(Path.cwd()) else RESULTS}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
