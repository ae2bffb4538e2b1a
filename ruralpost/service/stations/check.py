"""Checking one station: facts -> engine -> verdict. Shared by the servicer and the golden cases."""

from __future__ import annotations

import datetime as dt

from ruralpost.service import verdicts
from ruralpost.service.ruleset import RuleSet
from ruralpost.service.stations import facts
from ruralpost.v1 import common_pb2, station_pb2

SUBJECT = "station"


def registry_county(station: station_pb2.Station, ruleset: RuleSet) -> str:
    """The county key under which sign codes are unique: the official code when known."""
    return ruleset.book.programme.county_code_of(station.county) or station.county.strip()


def check_station(ruleset: RuleSet, station: station_pb2.Station, as_of: dt.date,
                  code_holders: list[str] | None = None) -> common_pb2.Verdict:
    """The verdict on a validated station; `code_holders` are the other stations showing its code."""
    holders = code_holders or []
    programme = ruleset.book.programme
    fact = facts.station_fact(station, as_of, programme, sign_code_duplicates=len(holders))
    firing = ruleset.engine.evaluate(SUBJECT, fact)
    return verdicts.verdict(
        station.station_id, firing,
        lambda: facts.station_display(station, fact, programme, "、".join(holders)),
        ruleset.version, as_of.isoformat(),
    )
