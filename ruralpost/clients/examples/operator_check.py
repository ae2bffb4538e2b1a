"""Operator system: check one station before filing it, and register it only when it passes.

An operator's own system (the one that keeps its station list) calls this before sending a filing
to the postal administration:

    python -m ruralpost.clients.examples.operator_check station.json --server 127.0.0.1:50051 [--register]

`station.json` is a Station in proto JSON (or a request like `examples/township-station.json`).
Exit 0: the station passes (warnings allowed) and, with --register, is in the county registry;
1: it does not pass, and the reasons say what to fix; 2: the service could not be reached or the
file could not be read.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from google.protobuf import json_format

from ruralpost.clients import ClientOptions, RuralpostClient, RuralpostError
from ruralpost.v1 import common_pb2, station_pb2

PASSING = (common_pb2.OUTCOME_PASS, common_pb2.OUTCOME_PASS_WITH_WARNINGS)


def load_station(path: Path) -> tuple[station_pb2.Station, str]:
    data = json.loads(path.read_text(encoding="utf-8"))
    if "station" in data:
        request = json_format.ParseDict(data, station_pb2.CheckStationRequest())
        return request.station, request.as_of
    return json_format.ParseDict(data, station_pb2.Station()), ""


def check_before_filing(
    client: RuralpostClient, station: station_pb2.Station, as_of: str = "", register: bool = False
) -> bool:
    """Dry run first; register only a station that passes, so the registry holds no failures."""
    verdict = client.check_station(station, as_of=as_of)
    outcome = common_pb2.Outcome.Name(verdict.outcome)
    print(f"{station.station_id}: {outcome} (rules {verdict.ruleset_version})")
    for reason in verdict.reasons:
        print(f"  [{reason.rule_id}] {reason.message}\n      整改 remedy: {reason.remedy}")
    if verdict.outcome not in PASSING:
        return False
    if register:
        client.check_station(station, as_of=as_of, register=True)
        print("  已登记 registered")
    return True


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("station", type=Path)
    p.add_argument("--server", default="127.0.0.1:50051")
    p.add_argument("--token", help="bearer token, when the service requires one")
    p.add_argument("--register", action="store_true")
    args = p.parse_args(argv)
    try:
        station, as_of = load_station(args.station)
    except (OSError, ValueError, json_format.ParseError) as e:
        print(f"error: {args.station}: {e}", file=sys.stderr)
        return 2
    try:
        with RuralpostClient(ClientOptions(target=args.server, token=args.token, timeout=10)) as client:
            return 0 if check_before_filing(client, station, as_of, args.register) else 1
    except RuralpostError as e:
        print(f"error: {e}", file=sys.stderr)
        for v in e.violations:
            print(f"  {v.field}: {v.description}", file=sys.stderr)
        return 2 if e.is_connection else 1


if __name__ == "__main__":
    sys.exit(main())
