"""SubsidyService: EvaluateClaim and the EvaluateClaims stream, over the claim ledger.

A commit is idempotent per claim id: the same claim again gets the stored answer byte for byte,
another claim under the same id ALREADY_EXISTS. A waybill is paid once: when a racing commit paid
one of ours first, the claim is evaluated again against the ledger and committed again.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

import grpc

from ruralpost.service import validate
from ruralpost.service.api.auth import require_commit_right, require_operator
from ruralpost.service.api.calls import Runtime, caller, record, stream_items, unary
from ruralpost.service.claims import evaluate as claims
from ruralpost.service.claims.facts import KIND_NAMES
from ruralpost.service.errors import AlreadyExists, ServiceError, Unavailable
from ruralpost.service.store import ClaimRecord, Commit, StoredClaim
from ruralpost.v1 import claim_pb2, claim_pb2_grpc

MAX_COMMIT_ATTEMPTS = 5  # each lost race re-evaluates against a ledger that has grown


def claim_digest(claim: claim_pb2.Claim) -> str:
    """The claim's content digest: sha256 of its deterministic serialization."""
    return hashlib.sha256(claim.SerializeToString(deterministic=True)).hexdigest()


class SubsidyServicer(claim_pb2_grpc.SubsidyServiceServicer):
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    def _log(self, method: str, claim: claim_pb2.Claim, who: str, digest: str,
             response: claim_pb2.EvaluateClaimResponse, rule_ids: list[str], as_of: str) -> None:
        record(self.runtime, "claim", method, claim.claim_id, who, digest,
               claim_pb2.ClaimOutcome.Name(response.outcome), rule_ids, response.ruleset_version, as_of)

    def _stored(self, stored: StoredClaim, digest: str, claim: claim_pb2.Claim, who: str,
                method: str, as_of: str) -> claim_pb2.EvaluateClaimResponse:
        if stored.digest != digest:
            raise AlreadyExists(f"申报编号{claim.claim_id[:128]}已用于内容不同的已入账申报 "
                                f"(claim_id {claim.claim_id[:128]!r} is committed with other contents)")
        response = claim_pb2.EvaluateClaimResponse.FromString(stored.response)
        self._log(f"{method}:stored", claim, who, digest, response,
                  [r.rule_id for r in response.reasons] + [t.rule_id for t in response.tallies], as_of)
        return response

    def _evaluate(self, has_claim: bool, claim: claim_pb2.Claim, commit: bool, who: str,
                  method: str) -> claim_pb2.EvaluateClaimResponse:
        ruleset = self.runtime.rules.current
        programme = ruleset.book.programme
        config = claims.subsidy_config(programme)
        period = validate.check_claim_request(has_claim, claim, programme.id, config.max_parcels)
        digest = claim_digest(claim)
        ledger = self.runtime.store.ledger
        as_of = period.last.isoformat()
        for _ in range(MAX_COMMIT_ATTEMPTS):
            stored = ledger.stored_claim(claim.claim_id)
            if stored is not None:
                return self._stored(stored, digest, claim, who, method, as_of)
            evaluation = claims.evaluate_claim(ruleset, claim, period, ledger.paid_among)
            response = evaluation.response
            if not commit:
                self._log(method, claim, who, digest, response, evaluation.rule_ids, as_of)
                return response
            response.committed = True
            result = ledger.commit(ClaimRecord(
                claim_id=claim.claim_id, digest=digest, programme=programme.id,
                operator=claim.operator.strip()[:256], kind=KIND_NAMES.get(claim.kind, ""),
                period=period.text, outcome=claim_pb2.ClaimOutcome.Name(response.outcome),
                eligible_pieces=response.eligible_pieces, rejected_pieces=response.rejected_pieces,
                approved_amount_fen=response.approved_amount_fen, ruleset_version=response.ruleset_version,
                response=response.SerializeToString(deterministic=True),
                waybills=evaluation.eligible_waybills,
            ))
            if result is Commit.COMMITTED:
                self._log(f"{method}:commit", claim, who, digest, response, evaluation.rule_ids, as_of)
                return response
            # CLAIM_EXISTS: the next round reads the stored claim; WAYBILL_TAKEN: evaluate again.
        raise Unavailable(f"申报{claim.claim_id[:128]}入账时连续与其他申报冲突，请重试 "
                          f"(claim {claim.claim_id[:128]!r} lost {MAX_COMMIT_ATTEMPTS} commit races; retry)")

    @staticmethod
    def _authorize(context: grpc.ServicerContext, request: claim_pb2.EvaluateClaimRequest |
                   claim_pb2.EvaluateClaimsRequest) -> None:
        """Operators dry-run their own claims; approvers and admins commit."""
        require_operator(context, request.claim.operator, "claim")
        if request.commit:
            require_commit_right(context)

    def EvaluateClaim(self, request: claim_pb2.EvaluateClaimRequest,
                      context: grpc.ServicerContext) -> claim_pb2.EvaluateClaimResponse:
        def work() -> claim_pb2.EvaluateClaimResponse:
            self._authorize(context, request)
            return self._evaluate(request.HasField("claim"), request.claim, request.commit, caller(context),
                                  "EvaluateClaim")

        return unary(context, work)

    def EvaluateClaims(self, request_iterator: Iterator[claim_pb2.EvaluateClaimsRequest],
                       context: grpc.ServicerContext) -> Iterator[claim_pb2.EvaluateClaimsResponse]:
        who = caller(context)
        for index, request in stream_items(context, request_iterator, self.runtime.max_stream_items):
            try:
                self._authorize(context, request)
                result = self._evaluate(request.HasField("claim"), request.claim, request.commit, who,
                                        "EvaluateClaims")
                yield claim_pb2.EvaluateClaimsResponse(index=index, result=result)
            except ServiceError as e:
                yield claim_pb2.EvaluateClaimsResponse(index=index, error=e.to_status())
