"""No-op baselines registered only on the benchmark's server, never in the product API.

They take and answer the same message types as the real methods and run on the same event loop
(coroutines, like the product servicers), so the baseline pays the same (de)serialisation and
transport and the difference is our work.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import grpc

from ruralpost.service.api.streams import read_ahead
from ruralpost.v1 import station_pb2

SERVICE = "bench.Noop"
UNARY = f"/{SERVICE}/Unary"
STREAM = f"/{SERVICE}/Stream"


async def _unary(
    request: station_pb2.CheckStationRequest, context: grpc.aio.ServicerContext[Any, Any]
) -> station_pb2.CheckStationResponse:
    return station_pb2.CheckStationResponse()


async def _stream(
    requests: AsyncIterator[station_pb2.CheckStationsRequest], context: grpc.aio.ServicerContext[Any, Any]
) -> AsyncIterator[station_pb2.CheckStationsResponse]:
    index = 0
    async for _ in read_ahead(requests):  # reads ahead as the product's stream loop does
        yield station_pb2.CheckStationsResponse(index=index)
        index += 1


def handler() -> grpc.GenericRpcHandler:
    return grpc.method_handlers_generic_handler(
        SERVICE,
        {
            "Unary": grpc.unary_unary_rpc_method_handler(
                _unary,
                request_deserializer=station_pb2.CheckStationRequest.FromString,
                response_serializer=station_pb2.CheckStationResponse.SerializeToString,
            ),
            "Stream": grpc.stream_stream_rpc_method_handler(
                _stream,
                request_deserializer=station_pb2.CheckStationsRequest.FromString,
                response_serializer=station_pb2.CheckStationsResponse.SerializeToString,
            ),
        },
    )
