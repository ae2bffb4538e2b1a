"""`python -m bench.ceiling`: how far a Python gRPC server falls below an empty handler when the
handler does N µs of pure-Python work. It bounds the unary ratio any handler of that cost can
reach on this machine (docs/performance.md figure 2), independent of our code."""

from __future__ import annotations

import asyncio
import multiprocessing as mp
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

import grpc

from ruralpost.v1 import station_pb2

from .grpc_bench import _unary_round
from .stations import requests

PATH = "/bench.Ceiling/Spin"


def _spin(us: float) -> Callable[[station_pb2.CheckStationRequest, Any], Awaitable[station_pb2.CheckStationResponse]]:
    async def handler(request: station_pb2.CheckStationRequest, context: Any) -> station_pb2.CheckStationResponse:
        end = time.perf_counter() + us / 1e6
        while time.perf_counter() < end:
            pass
        return station_pb2.CheckStationResponse()

    return handler


def _serve(us: float, ports: mp.Queue[int]) -> None:
    """A grpc.aio server running the handler on its loop, as the product's door does."""

    async def run() -> None:
        server = grpc.aio.server()
        server.add_generic_rpc_handlers(
            (
                grpc.method_handlers_generic_handler(
                    "bench.Ceiling",
                    {
                        "Spin": grpc.unary_unary_rpc_method_handler(
                            _spin(us),
                            request_deserializer=station_pb2.CheckStationRequest.FromString,
                            response_serializer=station_pb2.CheckStationResponse.SerializeToString,
                        )
                    },
                ),
            )
        )
        ports.put(server.add_insecure_port("127.0.0.1:0"))
        await server.start()
        await server.wait_for_termination()

    asyncio.run(run())


async def _rate(port: int) -> float:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        await _unary_round(channel, PATH, requests(), 300, 32)
        rates = [(await _unary_round(channel, PATH, requests(), 2000, 32))[0] for _ in range(3)]
    return sorted(rates)[1]


def main(argv: list[str]) -> int:
    costs = [float(a) for a in argv] or [0.0, 50.0, 160.0, 300.0]
    base = 0.0
    for us in costs:
        ports: mp.Queue[int] = mp.Queue()
        proc = mp.Process(target=_serve, args=(us, ports), daemon=True)
        proc.start()
        rate = asyncio.run(_rate(ports.get(timeout=30)))
        proc.terminate()
        base = base or rate
        print(f"handler spinning {us:5.0f} µs: {rate:7.0f} calls/s, {rate / base:.2f} of the first")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
