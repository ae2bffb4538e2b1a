"""The per-call logic of the four services, shared by every door: validate -> scope -> domain ->
record. The gRPC servicers, the HTTP door's Connect services and the web console await these
within the gate's call (`call.current()`); none of them decides anything itself, so no rule or
check exists twice, and each stream method has one loop.

Where the work runs is decided here, by whether it can wait. All doors share one event loop: work
that only computes (a station check against a SQLite registry reads a local file, and WAL readers
never wait for a writer; ListRules reads memory) runs right on it, with no hand-off to a pool
thread and back, which under load cost more than the check itself. Work that may wait (a
PostgreSQL round trip, registering a station, a claim and its commit, a progress report over the
whole registry, a rule reload running the golden cases) runs on the pool (`offload.py`), so the
loop keeps serving while it waits.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import AsyncGenerator, AsyncIterator
from typing import Any

from google.protobuf.message import Message

from ruralpost.service import names
from ruralpost.service.api.auth import require_commit_right, require_operator, scope
from ruralpost.service.api.call import Call, current
from ruralpost.service.api.decisions import record
from ruralpost.service.api.offload import Offload
from ruralpost.service.api.streams import answered_ahead, item_error, stream_items
from ruralpost.service.claims.commit import Decision, Reached, decide
from ruralpost.service.digest import digest
from ruralpost.service.errors import FailedPrecondition, FieldViolation, InvalidArgument, ServiceError
from ruralpost.service.progress.report import progress_report, registry_members, request_members
from ruralpost.service.progress.validate import validate_progress_request
from ruralpost.service.refdata.load import TABLES
from ruralpost.service.rulebook.packs import RulebookError
from ruralpost.service.runtime import ReferenceRefused, Runtime
from ruralpost.service.stations.check import CodeIndex, check
from ruralpost.service.stations.validate import validate_station_request
from ruralpost.service.store import ReferenceVersion, SignCodeAward, VersionConflict
from ruralpost.service.verdicts import BASIS, SEVERITY, citation
from ruralpost.v1 import claim_pb2, common_pb2, progress_pb2, reference_pb2, rules_pb2, station_pb2

StationRequest = station_pb2.CheckStationRequest | station_pb2.CheckStationsRequest
# A verdict's outcome as the decision log names it (the enum's Name() is Python code, per call)
OUTCOME_NAMES = {v.number: v.name for v in common_pb2.Outcome.DESCRIPTOR.values}
ClaimRequest = claim_pb2.EvaluateClaimRequest | claim_pb2.EvaluateClaimsRequest


class Methods:
    def __init__(self, runtime: Runtime, offload: Offload) -> None:
        self.runtime = runtime
        self.offload = offload
        # A registry read from PostgreSQL is a network round trip; from SQLite a local file read.
        self.registry_waits = not runtime.store.is_sqlite

    # ---- StationService

    def _check_waits(self, request: StationRequest) -> bool:
        return self.registry_waits or request.register

    def _check(
        self, request: StationRequest, call: Call, method: str, batch: CodeIndex | None = None
    ) -> common_pb2.Verdict:
        valid = validate_station_request(request.HasField("station"), request.station, request.as_of, request.register)
        require_operator(call.caller, request.station.operator, "station")
        ruleset = self.runtime.rules.current
        verdict = check(
            ruleset,
            self.runtime.store,
            request.station,
            valid.as_of,
            request.register,
            batch,
            valid.dates,
            detail=scope(call.caller) is None,
        )
        station_id = request.station.station_id
        self._record_verdict(
            call, "station", method, station_id, request, verdict, ruleset.version, verdict.evaluated_as_of
        )
        return verdict

    def _record_verdict(
        self,
        call: Call,
        subject: str,
        method: str,
        subject_id: str,
        request: Message,
        verdict: common_pb2.Verdict,
        ruleset_version: str,
        as_of: str,
        reference_version: str = "",
    ) -> None:
        """The decision-log row of a station's or the programme's verdict (the programme's hub is
        judged by the reference data's brand table: its version is kept too)."""
        record(
            self.runtime,
            subject=subject,
            method=method,
            subject_id=subject_id,
            who=call.who,
            input_digest=digest(request),
            outcome=OUTCOME_NAMES[verdict.outcome],
            rule_ids=[r.rule_id for r in verdict.reasons],
            ruleset_version=ruleset_version,
            as_of=as_of,
            reference_version=reference_version,
        )

    async def check_station(self, request: station_pb2.CheckStationRequest) -> station_pb2.CheckStationResponse:
        call = current()
        if self._check_waits(request):
            verdict = await self.offload(self._check, request, call, "CheckStation")
        else:
            verdict = self._check(request, call, "CheckStation")
        return station_pb2.CheckStationResponse(verdict=verdict)

    def check_stations(
        self, requests: AsyncIterator[station_pb2.CheckStationsRequest]
    ) -> AsyncIterator[station_pb2.CheckStationsResponse]:
        """Each item's verdict, or its own error and the stream goes on; the codes of the
        stream's earlier items count too (一县一编号 within the batch). The next items are checked
        while one is sent (`answered_ahead`)."""
        return answered_ahead(self._check_stations(requests))

    async def _check_stations(
        self, requests: AsyncIterator[station_pb2.CheckStationsRequest]
    ) -> AsyncGenerator[station_pb2.CheckStationsResponse, None]:
        call = current()
        batch = CodeIndex(self.runtime.rules.current)
        async for index, request in stream_items(call, requests, self.runtime.max_stream_items):
            if self._check_waits(request):
                yield await self.offload(self._check_stations_item, batch, index, request, call)
            else:
                yield self._check_stations_item(batch, index, request, call)

    def _check_stations_item(
        self, batch: CodeIndex, index: int, request: station_pb2.CheckStationsRequest, call: Call
    ) -> station_pb2.CheckStationsResponse:
        try:
            verdict = self._check(request, call, "CheckStations", batch)
            return station_pb2.CheckStationsResponse(index=index, verdict=verdict)
        except ServiceError as e:
            return station_pb2.CheckStationsResponse(index=index, error=item_error(e))

    async def resolve_sign_code(
        self, request: station_pb2.ResolveSignCodeRequest
    ) -> station_pb2.ResolveSignCodeResponse:
        """The county's decision on a disputed sign code (admins; a store write: on the pool)."""
        return await self.offload(self._resolve_sign_code, request, current())

    def _resolve_sign_code(
        self, request: station_pb2.ResolveSignCodeRequest, call: Call
    ) -> station_pb2.ResolveSignCodeResponse:
        programme = self.runtime.rules.current.book.programme
        company = programme.names.company
        county = programme.county_code_of(request.county) or request.county.strip()
        code, operator, reason = names.code(request.sign_code), company(request.operator), request.reason.strip()
        store = self.runtime.store
        holders = [(company(op), sid) for op, sid in store.sign_code_holders(county, code)] if county and code else []
        problems = [
            FieldViolation(field, text)
            for field, bad, text in (
                ("county", not county, "请填写所在县 (the county is required)"),
                ("sign_code", not code, "请填写标识牌编号 (the sign code is required)"),
                ("operator", not operator, "请填写获裁定的运营企业 (the operator awarded the code is required)"),
                ("reason", not reason, "请说明裁定理由 (say why the county decides so)"),
            )
            if bad
        ]
        if not problems and all(op != operator for op, _ in holders):
            shown = "、".join(dict.fromkeys(op or "（未填运营企业）" for op, _ in holders)) or "（无）"
            place = f"{programme.county_name}（{county}）" if county == programme.county_code else county
            problems.append(
                FieldViolation(
                    "operator",
                    f"{operator}在{place}没有登记使用编号{code}的站点；登记使用此编号的运营企业：{shown} "
                    f"(no registered station of {operator} shows {code} in {place}; operators whose "
                    f"stations show it: {shown})",
                )
            )
        if problems:
            raise InvalidArgument(problems)
        before = store.sign_code_awards(county, code)
        award = store.award_sign_code(county, code, operator, call.who, reason)
        return station_pb2.ResolveSignCodeResponse(
            award=_award(award),
            previous=_award(before[-1]) if before else None,
            holders=[station_pb2.SignCodeHolder(operator=op, station_id=sid) for op, sid in holders],
        )

    # ---- SubsidyService (a claim reads the ledger and may commit to it: always on the pool)

    def _decide(self, request: ClaimRequest, call: Call, method: str) -> Decision:
        # Operators dry-run their own claims; approvers and admins commit.
        require_operator(call.caller, request.claim.operator, "claim")
        if request.commit:
            require_commit_right(call.caller)
        self.runtime.rules.refresh()  # another replica's newer reference data, every few seconds
        d = decide(
            self.runtime.rules.current,
            self.runtime.store.ledger,
            self.runtime.store.stations_with_codes,
            request.HasField("claim"),
            request.claim,
            request.commit,
            request.accept_provisional_rates,
            scope(call.caller),
        )
        response = d.response
        record(
            self.runtime,
            subject="claim",
            method=method if d.how is Reached.DRY_RUN else f"{method}:{d.how}",
            subject_id=request.claim.claim_id,
            who=call.who,
            input_digest=d.digest,
            outcome=claim_pb2.ClaimOutcome.Name(response.outcome),
            rule_ids=d.rule_ids,
            ruleset_version=response.ruleset_version,
            as_of=d.as_of,
            reference_version=response.reference_version,
        )
        return d

    async def decide_claim(self, request: ClaimRequest) -> Decision:
        """The claim's decision, with `how` it was reached (dry run, committed now, stored answer)."""
        return await self.offload(self._decide, request, current(), "EvaluateClaim")

    async def evaluate_claim(self, request: claim_pb2.EvaluateClaimRequest) -> claim_pb2.EvaluateClaimResponse:
        return (await self.decide_claim(request)).response

    async def evaluate_claims(
        self, requests: AsyncIterator[claim_pb2.EvaluateClaimsRequest]
    ) -> AsyncIterator[claim_pb2.EvaluateClaimsResponse]:
        """Each item's result, or its own error and the stream goes on."""
        call = current()
        async for index, request in stream_items(call, requests, self.runtime.max_stream_items):
            yield await self.offload(self._evaluate_claims_item, index, request, call)

    def _evaluate_claims_item(
        self, index: int, request: claim_pb2.EvaluateClaimsRequest, call: Call
    ) -> claim_pb2.EvaluateClaimsResponse:
        try:
            result = self._decide(request, call, "EvaluateClaims").response
            return claim_pb2.EvaluateClaimsResponse(index=index, result=result)
        except ServiceError as e:
            return claim_pb2.EvaluateClaimsResponse(index=index, error=item_error(e))

    # ---- QuotaService (the report reads the whole registry: on the pool)

    async def get_progress(self, request: progress_pb2.GetProgressRequest) -> progress_pb2.GetProgressResponse:
        return await self.offload(self._get_progress, request, current())

    def _get_progress(self, request: progress_pb2.GetProgressRequest, call: Call) -> progress_pb2.GetProgressResponse:
        self.runtime.rules.refresh()  # another replica's newer reference data: the hub's brand table
        ruleset = self.runtime.rules.current
        as_of = validate_progress_request(request, ruleset.book.programme.id)
        hub = request.hub if request.HasField("hub") else None
        members = (
            request_members(request.stations) if request.stations else registry_members(self.runtime.store.stations())
        )
        awards = self.runtime.store.awards_in_force()
        report = progress_report(ruleset, members, as_of, hub, lambda county, code: awards.get((county, code), ""))
        verdict = report.verdict
        self._record_verdict(
            call,
            "progress",
            "GetProgress",
            report.programme,
            request,
            verdict,
            ruleset.version,
            report.as_of,
            ruleset.reference.version,
        )
        return progress_pb2.GetProgressResponse(report=report)

    # ---- RulesService

    async def list_rules(self, request: rules_pb2.ListRulesRequest) -> rules_pb2.ListRulesResponse:
        """The active rule set (memory only: on the loop)."""
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

    async def reload_rules(self, request: rules_pb2.ReloadRulesRequest) -> rules_pb2.ReloadRulesResponse:
        """The rule folder again, if it loads and passes its golden cases (seconds: on the pool)."""
        return await self.offload(self._reload_rules)

    def _reload_rules(self) -> rules_pb2.ReloadRulesResponse:
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

    # ---- ReferenceDataService (reads and writes the store: on the pool)

    async def get_reference_data(
        self, request: reference_pb2.GetReferenceDataRequest
    ) -> reference_pb2.GetReferenceDataResponse:
        return await self.offload(self._get_reference_data, request)

    def _get_reference_data(
        self, request: reference_pb2.GetReferenceDataRequest
    ) -> reference_pb2.GetReferenceDataResponse:
        store, programme = self._reference_store()
        stored = store.get(programme, request.version)
        if stored is None or stored.tables is None:
            raise InvalidArgument(
                [FieldViolation("version", f"基础数据没有第 {request.version} 版 (no version {request.version})")]
            )
        data = {"version": stored.version, **stored.tables}
        return reference_pb2.GetReferenceDataResponse(
            programme=programme, info=_version_info(stored), data_json=json.dumps(data, ensure_ascii=False, indent=1)
        )

    async def list_reference_versions(
        self, request: reference_pb2.ListReferenceVersionsRequest
    ) -> reference_pb2.ListReferenceVersionsResponse:
        return await self.offload(self._list_reference_versions)

    def _list_reference_versions(self) -> reference_pb2.ListReferenceVersionsResponse:
        store, programme = self._reference_store()
        return reference_pb2.ListReferenceVersionsResponse(
            programme=programme, versions=[_version_info(v) for v in store.history(programme)]
        )

    async def replace_reference_table(
        self, request: reference_pb2.ReplaceReferenceTableRequest
    ) -> reference_pb2.ReplaceReferenceTableResponse:
        if request.table not in TABLES:
            raise InvalidArgument(
                [
                    FieldViolation(
                        "table", f"表名须为 {'、'.join(TABLES)} 之一 (table must be one of {', '.join(TABLES)})"
                    )
                ]
            )
        entries = _json(request.entries_json, "entries_json", list, "一个对象列表 (a list of objects)")
        info, previous, passed = await self.offload(
            self._replace_reference, {request.table: entries}, request.reason, current(), "entries_json"
        )
        return reference_pb2.ReplaceReferenceTableResponse(info=info, previous_version=previous, cases_passed=passed)

    async def import_reference_data(
        self, request: reference_pb2.ImportReferenceDataRequest
    ) -> reference_pb2.ImportReferenceDataResponse:
        data = _json(request.data_json, "data_json", dict, "一个以表名为键的对象 (an object of tables)")
        unknown = sorted(set(data) - {*TABLES, "version"})
        if unknown:
            raise InvalidArgument(
                [
                    FieldViolation(
                        "data_json",
                        f"未知的表 (unknown tables): {', '.join(unknown)}; 可用 (known): {', '.join(TABLES)}",
                    )
                ]
            )
        tables = {k: v for k, v in data.items() if k != "version"}
        info, previous, passed = await self.offload(
            self._replace_reference, tables, request.reason, current(), "data_json"
        )
        return reference_pb2.ImportReferenceDataResponse(info=info, previous_version=previous, cases_passed=passed)

    def _reference_store(self) -> tuple[Any, str]:
        self.runtime.rules.refresh()
        store = self.runtime.rules.references
        if store is None:  # a runtime without a store: tests of the rules alone
            raise FailedPrecondition("基础数据未存于数据库 (the reference data is not kept in a store)")
        return store, self.runtime.rules.current.reference.programme

    def _replace_reference(
        self, changes: dict[str, Any], reason: str, call: Call, field: str
    ) -> tuple[reference_pb2.ReferenceVersionInfo, int, int]:
        """The stored version, the one before and the golden cases passed; `field` is the
        request's field the data came in, named when the data is refused."""
        if not reason.strip():
            raise InvalidArgument([FieldViolation("reason", "请说明修改原因 (say why the data changes)")])
        self._reference_store()
        rules = self.runtime.rules
        previous = rules.reference_number
        kept = f"基础数据未修改，仍为第 {previous} 版 (the reference data is unchanged: version {previous} stays)"
        try:
            stored, passed = rules.replace_reference(changes, call.who, reason.strip())
        except ReferenceRefused as e:
            raise InvalidArgument([FieldViolation(field, f"{kept}: {e}")]) from None
        except VersionConflict:
            raise FailedPrecondition(
                f"{kept}: 另一修改刚刚保存，请重新读取后再改 (another change was just stored: read it and retry)"
            ) from None
        except RulebookError as e:
            raise FailedPrecondition(f"{kept}: 黄金用例未通过 (the golden cases fail with it): {e}") from None
        if self.runtime.on_reload is not None:
            self.runtime.on_reload()  # the other pre-forked workers take it at once
        return _version_info(stored), previous, passed


def _award(a: SignCodeAward) -> station_pb2.SignCodeAward:
    return station_pb2.SignCodeAward(
        county=a.county,
        sign_code=a.sign_code,
        operator=a.operator,
        author=a.author,
        reason=a.reason,
        awarded_at=_rfc3339(a.awarded_at),
    )


def _rfc3339(at: dt.datetime) -> str:
    return at.astimezone(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _version_info(v: ReferenceVersion) -> reference_pb2.ReferenceVersionInfo:
    return reference_pb2.ReferenceVersionInfo(
        version=v.version,
        content_hash=v.content_hash,
        author=v.author,
        reason=v.reason,
        created_at=_rfc3339(v.created_at),
    )


def _json(text: str, field: str, kind: type, expected: str) -> Any:
    """A JSON request field of the expected shape, or INVALID_ARGUMENT naming it."""
    try:
        value = json.loads(text)
    except ValueError as e:
        raise InvalidArgument([FieldViolation(field, f"不是有效的 JSON (not valid JSON): {e}")]) from None
    if not isinstance(value, kind):
        raise InvalidArgument([FieldViolation(field, f"须为{expected}")])
    return value
