"""QuotaService over gRPC: GetProgress, the filing-quota and milestone report (thin: the call -> `Methods`)."""

from __future__ import annotations

import grpc

from ruralpost.service.api.interceptors import call_from
from ruralpost.service.api.methods import Methods
from ruralpost.service.runtime import Runtime
from ruralpost.v1 import progress_pb2, progress_pb2_grpc


class QuotaServicer(progress_pb2_grpc.QuotaServiceServicer):
    def __init__(self, runtime: Runtime) -> None:
        self.methods = Methods(runtime)

    def GetProgress(
        self, request: progress_pb2.GetProgressRequest, context: grpc.ServicerContext
    ) -> progress_pb2.GetProgressResponse:
        return self.methods.get_progress(request, call_from(context))
