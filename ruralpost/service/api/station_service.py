"""StationService over gRPC: CheckStation and the CheckStations stream (thin: the call -> `Methods`).

A check that only reads a local SQLite registry runs on the event loop; one that registers the
station, or reads a PostgreSQL registry, runs on the pool (see `offload.py`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from ruralpost.service.api.calls import stream_items_async
from ruralpost.service.api.interceptors import Context, call_from
from ruralpost.service.api.methods import Methods
from ruralpost.service.api.offload import Offload
from ruralpost.service.runtime import Runtime
from ruralpost.v1 import station_pb2, station_pb2_grpc


class StationServicer(station_pb2_grpc.StationServiceServicer):
    def __init__(self, runtime: Runtime, offload: Offload) -> None:
        self.methods = Methods(runtime)
        self.offload = offload
        self.reads_wait = not runtime.store.is_sqlite  # a registry read is a network round trip

    def _waits(self, request: station_pb2.CheckStationRequest | station_pb2.CheckStationsRequest) -> bool:
        return self.reads_wait or request.register

    async def CheckStation(  # type: ignore[override]
        self, request: station_pb2.CheckStationRequest, context: Context
    ) -> station_pb2.CheckStationResponse:
        call = call_from(context)
        if self._waits(request):
            return await self.offload(self.methods.check_station, request, call)
        return self.methods.check_station(request, call)

    async def CheckStations(  # type: ignore[override]
        self, request_iterator: AsyncIterator[station_pb2.CheckStationsRequest], context: Context
    ) -> AsyncIterator[station_pb2.CheckStationsResponse]:
        call = call_from(context)
        batch = self.methods.station_batch()
        limit = self.methods.runtime.max_stream_items
        async for index, request in stream_items_async(call, request_iterator, limit):
            if self._waits(request):
                yield await self.offload(self.methods.check_stations_item, batch, index, request, call)
            else:
                yield self.methods.check_stations_item(batch, index, request, call)
