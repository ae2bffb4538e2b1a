"""StationService over gRPC: CheckStation and the CheckStations stream (thin: the call -> `Methods`)."""

from __future__ import annotations

from collections.abc import Iterator

import grpc

from ruralpost.service.api.interceptors import call_from
from ruralpost.service.api.methods import Methods
from ruralpost.service.runtime import Runtime
from ruralpost.v1 import station_pb2, station_pb2_grpc


class StationServicer(station_pb2_grpc.StationServiceServicer):
    def __init__(self, runtime: Runtime) -> None:
        self.methods = Methods(runtime)

    def CheckStation(
        self, request: station_pb2.CheckStationRequest, context: grpc.ServicerContext
    ) -> station_pb2.CheckStationResponse:
        return self.methods.check_station(request, call_from(context))

    def CheckStations(
        self, request_iterator: Iterator[station_pb2.CheckStationsRequest], context: grpc.ServicerContext
    ) -> Iterator[station_pb2.CheckStationsResponse]:
        return self.methods.check_stations(request_iterator, call_from(context))
