"""The HTTP door: the four services over the Connect protocol (and gRPC-Web), JSON or binary.

connectrpc's generated ASGI applications (`ruralpost/v1/*_connect.py`) do the protocol: paths,
the proto JSON mapping, envelopes, Connect error bodies. This module adds what the gRPC door's
interceptor adds, through the same `gate.call` (request id, bearer token, role, stream slot,
metrics, log, and the one exception mapping of `status.py`), then awaits the shared `Methods`.

`Door` stands in front of them and looks at the headers before any body is read: a call whose
token or role does not hold never has its body read (the gate refuses it on a stand-in body, so
it is answered, counted and logged as any refusal), and a body longer than the limit is refused
from its Content-Length. A client that stalls in the middle of a body is cut off.

And it mends two things of connectrpc's envelope reading (0.10) in our code, around the `receive`
it hands the library, rather than in a patched copy of the library: a stream whose last envelope
is cut off ended as a success without that item, and an envelope with flags a request never has
was answered INTERNAL; both are INVALID_ARGUMENT now (`_Envelopes`). A stream whose client has
gone away stops: once the body has arrived, the door listens for the disconnect, and the call's
`is_active` says so (connectrpc watches only for server streams, which we have none of).
"""

from __future__ import annotations

import asyncio
import contextvars
import struct
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from typing import Any, TypeVar

from connectrpc.code import Code
from connectrpc.errors import ConnectError
from connectrpc.request import RequestContext
from google.protobuf import json_format
from google.protobuf.message import Message

from ruralpost.service.api import status
from ruralpost.service.api.gate import Gate, Refused, request_id_of
from ruralpost.service.api.methods import Methods
from ruralpost.service.api.reference_service import ReferenceDataConnect
from ruralpost.service.errors import ServiceError
from ruralpost.v1 import (
    claim_connect,
    claim_pb2,
    progress_connect,
    progress_pb2,
    reference_connect,
    rules_connect,
    rules_pb2,
    station_connect,
    station_pb2,
)

REQ = TypeVar("REQ")
RES = TypeVar("RES")
M = TypeVar("M", bound=Message)
Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class JsonCodec:
    """Proto JSON as json_format writes it, with Chinese as characters rather than \\u escapes
    (people read these answers with curl)."""

    def name(self) -> str:
        return "json"

    def encode(self, message: Message) -> bytes:
        return json_format.MessageToJson(message, ensure_ascii=False).encode()

    def decode(self, data: bytes | bytearray, message: M) -> M:
        try:
            json_format.Parse(bytes(data), message)
        except Exception as e:
            raise _undecodable(e) from None
        return message


class BinaryCodec:
    def name(self) -> str:
        return "proto"

    def encode(self, message: Message) -> bytes:
        return message.SerializeToString()

    def decode(self, data: bytes | bytearray, message: M) -> M:
        try:
            message.ParseFromString(bytes(data))
        except Exception as e:
            raise _undecodable(e) from None
        return message


def _undecodable(error: Exception) -> ConnectError:
    """A body that is not the message: INVALID_ARGUMENT with the parser's words (the ASGI
    application would answer INTERNAL)."""
    return ConnectError(Code.INVALID_ARGUMENT, f"Failed to decode request body: {error!s}")


def _path(ctx: RequestContext[Any, Any]) -> str:
    method = ctx.method()
    return f"/{method.service_name}/{method.name}"


# Set by the door for a stream: set once its client has gone away.
_CLIENT_GONE: contextvars.ContextVar[asyncio.Event | None] = contextvars.ContextVar("client_gone", default=None)


def _active(ctx: RequestContext[Any, Any]) -> Callable[[], bool]:
    """Whether the call is still worth doing: its deadline has not passed and its client is there."""
    gone = _CLIENT_GONE.get()

    def active() -> bool:
        left = ctx.timeout_ms()
        return (left is None or left > 0) and not (gone is not None and gone.is_set())

    return active


class GateInterceptor:
    """The Connect counterpart of the gRPC door's ServiceInterceptor, for unary and stream methods."""

    def __init__(self, gate: Gate) -> None:
        self.gate = gate

    def _call(self, ctx: RequestContext[Any, Any], stream: bool) -> Any:
        headers = list(ctx.request_headers().items())
        request_id = request_id_of(headers)
        ctx.response_headers()["x-request-id"] = request_id
        peer = ctx.client_address() or "unknown"
        return self.gate.call(_path(ctx), peer, headers, is_active=_active(ctx), stream=stream, request_id=request_id)

    async def _single(self, call_next: Callable[[Any, Any], Awaitable[RES]], request: Any, ctx: Any) -> RES:
        try:
            async with self._call(ctx, stream=False):
                return await call_next(request, ctx)
        except Refused as e:
            raise status.connect_error(e.status) from None

    async def _stream(
        self, call_next: Callable[[Any, Any], AsyncIterator[RES]], request: Any, ctx: Any
    ) -> AsyncIterator[RES]:
        try:
            async with self._call(ctx, stream=True):
                async for response in call_next(request, ctx):
                    yield response
        except Refused as e:
            raise status.connect_error(e.status) from None

    # Every kind of method goes through the gate, so a method added later cannot skip it.
    async def intercept_unary(self, call_next: Any, request: Any, ctx: Any) -> Any:
        return await self._single(call_next, request, ctx)

    async def intercept_client_stream(self, call_next: Any, request: Any, ctx: Any) -> Any:
        return await self._single(call_next, request, ctx)

    def intercept_server_stream(self, call_next: Any, request: Any, ctx: Any) -> AsyncIterator[Any]:
        return self._stream(call_next, request, ctx)

    def intercept_bidi_stream(self, call_next: Any, request: Any, ctx: Any) -> AsyncIterator[Any]:
        return self._stream(call_next, request, ctx)


