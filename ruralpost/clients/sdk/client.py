"""RuralpostClient: the way Python systems call the ruralpost service.

One channel per client, TLS and a bearer token when configured, a deadline on every unary call,
and retries with exponential backoff on UNAVAILABLE only (a server restarting, a replica draining).
Every other status is the service's answer and is raised at once as a `RuralpostError`.

Streams (`check_stations`, `evaluate_claims`) resume after UNAVAILABLE: requests sent but not yet
answered are kept (a window bounded by flow control) and sent again on a new stream; the caller sees
one answer per request, in order, with `index` counting from the first request.
"""

from __future__ import annotations

import json
import logging
import random
import threading
import time
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, Protocol, TypeVar

import grpc

from ruralpost.clients.sdk.errors import RuralpostError
from ruralpost.limits import MAX_MESSAGE_BYTES
from ruralpost.v1 import (
    claim_pb2,
    claim_pb2_grpc,
    common_pb2,
    progress_pb2,
    progress_pb2_grpc,
    reference_pb2,
    reference_pb2_grpc,
    rules_pb2,
    rules_pb2_grpc,
    station_pb2,
    station_pb2_grpc,
)

log = logging.getLogger(__name__)

DEFAULT_TARGET = "127.0.0.1:50051"

Req = TypeVar("Req")
Resp = TypeVar("Resp")


class _Indexed(Protocol):
    index: int


Indexed = TypeVar("Indexed", bound=_Indexed)


@dataclass(frozen=True)
class ClientOptions:
    """How to reach the service. Defaults suit a local server; production sets TLS and a token."""

    target: str = DEFAULT_TARGET
    timeout: float = 30.0  # deadline of a unary call, retries included
    stream_timeout: float | None = None  # deadline of one stream attempt; None: none
    attempts: int = 5  # tries on UNAVAILABLE, the first included
    backoff_initial: float = 0.2  # seconds before the second try; doubles, with jitter
    backoff_max: float = 5.0
    tls: bool = False  # TLS with the system's roots (or `root_cert`)
    root_cert: Path | None = None  # PEM file of the CA that signed the server; implies TLS
    token: str | None = None  # sent as `authorization: Bearer <token>`
    extra_metadata: tuple[tuple[str, str], ...] = field(default_factory=tuple)


def _backoff(options: ClientOptions, attempt: int) -> float:
    """Exponential backoff with full jitter in its upper half, so retrying clients spread out."""
    delay = min(options.backoff_initial * (2**attempt), options.backoff_max)
    return float(delay * random.uniform(0.5, 1.0))


class _Feed:
    """One stream attempt's requests: the unanswered ones first, then new ones from the source.

    gRPC pulls requests on its own thread; the lock makes "closed?", "pull" and "remember" one step,
    so a dead attempt never takes a request the next attempt would miss.
    """

    def __init__(self, source: Iterator[Any], pending: deque[Any], lock: threading.Lock) -> None:
        self._source = source
        self._pending = pending
        self._lock = lock
        self._replay = deque(pending)
        self._closed = False
        self.failure: BaseException | None = None

    def __iter__(self) -> _Feed:
        return self

    def __next__(self) -> Any:
        with self._lock:
            if self._closed:
                raise StopIteration
            if self._replay:
                return self._replay.popleft()
            try:
                item = next(self._source)
            except StopIteration:
                raise
            except BaseException as e:  # surfaced on the caller's thread, not lost in gRPC's
                self.failure = e
                self._closed = True
                raise StopIteration from None
            self._pending.append(item)
            return item

    def close(self) -> None:
        with self._lock:
            self._closed = True


