"""Checking one station: sign-code holders -> facts -> engine -> verdict, and registering it.

Shared by the servicer, the progress report and the golden cases, so a station is judged the
same way wherever it comes from. Sign codes are unique per county (附件3 二(3) 一县一编号): the
other stations showing a station's code come from the registry and, in a batch, from the
stations before it.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterable
from typing import Protocol

from ruralpost.limits import MAX_HOLDERS_SHOWN
from ruralpost.service import verdicts
from ruralpost.service.ruleset import RuleSet
from ruralpost.service.stations import facts
from ruralpost.service.store import RegisteredStation
from ruralpost.v1 import common_pb2, station_pb2

SUBJECT = "station"


class Registry(Protocol):
    """The registry as a station check reads and writes it (the store, or a golden case's list)."""

    def sign_code_holders(self, county: str, sign_code: str) -> list[tuple[str, str]]: ...

    def register_station(self, row: RegisteredStation, ruleset_version: str, as_of: str) -> None: ...


def registry_county(station: station_pb2.Station, ruleset: RuleSet) -> str:
    """The county key under which sign codes are unique: the official code when known."""
    return ruleset.book.programme.county_code_of(station.county) or station.county.strip()


def identity(ruleset: RuleSet, station: station_pb2.Station) -> tuple[str, str]:
    """(operator, station_id): a station's key in the registry. The operator as the programme spells
    companies, so a branch's name (…静乐分公司) or another spacing is the same station."""
    return ruleset.book.programme.names.company(station.operator), station.station_id.strip()


class CodeIndex:
    """The stations of one batch per (county, sign code), in order, once each."""

    def __init__(self, ruleset: RuleSet, stations: Iterable[station_pb2.Station] = ()) -> None:
        self.ruleset = ruleset
        self._holders: dict[tuple[str, str], dict[tuple[str, str], None]] = {}
        for station in stations:
            self.add(station)

    def key(self, station: station_pb2.Station) -> tuple[str, str]:
        return registry_county(station, self.ruleset), facts.sign_code_of(station)

    def add(self, station: station_pb2.Station) -> None:
        if facts.sign_code_of(station):
            self._holders.setdefault(self.key(station), {})[identity(self.ruleset, station)] = None

    def others(self, station: station_pb2.Station, limit: int | None = None) -> list[str]:
        """Ids of the batch's other stations showing this station's code."""
        me = identity(self.ruleset, station)
        holders = self._holders.get(self.key(station), {})
        return [sid for op, sid in itertools.islice(holders, limit) if (op, sid) != me]


def code_holders(
    ruleset: RuleSet, station: station_pb2.Station, registry: Registry | None, batch: CodeIndex | None = None
) -> list[str]:
    """Ids of the other stations showing the station's sign code: registered ones, then the batch's."""
    code = facts.sign_code_of(station)
    me = identity(ruleset, station)
    if not code or not me[1]:
        # Without a station id the station cannot be told apart from the one holding the code
        # (it may be that very station): no duplicate is claimed.
        return []
    company = ruleset.book.programme.names.company
    registered = [] if registry is None else registry.sign_code_holders(registry_county(station, ruleset), code)
    holders = [sid for op, sid in registered if (company(op), sid) != me]
    if batch is not None:
        holders += [sid for sid in batch.others(station, MAX_HOLDERS_SHOWN + 1) if sid not in holders]
    return holders


def check_station(
    ruleset: RuleSet,
    station: station_pb2.Station,
    as_of: dt.date,
    holders: list[str] | None = None,
    dates: facts.StationDates | None = None,
) -> common_pb2.Verdict:
    """The verdict on a validated station; `holders` are the other stations showing its code,
    `dates` its dates as validation parsed them."""
    holders = holders or []
    programme = ruleset.book.programme
    dates = dates or facts.dates_of(station)
    fact = facts.station_fact(station, as_of, programme, len(holders), dates)
    firing = ruleset.engine.evaluate(SUBJECT, fact)
    return verdicts.verdict(
        station.station_id,
        firing,
        lambda: facts.station_display(station, fact, programme, "、".join(holders), dates),
        ruleset.version,
        as_of.isoformat(),
    )


def check(
    ruleset: RuleSet,
    registry: Registry,
    station: station_pb2.Station,
    as_of: dt.date,
    register: bool,
    batch: CodeIndex | None = None,
    dates: facts.StationDates | None = None,
) -> common_pb2.Verdict:
    """A CheckStation(s) item: checked against the registry (and the batch before it), registered when asked."""
    verdict = check_station(ruleset, station, as_of, code_holders(ruleset, station, registry, batch), dates)
    if batch is not None:
        batch.add(station)
    if register:
        registry.register_station(registration(ruleset, station, verdict), ruleset.version, verdict.evaluated_as_of)
    return verdict


def registration(
    ruleset: RuleSet, station: station_pb2.Station, verdict: common_pb2.Verdict | None = None
) -> RegisteredStation:
    """The station as the registry holds it (a golden case's registry has no verdict)."""
    operator, station_id = identity(ruleset, station)
    township = ruleset.book.programme.township(station.township)
    return RegisteredStation(
        operator=operator,
        station_id=station_id,
        county=registry_county(station, ruleset),
        sign_code=facts.sign_code_of(station),
        kind=facts.KIND.get(station.kind, ""),
        township=township.name if township else station.township.strip(),
        outcome=common_pb2.Outcome.Name(verdict.outcome) if verdict else "",
        station=station.SerializeToString(),
        verdict=verdict.SerializeToString() if verdict else b"",
    )
