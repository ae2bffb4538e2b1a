"""The HTTP door: the four services over the Connect protocol (and gRPC-Web), JSON or binary.

connectrpc's generated WSGI applications (`ruralpost/v1/*_connect.py`) do the protocol: paths,
the proto JSON mapping, envelopes, Connect error bodies. This module adds only what the gRPC door's
interceptor adds, through the same `Gate` (request id, bearer token, role, stream slot, metrics,
log) and the same `status.py` (every exception becomes a Connect error with gRPC's code, message
and google.rpc details), then hands the `Call` to the shared `Methods`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, NoReturn, TypeVar

from connectrpc.code import Code
from connectrpc.errors import ConnectError
from connectrpc.request import RequestContext
from google.protobuf import json_format
from google.protobuf.message import Message

from ruralpost.service.api import status
from ruralpost.service.api.call import Call, attach, call_of
from ruralpost.service.api.gate import Gate
from ruralpost.service.api.methods import Methods
from ruralpost.service.errors import ServiceError
from ruralpost.v1 import (
    claim_connect,
    claim_pb2,
    progress_connect,
    progress_pb2,
    rules_connect,
    rules_pb2,
    station_connect,
    station_pb2,
)

REQ = TypeVar("REQ")
RES = TypeVar("RES")
M = TypeVar("M", bound=Message)
WSGIApp = Callable[..., Any]


class JsonCodec:
    """Proto JSON as json_format writes it, with Chinese as characters rather than \\u escapes
    (people read these answers with curl)."""

    def name(self) -> str:
        return "json"

    def encode(self, message: Message) -> bytes:
        return json_format.MessageToJson(message, ensure_ascii=False).encode()

    def decode(self, data: bytes | bytearray, message: M) -> M:
        json_format.Parse(bytes(data), message)
        return message


class BinaryCodec:
    def name(self) -> str:
        return "proto"

    def encode(self, message: Message) -> bytes:
        return message.SerializeToString()

    def decode(self, data: bytes | bytearray, message: M) -> M:
        message.ParseFromString(bytes(data))
        return message


def _path(ctx: RequestContext[Any, Any]) -> str:
    method = ctx.method()
    return f"/{method.service_name}/{method.name}"


def _deadline(ctx: RequestContext[Any, Any]) -> Callable[[], bool]:
    def active() -> bool:
        left = ctx.timeout_ms()
        return left is None or left > 0

    return active


class GateInterceptor:
    """The Connect counterpart of the gRPC door's ServiceInterceptor, for unary and stream methods."""

    def __init__(self, gate: Gate) -> None:
        self.gate = gate

    def _open(self, ctx: RequestContext[Any, Any]) -> Call:
        headers = ctx.request_headers()
        call, error = self.gate.open(
            _path(ctx), ctx.client_address() or "unknown", headers.items(), is_active=_deadline(ctx)
        )
        ctx.response_headers()["x-request-id"] = call.request_id
        if error is not None:
            self._fail(call, error)
        attach(ctx, call)
        return call

    def _fail(self, call: Call, error: BaseException) -> NoReturn:
        self.gate.finish(call, error)
        raise status.connect_error(error, call.request_id) from None

    def _single(self, call_next: Callable[[Any, Any], RES], request: Any, ctx: RequestContext[Any, Any]) -> RES:
        call = self._open(ctx)
        try:
            response = call_next(request, ctx)
        except Exception as e:
            self._fail(call, e)
        self.gate.finish(call, None)
        return response

    def _stream(
        self, call_next: Callable[[Any, Any], Iterator[RES]], request: Any, ctx: RequestContext[Any, Any]
    ) -> Iterator[RES]:
        call = self._open(ctx)
        try:
            slot = self.gate.take_slot(call)
        except ServiceError as e:
            self._fail(call, e)
        try:
            yield from call_next(request, ctx)
        except Exception as e:
            self._fail(call, e)
        finally:
            self.gate.give_slot(slot)
        self.gate.finish(call, None)

    # Every kind of method goes through the gate, so a method added later cannot skip it.
    def intercept_unary_sync(
        self, call_next: Callable[[REQ, RequestContext[Any, Any]], RES], request: REQ, ctx: RequestContext[Any, Any]
    ) -> RES:
        return self._single(call_next, request, ctx)

    def intercept_client_stream_sync(
        self,
        call_next: Callable[[Iterator[REQ], RequestContext[Any, Any]], RES],
        request: Iterator[REQ],
        ctx: RequestContext[Any, Any],
    ) -> RES:
        return self._single(call_next, request, ctx)

    def intercept_server_stream_sync(
        self,
        call_next: Callable[[REQ, RequestContext[Any, Any]], Iterator[RES]],
        request: REQ,
        ctx: RequestContext[Any, Any],
    ) -> Iterator[RES]:
        return self._stream(call_next, request, ctx)

    def intercept_bidi_stream_sync(
        self,
        call_next: Callable[[Iterator[REQ], RequestContext[Any, Any]], Iterator[RES]],
        request: Iterator[REQ],
        ctx: RequestContext[Any, Any],
    ) -> Iterator[RES]:
        return self._stream(call_next, request, ctx)


