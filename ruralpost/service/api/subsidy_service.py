"""SubsidyService over gRPC: EvaluateClaim and the EvaluateClaims stream (thin: the call -> `Methods`)."""

from __future__ import annotations

from collections.abc import Iterator

import grpc

from ruralpost.service.api.interceptors import call_from
from ruralpost.service.api.methods import Methods
from ruralpost.service.runtime import Runtime
from ruralpost.v1 import claim_pb2, claim_pb2_grpc


class SubsidyServicer(claim_pb2_grpc.SubsidyServiceServicer):
    def __init__(self, runtime: Runtime) -> None:
        self.methods = Methods(runtime)

    def EvaluateClaim(
        self, request: claim_pb2.EvaluateClaimRequest, context: grpc.ServicerContext
    ) -> claim_pb2.EvaluateClaimResponse:
        return self.methods.evaluate_claim(request, call_from(context))

    def EvaluateClaims(
        self, request_iterator: Iterator[claim_pb2.EvaluateClaimsRequest], context: grpc.ServicerContext
    ) -> Iterator[claim_pb2.EvaluateClaimsResponse]:
        return self.methods.evaluate_claims(request_iterator, call_from(context))