class RuralpostClient:
    """A typed client of StationService, SubsidyService, QuotaService, RulesService and ReferenceDataService.

    Use it as a context manager (it owns a channel) or pass your own `channel`.
    """

    def __init__(self, options: ClientOptions | None = None, channel: grpc.Channel | None = None) -> None:
        self.options = options or ClientOptions()
        self._own_channel = channel is None
        self.retries = 0  # how many times a call or stream was tried again
        self.channel = channel or self._open_channel()
        metadata = list(self.options.extra_metadata)
        if self.options.token:
            metadata.append(("authorization", f"Bearer {self.options.token}"))
        self._metadata = tuple(metadata)
        # Each method's type, spelled out once here (the mypy-protobuf stubs agree).
        stations = station_pb2_grpc.StationServiceStub(self.channel)
        subsidy = claim_pb2_grpc.SubsidyServiceStub(self.channel)
        quota = progress_pb2_grpc.QuotaServiceStub(self.channel)
        rules = rules_pb2_grpc.RulesServiceStub(self.channel)
        self._check_station: grpc.UnaryUnaryMultiCallable[
            station_pb2.CheckStationRequest, station_pb2.CheckStationResponse
        ] = stations.CheckStation
        self._check_stations: grpc.StreamStreamMultiCallable[
            station_pb2.CheckStationsRequest, station_pb2.CheckStationsResponse
        ] = stations.CheckStations
        self._resolve_sign_code: grpc.UnaryUnaryMultiCallable[
            station_pb2.ResolveSignCodeRequest, station_pb2.ResolveSignCodeResponse
        ] = stations.ResolveSignCode
        self._evaluate_claim: grpc.UnaryUnaryMultiCallable[
            claim_pb2.EvaluateClaimRequest, claim_pb2.EvaluateClaimResponse
        ] = subsidy.EvaluateClaim
        self._evaluate_claims: grpc.StreamStreamMultiCallable[
            claim_pb2.EvaluateClaimsRequest, claim_pb2.EvaluateClaimsResponse
        ] = subsidy.EvaluateClaims
        self._get_progress: grpc.UnaryUnaryMultiCallable[
            progress_pb2.GetProgressRequest, progress_pb2.GetProgressResponse
        ] = quota.GetProgress
        self._list_rules: grpc.UnaryUnaryMultiCallable[rules_pb2.ListRulesRequest, rules_pb2.ListRulesResponse] = (
            rules.ListRules
        )
        reference = reference_pb2_grpc.ReferenceDataServiceStub(self.channel)
        self._get_reference: grpc.UnaryUnaryMultiCallable[
            reference_pb2.GetReferenceDataRequest, reference_pb2.GetReferenceDataResponse
        ] = reference.GetReferenceData
        self._list_reference: grpc.UnaryUnaryMultiCallable[
            reference_pb2.ListReferenceVersionsRequest, reference_pb2.ListReferenceVersionsResponse
        ] = reference.ListReferenceVersions
        self._replace_reference: grpc.UnaryUnaryMultiCallable[
            reference_pb2.ReplaceReferenceTableRequest, reference_pb2.ReplaceReferenceTableResponse
        ] = reference.ReplaceReferenceTable
        self._import_reference: grpc.UnaryUnaryMultiCallable[
            reference_pb2.ImportReferenceDataRequest, reference_pb2.ImportReferenceDataResponse
        ] = reference.ImportReferenceData

    def _open_channel(self) -> grpc.Channel:
        o = self.options
        channel_options = [
            ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
            ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
        ]
        if o.tls or o.root_cert:
            roots = o.root_cert.read_bytes() if o.root_cert else None
            return grpc.secure_channel(
                o.target, grpc.ssl_channel_credentials(root_certificates=roots), options=channel_options
            )
        return grpc.insecure_channel(o.target, options=channel_options)

    def close(self) -> None:
        if self._own_channel:
            self.channel.close()

    def __enter__(self) -> RuralpostClient:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    # ---- the calls

    def check_station(
        self, station: station_pb2.Station, as_of: str = "", register: bool = False, timeout: float | None = None
    ) -> common_pb2.Verdict:
        """One station's verdict; `register` stores it in the county registry."""
        request = station_pb2.CheckStationRequest(station=station, as_of=as_of, register=register)
        return self._unary(self._check_station, request, timeout).verdict

    def check_stations(
        self, requests: Iterable[station_pb2.CheckStationsRequest]
    ) -> Iterator[station_pb2.CheckStationsResponse]:
        """One answer per request, in order, read lazily from `requests` (memory stays bounded)."""
        return self._stream(self._check_stations, requests)

    def evaluate_claim(
        self,
        claim: claim_pb2.Claim,
        commit: bool = False,
        timeout: float | None = None,
        accept_provisional_rates: bool = False,
    ) -> claim_pb2.EvaluateClaimResponse:
        """A dry run by default; `commit` records the eligible waybills as paid (idempotent per id).
        A commit whose amount rests on provisional rates needs `accept_provisional_rates`."""
        request = claim_pb2.EvaluateClaimRequest(
            claim=claim, commit=commit, accept_provisional_rates=accept_provisional_rates
        )
        return self._unary(self._evaluate_claim, request, timeout)

    def evaluate_claims(
        self, requests: Iterable[claim_pb2.EvaluateClaimsRequest]
    ) -> Iterator[claim_pb2.EvaluateClaimsResponse]:
        return self._stream(self._evaluate_claims, requests)

    def get_progress(
        self,
        as_of: str = "",
        stations: Iterable[station_pb2.Station] = (),
        programme: str = "",
        hub: progress_pb2.CountyHub | None = None,
        timeout: float | None = None,
    ) -> progress_pb2.ProgressReport:
        """Progress per township; with no `stations`, of the stations in the registry."""
        request = progress_pb2.GetProgressRequest(programme=programme, as_of=as_of, stations=list(stations))
        if hub is not None:
            request.hub.CopyFrom(hub)
        return self._unary(self._get_progress, request, timeout).report

    def list_rules(self, subject: str = "", timeout: float | None = None) -> rules_pb2.ListRulesResponse:
        return self._unary(self._list_rules, rules_pb2.ListRulesRequest(subject=subject), timeout)

    def resolve_sign_code(
        self, county: str, sign_code: str, operator: str, reason: str, timeout: float | None = None
    ) -> station_pb2.ResolveSignCodeResponse:
        """Admins: records the county's decision that a disputed sign code is `operator`'s."""
        request = station_pb2.ResolveSignCodeRequest(
            county=county, sign_code=sign_code, operator=operator, reason=reason
        )
        return self._unary(self._resolve_sign_code, request, timeout)

    # ---- reference data (read: every role; change: admin)

    def get_reference_data(self, version: int = 0, timeout: float | None = None) -> dict[str, Any]:
        """The JSON form of a version of the reference data (0: the current one), with its `version`."""
        response = self._unary(self._get_reference, reference_pb2.GetReferenceDataRequest(version=version), timeout)
        data: dict[str, Any] = json.loads(response.data_json)
        return data

    def list_reference_versions(self, timeout: float | None = None) -> reference_pb2.ListReferenceVersionsResponse:
        return self._unary(self._list_reference, reference_pb2.ListReferenceVersionsRequest(), timeout)

    def replace_reference_table(
        self, table: str, entries: list[dict[str, Any]], reason: str, timeout: float | None = None
    ) -> reference_pb2.ReplaceReferenceTableResponse:
        request = reference_pb2.ReplaceReferenceTableRequest(
            table=table, entries_json=json.dumps(entries, ensure_ascii=False), reason=reason
        )
        return self._unary(self._replace_reference, request, timeout)

    def import_reference_data(
        self, data: dict[str, Any], reason: str, timeout: float | None = None
    ) -> reference_pb2.ImportReferenceDataResponse:
        """Replaces the tables `data` names (JSON form) whole, in one new version."""
        request = reference_pb2.ImportReferenceDataRequest(
            data_json=json.dumps(data, ensure_ascii=False), reason=reason
        )
        return self._unary(self._import_reference, request, timeout)

    # ---- retries

    def _retrying(self, error: RuralpostError, pause: float, resend: int = 0) -> None:
        self.retries += 1
        log.warning(
            "%s unavailable (%s); trying again in %.2fs%s",
            self.options.target,
            error.message,
            pause,
            f", sending {resend} unanswered requests again" if resend else "",
        )

    def _unary(self, method: grpc.UnaryUnaryMultiCallable[Req, Resp], request: Req, timeout: float | None) -> Resp:
        budget = timeout if timeout is not None else self.options.timeout
        deadline = time.monotonic() + budget
        attempt = 0
        while True:
            remaining = deadline - time.monotonic()
            try:
                response: Resp = method(request, timeout=max(remaining, 0.001), metadata=self._metadata)
                return response
            except grpc.RpcError as e:
                error = RuralpostError.from_rpc_error(e)
            attempt += 1
            pause = _backoff(self.options, attempt - 1)
            if (
                error.code != grpc.StatusCode.UNAVAILABLE
                or attempt >= self.options.attempts
                or time.monotonic() + pause >= deadline
            ):
                raise error
            self._retrying(error, pause)
            time.sleep(pause)

    def _stream(
        self, method: grpc.StreamStreamMultiCallable[Any, Indexed], requests: Iterable[Any]
    ) -> Iterator[Indexed]:
        source = iter(requests)
        pending: deque[Any] = deque()  # sent, not answered yet
        lock = threading.Lock()
        answered = 0
        failures = 0
        while True:
            feed = _Feed(source, pending, lock)
            call = method(feed, timeout=self.options.stream_timeout, metadata=self._metadata)
            finished = False
            try:
                for response in call:
                    pending.popleft()
                    response.index = answered
                    answered += 1
                    failures = 0  # progress made: the next outage gets every attempt again
                    yield response
                finished = True
            except grpc.RpcError as e:
                error = RuralpostError.from_rpc_error(e)
            finally:
                if not finished:  # failed, or the caller stopped reading: end this attempt
                    feed.close()
                    call.cancel()  # type: ignore[attr-defined, no-untyped-call, unused-ignore]
            if feed.failure is not None:
                raise feed.failure
            if finished:
                return
            failures += 1
            if error.code != grpc.StatusCode.UNAVAILABLE or failures >= self.options.attempts:
                raise error
            pause = _backoff(self.options, failures - 1)
            self._retrying(error, pause, len(pending))
            time.sleep(pause)


def connect(target: str = DEFAULT_TARGET, **options: Any) -> RuralpostClient:
    """Shorthand: `with connect("host:port", token=...) as client: ...`."""
    return RuralpostClient(ClientOptions(target=target, **options))
