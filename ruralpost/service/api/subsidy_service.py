"""SubsidyService over gRPC: EvaluateClaim and the EvaluateClaims stream (thin: the call -> `Methods`).

A claim reads the ledger and may commit to it, so its work runs on the pool (see `offload.py`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from ruralpost.service.api.calls import stream_items_async
from ruralpost.service.api.interceptors import Context, call_from
from ruralpost.service.api.methods import Methods
from ruralpost.service.api.offload import Offload
from ruralpost.service.runtime import Runtime
from ruralpost.v1 import claim_pb2, claim_pb2_grpc


class SubsidyServicer(claim_pb2_grpc.SubsidyServiceServicer):
    def __init__(self, runtime: Runtime, offload: Offload) -> None:
        self.methods = Methods(runtime)
        self.offload = offload

    async def EvaluateClaim(  # type: ignore[override]
        self, request: claim_pb2.EvaluateClaimRequest, context: Context
    ) -> claim_pb2.EvaluateClaimResponse:
        return await self.offload(self.methods.evaluate_claim, request, call_from(context))

    async def EvaluateClaims(  # type: ignore[override]
        self, request_iterator: AsyncIterator[claim_pb2.EvaluateClaimsRequest], context: Context
    ) -> AsyncIterator[claim_pb2.EvaluateClaimsResponse]:
        call = call_from(context)
        limit = self.methods.runtime.max_stream_items
        async for index, request in stream_items_async(call, request_iterator, limit):
            yield await self.offload(self.methods.evaluate_claims_item, index, request, call)
