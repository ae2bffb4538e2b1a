"""Evaluating one subsidy claim: facts -> engine -> outcome, amounts, rejections, held parcels.

Shared by the servicer and the golden cases. Claim-level rules (subject `claim`) can make the
claim INELIGIBLE; parcel rules (subject `parcel`) are evaluated once per distinct combination of
parcel facts: an ERROR rejects the parcels, a WARNING holds them for review (neither paid nor
rejected: their product or platform is in no list of the reference data). The `claim_amount`
rules (SUB-AMOUNT, SUB-RATES-PROVISIONAL, SUB-RATE-MISSING) speak once the parcels are counted:
eligible pieces of a kind and tier the reference data has no rate for are never paid at 0 fen
silently; nothing is approved and the claim cannot be committed until the rate is set. A
downbound claim reads the county registry once, for the station codes it names (SUB-DOWN-STATION;
the rate tier is the registered station's kind).
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass

from ruralpost.service import verdicts
from ruralpost.service.claims.facts import (
    KIND_NAMES,
    Fact,
    StationsByCode,
    claim_display,
    claim_fact,
    clip,
    group_parcels,
    missing_rates_display,
    parcel_display,
    rates_display,
    station_codes,
)
from ruralpost.service.claims.period import Period
from ruralpost.service.dates import day_number
from ruralpost.service.engine import Firing, Violation
from ruralpost.service.errors import FailedPrecondition
from ruralpost.service.refdata.model import UPBOUND_TIER
from ruralpost.service.rulebook.packs import Rule, Severity
from ruralpost.service.rulebook.programme import Programme
from ruralpost.service.rulebook.subsidy import DOWNBOUND, SubsidyConfig
from ruralpost.service.ruleset import RuleSet
from ruralpost.v1 import claim_pb2

CLAIM, PARCEL, CLAIM_AMOUNT = "claim", "parcel", "claim_amount"
ERROR = verdicts.SEVERITY[Severity.ERROR]

PaidAmong = Callable[[Collection[str]], set[str]]
# (county code, sign codes) -> the county's stations whose current registration shows each code
StationsWithCodes = Callable[[str, Collection[str]], StationsByCode]


def no_registry(county: str, sign_codes: Collection[str]) -> StationsByCode:
    """A registry with nothing in it: every downbound parcel's station is unregistered."""
    return {}


@dataclass(frozen=True)
class ClaimEvaluation:
    """The answer, and what a commit records: the eligible waybills (normalised, sorted)."""

    response: claim_pb2.EvaluateClaimResponse
    eligible_waybills: list[str]
    rule_ids: list[str]  # claim-level reasons, the parcel rules that rejected, then those that held
    provisional_rates: list[str]  # labels of the provisional rates the approved amount rests on
    # (kind, tier) of eligible pieces without a rate: no amount is approved, the commit is refused
    missing_rates: list[tuple[str, str]] = dataclasses.field(default_factory=list)


def subsidy_config(programme: Programme) -> SubsidyConfig:
    config = programme.subsidy
    if config is None:
        raise FailedPrecondition(f"programme {programme.id} has no subsidy configuration")
    return config


def county_code_resolver(programme: Programme) -> Callable[[str], str]:
    """Name -> the programme county's code when it names this county (also with province/city)."""

    def resolve(name: str) -> str:
        name = name.strip()
        if not name:
            return ""
        return programme.county_code_of(name) or (
            programme.county_code if programme.county_name in programme.names.name(name) else ""
        )

    return resolve


def township_code_resolver(programme: Programme) -> Callable[[str], str]:
    """Name (alias, or prefixed with the county, city or province) -> the programme township's code, else ""."""

    def resolve(name: str) -> str:
        township = programme.township(name) if name.strip() else None
        return township.code if township else ""

    return resolve


def rejection(index: int, parcel: claim_pb2.Parcel, rules: list[Rule], claim_period: str) -> claim_pb2.ParcelRejection:
    """One rejected parcel: its rule ids, and each rule's message with the parcel's own values."""
    shown = parcel_display(parcel, claim_period)
    return claim_pb2.ParcelRejection(
        waybill=clip(parcel.waybill),
        rule_ids=[rule.id for rule in rules],
        index=index,
        reasons=[
            claim_pb2.RejectionReason(rule_id=rule.id, severity=ERROR, message=zh, message_en=en)
            for rule in rules
            for zh, en in [verdicts.messages(rule, shown)]
        ],
    )


