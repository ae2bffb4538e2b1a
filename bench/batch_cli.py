"""Batch CLI benchmark (docs/performance.md figure 5): `ruralpost check` on N stations from a CSV, against a
no-op streaming echo on the same server, in the same run, alternating; medians and the ratio.

    .venv/bin/python -m bench.batch_cli --rows 100000 --rounds 1

The server runs in this process: the real StationService plus, for the baseline only, a generic
`bench.Echo/Stream` handler that streams every request's bytes straight back (it is not part of the
product API). Both clients run as subprocesses, so client and server each have their own GIL, as in
real use. The CLI's summary is checked against outcomes known from how the rows were generated.
"""

from __future__ import annotations

import argparse
import csv
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import grpc
from google.protobuf import json_format

from ruralpost.clients.sheets import template
from ruralpost.service.config import DEFAULT_RULES_DIR, Config
from ruralpost.service.rulebook.packs import load
from ruralpost.service.server import build
from ruralpost.service.server import stop as stop_server
from ruralpost.v1 import station_pb2

AS_OF = "2023-07-15"
ECHO_METHOD = "/bench.Echo/Stream"
BAD_EVERY = 997  # every 997th row has an unreadable area
SMALL_EVERY = 20  # every 20th row (a township station) is too small: FAIL


def write_stations(path: Path, rows: int) -> Counter[str]:
    """A station list of `rows` rows; returns the outcomes the CLI must report for it.

    Sign codes run out after 9,999 per kind (the format allows no more), so later rows repeat
    earlier codes and must FAIL with STN-SIGN-CODE-DUPLICATE: that is part of what is checked.
    """
    townships = [t.name for t in load(DEFAULT_RULES_DIR).programme.townships]
    header = template.headers("stations", "both")
    examples = template.examples("stations")
    expected: Counter[str] = Counter()
    seen: set[str] = set()
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        for i in range(rows):
            row = list(examples[i % 2])
            row[0] = f"S{i:06d}"
            serial = (i // 2) % 9999 + 1
            if i % 2 == 0:
                town = townships[(i // 2) % len(townships)]
                row[3], row[14], row[16] = town, f"{town}快递综合服务站", f"{town}快递综合服务站"
                row[15] = f"XZ{serial:04d}"
            else:
                row[15] = f"C{serial:04d}"
            bad = i % BAD_EVERY == BAD_EVERY - 1
            small = i % SMALL_EVERY == 0
            if bad:
                row[19] = "约十平方米"
            elif small:
                row[19] = "8"
            writer.writerow(row)
            code = str(row[15])
            if bad:
                expected["BAD_ROW"] += 1
            elif code in seen:
                expected["FAIL"] += 1
            else:
                seen.add(code)
                expected["FAIL" if small else "PASS" if i % 2 == 0 else "PASS_WITH_WARNINGS"] += 1
    return expected


async def _echo(requests: AsyncIterator[bytes], context: object) -> AsyncIterator[bytes]:
    async for request in requests:
        yield request


class BenchServer:
    """The product server (port 0) with the echo baseline beside StationService."""

    def __init__(self, db: str) -> None:
        echo = grpc.method_handlers_generic_handler(
            "bench.Echo", {"Stream": grpc.stream_stream_rpc_method_handler(_echo)}
        )
        self.running = build(Config(listen="127.0.0.1:0", db=db, extra_handlers=[echo], grace_seconds=1))
        self.port = self.running.port

    def stop(self) -> None:
        stop_server(self.running, 1)


def echo_client(port: int, rows: int) -> None:
    """The baseline client (run as a subprocess): `rows` station requests through the echo."""
    station = json_format.ParseDict(template.EXAMPLE_STATIONS[0], station_pb2.Station())
    payload = station_pb2.CheckStationsRequest(station=station, as_of=AS_OF).SerializeToString()

    def requests() -> Iterator[bytes]:
        for _ in range(rows):
            yield payload

    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        stream = channel.stream_stream(ECHO_METHOD, request_serializer=None, response_deserializer=None)
        count = sum(1 for _ in stream(requests()))
    if count != rows:
        raise SystemExit(f"echo answered {count} of {rows}")


def timed(argv: list[str]) -> tuple[float, subprocess.CompletedProcess[str]]:
    started = time.perf_counter()
    done = subprocess.run(argv, capture_output=True, text=True)
    return time.perf_counter() - started, done


def run(rows: int, rounds: int, work: Path) -> dict[str, Any]:
    source = work / "stations.csv"
    expected = write_stations(source, rows)
    ruralpost = str(Path(sys.executable).parent / "ruralpost")
    server = BenchServer(str(work / "bench.db"))
    cli_seconds: list[float] = []
    cli_inner: list[float] = []
    echo_seconds: list[float] = []
    command = [
        ruralpost,
        "check",
        str(source),
        "--server",
        f"127.0.0.1:{server.port}",
        "--as-of",
        AS_OF,
        "--format",
        "json",
        "--out",
        str(work / "items.json"),
        "--report",
        str(work / "report.html"),
    ]
    try:
        for _ in range(rounds):
            seconds, done = timed(
                [sys.executable, "-m", "bench.batch_cli", "--echo-client", str(server.port), "--rows", str(rows)]
            )
            if done.returncode != 0:
                raise SystemExit(f"echo client failed: {done.stderr[-2000:]}")
            echo_seconds.append(seconds)
            seconds, done = timed(command)
            if done.returncode != 1:  # some rows fail by design
                raise SystemExit(f"ruralpost check exited {done.returncode}: {done.stderr[-2000:]}")
            summary = json.loads((work / "items.json").read_text(encoding="utf-8"))["summary"]
            if summary["outcomes"] != dict(expected) or summary["total"] != rows:
                raise SystemExit(f"wrong summary: {summary['outcomes']} != expected {dict(expected)}")
            html = (work / "report.html").read_text(encoding="utf-8")
            if '<svg id="township-chart"' not in html:
                raise SystemExit("the HTML report has no chart")
            cli_seconds.append(seconds)
            cli_inner.append(float(summary["seconds"]))
    finally:
        server.stop()
    peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    cli, echo = statistics.median(cli_seconds), statistics.median(echo_seconds)
    return {
        "rows": rows,
        "rounds": rounds,
        "command": " ".join(command),
        "cli_seconds_median": round(cli, 2),
        "cli_rows_per_s": round(rows / cli),
        "cli_stream_rows_per_s": round(rows / statistics.median(cli_inner)),
        "echo_seconds_median": round(echo, 2),
        "echo_rows_per_s": round(rows / echo),
        "ratio_cli_to_echo": round(echo / cli, 3),
        "peak_child_rss_mib": round(peak_kib / 1024, 1),
        "outcomes": dict(expected),
        "csv_mib": round(source.stat().st_size / 2**20, 1),
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rows", type=int, default=100_000)
    p.add_argument("--rounds", type=int, default=1, help="alternating rounds; medians are reported")
    p.add_argument("--json", type=Path, help="also write the figures here (e.g. bench/results.json)")
    p.add_argument("--echo-client", type=int, metavar="PORT", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.echo_client:
        echo_client(args.echo_client, args.rows)
        return 0
    with tempfile.TemporaryDirectory(prefix="bench-batch-") as tmp:
        result = run(args.rows, args.rounds, Path(tmp))
    r = result
    print(f"batch CLI: {r['rows']:,} stations from CSV ({r['csv_mib']} MiB) to summary + JSON + HTML")
    print(
        f"  ruralpost check   {r['cli_seconds_median']:8.2f} s  {r['cli_rows_per_s']:8,} rows/s "
        f"(stream alone {r['cli_stream_rows_per_s']:,} rows/s)"
    )
    print(f"  no-op echo stream {r['echo_seconds_median']:8.2f} s  {r['echo_rows_per_s']:8,} rows/s")
    print(f"  ratio check/echo  {r['ratio_cli_to_echo']:.3f}   peak client RSS {r['peak_child_rss_mib']} MiB")
    print(f"  outcomes {result['outcomes']}")
    if args.json:
        text = json.dumps({"batch_cli": result}, ensure_ascii=False, indent=2)
        args.json.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
