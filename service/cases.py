"""Golden cases: rule packs carry their own tests (rules/cases/<pack>/*.yaml), like `opa test`.

Each case gives an input, an evaluation date, the expected outcome and the exact rule ids that
fire; `passes` names rules the case shows not firing. `run_all` runs every case against a rule
set in-process (the same code the servicers call), so `make test` and a reload use one check.
"""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from google.protobuf import json_format
from ruralpost.v1 import claim_pb2, common_pb2, station_pb2

from . import validate
from .claims import evaluate_claim
from .ruleset import RuleSet
from .stations import check_station


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

    @property
    def ok(self) -> bool:
        return self.outcome == self.case.outcome and self.rule_ids == self.case.rule_ids \
            and not set(self.case.passes) & set(self.rule_ids)

    def describe(self) -> str:
        return (f"{self.case.path.name}: {self.case.name}: expected {self.case.outcome} "
                f"{list(self.case.rule_ids)}, got {self.outcome} {list(self.rule_ids)}")


def merge(base: Any, override: Any) -> Any:
    """Deep merge of mappings; lists and scalars in `override` replace; None deletes a key."""
    if isinstance(base, dict) and isinstance(override, dict):
        out = dict(base)
        for key, value in override.items():
            if value is None:
                out.pop(key, None)
            else:
                out[key] = merge(base.get(key), value)
        return out
    return copy.deepcopy(override)


def load_cases(rules_dir: Path) -> list[Case]:
    cases = []
    for path in sorted((rules_dir / "cases").glob("*/*.yaml")):
        with open(path, encoding="utf-8") as f:
            doc = yaml.safe_load(f) or {}
        pack = doc.get("pack") or path.parent.name
        bases = doc.get("bases") or {}
        for raw in doc.get("cases") or []:
            data = raw.get("input") or {}
            if raw.get("base"):
                data = merge(bases[raw["base"]], data)
            expect = raw.get("expect") or {}
            cases.append(Case(
                pack=pack, name=str(raw["name"]), path=path, input=data,
                outcome=str(expect.get("outcome", "")), rule_ids=tuple(expect.get("rule_ids") or ()),
                passes=tuple(raw.get("passes") or ()),
            ))
    return cases


def _rule_ids(reasons: Any) -> tuple[str, ...]:
    return tuple(r.rule_id for r in reasons)


def run_station_case(ruleset: RuleSet, case: Case) -> Result:
    """input: {station: <Station as proto JSON>, as_of, code_holders: [station ids]}"""
    station = json_format.ParseDict(case.input.get("station") or {}, station_pb2.Station())
    as_of = dt.date.fromisoformat(str(case.input["as_of"]))
    verdict = check_station(ruleset, station, as_of, list(case.input.get("code_holders") or []))
    return Result(case, common_pb2.Outcome.Name(verdict.outcome), _rule_ids(verdict.reasons))


def run_claim_case(ruleset: RuleSet, case: Case) -> Result:
    """input: {claim: <Claim as proto JSON>, paid: [waybills a committed claim already paid]}

    rule_ids: the claim-level reasons (ERRORs first), then the parcel rules that rejected parcels.
    """
    claim = json_format.ParseDict(case.input.get("claim") or {}, claim_pb2.Claim())
    programme = ruleset.book.programme
    max_parcels = programme.subsidy.max_parcels if programme.subsidy else 0
    period = validate.check_claim_request(True, claim, programme.id, max_parcels)
    paid = {str(w) for w in case.input.get("paid") or ()}
    evaluation = evaluate_claim(ruleset, claim, period, lambda waybills: paid & set(waybills))
    return Result(case, claim_pb2.ClaimOutcome.Name(evaluation.response.outcome), tuple(evaluation.rule_ids))


# pack name -> how to run one of its cases
RUNNERS: dict[str, Callable[[RuleSet, Case], Result]] = {
    "stations": run_station_case,
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
