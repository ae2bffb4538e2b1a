"""Station request checks: a station that cannot be evaluated at all is INVALID_ARGUMENT.

Missing facts are not errors (they make a verdict INCOMPLETE); malformed ones are: a date that is
not a date, NaN or negative area, an unknown enum number, a string longer than any real value.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
from dataclasses import dataclass

from ruralpost.limits import MAX_AREA_M2, MAX_CODE, MAX_DAILY_PARCELS, MAX_ID, MAX_LIST, MAX_NAME, MAX_RETENTION_DAYS
from ruralpost.service.errors import Violations
from ruralpost.service.stations.facts import StationDates
from ruralpost.v1 import station_pb2


@dataclass(frozen=True, slots=True)
class CheckedRequest:
    """A CheckStation(s) item as validation parsed it: the date it is judged as of and the
    station's dates, which the fact and the messages reuse."""

    as_of: dt.date
    dates: StationDates


_NAMES = ("county", "township", "village", "operator", "filed_name", "business_hours")


@functools.lru_cache(maxsize=1024)
def _names_of(prefix: str) -> tuple[tuple[str, str], ...]:
    """(attribute, field path) of the station's names under `prefix`: spelled once, not per check."""
    return tuple((name, f"{prefix}.{name}") for name in _NAMES)


def validate_station(station: station_pb2.Station, v: Violations, prefix: str = "station") -> StationDates:
    """Adds the station's malformed fields to `v`; returns its dates (those parsed)."""
    p = prefix
    v.string(f"{p}.station_id", station.station_id, MAX_ID)
    v.enum(f"{p}.kind", station.kind, station_pb2.StationKind)
    for name, field in _names_of(p):
        v.string(field, getattr(station, name), MAX_NAME)
    v.enum(f"{p}.mode", station.mode, station_pb2.OperationMode)
    for label, values, enum_type in (
        ("services", station.services, station_pb2.ServiceType),
        ("equipment", station.equipment, station_pb2.Equipment),
    ):
        if len(values) > MAX_LIST:
            v.add(f"{p}.{label}", f"more than {MAX_LIST} items")
        for i, item in enumerate(values):
            v.enum(f"{p}.{label}[{i}]", item, enum_type)
    if len(station.zones) > MAX_LIST:
        v.add(f"{p}.zones", f"more than {MAX_LIST} items")
    for i, zone in enumerate(station.zones):
        v.string(f"{p}.zones[{i}]", zone, MAX_NAME)
    g = station.signage
    v.enum(f"{p}.signage.placement", g.placement, station_pb2.SignPlacement)
    v.string(f"{p}.signage.text", g.text, MAX_NAME)
    v.string(f"{p}.signage.code", g.code, MAX_CODE)
    if station.HasField("area_m2"):
        area = station.area_m2
        if math.isnan(area) or math.isinf(area):
            v.add(f"{p}.area_m2", f"not a finite number: {area}")
        elif area < 0:
            v.add(f"{p}.area_m2", f"negative: {area:g}")
        elif area > MAX_AREA_M2:
            v.add(f"{p}.area_m2", f"absurd floor area {area:g} m² (more than {MAX_AREA_M2:g})")
    if station.HasField("cctv_retention_days"):
        days = station.cctv_retention_days
        if not 0 <= days <= MAX_RETENTION_DAYS:
            v.add(f"{p}.cctv_retention_days", f"outside 0-{MAX_RETENTION_DAYS}: {days}")
    if station.HasField("daily_parcels"):
        parcels = station.daily_parcels
        if not 0 <= parcels <= MAX_DAILY_PARCELS:
            v.add(f"{p}.daily_parcels", f"outside 0-{MAX_DAILY_PARCELS}: {parcels}")
    f = station.filing
    v.string(f"{p}.filing.record_number", f.record_number, MAX_CODE * 2)
    filed_on = v.date(f"{p}.filing.filed_on", f.filed_on)
    changed_on = v.date(f"{p}.filing.changed_on", f.changed_on)
    refiled_on = v.date(f"{p}.filing.refiled_on", f.refiled_on)
    opened_on = v.date(f"{p}.opened_on", station.opened_on)
    v.enum(f"{p}.status", station.status, station_pb2.StationStatus)
    return StationDates(filed_on, changed_on, refiled_on, opened_on, v.date(f"{p}.status_since", station.status_since))


def validate_station_request(
    has_station: bool, station: station_pb2.Station, as_of: str, register: bool
) -> CheckedRequest:
    """Checks a CheckStation(s) item; returns its evaluation date and the station's dates."""
    v = Violations()
    dates = StationDates()
    if not has_station:
        v.add("station", "required")
    else:
        dates = validate_station(station, v)
        if register and not station.station_id.strip():
            v.add("station.station_id", "required to register a station")
    date = v.date("as_of", as_of)
    v.raise_if_any()
    return CheckedRequest(date or dt.date.today(), dates)
