"""Proto -> fact: the flat, typed dict that is the only shape the engine sees.

A fact field is left out when the request leaves it out (an unset optional, an empty string, an
UNSPECIFIED enum): the rules then say the fact is missing instead of reading it as "no".
Reference look-ups (township and village names to codes) happen here. Display values that only
messages need are built lazily by `station_display`, so the hot path stays small.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple

from ruralpost.service import names
from ruralpost.service.dates import day_number, parse_date
from ruralpost.service.rulebook.programme import Programme
from ruralpost.service.verdicts import Values
from ruralpost.v1 import station_pb2

Fact = dict[str, Any]


class StationDates(NamedTuple):
    """A station's dates, parsed once (by validation) for the fact and the messages alike (a
    tuple: made on every check, cheaper than a frozen dataclass)."""

    filed_on: dt.date | None = None
    changed_on: dt.date | None = None
    refiled_on: dt.date | None = None
    opened_on: dt.date | None = None
    status_since: dt.date | None = None


def dates_of(station: station_pb2.Station) -> StationDates:
    """The dates of a station validated elsewhere (ValueError on one that is not a date)."""
    f = station.filing

    def parsed(text: str) -> dt.date | None:
        return parse_date(text) if text else None

    return StationDates(
        parsed(f.filed_on),
        parsed(f.changed_on),
        parsed(f.refiled_on),
        parsed(station.opened_on),
        parsed(station.status_since),
    )


@dataclass(frozen=True, slots=True)
class CodeShown:
    """How the sign-code reasons name the other stations showing the code (stations/check.py
    decides what the caller may see)."""

    taken_by: str = ""  # the operator's own other stations
    disputed_by: str = ""  # the other operators (另一运营企业 for an operator's own view)
    disputed_by_en: str = ""
    awarded_to: str = ""  # the operator the county awarded the code to
    awarded_to_en: str = ""


KIND = {
    station_pb2.STATION_KIND_TOWNSHIP_STATION: "TOWNSHIP_STATION",
    station_pb2.STATION_KIND_VILLAGE_POINT: "VILLAGE_POINT",
}
_MODE = {station_pb2.OPERATION_MODE_SELF_OPERATED: "SELF_OPERATED", station_pb2.OPERATION_MODE_PARTNERED: "PARTNERED"}
_PLACEMENT = {
    station_pb2.SIGN_PLACEMENT_ABOVE_DOOR: "ABOVE_DOOR",
    station_pb2.SIGN_PLACEMENT_BESIDE_DOOR: "BESIDE_DOOR",
    station_pb2.SIGN_PLACEMENT_OUTER_WALL: "OUTER_WALL",
    station_pb2.SIGN_PLACEMENT_NONE: "NONE",
}
_PLACEMENT_ZH = {"ABOVE_DOOR": "门外上方", "BESIDE_DOOR": "门侧", "OUTER_WALL": "门外墙面", "NONE": "无"}
_PLACEMENT_EN = {
    "ABOVE_DOOR": "above the door",
    "BESIDE_DOOR": "beside the door",
    "OUTER_WALL": "on the outer wall",
    "NONE": "nowhere",
}
# Unspecified is open (docs/api.md, revision 2).
_STATUS = {
    station_pb2.STATION_STATUS_UNSPECIFIED: "OPEN",
    station_pb2.STATION_STATUS_OPEN: "OPEN",
    station_pb2.STATION_STATUS_SUSPENDED: "SUSPENDED",
    station_pb2.STATION_STATUS_CLOSED: "CLOSED",
}
_STATUS_ZH = {"OPEN": "营业", "SUSPENDED": "暂停营业", "CLOSED": "已关闭"}
_STATUS_EN = {"OPEN": "open", "SUSPENDED": "suspended", "CLOSED": "closed"}
_EQUIPMENT = {
    station_pb2.EQUIPMENT_RECEPTION_DESK: "RECEPTION_DESK",
    station_pb2.EQUIPMENT_SHELVES: "SHELVES",
    station_pb2.EQUIPMENT_BARCODE_SCANNER: "BARCODE_SCANNER",
    station_pb2.EQUIPMENT_VIDEO_SURVEILLANCE: "VIDEO_SURVEILLANCE",
    station_pb2.EQUIPMENT_FIRE_EXTINGUISHER: "FIRE_EXTINGUISHER",
}
_SERVICE = {
    station_pb2.SERVICE_TYPE_SEND: "SEND",
    station_pb2.SERVICE_TYPE_RECEIVE: "RECEIVE",
    station_pb2.SERVICE_TYPE_DELIVER: "DELIVER",
}


def station_fact(
    station: station_pb2.Station,
    as_of: dt.date,
    programme: Programme,
    sign_code_duplicates: int = 0,
    dates: StationDates | None = None,
    sign_code_disputes: int = 0,
    sign_code_awarded_elsewhere: bool = False,
) -> Fact:
    """The station as the rules see it, with names resolved to official codes; `dates` as
    validation parsed them (parsed here when not given). The sign-code counts: the operator's own
    other stations showing the code, other operators showing it while the county has not decided,
    and whether the county awarded it to another operator."""
    s = station
    d = dates or dates_of(station)
    services = sorted({_SERVICE[v] for v in s.services if v in _SERVICE})
    equipment = sorted({_EQUIPMENT[v] for v in s.equipment if v in _EQUIPMENT})
    fact: Fact = {
        "as_of_day": day_number(as_of),
        "business_hours": programme.names.hours(s.business_hours),
        "zone_count": len({z.strip() for z in s.zones if z.strip()}),
        "service_count": len(services),
        "status": _STATUS.get(s.status, "OPEN"),
    }
    if s.kind in KIND:
        fact["kind"] = KIND[s.kind]
    # Lists are left out when empty: the engine's `$iall` never matches an empty list.
    if services:
        fact["services"] = services
    if equipment:
        fact["equipment"] = equipment
    if s.mode in _MODE:
        fact["mode"] = _MODE[s.mode]
    county, township_text, village, operator = (
        s.county.strip(),
        s.township.strip(),
        s.village.strip(),
        s.operator.strip(),
    )
    if county:
        fact["county"] = county
        fact["county_code"] = programme.county_code_of(s.county)
    township = programme.township(s.township) if township_text else None
    if township_text:
        fact["township"] = township_text
        fact["township_code"] = township.code if township else ""
    village_name = ""  # the village's own name (杜家村, 砚湾村), for the marking
    if village:
        fact["village"] = village
        code, village_name = programme.village_code(township.code if township else "", s.village)
        fact["village_code"] = code
    if operator:
        fact["operator"] = operator
        fact["programme_operator"] = programme.is_programme_operator(s.operator)
    if s.HasField("fixed_premises"):
        fact["fixed_premises"] = s.fixed_premises
    g = s.signage
    if g.HasField("present"):
        fact["sign_present"] = g.present
    if g.placement in _PLACEMENT:
        fact["sign_placement"] = _PLACEMENT[g.placement]
    if g.HasField("unified_design"):
        fact["sign_unified"] = g.unified_design
    if g.HasField("obstructed"):
        fact["sign_obstructed"] = g.obstructed
    if g.HasField("fixed"):
        fact["sign_fixed"] = g.fixed
    if "kind" in fact:
        township_name = township.name if township else township_text
        fact["expected_sign_text"] = programme.expected_sign_text(fact["kind"], township_name, village_name)
    sign_text = g.text.strip()
    if sign_text:
        fact["sign_text"] = sign_text
        if "kind" in fact:
            fact["sign_text_shows"] = programme.shows(g.text, fact["expected_sign_text"], fact["kind"])
    code = sign_code_of(s)
    if code:
        fact["sign_code"] = code
        fact["sign_code_duplicates"] = sign_code_duplicates
        fact["sign_code_disputes"] = sign_code_disputes
        fact["sign_code_awarded_elsewhere"] = sign_code_awarded_elsewhere
    filed_name = s.filed_name.strip()
    if filed_name:
        fact["filed_name"] = filed_name
        if sign_text:
            fact["sign_name_as_filed"] = programme.same_name(g.text, s.filed_name)
    if s.HasField("hours_sign_posted"):
        fact["hours_sign_posted"] = s.hours_sign_posted
    if s.HasField("area_m2"):
        fact["area_m2"] = float(s.area_m2)
    if s.HasField("daily_parcels"):
        fact["daily_parcels"] = int(s.daily_parcels)
    if s.HasField("cctv_retention_days"):
        fact["cctv_retention_days"] = int(s.cctv_retention_days)
    f = s.filing
    if f.HasField("filed"):
        fact["filed"] = f.filed
    fact["record_number"] = f.record_number.strip()
    if d.filed_on:
        fact["filed_day"] = day_number(d.filed_on)
    changed = d.changed_on
    if changed:
        # 备案规定 第九条: a change is re-filed within the days; as of the date, the re-filing counts
        # only once it has happened (on or after the change, on or before the date)
        refiled = d.refiled_on
        done = refiled is not None and changed <= refiled <= as_of
        fact["changed_day"] = day_number(changed)
        fact["refiled"] = done
        fact["change_refile_days"] = ((refiled if done and refiled else as_of) - changed).days
    if d.opened_on:
        fact["days_open"] = (as_of - d.opened_on).days
    if d.status_since:
        fact["status_since_day"] = day_number(d.status_since)
    return fact


def sign_code_of(station: station_pb2.Station) -> str:
    """The normalised sign code a station shows ("" when none): ＸＺ０００４ is XZ0004."""
    return names.code(station.signage.code)


def _show(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, list):
        return ",".join(value) if value else "（无）"
    return str(value)


def _hours_finding(text: str) -> tuple[str, str]:
    if not text.strip():
        return "未写明营业时间", "no business hours are stated"
    return (
        f"营业时间写作“{text.strip()}”，看不出开门和关门时间",
        f"the business hours '{text.strip()}' show no opening and closing time",
    )


class StationDisplay(Values):
    """Values for message templates, each made when a template of a reason that fired asks for it:
    every fact shown as text, plus a few derived ones (absent ones read （未填）)."""

    def __init__(
        self, station: station_pb2.Station, fact: Fact, programme: Programme, code: CodeShown, dates: StationDates
    ) -> None:
        super().__init__()
        self.station, self.fact, self.programme, self.code, self.dates = station, fact, programme, code, dates

    def __missing__(self, key: str) -> str:
        derive = _DERIVED.get(key)
        if derive is not None:
            value = derive(self)
        elif key in self.fact:
            value = _show(self.fact[key])
        else:
            value = None
        if value is None:
            return super().__missing__(key)
        self[key] = value
        return value


def _zones_setting(d: StationDisplay, zh: bool) -> str:
    # 附件3 gives no number of zones: a minimum above one is this programme's setting, said so
    zones_min = d.programme.model.zones.min_count
    if zones_min <= 1:
        return ""
    if zh:
        return f"（至少{zones_min}个功能区为本方案设定，待确认）"
    return f" (at least {zones_min} zones is a setting of this programme, to be confirmed)"


def _filing_deadline(d: StationDisplay) -> str | None:
    if "days_open" not in d.fact or d.dates.opened_on is None:
        return None
    return (d.dates.opened_on + dt.timedelta(days=d.programme.model.filing_days)).isoformat()


def _refile_deadline(d: StationDisplay) -> str | None:
    if d.dates.changed_on is None:
        return None
    return (d.dates.changed_on + dt.timedelta(days=d.programme.model.refile_days)).isoformat()


def _area_needed(d: StationDisplay) -> str | None:
    if "daily_parcels" not in d.fact:
        return None
    return f"{d.fact['daily_parcels'] * d.programme.model.area_volume.m2_per_daily_parcel:g}"


_DERIVED: dict[str, Callable[[StationDisplay], str | None]] = {
    "services": lambda d: _show(d.fact.get("services", [])),
    "equipment": lambda d: _show(d.fact.get("equipment", [])),
    "business_hours": lambda d: d.station.business_hours.strip() or "（未填）",
    "hours_finding": lambda d: _hours_finding(d.station.business_hours)[0],
    "hours_finding_en": lambda d: _hours_finding(d.station.business_hours)[1],
    "township_hint": lambda d: d.programme.township_hint(d.station.township),
    "expected_code_format": lambda d: d.programme.model.sign_code_formats.get(d.fact.get("kind", ""), "XZ0001/C0001"),
    "sign_code_taken_by": lambda d: d.code.taken_by,
    "sign_code_disputed_by": lambda d: d.code.disputed_by,
    "sign_code_disputed_by_en": lambda d: d.code.disputed_by_en,
    "sign_code_awarded_to": lambda d: d.code.awarded_to,
    "sign_code_awarded_to_en": lambda d: d.code.awarded_to_en,
    "filed_on": lambda d: d.station.filing.filed_on or "（无）",
    "opened_on": lambda d: d.station.opened_on or "（无）",
    "record_number": lambda d: d.station.filing.record_number or "（无）",
    "sign_placement_zh": lambda d: _PLACEMENT_ZH.get(d.fact.get("sign_placement", ""), "（未填）"),
    "sign_placement_en": lambda d: _PLACEMENT_EN.get(d.fact.get("sign_placement", ""), "(not given)"),
    "zones_setting": lambda d: _zones_setting(d, True),
    "zones_setting_en": lambda d: _zones_setting(d, False),
    "status_zh": lambda d: _STATUS_ZH[d.fact["status"]],
    "status_en": lambda d: _STATUS_EN[d.fact["status"]],
    "status_since": lambda d: d.station.status_since or "（未填）",
    "changed_on": lambda d: d.station.filing.changed_on or "（无）",
    "refiled_on": lambda d: d.station.filing.refiled_on or "（未办理）",
    "refiled_on_en": lambda d: d.station.filing.refiled_on or "not yet",
    "filing_deadline": _filing_deadline,
    "refile_deadline": _refile_deadline,
    "area_needed_m2": _area_needed,
}


def station_display(
    station: station_pb2.Station,
    fact: Fact,
    programme: Programme,
    code: CodeShown | None = None,
    dates: StationDates | None = None,
) -> StationDisplay:
    """The values the templates of the reasons that fired read, made as they are read."""
    return StationDisplay(station, fact, programme, code or CodeShown(), dates or dates_of(station))