def _stand_in(content_type: str) -> bytes:
    """A body holding one empty message in the request's own encoding: a refused call goes through
    the Connect application to the gate, which refuses it, without its real body being read."""
    message = b"{}" if "json" in content_type else b""
    if content_type.startswith(("application/connect+", "application/grpc")):
        return struct.pack(">BI", 0, len(message)) + message
    return message


def _enveloped(content_type: str) -> bool:
    return content_type.startswith(("application/connect+", "application/grpc-web"))


class _Envelopes:
    """Follows a body's envelopes (1 flag byte, 4 length bytes, the message) as they pass to
    connectrpc, to find what its reader lets through: the last envelope cut off (it ended the
    stream as a success, the item dropped) and flags a request's message never has (0, or 1 when
    compressed; it answered INTERNAL). Both are the client's error: INVALID_ARGUMENT."""

    def __init__(self, compressed: bool) -> None:
        self.flags = (0, 1) if compressed else (0,)
        self.prefix = bytearray()  # the current envelope's first bytes, until all 5 have come
        self.left = 0  # bytes of the current message still to come

    def check(self, data: bytes, last: bool) -> tuple[int, ConnectError | None]:
        """How many bytes of `data` come before a broken envelope (all of them when none is), and
        what is wrong with it."""
        at, start, size = 0, 0, len(data)
        while at < size:
            if self.left:
                step = min(self.left, size - at)
                self.left -= step
                at += step
                continue
            if not self.prefix:
                start = at
            step = min(5 - len(self.prefix), size - at)
            self.prefix += data[at : at + step]
            at += step
            if len(self.prefix) == 5:
                flags = self.prefix[0]
                if flags not in self.flags:
                    return start, ConnectError(
                        Code.INVALID_ARGUMENT,
                        f"protocol error: an envelope's flags are {flags:#04x}; a request message has "
                        f"{' or '.join(map(str, self.flags))}",
                    )
                self.left = int.from_bytes(self.prefix[1:], "big")
                self.prefix.clear()
        if last and (self.prefix or self.left):
            missing = f"{5 - len(self.prefix)} bytes of its prefix" if self.prefix else f"{self.left} bytes"
            return start, ConnectError(
                Code.INVALID_ARGUMENT, f"protocol error: the last message is cut off ({missing} never came)"
            )
        return size, None


