"""GetProgress request checks: the report's stations and hub, every bad field named."""

from __future__ import annotations

import datetime as dt

from ruralpost.limits import MAX_LIST, MAX_NAME, MAX_PROGRESS_STATIONS
from ruralpost.service.errors import Violations
from ruralpost.service.stations.validate import validate_station
from ruralpost.v1 import progress_pb2


def validate_progress_request(request: progress_pb2.GetProgressRequest, programme_id: str) -> dt.date:
    """Checks a GetProgress request; returns its evaluation date (today when none is given).

    Request stations need an id (an excluded one is named by it) and must not repeat: a station
    counted twice would inflate the progress.
    """
    v = Violations()
    if request.programme.strip() and request.programme.strip() != programme_id:
        v.add("programme", f"unknown programme {request.programme[:40]!r}; this server has {programme_id!r}")
    date = v.date("as_of", request.as_of)
    if len(request.stations) > MAX_PROGRESS_STATIONS:
        v.add("stations", f"more than {MAX_PROGRESS_STATIONS} stations ({len(request.stations)})")
    else:
        seen: dict[tuple[str, str], int] = {}
        for i, station in enumerate(request.stations):
            validate_station(station, v, f"stations[{i}]")
            key = (station.operator.strip(), station.station_id.strip())
            if not key[1]:
                v.add(f"stations[{i}].station_id", "required in a progress request")
            elif key in seen:
                v.add(
                    f"stations[{i}].station_id", f"the same station as stations[{seen[key]}] (operator and station_id)"
                )
            else:
                seen[key] = i
    if request.HasField("hub"):
        hub = request.hub
        v.string("hub.name", hub.name, MAX_NAME)
        if len(hub.brands) > MAX_LIST:
            v.add("hub.brands", f"more than {MAX_LIST} items")
        for i, brand in enumerate(hub.brands):
            v.string(f"hub.brands[{i}]", brand, MAX_NAME)
        v.date("hub.established_on", hub.established_on)
    v.raise_if_any()
    return date or dt.date.today()
