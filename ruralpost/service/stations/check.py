"""Checking one station: sign-code holders -> facts -> engine -> verdict, and registering it.

Shared by the servicer, the progress report and the golden cases, so a station is judged the
same way wherever it comes from. Sign codes are unique per county (附件3 二(3) 一县一编号): the
other stations showing a station's code come from the registry and, in a batch, from the
stations before it. A code belongs to its operator: the operator's own other stations showing it
are duplicates; another operator's are a dispute for the county, until an admin awards the code
(`Registry.sign_code_award`), and registering first wins nothing.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Protocol

from ruralpost.limits import MAX_HOLDERS_SHOWN
from ruralpost.service import verdicts
from ruralpost.service.ruleset import RuleSet
from ruralpost.service.stations import facts
from ruralpost.service.store import RegisteredStation
from ruralpost.v1 import common_pb2, station_pb2

SUBJECT = "station"

# (county, sign code) -> the operator the county awarded the code to, "" when it has not
Award = Callable[[str, str], str]


class Registry(Protocol):
    """The registry as a station check reads and writes it (the store, or a golden case's list)."""

    def sign_code_holders(self, county: str, sign_code: str) -> list[tuple[str, str]]: ...

    def sign_code_award(self, county: str, sign_code: str) -> str: ...

    def register_station(self, row: RegisteredStation, ruleset_version: str, as_of: str) -> None: ...


def registry_county(station: station_pb2.Station, ruleset: RuleSet) -> str:
    """The county key under which sign codes are unique: the official code when known."""
    return ruleset.book.programme.county_code_of(station.county) or station.county.strip()


def identity(ruleset: RuleSet, station: station_pb2.Station) -> tuple[str, str]:
    """(operator, station_id): a station's key in the registry. The operator as the programme spells
    companies, so a branch's name (…静乐分公司) or another spacing is the same station."""
    return ruleset.book.programme.names.company(station.operator), station.station_id.strip()


@dataclass(frozen=True)
class CodeHolders:
    """The other stations showing a station's sign code, as the rules count them."""

    own: list[str] = field(default_factory=list)  # ids of the same operator's other stations
    disputed: dict[str, list[str]] = field(default_factory=dict)  # other operator -> its ids, undecided
    awarded_to: str = ""  # the other operator the county awarded the code to


NO_HOLDERS = CodeHolders()


class CodeIndex:
    """The stations of one batch per (county, sign code) and operator, in order, once each."""

    def __init__(self, ruleset: RuleSet, stations: Iterable[station_pb2.Station] = ()) -> None:
        self.ruleset = ruleset
        self._holders: dict[tuple[str, str], dict[str, dict[str, None]]] = {}
        for station in stations:
            self.add(station)

    def key(self, station: station_pb2.Station) -> tuple[str, str]:
        return registry_county(station, self.ruleset), facts.sign_code_of(station)

    def add(self, station: station_pb2.Station) -> None:
        if facts.sign_code_of(station):
            operator, station_id = identity(self.ruleset, station)
            self._holders.setdefault(self.key(station), {}).setdefault(operator, {})[station_id] = None

    def others(self, station: station_pb2.Station, limit: int | None = None) -> list[tuple[str, str]]:
        """(operator, station id) of the batch's other stations showing this station's code, at
        most `limit` + 1 of each operator (one is enough to count)."""
        me = identity(self.ruleset, station)
        found = []
        for operator, ids in self._holders.get(self.key(station), {}).items():
            shown = itertools.islice(ids, None if limit is None else limit + 1)
            found += [(operator, sid) for sid in shown if (operator, sid) != me]
        return found


def code_holders(
    ruleset: RuleSet,
    station: station_pb2.Station,
    registry: Registry | None,
    batch: CodeIndex | None = None,
    award: Award | None = None,
) -> CodeHolders:
    """The other stations showing the station's sign code: registered ones, then the batch's. The
    county's award (`award`, else the registry's) is read only when another operator shows it."""
    code = facts.sign_code_of(station)
    me = identity(ruleset, station)
    if not code or not me[1]:
        # Without a station id the station cannot be told apart from the one holding the code
        # (it may be that very station): no duplicate is claimed.
        return NO_HOLDERS
    company = ruleset.book.programme.names.company
    county = registry_county(station, ruleset)
    found: dict[tuple[str, str], None] = {}
    if registry is not None:
        found.update(((company(op), sid), None) for op, sid in registry.sign_code_holders(county, code))
    if batch is not None:
        found.update((holder, None) for holder in batch.others(station, MAX_HOLDERS_SHOWN))
    found.pop(me, None)
    own = [sid for op, sid in found if op == me[0]]
    disputed: dict[str, list[str]] = {}
    for op, sid in found:
        if op != me[0]:
            disputed.setdefault(op, []).append(sid)
    if not disputed:
        return CodeHolders(own)
    if award is None and registry is not None:
        award = registry.sign_code_award
    awarded = company(award(county, code)) if award is not None else ""
    if not awarded:
        return CodeHolders(own, disputed)
    return CodeHolders(own, {}, "" if awarded == me[0] else awarded)


def shown(holders: CodeHolders, detail: bool) -> facts.CodeShown:
    """The holders as the reasons name them: the operator's own stations by id; another operator
    by name and station ids only with `detail` (admins, the county), else as 另一运营企业."""
    if detail:
        named = {op or "（未填运营企业）": ids[:MAX_HOLDERS_SHOWN] for op, ids in holders.disputed.items()}
        disputed = "、".join(f"{op}（{'、'.join(ids)}）" for op, ids in named.items())
        disputed_en = "; ".join(f"{op} ({', '.join(ids)})" for op, ids in named.items())
        awarded, awarded_en = holders.awarded_to, holders.awarded_to
    else:
        several = len(holders.disputed) > 1
        disputed, disputed_en = ("其他运营企业", "other operators") if several else ("另一运营企业", "another operator")
        awarded, awarded_en = "另一运营企业", "another operator"
    return facts.CodeShown("、".join(holders.own), disputed, disputed_en, awarded, awarded_en)


def check_station(
    ruleset: RuleSet,
    station: station_pb2.Station,
    as_of: dt.date,
    holders: CodeHolders = NO_HOLDERS,
    dates: facts.StationDates | None = None,
    detail: bool = True,
) -> common_pb2.Verdict:
    """The verdict on a validated station; `holders` are the other stations showing its code,
    `dates` its dates as validation parsed them. Without `detail` (an operator's own view) the
    reasons never name another operator or its stations."""
    programme = ruleset.book.programme
    dates = dates or facts.dates_of(station)
    fact = facts.station_fact(
        station, as_of, programme, len(holders.own), dates, len(holders.disputed), bool(holders.awarded_to)
    )
    firing = ruleset.engine.evaluate(SUBJECT, fact)
    return verdicts.verdict(
        station.station_id,
        firing,
        lambda: facts.station_display(station, fact, programme, shown(holders, detail), dates),
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
    detail: bool = True,
) -> common_pb2.Verdict:
    """A CheckStation(s) item: checked against the registry (and the batch before it), registered
    when asked; `detail` as check_station."""
    holders = code_holders(ruleset, station, registry, batch)
    verdict = check_station(ruleset, station, as_of, holders, dates, detail)
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
