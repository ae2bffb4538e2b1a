"""SubsidyService over gRPC: EvaluateClaim and the EvaluateClaims stream (thin: the request -> `Methods`)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from ruralpost.service.api.methods import Methods
from ruralpost.v1 import claim_pb2, claim_pb2_grpc


class SubsidyServicer(claim_pb2_grpc.SubsidyServiceServicer):
    def __init__(self, methods: Methods) -> None:
        self.methods = methods

    async def EvaluateClaim(
        self, request: claim_pb2.EvaluateClaimRequest, context: Any
    ) -> claim_pb2.EvaluateClaimResponse:
        return await self.methods.evaluate_claim(request)

    async def EvaluateClaims(
        self, request_iterator: AsyncIterator[claim_pb2.EvaluateClaimsRequest], context: Any
    ) -> AsyncIterator[claim_pb2.EvaluateClaimsResponse]:
        async for response in self.methods.evaluate_claims(request_iterator):
            yield response
