"""Station request checks: a station that cannot be evaluated at all is INVALID_ARGUMENT.

Missing facts are not errors (they make a verdict INCOMPLETE); malformed ones are: a date that is
not a date, NaN or negative area, an unknown enum number, a string longer than any real value.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
from typing import NamedTuple

from ruralpost.limits import MAX_AREA_M2, MAX_CODE, MAX_DAILY_PARCELS, MAX_ID, MAX_LIST, MAX_NAME, MAX_RETENTION_DAYS
from ruralpost.service.errors import CONTROL, Violations
from ruralpost.service.stations.facts import StationDates
from ruralpost.v1 import station_pb2


class CheckedRequest(NamedTuple):
    """A CheckStation(s) item as validation parsed it: the date it is judged as of and the
    station's dates, which the fact and the messages reuse."""

    as_of: dt.date
    dates: StationDates


_NAMES = ("county", "township", "village", "operator", "filed_name", "business_hours")
_NUMBERS = {
    kind: frozenset(kind.DESCRIPTOR.values_by_number)
    for kind in (
        station_pb2.StationKind,
        station_pb2.OperationMode,
        station_pb2.SignPlacement,
        station_pb2.StationStatus,
        station_pb2.ServiceType,
        station_pb2.Equipment,
    )
}


@functools.lru_cache(maxsize=1024)
def _names_of(prefix: str) -> tuple[tuple[str, str], ...]:
    """(attribute, field path) of the station's names under `prefix`: spelled once, not per check."""
    return tuple((name, f"{prefix}.{name}") for name in _NAMES)


def validate_station(station: station_pb2.Station, v: Violations, prefix: str = "station") -> StationDates:
    """Adds the station's malformed fields to `v`; returns its dates (those parsed)."""
    if not _plainly_valid(station):
        _texts_and_enums(station, v, prefix)
    return _numbers_and_dates(station, v, prefix)


def _plainly_valid(station: station_pb2.Station) -> bool:
    """Whether every text, list and enum field is within its limits: one pass with no field named
    (most requests), so that only a request failing it pays for `_texts_and_enums`."""
    g, n = station.signage, _NUMBERS
    zones, services, equipment = station.zones, station.services, station.equipment
    if len(zones) > MAX_LIST or len(services) > MAX_LIST or len(equipment) > MAX_LIST:
        return False
    station_id, code, record = station.station_id, g.code, station.filing.record_number
    s = station
    names = (s.county, s.township, s.village, s.operator, s.filed_name, s.business_hours, g.text, *zones)
    return (
        len(station_id) <= MAX_ID
        and len(code) <= MAX_CODE
        and len(record) <= MAX_CODE * 2
        and max(map(len, names)) <= MAX_NAME
        and not CONTROL.search("\t".join((station_id, code, record, *names)))
        and station.kind in n[station_pb2.StationKind]
        and station.mode in n[station_pb2.OperationMode]
        and g.placement in n[station_pb2.SignPlacement]
        and station.status in n[station_pb2.StationStatus]
        and n[station_pb2.ServiceType].issuperset(services)
        and n[station_pb2.Equipment].issuperset(equipment)
    )


def _texts_and_enums(station: station_pb2.Station, v: Violations, p: str) -> None:
    """Each malformed text, list and enum field, named."""
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
    v.string(f"{p}.filing.record_number", station.filing.record_number, MAX_CODE * 2)
    v.enum(f"{p}.status", station.status, station_pb2.StationStatus)


def _numbers_and_dates(station: station_pb2.Station, v: Violations, p: str) -> StationDates:
    """Each number out of range and each date that is not one, named; the dates parsed."""
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
    return StationDates(
        _date(v, p, "filing.filed_on", f.filed_on),
        _date(v, p, "filing.changed_on", f.changed_on),
        _date(v, p, "filing.refiled_on", f.refiled_on),
        _date(v, p, "opened_on", station.opened_on),
        _date(v, p, "status_since", station.status_since),
    )


def _date(v: Violations, prefix: str, name: str, text: str) -> dt.date | None:
    """The date of a field that is not required, its path spelled only for a date given."""
    return v.date(f"{prefix}.{name}", text) if text else None


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