class Door:
    """The Connect applications behind what is checked from the headers alone."""

    def __init__(self, services: dict[str, ASGIApp], gate: Gate, max_body: int, idle_seconds: float) -> None:
        self.services = services
        self.gate = gate
        self.max_body = max_body
        self.idle_seconds = idle_seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope["path"]
        app = next(a for prefix, a in self.services.items() if path.startswith(prefix))
        headers = [(k.decode("latin-1").lower(), v.decode("latin-1")) for k, v in scope.get("headers", ())]
        try:
            self.gate.admit(path, headers)
        except ServiceError:
            content_type = next((v for k, v in headers if k == "content-type"), "")
            body = _stand_in(content_type)
            sent = False

            async def stand_in() -> MutableMapping[str, Any]:
                nonlocal sent
                if sent:
                    return {"type": "http.disconnect"}
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}

            async def closing(message: MutableMapping[str, Any]) -> None:
                if message["type"] == "http.response.start":  # the body was never read: no keep-alive
                    message["headers"] = [*message.get("headers", ()), (b"connection", b"close")]
                await send(message)

            await app(scope, stand_in, closing)
            return
        content_type = next((v for k, v in headers if k == "content-type"), "")
        if not _enveloped(content_type):
            await app(scope, self._limited(headers, receive), send)
            return
        gone = asyncio.Event()
        watching: list[asyncio.Task[None]] = []

        async def watch() -> None:
            while (await receive())["type"] != "http.disconnect":
                pass
            gone.set()

        def arrived() -> None:  # the whole body is in: from now on receive() only says the client left
            watching.append(asyncio.ensure_future(watch()))

        token = _CLIENT_GONE.set(gone)
        try:
            await app(scope, self._checked(headers, self._limited(headers, receive), gone, arrived), send)
        finally:
            _CLIENT_GONE.reset(token)
            for task in watching:
                task.cancel()

    def _limited(self, headers: list[tuple[str, str]], receive: Receive) -> Receive:
        """`receive` with the body limit (told by Content-Length before anything is read, else
        counted) and the idle limit between two pieces of a body."""
        declared = next((v for k, v in headers if k == "content-length"), "")
        read = 0

        async def limited() -> MutableMapping[str, Any]:
            nonlocal read
            if declared.isdigit() and int(declared) > self.max_body:
                raise ConnectError(Code.RESOURCE_EXHAUSTED, f"the body is larger than {self.max_body} bytes")
            try:
                async with asyncio.timeout(self.idle_seconds):
                    message = await receive()
            except TimeoutError:
                raise ConnectError(Code.DEADLINE_EXCEEDED, "the client stopped sending its request") from None
            read += len(message.get("body", b""))
            if read > self.max_body:
                raise ConnectError(Code.RESOURCE_EXHAUSTED, f"the body is larger than {self.max_body} bytes")
            return message

        return limited

    @staticmethod
    def _checked(
        headers: list[tuple[str, str]], receive: Receive, gone: asyncio.Event, arrived: Callable[[], None]
    ) -> Receive:
        """`receive` of an enveloped body, its envelopes checked (`_Envelopes`): the bytes before a
        broken envelope are handed on, so every whole item is answered, and the next read fails.
        `gone` is set when the client leaves; `arrived` is called once the body is complete."""
        encodings = {k: v for k, v in headers if k in ("connect-content-encoding", "grpc-encoding")}
        envelopes = _Envelopes(any(v not in ("", "identity") for v in encodings.values()))
        broken: ConnectError | None = None

        async def checked() -> MutableMapping[str, Any]:
            nonlocal broken
            if broken is not None:
                raise broken
            message = await receive()
            if message["type"] == "http.disconnect":
                gone.set()
            elif message["type"] == "http.request":
                body = bytes(message.get("body", b""))
                last = not message.get("more_body", False)
                whole, broken = envelopes.check(body, last)
                if broken is not None:
                    return {"type": "http.request", "body": body[:whole], "more_body": True}
                if last:
                    arrived()
            return message

        return checked


class StationConnect:
    def __init__(self, methods: Methods) -> None:
        self.methods = methods

    async def check_station(
        self, request: station_pb2.CheckStationRequest, ctx: Any
    ) -> station_pb2.CheckStationResponse:
        return await self.methods.check_station(request)

    def check_stations(
        self, request: AsyncIterator[station_pb2.CheckStationsRequest], ctx: Any
    ) -> AsyncIterator[station_pb2.CheckStationsResponse]:
        return self.methods.check_stations(request)

    async def resolve_sign_code(
        self, request: station_pb2.ResolveSignCodeRequest, ctx: Any
    ) -> station_pb2.ResolveSignCodeResponse:
        return await self.methods.resolve_sign_code(request)


class SubsidyConnect:
    def __init__(self, methods: Methods) -> None:
        self.methods = methods

    async def evaluate_claim(
        self, request: claim_pb2.EvaluateClaimRequest, ctx: Any
    ) -> claim_pb2.EvaluateClaimResponse:
        return await self.methods.evaluate_claim(request)

    def evaluate_claims(
        self, request: AsyncIterator[claim_pb2.EvaluateClaimsRequest], ctx: Any
    ) -> AsyncIterator[claim_pb2.EvaluateClaimsResponse]:
        return self.methods.evaluate_claims(request)


class QuotaConnect:
    def __init__(self, methods: Methods) -> None:
        self.methods = methods

    async def get_progress(
        self, request: progress_pb2.GetProgressRequest, ctx: Any
    ) -> progress_pb2.GetProgressResponse:
        return await self.methods.get_progress(request)


class RulesConnect:
    def __init__(self, methods: Methods) -> None:
        self.methods = methods

    async def list_rules(self, request: rules_pb2.ListRulesRequest, ctx: Any) -> rules_pb2.ListRulesResponse:
        return await self.methods.list_rules(request)

    async def reload_rules(self, request: rules_pb2.ReloadRulesRequest, ctx: Any) -> rules_pb2.ReloadRulesResponse:
        return await self.methods.reload_rules(request)


def applications(methods: Methods, gate: Gate, read_max_bytes: int) -> dict[str, ASGIApp]:
    """The ASGI application of each service, by its path prefix ("/ruralpost.v1.StationService/")."""
    options: dict[str, Any] = {
        "interceptors": [GateInterceptor(gate)],
        "read_max_bytes": read_max_bytes,
        "codecs": [BinaryCodec(), JsonCodec()],
    }
    apps: list[Any] = [
        station_connect.StationServiceASGIApplication(StationConnect(methods), **options),
        claim_connect.SubsidyServiceASGIApplication(SubsidyConnect(methods), **options),
        progress_connect.QuotaServiceASGIApplication(QuotaConnect(methods), **options),
        rules_connect.RulesServiceASGIApplication(RulesConnect(methods), **options),
        reference_connect.ReferenceDataServiceASGIApplication(ReferenceDataConnect(methods), **options),
    ]
    return {app.path + "/": app for app in apps}
