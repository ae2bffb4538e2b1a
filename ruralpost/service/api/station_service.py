"""StationService: CheckStation and the CheckStations stream."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterator

import grpc

from ruralpost.service import validate
from ruralpost.service.api.auth import require_operator
from ruralpost.service.api.calls import Runtime, caller, digest, record, stream_items, unary
from ruralpost.service.errors import ServiceError, Unavailable, abort
from ruralpost.service.stations import check as stations
from ruralpost.service.stations.facts import sign_code_of
from ruralpost.service.store import RegisteredStation
from ruralpost.v1 import common_pb2, station_pb2, station_pb2_grpc

_KIND = {station_pb2.STATION_KIND_TOWNSHIP_STATION: "TOWNSHIP_STATION",
         station_pb2.STATION_KIND_VILLAGE_POINT: "VILLAGE_POINT"}


MAX_HOLDERS_SHOWN = 5  # other stations named in a duplicate sign code's reason (one is enough to fail)


class StationServicer(station_pb2_grpc.StationServiceServicer):
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    def _check(self, request: station_pb2.CheckStationRequest | station_pb2.CheckStationsRequest,
               as_of: dt.date, who: str, method: str,
               earlier: dict[tuple[str, str], dict[str, None]] | None = None) -> common_pb2.Verdict:
        """Checks one validated station against the registry (and earlier stream items)."""
        ruleset = self.runtime.rules.current
        station = request.station
        county = stations.registry_county(station, ruleset)
        code = sign_code_of(station)
        holders: list[str] = []
        if code:
            me = (station.operator.strip(), station.station_id.strip())
            holders = [sid for op, sid in self.runtime.store.sign_code_holders(county, code)
                       if (op, sid) != me]
            if earlier is not None:  # station ids seen in this stream, per code, in order, once each
                seen = earlier.setdefault((county, code), {})
                holders += [sid for sid in itertools.islice(seen, MAX_HOLDERS_SHOWN + 1)
                            if sid != me[1] and sid not in holders]
                seen[me[1]] = None
        verdict = stations.check_station(ruleset, station, as_of, holders)
        outcome = common_pb2.Outcome.Name(verdict.outcome)
        if request.register:
            self.runtime.store.register_station(RegisteredStation(
                operator=station.operator.strip(), station_id=station.station_id.strip(), county=county,
                sign_code=code, kind=_KIND.get(station.kind, ""), township=station.township.strip(),
                outcome=outcome, station=station.SerializeToString(), verdict=verdict.SerializeToString(),
            ), ruleset.version, verdict.evaluated_as_of)
        rule_ids = [r.rule_id for r in verdict.reasons]
        record(self.runtime, "station", method, station.station_id, who, digest(request), outcome, rule_ids,
               ruleset.version, verdict.evaluated_as_of)
        return verdict

    def CheckStation(self, request: station_pb2.CheckStationRequest,
                     context: grpc.ServicerContext) -> station_pb2.CheckStationResponse:
        def work() -> station_pb2.CheckStationResponse:
            as_of = validate.check_station_request(
                request.HasField("station"), request.station, request.as_of, request.register)
            require_operator(context, request.station.operator, "station")
            verdict = self._check(request, as_of, caller(context), "CheckStation")
            return station_pb2.CheckStationResponse(verdict=verdict)

        return unary(context, work)

    def CheckStations(self, request_iterator: Iterator[station_pb2.CheckStationsRequest],
                      context: grpc.ServicerContext) -> Iterator[station_pb2.CheckStationsResponse]:
        who = caller(context)
        earlier: dict[tuple[str, str], dict[str, None]] = {}
        for index, request in stream_items(context, request_iterator, self.runtime.max_stream_items):
            try:
                as_of = validate.check_station_request(
                    request.HasField("station"), request.station, request.as_of, request.register)
                require_operator(context, request.station.operator, "station")
                verdict = self._check(request, as_of, who, "CheckStations", earlier)
                yield station_pb2.CheckStationsResponse(index=index, verdict=verdict)
            except Unavailable as e:  # the store is down: the whole stream fails, items are not lost
                abort(context, e)
            except ServiceError as e:
                yield station_pb2.CheckStationsResponse(index=index, error=e.to_status())
