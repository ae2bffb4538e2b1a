"""A county's stations from a short plan, so golden cases, tests and benchmarks read as prose.

"康家会镇 has its station and 4 filed points, every other township its table target" becomes
`{all: {points: target}, 康家会镇: {points: 4}}`; each planned station is a fully compliant one
(by the construction standard) of the programme's operator, with sign codes numbered in order.
Township stations are self-operated; village points are partnered shops (as most are), so their
marking is checked: it is written here from the village's official name by the words of 附件3
二(2), not by the code under test (see `marking`).

Plan keys per township (`all` applies to every township, a township's own entry overrides it):
- `station`: the township station's opening date, or null for none (default 2023-05-02);
- `points`: filed village points, a number or `target` (default `target`);
- `filed_on`: the points' filing date (default 2023-06-01); they opened ten days earlier;
- `unfiled`: village points opened on `filed_on` and not filed (default 0).
`extra` lists more stations: `kind` (township_station | village_point), `township`, and any
Station fields in proto JSON (camelCase) that replace the compliant station's.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from google.protobuf import json_format

from ruralpost.service.dates import parse_date
from ruralpost.service.golden import merge
from ruralpost.service.rulebook.programme import Programme, Township
from ruralpost.v1 import station_pb2

DEFAULTS: dict[str, Any] = {"station": "2023-05-02", "points": "target", "filed_on": "2023-06-01", "unfiled": 0}
_ALL_EQUIPMENT = [
    "EQUIPMENT_RECEPTION_DESK",
    "EQUIPMENT_SHELVES",
    "EQUIPMENT_BARCODE_SCANNER",
    "EQUIPMENT_VIDEO_SURVEILLANCE",
    "EQUIPMENT_FIRE_EXTINGUISHER",
]


def marking(official_name: str) -> str:
    """The words a partnered village point shows (附件3 二(2) “XXX村快递便民服务点”), from the village's
    official name in the division list: XXX村 is the village's own name, the official name without
    村委会, which already ends in 村 for 杜家村村委会 (杜家村快递便民服务点) and not for 砚湾村委会
    (砚湾村快递便民服务点)."""
    name = official_name.removesuffix("村委会")
    return f"{name if name.endswith('村') else name + '村'}快递便民服务点"


def _date(value: Any) -> dt.date:
    """A plan date: unquoted YAML gives a date, quoted text is parsed."""
    return value if isinstance(value, dt.date) else parse_date(str(value))


class _Builder:
    def __init__(self, programme: Programme) -> None:
        self.programme = programme
        self.next_code = {"XZ": 1, "C": 1}
        self.next_village: dict[str, int] = {}
        self.seen_ids: set[str] = set()

    def _code(self, prefix: str) -> str:
        n = self.next_code[prefix]
        self.next_code[prefix] += 1
        return f"{prefix}{n:04d}"

    def _id(self, stem: str) -> str:
        n = 1
        while f"{stem}{n:02d}" in self.seen_ids:
            n += 1
        self.seen_ids.add(f"{stem}{n:02d}")
        return f"{stem}{n:02d}"

    def _common(self, township: Township) -> dict[str, Any]:
        return {
            "county": self.programme.county_name,
            "township": township.name,
            "operator": self.programme.operator,
            "mode": "OPERATION_MODE_SELF_OPERATED",
            "fixedPremises": True,
            "services": ["SERVICE_TYPE_SEND", "SERVICE_TYPE_RECEIVE", "SERVICE_TYPE_DELIVER"],
            "hoursSignPosted": True,
            "businessHours": "08:30-18:00",
            "equipment": _ALL_EQUIPMENT,
            "cctvRetentionDays": 30,
            "zones": ["收寄区", "待取件区"],
        }

    def township_station(self, township: Township, opened: dt.date) -> dict[str, Any]:
        name = f"{township.name}快递综合服务站"
        return {
            **self._common(township),
            "stationId": self._id(f"{township.code}-XZ"),
            "kind": "STATION_KIND_TOWNSHIP_STATION",
            "signage": {
                "present": True,
                "placement": "SIGN_PLACEMENT_ABOVE_DOOR",
                "unifiedDesign": True,
                "obstructed": False,
                "text": name,
                "code": self._code("XZ"),
            },
            "filedName": name,
            "areaM2": 20.0,
            "filing": {
                "filed": True,
                "recordNumber": f"晋忻备-{township.code}-XZ",
                "filedOn": (opened + dt.timedelta(days=5)).isoformat(),
            },
            "openedOn": opened.isoformat(),
        }

    def village_point(self, township: Township, opened: dt.date, filed: dt.date | None) -> dict[str, Any]:
        villages = self.programme.villages_of(township.code)
        index = self.next_village.get(township.code, 0)
        self.next_village[township.code] = index + 1
        official = f"{villages[index % len(villages)]}村委会" if villages else "某村委会"
        station_id = self._id(f"{township.code or township.name}-C")
        filing: dict[str, Any] = {"filed": False}
        if filed is not None:
            filing = {"filed": True, "recordNumber": f"晋忻备-{station_id}", "filedOn": filed.isoformat()}
        return {
            **self._common(township),
            "stationId": station_id,
            "kind": "STATION_KIND_VILLAGE_POINT",
            "village": official,
            "mode": "OPERATION_MODE_PARTNERED",
            "signage": {
                "present": True,
                "placement": "SIGN_PLACEMENT_ABOVE_DOOR",
                "text": marking(official),
                "code": self._code("C"),
            },
            "areaM2": 8.0,
            "filing": filing,
            "openedOn": opened.isoformat(),
        }


def plan_stations(
    programme: Programme, plan: Mapping[str, Any] | None, extra: Sequence[Mapping[str, Any]] = ()
) -> list[dict[str, Any]]:
    """Stations (proto JSON dicts) for the plan, townships in task-table order, then `extra`."""
    plan = dict(plan or {})
    unknown = set(plan) - {"all"} - {t.name for t in programme.townships}
    if unknown:
        raise ValueError(f"plan names unknown townships {sorted(unknown)}")
    build = _Builder(programme)
    out = []
    for t in programme.townships:
        spec = {**DEFAULTS, **(plan.get("all") or {}), **(plan.get(t.name) or {})}
        if spec["station"]:
            out.append(build.township_station(t, _date(spec["station"])))
        filed = _date(spec["filed_on"])
        opened = filed - dt.timedelta(days=10)
        points = t.village_points if spec["points"] == "target" else int(spec["points"])
        out += [build.village_point(t, opened, filed) for _ in range(points)]
        out += [build.village_point(t, filed, None) for _ in range(int(spec["unfiled"]))]
    for item in extra:
        fields = dict(item)
        kind, name = fields.pop("kind"), fields.pop("township")
        township = programme.township(name) or Township(name, "", 1, 4, ())
        opened = dt.date(2023, 5, 2)
        base = (
            build.township_station(township, opened)
            if kind == "township_station"
            else build.village_point(township, opened, opened + dt.timedelta(days=5))
        )
        base["township"] = name
        out.append(merge(base, fields))
    return out


def stations(
    programme: Programme, plan: Mapping[str, Any] | None, extra: Sequence[Mapping[str, Any]] = ()
) -> list[station_pb2.Station]:
    return [json_format.ParseDict(s, station_pb2.Station()) for s in plan_stations(programme, plan, extra)]
