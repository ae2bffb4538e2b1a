"""QuotaService: GetProgress, the filing-quota and milestone report (service/progress/report.py)."""

from __future__ import annotations

import grpc

from ruralpost.service import validate
from ruralpost.service.api.calls import Runtime, caller, digest, record, unary
from ruralpost.service.progress import report as progress
from ruralpost.v1 import common_pb2, progress_pb2, progress_pb2_grpc, station_pb2


class QuotaServicer(progress_pb2_grpc.QuotaServiceServicer):
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    def _members(self, request: progress_pb2.GetProgressRequest) -> list[progress.Member]:
        """The request's stations, or the registry's when the request gives none."""
        if request.stations:
            return progress.request_members(request.stations)
        return [progress.registry_member(station_pb2.Station.FromString(row.station), row.operator,
                                         row.station_id)
                for row in self.runtime.store.stations()]

    def GetProgress(self, request: progress_pb2.GetProgressRequest,
                    context: grpc.ServicerContext) -> progress_pb2.GetProgressResponse:
        def work() -> progress_pb2.GetProgressResponse:
            ruleset = self.runtime.rules.current
            as_of = validate.check_progress_request(request, ruleset.book.programme.id)
            hub = request.hub if request.HasField("hub") else None
            report = progress.report(ruleset, self._members(request), as_of, hub)
            verdict = report.verdict
            outcome, rule_ids = common_pb2.Outcome.Name(verdict.outcome), [r.rule_id for r in verdict.reasons]
            record(self.runtime, "progress", "GetProgress", report.programme, caller(context), digest(request),
                   outcome, rule_ids, ruleset.version, report.as_of)
            return progress_pb2.GetProgressResponse(report=report)

        return unary(context, work)
