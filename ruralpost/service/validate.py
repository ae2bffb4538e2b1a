"""Request checks: a request that cannot be evaluated at all is INVALID_ARGUMENT, each bad field named.

Missing facts are not errors (they make a verdict INCOMPLETE); malformed ones are: a date that is
not a date, NaN or negative area, an unknown enum number, a string longer than any real value.
"""

from __future__ import annotations

import datetime as dt
import math
import re

from ruralpost.service.claims.facts import Period
from ruralpost.service.errors import FieldViolation, InvalidArgument
from ruralpost.v1 import claim_pb2, progress_pb2, station_pb2

MAX_ID = 128
MAX_NAME = 256
MAX_CODE = 32
MAX_LIST = 32
MAX_AREA_M2 = 100_000.0  # larger is a unit mistake, not a station
MAX_RETENTION_DAYS = 3_650
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
MIN_YEAR, MAX_YEAR = 2000, 2100
MAX_PROGRESS_STATIONS = 20_000  # a county has dozens; more is a mistake, not a county


class Violations:
    """Collects every bad field of a request, then raises them all at once."""

    def __init__(self) -> None:
        self.items: list[FieldViolation] = []

    def add(self, field: str, description: str) -> None:
        self.items.append(FieldViolation(field, description))

    def raise_if_any(self) -> None:
        if self.items:
            raise InvalidArgument(self.items)

    def string(self, field: str, value: str, limit: int) -> None:
        if len(value) > limit:
            self.add(field, f"longer than {limit} characters ({len(value)})")
        elif _CONTROL.search(value):
            self.add(field, "contains control characters")

    def date(self, field: str, value: str, required: bool = False) -> dt.date | None:
        if not value:
            if required:
                self.add(field, "required, YYYY-MM-DD")
            return None
        try:
            if not _DATE.match(value):
                raise ValueError
            date = dt.date.fromisoformat(value)
        except ValueError:
            self.add(field, f"not a date of the form YYYY-MM-DD: {value[:40]!r}")
            return None
        if not MIN_YEAR <= date.year <= MAX_YEAR:
            self.add(field, f"year {date.year} outside {MIN_YEAR}-{MAX_YEAR}")
            return None
        return date

    def enum(self, field: str, value: int, enum_type: type) -> None:
        """UNSPECIFIED is a missing fact (INCOMPLETE), an unknown number a malformed one."""
        names = enum_type.DESCRIPTOR.values_by_number  # type: ignore[attr-defined]
        if value not in names:
            self.add(field, f"unknown enum number {value}")


def check_station(station: station_pb2.Station, v: Violations, prefix: str = "station") -> None:
    """Adds the station's malformed fields to `v`."""
    p = prefix
    v.string(f"{p}.station_id", station.station_id, MAX_ID)
    v.enum(f"{p}.kind", station.kind, station_pb2.StationKind)
    for name in ("county", "township", "village", "operator", "filed_name", "business_hours"):
        v.string(f"{p}.{name}", getattr(station, name), MAX_NAME)
    v.enum(f"{p}.mode", station.mode, station_pb2.OperationMode)
    for label, values, enum_type in (("services", station.services, station_pb2.ServiceType),
                                     ("equipment", station.equipment, station_pb2.Equipment)):
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
    v.string(f"{p}.filing.record_number", station.filing.record_number, MAX_CODE * 2)
    v.date(f"{p}.filing.filed_on", station.filing.filed_on)
    v.date(f"{p}.opened_on", station.opened_on)


def check_station_request(has_station: bool, station: station_pb2.Station, as_of: str,
                          register: bool) -> dt.date:
    """Checks a CheckStation(s) item; returns its evaluation date."""
    v = Violations()
    if not has_station:
        v.add("station", "required")
    else:
        check_station(station, v)
        if register and not station.station_id.strip():
            v.add("station.station_id", "required to register a station")
    date = v.date("as_of", as_of)
    v.raise_if_any()
    return date or dt.date.today()


def check_progress_request(request: progress_pb2.GetProgressRequest, programme_id: str) -> dt.date:
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
            check_station(station, v, f"stations[{i}]")
            key = (station.operator.strip(), station.station_id.strip())
            if not key[1]:
                v.add(f"stations[{i}].station_id", "required in a progress request")
            elif key in seen:
                v.add(f"stations[{i}].station_id",
                      f"the same station as stations[{seen[key]}] (operator and station_id)")
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


# ---- subsidy claims
_PERIOD = re.compile(r"^\d{4}-\d{2}$")
MAX_REPORTED_PARCELS = 20  # field violations named per claim; the count says how many more


def check_claim_request(has_claim: bool, claim: claim_pb2.Claim, programme_id: str,
                        max_parcels: int) -> Period:
    """Checks an EvaluateClaim(s) item; returns its period.

    Only what makes the claim impossible to evaluate is refused here; a malformed parcel is a
    rejected parcel (SUB-WAYBILL, SUB-DATE, …), except a negative fee, which no data can mean.
    """
    v = Violations()
    if not has_claim:
        v.add("claim", "required")
        v.raise_if_any()
    if not claim.claim_id.strip():
        v.add("claim.claim_id", "required")
    v.string("claim.claim_id", claim.claim_id, MAX_ID)
    if claim.programme.strip() and claim.programme.strip() != programme_id:
        v.add("claim.programme",
              f"unknown programme {claim.programme[:40]!r}; this service runs {programme_id}")
    for name in ("operator", "township"):
        v.string(f"claim.{name}", getattr(claim, name), MAX_NAME)
    v.enum("claim.kind", claim.kind, claim_pb2.ClaimKind)
    period: Period | None = None
    if not claim.period:
        v.add("claim.period", "required, YYYY-MM")
    elif not _PERIOD.match(claim.period) or not 1 <= int(claim.period[5:]) <= 12:
        v.add("claim.period", f"not a month of the form YYYY-MM: {claim.period[:40]!r}")
    elif not MIN_YEAR <= int(claim.period[:4]) <= MAX_YEAR:
        v.add("claim.period", f"year {claim.period[:4]} outside {MIN_YEAR}-{MAX_YEAR}")
    else:
        period = Period.parse(claim.period)
    if claim.declared_pieces < 0:
        v.add("claim.declared_pieces", f"negative: {claim.declared_pieces}")
    if claim.requested_amount_fen < 0:
        v.add("claim.requested_amount_fen", f"negative: {claim.requested_amount_fen}")
    parcels = claim.parcels
    if len(parcels) > max_parcels:
        v.add("claim.parcels", f"{len(parcels)} parcels, more than the limit of {max_parcels} per claim")
    elif any(p.fee_charged_fen < 0 for p in parcels):
        negative = [i for i, p in enumerate(parcels) if p.fee_charged_fen < 0]
        for i in negative[:MAX_REPORTED_PARCELS]:
            v.add(f"claim.parcels[{i}].fee_charged_fen", f"negative: {parcels[i].fee_charged_fen}")
        if len(negative) > MAX_REPORTED_PARCELS:
            v.add("claim.parcels", f"{len(negative) - MAX_REPORTED_PARCELS} more parcels with a negative fee")
    v.raise_if_any()
    assert period is not None
    return period
