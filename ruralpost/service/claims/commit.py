"""Evaluating a claim against the ledger, and committing it: idempotent, a waybill paid once.

The same claim again gets the stored answer byte for byte; another claim under the same id is
ALREADY_EXISTS. When a racing commit (another thread or replica) paid one of our waybills first,
the claim is evaluated again against the grown ledger and committed again. Money is not approved
on rates still marked provisional unless the approver says they accept them
(`accept_provisional_rates`): without it such a commit is FAILED_PRECONDITION, and the ledger
keeps the acceptance with the reference-data version the claim was decided on. A claim whose
eligible pieces have no rate at all (SUB-RATE-MISSING) is not committed whatever the request says:
committing would record its waybills as paid with nothing approved.

An operator's dry run sees the ledger as its own (`viewer`): the waybills its own operator's
claims were paid for, and its own claim ids. A waybill paid to another operator, or a claim id
another operator's committed claim holds, is not told to it; the commit (an approver's or an
admin's, who see the whole ledger) still refuses to pay twice.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from enum import StrEnum

from ruralpost.limits import MAX_COMMIT_ATTEMPTS
from ruralpost.service.claims.evaluate import PaidAmong, StationsWithCodes, evaluate_claim, subsidy_config
from ruralpost.service.claims.facts import KIND_NAMES
from ruralpost.service.claims.validate import validate_claim_request
from ruralpost.service.digest import digest
from ruralpost.service.errors import AlreadyExists, FailedPrecondition, Unavailable
from ruralpost.service.ruleset import RuleSet
from ruralpost.service.store import ClaimRecord, Commit, Ledger
from ruralpost.v1 import claim_pb2


class Reached(StrEnum):
    """How a decision was reached; the decision log and the console show the value."""

    DRY_RUN = ""  # evaluated, nothing recorded
    COMMITTED = "commit"  # newly committed
    STORED = "stored"  # the committed answer again


PROVISIONAL_RATES_RULE = "SUB-RATES-PROVISIONAL"  # the reasons a refusal quotes (rules/subsidy.yaml)
MISSING_RATE_RULE = "SUB-RATE-MISSING"


@dataclass(frozen=True)
class Decision:
    """The answer and what the decision log records of it."""

    response: claim_pb2.EvaluateClaimResponse
    digest: str  # of the claim's content
    as_of: str  # the claim period's last day: the date the rules were applied as of
    rule_ids: list[str]
    how: Reached


def _stored(
    response_bytes: bytes, stored_digest: str, claim: claim_pb2.Claim, claim_digest: str, as_of: str
) -> Decision:
    if stored_digest != claim_digest:
        raise AlreadyExists(
            f"申报编号{claim.claim_id[:128]}已用于内容不同的已入账申报 "
            f"(claim_id {claim.claim_id[:128]!r} is committed with other contents)"
        )
    response = claim_pb2.EvaluateClaimResponse.FromString(response_bytes)
    rule_ids = [r.rule_id for r in response.reasons] + [t.rule_id for t in response.tallies]
    return Decision(response, claim_digest, as_of, rule_ids, Reached.STORED)


def _provisional_refusal(claim: claim_pb2.Claim, response: claim_pb2.EvaluateClaimResponse, labels: list[str]) -> str:
    """Why the commit is refused: the reason that says the rates are provisional, and the way out."""
    said = next((r for r in response.reasons if r.rule_id == PROVISIONAL_RATES_RULE), None)
    because = f"{said.rule_id}：{said.message}" if said else f"补贴标准{'、'.join(labels)}为暂定标准"
    return (
        f"申报{claim.claim_id[:128]}的核定金额{response.approved_amount_fen / 100:.2f}元依据暂定补贴标准，"
        f"未经审批人明确接受不能入账（{because}）；确认接受暂定标准请在请求中注明 accept_provisional_rates "
        f"(claim {claim.claim_id[:128]!r}: the approved amount rests on provisional rates "
        f"({', '.join(labels)}); commit with accept_provisional_rates to accept them)"
    )


def _missing_rate_refusal(claim: claim_pb2.Claim, response: claim_pb2.EvaluateClaimResponse) -> str:
    """Why the commit is refused: the reason that names the missing rate, and the way out."""
    said = next((r for r in response.reasons if r.rule_id == MISSING_RATE_RULE), None)
    because = f"{said.rule_id}：{said.message}" if said else "补贴标准缺失"
    return (
        f"申报{claim.claim_id[:128]}符合条件的快件没有补贴标准，未核定金额，不能入账（{because}）；"
        f"请先在基础数据中补入补贴标准 (claim {claim.claim_id[:128]!r}: its eligible pieces have no rate in the "
        f"reference data, so no amount is approved and it cannot be committed; set the rate first)"
    )


def _paid_to(ledger: Ledger, company: Callable[[str], str], own: str) -> PaidAmong:
    """The ledger's paid waybills as an operator sees them: those its own claims were paid for."""

    def paid_among(waybills: Collection[str]) -> set[str]:
        return {w for w, operator in ledger.paid_to(waybills).items() if company(operator) == own}

    return paid_among


