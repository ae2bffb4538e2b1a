"""QuotaService over gRPC: GetProgress, the filing-quota and milestone report (thin: the request -> `Methods`)."""

from __future__ import annotations

from typing import Any

from ruralpost.service.api.methods import Methods
from ruralpost.v1 import progress_pb2, progress_pb2_grpc


class QuotaServicer(progress_pb2_grpc.QuotaServiceServicer):
    def __init__(self, methods: Methods) -> None:
        self.methods = methods

    async def GetProgress(
        self, request: progress_pb2.GetProgressRequest, context: Any
    ) -> progress_pb2.GetProgressResponse:
        return await self.methods.get_progress(request)
