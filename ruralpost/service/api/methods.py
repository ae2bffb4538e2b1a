"""The per-call logic of the four services, shared by every door: validate -> scope -> domain ->
record. The gRPC servicers, the HTTP door's Connect services and the web console call these with a
`Call`; none of them decides anything itself, so no rule or check exists twice.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from ruralpost.service.api.auth import require_commit_right, require_operator
from ruralpost.service.api.call import Call
from ruralpost.service.api.calls import item_error, record, stream_items
from ruralpost.service.claims.commit import Decision, decide
from ruralpost.service.digest import digest
from ruralpost.service.errors import FailedPrecondition, ServiceError
from ruralpost.service.progress import report as progress
from ruralpost.service.progress.validate import check_progress_request
from ruralpost.service.rulebook.packs import RulebookError
from ruralpost.service.runtime import Runtime
from ruralpost.service.stations.check import CodeIndex, check
from ruralpost.service.stations.validate import check_station_request
from ruralpost.service.verdicts import BASIS, SEVERITY, citation
from ruralpost.v1 import claim_pb2, common_pb2, progress_pb2, rules_pb2, station_pb2

StationRequest = station_pb2.CheckStationRequest | station_pb2.CheckStationsRequest
ClaimRequest = claim_pb2.EvaluateClaimRequest | claim_pb2.EvaluateClaimsRequest


class Methods:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    # ---- StationService

    def _check(
        self, request: StationRequest, call: Call, method: str, batch: CodeIndex | None = None
    ) -> common_pb2.Verdict:
        as_of = check_station_request(request.HasField("station"), request.station, request.as_of, request.register)
        require_operator(call.caller, request.station.operator, "station")
        ruleset = self.runtime.rules.current
        verdict = check(ruleset, self.runtime.store, request.station, as_of, request.register, batch)
        record(
            self.runtime,
            "station",
            method,
            request.station.station_id,
            call.who,
            digest(request),
            common_pb2.Outcome.Name(verdict.outcome),
            [r.rule_id for r in verdict.reasons],
            ruleset.version,
            verdict.evaluated_as_of,
        )
        return verdict

    def check_station(self, request: station_pb2.CheckStationRequest, call: Call) -> station_pb2.CheckStationResponse:
        return station_pb2.CheckStationResponse(verdict=self._check(request, call, "CheckStation"))

    def check_stations(
        self, requests: Iterable[station_pb2.CheckStationsRequest], call: Call
    ) -> Iterator[station_pb2.CheckStationsResponse]:
        batch = self.station_batch()
        for index, request in stream_items(call, iter(requests), self.runtime.max_stream_items):
            yield self.check_stations_item(batch, index, request, call)

    def station_batch(self) -> CodeIndex:
        """The codes of a stream's earlier items: 一县一编号 within the batch."""
        return CodeIndex(self.runtime.rules.current)

    def check_stations_item(
        self, batch: CodeIndex, index: int, request: station_pb2.CheckStationsRequest, call: Call
    ) -> station_pb2.CheckStationsResponse:
        """One item of a CheckStations stream: its verdict, or its own error and the stream goes on."""
        try:
            verdict = self._check(request, call, "CheckStations", batch)
            return station_pb2.CheckStationsResponse(index=index, verdict=verdict)
        except ServiceError as e:
            return station_pb2.CheckStationsResponse(index=index, error=item_error(e))

    # ---- SubsidyService

    def decide_claim(self, request: ClaimRequest, call: Call, method: str = "EvaluateClaim") -> Decision:
        """The claim's decision, with `how` it was reached (dry run, committed now, stored answer)."""
        # Operators dry-run their own claims; approvers and admins commit.
        require_operator(call.caller, request.claim.operator, "claim")
        if request.commit:
            require_commit_right(call.caller)
        d = decide(
            self.runtime.rules.current,
            self.runtime.store.ledger,
            self.runtime.store.stations_with_codes,
            request.HasField("claim"),
            request.claim,
            request.commit,
            request.accept_provisional_rates,
        )
        response = d.response
        record(
            self.runtime,
            "claim",
            f"{method}:{d.how}" if d.how else method,
            request.claim.claim_id,
            call.who,
            d.digest,
            claim_pb2.ClaimOutcome.Name(response.outcome),
            d.rule_ids,
            response.ruleset_version,
            d.as_of,
            response.reference_version,
        )
        return d

    def evaluate_claim(self, request: claim_pb2.EvaluateClaimRequest, call: Call) -> claim_pb2.EvaluateClaimResponse:
        return self.decide_claim(request, call).response

    def evaluate_claims(
        self, requests: Iterable[claim_pb2.EvaluateClaimsRequest], call: Call
    ) -> Iterator[claim_pb2.EvaluateClaimsResponse]:
        for index, request in stream_items(call, iter(requests), self.runtime.max_stream_items):
            yield self.evaluate_claims_item(index, request, call)

    def evaluate_claims_item(
        self, index: int, request: claim_pb2.EvaluateClaimsRequest, call: Call
    ) -> claim_pb2.EvaluateClaimsResponse:
        """One item of an EvaluateClaims stream: its result, or its own error and the stream goes on."""
        try:
            result = self.decide_claim(request, call, "EvaluateClaims").response
            return claim_pb2.EvaluateClaimsResponse(index=index, result=result)
        except ServiceError as e:
            return claim_pb2.EvaluateClaimsResponse(index=index, error=item_error(e))

    # ---- QuotaService

    def get_progress(self, request: progress_pb2.GetProgressRequest, call: Call) -> progress_pb2.GetProgressResponse:
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
            call.who,
            digest(request),
            common_pb2.Outcome.Name(verdict.outcome),
            [r.rule_id for r in verdict.reasons],
            ruleset.version,
            report.as_of,
        )
        return progress_pb2.GetProgressResponse(report=report)

    # ---- RulesService

    def list_rules(self, request: rules_pb2.ListRulesRequest, call: Call) -> rules_pb2.ListRulesResponse:
        book = self.runtime.rules.current.book
        subject = request.subject.strip()
        return rules_pb2.ListRulesResponse(
            rules=[
                rules_pb2.RuleInfo(
                    rule_id=r.id,
                    subject=r.subject,
                    severity=SEVERITY[r.severity],
                    description=r.description,
                    citation=citation(r),
                    effective_from=r.effective_from,
                    effective_to=r.effective_to,
                    basis=BASIS[r.basis],
                )
                for r in sorted(book.rules.values(), key=lambda r: r.order)
                if not subject or r.subject == subject
            ],
            ruleset_version=book.version,
        )

    def reload_rules(self, request: rules_pb2.ReloadRulesRequest, call: Call) -> rules_pb2.ReloadRulesResponse:
        previous = self.runtime.rules.current.version
        try:
            ruleset, passed = self.runtime.rules.reload()
        except RulebookError as e:
            raise FailedPrecondition(f"规则未重新加载，仍使用 {previous}: {e}") from None
        if self.runtime.on_reload is not None:
            self.runtime.on_reload()
        return rules_pb2.ReloadRulesResponse(
            ruleset_version=ruleset.version, previous_version=previous, cases_passed=passed
        )
