"""The gRPC door's interceptor: every call through `gate.call` (auth, request id, limits, statuses,
logs, metrics), as on the HTTP door and the console.

The door is a grpc.aio server: the servicers' methods are coroutines (`Methods` decides where
their work runs). Every exception a servicer raises ends in the gate and becomes a status through
`status.py`, so a call never answers UNKNOWN, and the metrics record the code the caller saw.
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any, NoReturn

import grpc

from ruralpost.service.api import status
from ruralpost.service.api.auth import Authenticator
from ruralpost.service.api.gate import Gate, Refused, request_id_of
from ruralpost.service.errors import FieldViolation, InvalidArgument

# (request_streaming, response_streaming) -> the handler attribute holding the behaviour
KINDS = {
    (False, False): "unary_unary",
    (False, True): "unary_stream",
    (True, False): "stream_unary",
    (True, True): "stream_stream",
}


class UnsupportedHandler(ValueError):
    """A method the interceptor cannot wrap: it would skip authentication, or block the event loop."""


def kind_of(handler: Any) -> str:
    """The handler's kind, refusing one whose behaviour is missing or not a coroutine (an async
    generator for a response stream)."""
    kind = KINDS[(bool(handler.request_streaming), bool(handler.response_streaming))]
    behaviour = getattr(handler, kind, None)
    if behaviour is None:
        raise UnsupportedHandler(f"a {kind} handler without a {kind} behaviour")
    is_async = inspect.isasyncgenfunction if handler.response_streaming else inspect.iscoroutinefunction
    if not is_async(behaviour):
        raise UnsupportedHandler(f"a {kind} handler whose behaviour is not async: it would block the event loop")
    return kind


class _Undecodable:
    """A request message grpc could not decode: it reaches the wrapper, which answers
    INVALID_ARGUMENT (grpc.aio would answer UNKNOWN with the parser's text)."""

    def __init__(self, error: Exception) -> None:
        self.error = InvalidArgument(
            [FieldViolation("request", f"不是有效的请求消息 (not a valid request message: {error})")]
        )


def _decoding(deserializer: Callable[[bytes], Any] | None) -> Callable[[bytes], Any] | None:
    if deserializer is None:
        return None

    def decode(raw: bytes) -> Any:
        try:
            return deserializer(raw)
        except Exception as e:
            return _Undecodable(e)

    return decode


async def _decoded(requests: AsyncIterator[Any]) -> AsyncIterator[Any]:
    """A request stream whose undecodable message ends the call with INVALID_ARGUMENT."""
    async for request in requests:
        if isinstance(request, _Undecodable):
            raise request.error
        yield request


def _undecodable(request: Any) -> None:
    if isinstance(request, _Undecodable):
        raise request.error


if TYPE_CHECKING:  # the stubs make the interceptor generic; the runtime class is not
    _Base = grpc.aio.ServerInterceptor[Any, Any]
else:
    _Base = grpc.aio.ServerInterceptor


def _is_active(context: grpc.aio.ServicerContext[Any, Any]) -> Callable[[], bool]:
    def active() -> bool:
        """False once the call has ended (cancelled, aborted) or its deadline has passed; safe to
        ask from a pool thread."""
        if context.done():
            return False
        left = context.time_remaining()
        return left is None or left > 0

    return active


class ServiceInterceptor(_Base):
    def __init__(self, authenticator: Authenticator | None, max_streams_per_caller: int = 8) -> None:
        self.gate = Gate(authenticator, max_streams_per_caller)
        self._wrapped: dict[str, tuple[Any, Any]] = {}  # method -> (its handler, that handler wrapped)

    @staticmethod
    def check_handlers(service: str, handlers: Mapping[str, Any]) -> None:
        """At start-up: every method is of a kind this interceptor wraps, or the server does not start."""
        for name, handler in handlers.items():
            try:
                kind_of(handler)
            except UnsupportedHandler as e:
                raise UnsupportedHandler(f"{service}/{name}: {e}") from None

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[Any]],
        details: grpc.HandlerCallDetails,
    ) -> Any:
        handler = await continuation(details)
        method: str = details.method
        if handler is None or not method.startswith("/ruralpost."):
            return handler  # health and reflection stay open
        wrapped = self._wrapped.get(method)
        if wrapped is None or wrapped[0] is not handler:  # wrapped once per method, not per call
            wrapped = self._wrapped[method] = (handler, self._wrap(handler, method))
        return wrapped[1]

    def _wrap(self, handler: Any, path: str) -> Any:
        """The same handler (a grpc RpcMethodHandler namedtuple) with its behaviour run inside
        `gate.call`."""
        streaming = bool(handler.response_streaming)

        def gated(context: grpc.aio.ServicerContext[Any, Any]) -> Any:
            metadata = tuple(context.invocation_metadata() or ())
            request_id = request_id_of(metadata)
            context.set_trailing_metadata((("x-request-id", request_id),))
            peer = str(context.peer() or "unknown")
            return self.gate.call(
                path, peer, metadata, is_active=_is_active(context), stream=streaming, request_id=request_id
            )

        def single(behavior: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
            async def run(request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
                try:
                    async with gated(context):
                        _undecodable(request)
                        return await behavior(_decoded(request) if handler.request_streaming else request, context)
                except Refused as e:
                    await self.abort(context, e)

            return run

        def stream(behavior: Callable[..., AsyncIterator[Any]]) -> Callable[..., AsyncIterator[Any]]:
            async def run(request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> AsyncIterator[Any]:
                try:
                    async with gated(context):
                        _undecodable(request)
                        requests = _decoded(request) if handler.request_streaming else request
                        async for response in behavior(requests, context):
                            yield response
                except Refused as e:
                    await self.abort(context, e)

            return run

        kind = kind_of(handler)
        wrap = stream if streaming else single
        return handler._replace(
            request_deserializer=_decoding(handler.request_deserializer), **{kind: wrap(getattr(handler, kind))}
        )

    @staticmethod
    async def abort(context: grpc.aio.ServicerContext[Any, Any], refused: Refused) -> NoReturn:
        """Ends the call with the gate's status (raises): code, message, and the google.rpc.Status
        in the trailing metadata."""
        found = status.grpc_status(refused.status)
        request_id = (("x-request-id", refused.call.request_id),)
        await context.abort(found.code, found.details, (*request_id, *found.trailing_metadata))
        raise AssertionError("abort returns only by raising")  # pragma: no cover
