"""Golden cases: rule packs carry their own tests (rules/cases/<pack>/*.yaml), like `opa test`.

Each case gives an input, an evaluation date, the expected outcome and the exact rule ids that
fire; `passes` names rules the case shows not firing. `run_all` runs every case against a rule
set in-process (the same code the servicers call), so `make test` and a reload use one check.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from google.protobuf import json_format

from ruralpost.service.claims.evaluate import evaluate_claim
from ruralpost.service.claims.validate import validate_claim_request
from ruralpost.service.dates import parse_date
from ruralpost.service.golden import merge, plans
from ruralpost.service.progress.report import hub_verdict, progress_report, request_members
from ruralpost.service.refdata.load import from_mapping
from ruralpost.service.rulebook.packs import RulebookError
from ruralpost.service.rulebook.programme import Programme
from ruralpost.service.ruleset import RuleSet
from ruralpost.service.stations.check import check, registration
from ruralpost.service.store import RegisteredStation
from ruralpost.v1 import claim_pb2, common_pb2, progress_pb2, station_pb2


@dataclass(frozen=True)
class Case:
    pack: str
    name: str
    path: Path
    input: dict[str, Any]
    outcome: str
    rule_ids: tuple[str, ...]
    passes: tuple[str, ...]


@dataclass(frozen=True)
class Result:
    case: Case
    outcome: str
    rule_ids: tuple[str, ...]
    reasons: tuple[common_pb2.Reason, ...] = ()  # as rendered, for checks of the texts themselves

    @property
    def ok(self) -> bool:
        return (
            self.outcome == self.case.outcome
            and self.rule_ids == self.case.rule_ids
            and not set(self.case.passes) & set(self.rule_ids)
        )

    def describe(self) -> str:
        return (
            f"{self.case.path.name}: {self.case.name}: expected {self.case.outcome} "
            f"{list(self.case.rule_ids)}, got {self.outcome} {list(self.rule_ids)}"
        )


def _read(path: Path) -> dict[str, Any]:
    with open(path, encoding="utf-8") as f:
        doc = yaml.safe_load(f) or {}
    if not isinstance(doc, dict):
        raise ValueError(f"{path.name}: a case file is a mapping")
    return doc


def load_cases(rules_dir: Path) -> list[Case]:
    """Every case under rules/cases/<pack>/; `_bases.yaml` in a folder holds shared inputs."""
    cases = []
    for path in sorted((rules_dir / "cases").glob("*/*.yaml")):
        if path.name == "_bases.yaml":
            continue
        doc = _read(path)
        shared = path.parent / "_bases.yaml"
        bases = {**(_read(shared).get("bases") or {} if shared.exists() else {}), **(doc.get("bases") or {})}
        pack = doc.get("pack") or path.parent.name
        for raw in doc.get("cases") or []:
            data = raw.get("input") or {}
            if raw.get("base"):
                data = merge(bases[raw["base"]], data)
            expect = raw.get("expect") or {}
            cases.append(
                Case(
                    pack=pack,
                    name=str(raw["name"]),
                    path=path,
                    input=data,
                    outcome=str(expect.get("outcome", "")),
                    rule_ids=tuple(expect.get("rule_ids") or ()),
                    passes=tuple(raw.get("passes") or ()),
                )
            )
    return cases


def _as_of(case: Case) -> dt.date:
    value = case.input["as_of"]
    return value if isinstance(value, dt.date) else parse_date(str(value))


def _rule_ids(reasons: Any) -> tuple[str, ...]:
    return tuple(r.rule_id for r in reasons)


class _CaseRegistry:
    """A golden case's registry, from its input: for a station case the ids of other registered
    stations showing the case's code (`code_holders`) and the operator the county awarded the code
    to (`sign_code_award`); for a claim case the registered stations (`registry`: Station JSON, each
    its current registration) that delivering codes are looked up in."""

    def __init__(
        self, holders: list[tuple[str, str]], stations: list[RegisteredStation] | None = None, award: str = ""
    ) -> None:
        self.holders = holders
        self.stations = stations or []
        self.award = award

    def sign_code_holders(self, county: str, sign_code: str) -> list[tuple[str, str]]:
        return self.holders

    def sign_code_award(self, county: str, sign_code: str) -> str:
        return self.award

    def register_station(self, row: RegisteredStation, ruleset_version: str, as_of: str) -> None:
        raise ValueError("golden cases do not register stations")

    def stations_with_codes(self, county: str, sign_codes: Collection[str]) -> dict[str, list[RegisteredStation]]:
        found: dict[str, list[RegisteredStation]] = {}
        for row in self.stations:
            if row.county == county and row.sign_code in sign_codes:
                found.setdefault(row.sign_code, []).append(row)
        return found


def _registered(ruleset: RuleSet, raw: list[Any]) -> list[RegisteredStation]:
    """A claim case's registry: each Station JSON as the store would hold its current registration."""
    return [registration(ruleset, json_format.ParseDict(_plain(item), station_pb2.Station())) for item in raw]


def run_station_case(ruleset: RuleSet, case: Case) -> Result:
    """input: {station: <Station as proto JSON>, as_of, code_holders: [registered station ids of
    the case's own operator, or {operator, station_id} as the registry holds them], sign_code_award:
    the operator the county awarded the code to}"""
    station = json_format.ParseDict(case.input.get("station") or {}, station_pb2.Station())
    holders = [
        (str(h.get("operator", "")), str(h["station_id"])) if isinstance(h, dict) else (station.operator, str(h))
        for h in case.input.get("code_holders") or ()
    ]
    registry = _CaseRegistry(holders, award=str(case.input.get("sign_code_award") or ""))
    verdict = check(ruleset, registry, station, _as_of(case), register=False)
    return Result(case, common_pb2.Outcome.Name(verdict.outcome), _rule_ids(verdict.reasons), tuple(verdict.reasons))


