"""QuotaService: GetProgress, the filing-quota and milestone report (thin: validate -> report -> record)."""

from __future__ import annotations

import grpc

from ruralpost.service.api.calls import caller, record
from ruralpost.service.digest import digest
from ruralpost.service.progress import report as progress
from ruralpost.service.progress.validate import check_progress_request
from ruralpost.service.runtime import Runtime
from ruralpost.v1 import common_pb2, progress_pb2, progress_pb2_grpc


class QuotaServicer(progress_pb2_grpc.QuotaServiceServicer):
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    def GetProgress(
        self, request: progress_pb2.GetProgressRequest, context: grpc.ServicerContext
    ) -> progress_pb2.GetProgressResponse:
        ruleset = self.runtime.rules.current
        as_of = check_progress_request(request, ruleset.book.programme.id)
        hub = request.hub if request.HasField("hub") else None
        members = (
            progress.request_members(request.stations)
            if request.stations
            else progress.registry_members(self.runtime.store.stations())
        )
        report = progress.report(ruleset, members, as_of, hub)
        verdict = report.verdict
        record(
            self.runtime,
            "progress",
            "GetProgress",
            report.programme,
            caller(context),
            digest(request),
            common_pb2.Outcome.Name(verdict.outcome),
            [r.rule_id for r in verdict.reasons],
            ruleset.version,
            report.as_of,
        )
        return progress_pb2.GetProgressResponse(report=report)