def evaluate_claim(
    ruleset: RuleSet,
    claim: claim_pb2.Claim,
    period: Period,
    paid_among: PaidAmong,
    stations_with_codes: StationsWithCodes,
) -> ClaimEvaluation:
    """Evaluates a validated claim; `paid_among` says which of its waybills the ledger has paid,
    `stations_with_codes` which registered stations show the codes of its downbound parcels."""
    programme = ruleset.book.programme
    config = subsidy_config(programme)
    reference = ruleset.reference
    engine = ruleset.engine
    township_code = township_code_resolver(programme)
    kind = KIND_NAMES.get(claim.kind, "")
    codes = station_codes(claim) if kind == DOWNBOUND else set()
    stations = stations_with_codes(programme.county_code, codes) if codes else {}

    # Parcels: one engine evaluation per distinct combination of facts.
    groups = group_parcels(claim, reference, county_code_resolver(programme), township_code, paid_among, stations)
    constant: Fact = {"kind": kind, "claim_period": period.text, "as_of_day": day_number(period.last)}
    rejected: list[tuple[int, list[Rule]]] = []  # (parcel index, the ERROR rules that fired)
    held: list[tuple[int, list[Violation]]] = []  # (parcel index, the WARNING rules that hold it)
    tally: Counter[str] = Counter()
    held_tally: Counter[str] = Counter()
    eligible: list[int] = []
    pieces: Counter[str] = Counter()  # eligible pieces per tier
    tier_at = groups.fields.index("tier") if "tier" in groups.fields else -1
    for k, members in enumerate(groups.members):
        if not members:
            continue
        firing = engine.evaluate(PARCEL, groups.fact(k, constant))
        rules = [v.rule for v in firing.violations if v.severity is Severity.ERROR]
        holding = [v for v in firing.violations if v.severity is Severity.WARNING]
        if rules:
            rejected.extend((i, rules) for i in members)
            for rule in rules:
                tally[rule.id] += len(members)
        elif holding:
            held.extend((i, holding) for i in members)
            for v in holding:
                held_tally[v.rule.id] += len(members)
        else:
            eligible.extend(members)
            pieces[groups.keys[k][tier_at] if tier_at >= 0 else UPBOUND_TIER] += len(members)
    rates = [r for tier in sorted(pieces) if (r := reference.rate(kind, tier)) is not None]
    missing = [(kind, tier) for tier in sorted(pieces) if reference.rate(kind, tier) is None]
    unrated = sum(pieces[tier] for _, tier in missing)
    # an amount without a rate for every eligible piece is no amount: SUB-RATE-MISSING names the gap
    computed_fen = 0 if missing else sum(r.rate_fen * pieces[r.tier] for r in rates)
    provisional = [r for r in rates if r.status == "provisional"] if not missing else []

    # The claim as a whole.
    fact = claim_fact(claim, period, reference, township_code)
    claim_firing = engine.evaluate(CLAIM, fact)
    claim_errors = sum(1 for v in claim_firing.violations if v.severity is Severity.ERROR)
    amount_fact: Fact = {
        "requested_amount_fen": int(claim.requested_amount_fen),
        "computed_amount_fen": computed_fen if eligible and not claim_errors else 0,
        "provisional_rates": len(provisional),
        "unrated_pieces": unrated if eligible and not claim_errors else 0,
        "claim_errors": claim_errors,
        "as_of_day": fact["as_of_day"],
    }
    amount_firing = engine.evaluate(CLAIM_AMOUNT, amount_fact)
    firing = Firing(
        claim_firing.violations + amount_firing.violations,
        claim_firing.missing + amount_firing.missing,
        claim_firing.advisory | amount_firing.advisory,
    )
    reasons = verdicts.reasons_for(
        firing,
        lambda: {
            **claim_display(claim, {**fact, **amount_fact}, config, reference),
            **rates_display(provisional),
            **missing_rates_display(missing),
        },
    )

    if claim_errors or not eligible:
        outcome = claim_pb2.CLAIM_OUTCOME_INELIGIBLE
        eligible, computed_fen, provisional, missing = [], 0, [], []
    elif rejected or held:
        outcome = claim_pb2.CLAIM_OUTCOME_PARTIALLY_ELIGIBLE
    else:
        outcome = claim_pb2.CLAIM_OUTCOME_ELIGIBLE
    rejected.sort(key=lambda r: r[0])
    held.sort(key=lambda h: h[0])
    order = {rid: rule.order for rid, rule in ruleset.book.rules.items()}
    tallies = sorted(tally.items(), key=lambda t: order[t[0]])
    parcels = claim.parcels
    response = claim_pb2.EvaluateClaimResponse(
        claim_id=claim.claim_id,
        outcome=outcome,
        eligible_pieces=len(eligible),
        rejected_pieces=len(rejected),
        approved_amount_fen=computed_fen,
        reasons=reasons,
        rejections=[rejection(i, parcels[i], rules, period.text) for i, rules in rejected],
        tallies=[claim_pb2.RuleTally(rule_id=rid, count=n) for rid, n in tallies],
        ruleset_version=ruleset.version,
        committed=False,
        held_pieces=len(held),
        held=_held(held, parcels, period.text),
        reference_version=reference.version,
    )
    waybills = groups.waybills
    return ClaimEvaluation(
        response=response,
        eligible_waybills=sorted(waybills[i] for i in eligible),
        rule_ids=[r.rule_id for r in reasons]
        + [rid for rid, _ in tallies]
        + sorted(held_tally, key=lambda rid: order[rid]),
        provisional_rates=[r.label for r in provisional],
        missing_rates=missing,
    )


def _held(
    held: list[tuple[int, list[Violation]]], parcels: Sequence[claim_pb2.Parcel], claim_period: str
) -> list[claim_pb2.HeldParcel]:
    """One entry per held parcel and rule, its message filled with the names the seller wrote."""
    out = []
    for i, violations in held:
        shown = parcel_display(parcels[i], claim_period)
        for v in sorted(violations, key=lambda v: v.rule.order):
            r = verdicts.reason(v.rule, v.severity, shown)
            out.append(
                claim_pb2.HeldParcel(
                    waybill=shown["waybill"],
                    index=i,
                    rule_id=r.rule_id,
                    severity=r.severity,
                    message=r.message,
                    message_en=r.message_en,
                )
            )
    return out
