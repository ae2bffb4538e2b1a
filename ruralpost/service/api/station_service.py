"""StationService over gRPC: CheckStation, the CheckStations stream and ResolveSignCode (thin: the
request -> `Methods`)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from ruralpost.service.api.methods import Methods
from ruralpost.v1 import station_pb2, station_pb2_grpc


class StationServicer(station_pb2_grpc.StationServiceServicer):
    def __init__(self, methods: Methods) -> None:
        self.methods = methods

    async def CheckStation(
        self, request: station_pb2.CheckStationRequest, context: Any
    ) -> station_pb2.CheckStationResponse:
        return await self.methods.check_station(request)

    async def CheckStations(
        self, request_iterator: AsyncIterator[station_pb2.CheckStationsRequest], context: Any
    ) -> AsyncIterator[station_pb2.CheckStationsResponse]:
        async for response in self.methods.check_stations(request_iterator):
            yield response

    async def ResolveSignCode(
        self, request: station_pb2.ResolveSignCodeRequest, context: Any
    ) -> station_pb2.ResolveSignCodeResponse:
        return await self.methods.resolve_sign_code(request)