def decide(
    ruleset: RuleSet,
    ledger: Ledger,
    stations_with_codes: StationsWithCodes,
    has_claim: bool,
    claim: claim_pb2.Claim,
    commit: bool,
    accept_provisional_rates: bool = False,
    viewer: str | None = None,
) -> Decision:
    """Validates and evaluates a claim against the ledger and the station registry (the store's
    `stations_with_codes`); with `commit`, records it (or its stored answer). A commit whose amount
    rests on provisional rates needs `accept_provisional_rates`. `viewer`: the operator whose own
    view of the ledger a dry run gets (None: the whole ledger)."""
    programme = ruleset.book.programme
    config = subsidy_config(programme)
    period = validate_claim_request(has_claim, claim, programme.id, config.max_parcels)
    claim_digest = digest(claim)
    as_of = period.last.isoformat()
    company = programme.names.company
    own = None if viewer is None or commit else company(viewer)
    paid_among = ledger.paid_among if own is None else _paid_to(ledger, company, own)
    for _ in range(MAX_COMMIT_ATTEMPTS):
        stored = ledger.stored_claim(claim.claim_id)
        if stored is not None and (own is None or company(stored.operator) == own):
            return _stored(stored.response, stored.digest, claim, claim_digest, as_of)
        # (another operator's committed claim under this id: a dry run that records nothing)
        evaluation = evaluate_claim(ruleset, claim, period, paid_among, stations_with_codes)
        response = evaluation.response
        if not commit:
            return Decision(response, claim_digest, as_of, evaluation.rule_ids, Reached.DRY_RUN)
        if evaluation.missing_rates:
            raise FailedPrecondition(_missing_rate_refusal(claim, response))
        if evaluation.provisional_rates and not accept_provisional_rates:
            raise FailedPrecondition(_provisional_refusal(claim, response, evaluation.provisional_rates))
        response.committed = True
        result = ledger.commit(
            ClaimRecord(
                claim_id=claim.claim_id,
                digest=claim_digest,
                programme=programme.id,
                operator=claim.operator.strip()[:256],
                kind=KIND_NAMES.get(claim.kind, ""),
                period=period.text,
                outcome=claim_pb2.ClaimOutcome.Name(response.outcome),
                eligible_pieces=response.eligible_pieces,
                rejected_pieces=response.rejected_pieces,
                approved_amount_fen=response.approved_amount_fen,
                ruleset_version=response.ruleset_version,
                reference_version=response.reference_version,
                provisional_rates_accepted=bool(evaluation.provisional_rates) and accept_provisional_rates,
                response=response.SerializeToString(deterministic=True),
                waybills=evaluation.eligible_waybills,
            )
        )
        if result is Commit.COMMITTED:
            return Decision(response, claim_digest, as_of, evaluation.rule_ids, Reached.COMMITTED)
        # CLAIM_EXISTS: the next round reads the stored claim; WAYBILL_TAKEN: evaluate again.
    raise Unavailable(
        f"申报{claim.claim_id[:128]}入账时连续与其他申报冲突，请重试 "
        f"(claim {claim.claim_id[:128]!r} lost {MAX_COMMIT_ATTEMPTS} commit races; retry)"
    )
