"""QuotaService over gRPC: GetProgress, the filing-quota and milestone report (thin: the call -> `Methods`).

The report reads the whole registry, so it runs on the pool (see `offload.py`).
"""

from __future__ import annotations

from ruralpost.service.api.interceptors import Context, call_from
from ruralpost.service.api.methods import Methods
from ruralpost.service.api.offload import Offload
from ruralpost.service.runtime import Runtime
from ruralpost.v1 import progress_pb2, progress_pb2_grpc


class QuotaServicer(progress_pb2_grpc.QuotaServiceServicer):
    def __init__(self, runtime: Runtime, offload: Offload) -> None:
        self.methods = Methods(runtime)
        self.offload = offload

    async def GetProgress(  # type: ignore[override]
        self, request: progress_pb2.GetProgressRequest, context: Context
    ) -> progress_pb2.GetProgressResponse:
        return await self.offload(self.methods.get_progress, request, call_from(context))