def _plain(value: Any) -> Any:
    """YAML dates back to the YYYY-MM-DD strings proto JSON expects."""
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _hub(case: Case) -> progress_pb2.CountyHub | None:
    raw = case.input.get("hub")
    return None if raw is None else json_format.ParseDict(_plain(raw), progress_pb2.CountyHub())


def run_progress_case(ruleset: RuleSet, case: Case) -> Result:
    """input: {as_of, plan, extra (service/golden/plans.py), stations: [<Station JSON>], hub,
    look_at: county (default) | hub | a township, programme: {what-if overrides of the programme
    data that Python reads, e.g. goals}}: the outcome and reasons of that part."""
    if case.input.get("programme"):
        book = ruleset.book
        data = merge(book.programme.model.model_dump(), case.input["programme"])
        what_if = Programme.read(data, book.root / "programmes")
        ruleset = dataclasses.replace(ruleset, book=dataclasses.replace(book, programme=what_if))
    programme = ruleset.book.programme
    stations = plans.stations(programme, case.input.get("plan"), case.input.get("extra") or ())
    stations += [json_format.ParseDict(_plain(s), station_pb2.Station()) for s in case.input.get("stations") or ()]
    as_of = _as_of(case)
    report = progress_report(ruleset, request_members(stations), as_of, _hub(case))
    look_at = str(case.input.get("look_at") or "county")
    part: Any = {"county": report.verdict, "hub": report.hub}.get(look_at)
    if part is None:
        part = next((t for t in report.townships if t.township == look_at), None)
        if part is None:
            raise KeyError(f"{case.path.name}: {case.name}: look_at {look_at!r} is not a township")
    return Result(case, common_pb2.Outcome.Name(part.outcome), _rule_ids(part.reasons), tuple(part.reasons))


def run_hub_case(ruleset: RuleSet, case: Case) -> Result:
    """input: {as_of, hub: <CountyHub JSON> (absent: no hub given)}"""
    as_of = _as_of(case)
    verdict = hub_verdict(ruleset, _hub(case), as_of)
    return Result(case, common_pb2.Outcome.Name(verdict.outcome), _rule_ids(verdict.reasons), tuple(verdict.reasons))


def run_claim_case(ruleset: RuleSet, case: Case) -> Result:
    """input: {claim: <Claim as proto JSON>, paid: [waybills a committed claim already paid],
    registry: [<Station JSON>: the county registry's stations, for downbound station codes],
    reference: {<table>: [entries]}: tables of the reference data replaced whole, as an office
    replaces one (checked like any version)}

    rule_ids: the claim-level reasons (ERRORs first), the parcel rules that rejected parcels, then
    those that held parcels for review.
    """
    if case.input.get("reference"):
        current = ruleset.reference
        tables = {**current.tables.model_dump(mode="json", by_alias=True), **case.input["reference"]}
        reference = from_mapping(current.programme, tables, f"{case.path.name}: {case.name}: reference")
        ruleset = dataclasses.replace(ruleset, reference=reference)
    claim = json_format.ParseDict(case.input.get("claim") or {}, claim_pb2.Claim())
    programme = ruleset.book.programme
    max_parcels = programme.subsidy.max_parcels if programme.subsidy else 0
    period = validate_claim_request(True, claim, programme.id, max_parcels)
    paid = {str(w) for w in case.input.get("paid") or ()}
    registry = _CaseRegistry([], _registered(ruleset, list(case.input.get("registry") or ())))
    evaluation = evaluate_claim(
        ruleset, claim, period, lambda waybills: paid & set(waybills), registry.stations_with_codes
    )
    response = evaluation.response
    return Result(
        case, claim_pb2.ClaimOutcome.Name(response.outcome), tuple(evaluation.rule_ids), tuple(response.reasons)
    )


# pack name -> how to run one of its cases
RUNNERS: dict[str, Callable[[RuleSet, Case], Result]] = {
    "stations": run_station_case,
    "progress": run_progress_case,
    "hub": run_hub_case,
    "subsidy": run_claim_case,
}


def run_all(ruleset: RuleSet, rules_dir: Path) -> list[Result]:
    results = []
    for case in load_cases(rules_dir):
        runner = RUNNERS.get(case.pack)
        if runner is None:
            raise KeyError(f"{case.path.name}: no runner for pack {case.pack!r}")
        results.append(runner(ruleset, case))
    return results


def coverage_gaps(ruleset: RuleSet, cases: list[Case]) -> list[str]:
    """Rules with no case that makes them fire, or none that shows them not firing."""
    fired = {rid for c in cases for rid in c.rule_ids}
    passed = {rid for c in cases for rid in c.passes}
    gaps = []
    for rid in ruleset.book.rules:
        if rid not in fired:
            gaps.append(f"{rid}: no golden case makes it fire")
        if rid not in passed:
            gaps.append(f"{rid}: no golden case shows it not firing (passes:)")
    return gaps


def run_gate(ruleset: RuleSet, rules_dir: Path) -> int:
    """How many golden cases the rule set passes; RulebookError when one fails or a rule has none."""
    try:
        results = run_all(ruleset, rules_dir)
        failed = [r.describe() for r in results if not r.ok]
        failed += coverage_gaps(ruleset, load_cases(rules_dir))
    except (KeyError, TypeError, ValueError, OSError, yaml.YAMLError) as e:  # a broken case file
        raise RulebookError(f"cases: the golden cases do not run: {type(e).__name__}: {e}") from None
    if failed:
        raise RulebookError(f"{len(failed)} golden case problem(s): " + "; ".join(failed[:5]))
    return len(results)
