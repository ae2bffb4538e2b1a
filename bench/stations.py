"""Station inputs for the benchmarks: the golden cases' stations, a realistic mix of verdicts."""

from __future__ import annotations

import datetime as dt
from typing import Any

from google.protobuf import json_format

from ruralpost.service.config import DEFAULT_RULES_DIR
from ruralpost.service.golden import cases
from ruralpost.service.ruleset import RuleSet
from ruralpost.service.stations import facts
from ruralpost.v1 import station_pb2


def requests() -> list[station_pb2.CheckStationRequest]:
    out = []
    for c in cases.load_cases(DEFAULT_RULES_DIR):
        if c.pack == "stations" and not c.input.get("code_holders"):
            out.append(
                station_pb2.CheckStationRequest(
                    station=json_format.ParseDict(c.input["station"], station_pb2.Station()), as_of=c.input["as_of"]
                )
            )
    return out


def station_facts(ruleset: RuleSet) -> list[dict[str, Any]]:
    return [facts.station_fact(r.station, dt.date.fromisoformat(r.as_of), ruleset.book.programme) for r in requests()]
