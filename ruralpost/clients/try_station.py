"""`python -m ruralpost.clients.try_station FILE [HOST:PORT]`: send one CheckStation request (proto JSON).

A first call for people without grpcurl; prints the answer as JSON with Chinese unescaped.
"""

from __future__ import annotations

import sys
from pathlib import Path

import grpc
from google.protobuf import json_format

from ruralpost.v1 import station_pb2, station_pb2_grpc


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__, file=sys.stderr)
        return 2
    request = json_format.Parse(Path(argv[0]).read_text(encoding="utf-8"), station_pb2.CheckStationRequest())
    target = argv[1] if len(argv) > 1 else "127.0.0.1:50051"
    with grpc.insecure_channel(target) as channel:
        answer = station_pb2_grpc.StationServiceStub(channel).CheckStation(request, timeout=10)
    print(json_format.MessageToJson(answer, ensure_ascii=False, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