def _call(ctx: RequestContext[Any, Any]) -> Call:
    found = call_of(ctx)
    if found is None:  # the interceptor always attaches one; without it nothing is authorised
        raise ConnectError(Code.INTERNAL, "no call context")
    return found


class StationConnect:
    def __init__(self, methods: Methods) -> None:
        self.methods = methods

    def check_station(
        self, request: station_pb2.CheckStationRequest, ctx: RequestContext[Any, Any]
    ) -> station_pb2.CheckStationResponse:
        return self.methods.check_station(request, _call(ctx))

    def check_stations(
        self, request: Iterator[station_pb2.CheckStationsRequest], ctx: RequestContext[Any, Any]
    ) -> Iterator[station_pb2.CheckStationsResponse]:
        return self.methods.check_stations(request, _call(ctx))


class SubsidyConnect:
    def __init__(self, methods: Methods) -> None:
        self.methods = methods

    def evaluate_claim(
        self, request: claim_pb2.EvaluateClaimRequest, ctx: RequestContext[Any, Any]
    ) -> claim_pb2.EvaluateClaimResponse:
        return self.methods.evaluate_claim(request, _call(ctx))

    def evaluate_claims(
        self, request: Iterator[claim_pb2.EvaluateClaimsRequest], ctx: RequestContext[Any, Any]
    ) -> Iterator[claim_pb2.EvaluateClaimsResponse]:
        return self.methods.evaluate_claims(request, _call(ctx))


class QuotaConnect:
    def __init__(self, methods: Methods) -> None:
        self.methods = methods

    def get_progress(
        self, request: progress_pb2.GetProgressRequest, ctx: RequestContext[Any, Any]
    ) -> progress_pb2.GetProgressResponse:
        return self.methods.get_progress(request, _call(ctx))


class RulesConnect:
    def __init__(self, methods: Methods) -> None:
        self.methods = methods

    def list_rules(
        self, request: rules_pb2.ListRulesRequest, ctx: RequestContext[Any, Any]
    ) -> rules_pb2.ListRulesResponse:
        return self.methods.list_rules(request, _call(ctx))

    def reload_rules(
        self, request: rules_pb2.ReloadRulesRequest, ctx: RequestContext[Any, Any]
    ) -> rules_pb2.ReloadRulesResponse:
        return self.methods.reload_rules(request, _call(ctx))


def applications(methods: Methods, gate: Gate, read_max_bytes: int) -> dict[str, WSGIApp]:
    """The WSGI application of each service, by its path prefix ("/ruralpost.v1.StationService/")."""
    options: dict[str, Any] = {
        "interceptors": [GateInterceptor(gate)],
        "read_max_bytes": read_max_bytes,
        "codecs": [BinaryCodec(), JsonCodec()],
    }
    apps: list[Any] = [
        station_connect.StationServiceWSGIApplication(StationConnect(methods), **options),
        claim_connect.SubsidyServiceWSGIApplication(SubsidyConnect(methods), **options),
        progress_connect.QuotaServiceWSGIApplication(QuotaConnect(methods), **options),
        rules_connect.RulesServiceWSGIApplication(RulesConnect(methods), **options),
    ]
    return {app.path + "/": app for app in apps}
