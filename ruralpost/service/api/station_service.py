"""StationService: CheckStation and the CheckStations stream (thin: validate -> check -> record)."""

from __future__ import annotations

from collections.abc import Iterator

import grpc

from ruralpost.service.api.auth import require_operator
from ruralpost.service.api.calls import caller, item_error, record, stream_items
from ruralpost.service.digest import digest
from ruralpost.service.errors import ServiceError
from ruralpost.service.runtime import Runtime
from ruralpost.service.stations.check import CodeIndex, check
from ruralpost.service.stations.validate import check_station_request
from ruralpost.v1 import common_pb2, station_pb2, station_pb2_grpc

StationRequest = station_pb2.CheckStationRequest | station_pb2.CheckStationsRequest


class StationServicer(station_pb2_grpc.StationServiceServicer):
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    def _check(
        self,
        request: StationRequest,
        context: grpc.ServicerContext,
        who: str,
        method: str,
        batch: CodeIndex | None = None,
    ) -> common_pb2.Verdict:
        as_of = check_station_request(request.HasField("station"), request.station, request.as_of, request.register)
        require_operator(context, request.station.operator, "station")
        ruleset = self.runtime.rules.current
        verdict = check(ruleset, self.runtime.store, request.station, as_of, request.register, batch)
        record(
            self.runtime,
            "station",
            method,
            request.station.station_id,
            who,
            digest(request),
            common_pb2.Outcome.Name(verdict.outcome),
            [r.rule_id for r in verdict.reasons],
            ruleset.version,
            verdict.evaluated_as_of,
        )
        return verdict

    def CheckStation(
        self, request: station_pb2.CheckStationRequest, context: grpc.ServicerContext
    ) -> station_pb2.CheckStationResponse:
        return station_pb2.CheckStationResponse(verdict=self._check(request, context, caller(context), "CheckStation"))

    def CheckStations(
        self, request_iterator: Iterator[station_pb2.CheckStationsRequest], context: grpc.ServicerContext
    ) -> Iterator[station_pb2.CheckStationsResponse]:
        who = caller(context)
        batch = CodeIndex(self.runtime.rules.current)  # codes of earlier items: 一县一编号 within the batch
        for index, request in stream_items(context, request_iterator, self.runtime.max_stream_items):
            try:
                verdict = self._check(request, context, who, "CheckStations", batch)
                yield station_pb2.CheckStationsResponse(index=index, verdict=verdict)
            except ServiceError as e:
                yield station_pb2.CheckStationsResponse(index=index, error=item_error(e))
