"""SubsidyService: EvaluateClaim and the EvaluateClaims stream (thin: authorize -> decide -> record)."""

from __future__ import annotations

from collections.abc import Iterator

import grpc

from ruralpost.service.api.auth import require_commit_right, require_operator
from ruralpost.service.api.calls import caller, item_error, record, stream_items
from ruralpost.service.claims.commit import decide
from ruralpost.service.errors import ServiceError
from ruralpost.service.runtime import Runtime
from ruralpost.v1 import claim_pb2, claim_pb2_grpc

ClaimRequest = claim_pb2.EvaluateClaimRequest | claim_pb2.EvaluateClaimsRequest


class SubsidyServicer(claim_pb2_grpc.SubsidyServiceServicer):
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    def _evaluate(
        self, request: ClaimRequest, context: grpc.ServicerContext, who: str, method: str
    ) -> claim_pb2.EvaluateClaimResponse:
        # Operators dry-run their own claims; approvers and admins commit.
        require_operator(context, request.claim.operator, "claim")
        if request.commit:
            require_commit_right(context)
        d = decide(
            self.runtime.rules.current,
            self.runtime.store.ledger,
            self.runtime.store.stations_with_codes,
            request.HasField("claim"),
            request.claim,
            request.commit,
        )
        response = d.response
        record(
            self.runtime,
            "claim",
            f"{method}:{d.how}" if d.how else method,
            request.claim.claim_id,
            who,
            d.digest,
            claim_pb2.ClaimOutcome.Name(response.outcome),
            d.rule_ids,
            response.ruleset_version,
            d.as_of,
        )
        return response

    def EvaluateClaim(
        self, request: claim_pb2.EvaluateClaimRequest, context: grpc.ServicerContext
    ) -> claim_pb2.EvaluateClaimResponse:
        return self._evaluate(request, context, caller(context), "EvaluateClaim")

    def EvaluateClaims(
        self, request_iterator: Iterator[claim_pb2.EvaluateClaimsRequest], context: grpc.ServicerContext
    ) -> Iterator[claim_pb2.EvaluateClaimsResponse]:
        who = caller(context)
        for index, request in stream_items(context, request_iterator, self.runtime.max_stream_items):
            try:
                result = self._evaluate(request, context, who, "EvaluateClaims")
                yield claim_pb2.EvaluateClaimsResponse(index=index, result=result)
            except ServiceError as e:
                yield claim_pb2.EvaluateClaimsResponse(index=index, error=item_error(e))
