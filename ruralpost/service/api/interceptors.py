"""The gRPC door's interceptor: what every call needs (auth, request id, limits, statuses, logs,
metrics) through the `Gate` the HTTP door shares, and the `Call` the servicers hand on.

The door is a grpc.aio server: the servicers' methods are coroutines (see `api/offload.py` for
where their work runs). Every exception a servicer raises ends here and becomes a status through
`status.py`, so a call never answers UNKNOWN, and the metrics record the code the caller saw.
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any, NoReturn

import grpc

from ruralpost.service.api import status
from ruralpost.service.api.auth import Authenticator, Caller
from ruralpost.service.api.call import Call, attach, call_of
from ruralpost.service.api.gate import Gate
from ruralpost.service.errors import FieldViolation, InvalidArgument, ServiceError

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


class Context:
    """The grpc.aio context as a servicer sees it, carrying the `Call` (the aio context takes no
    attributes of its own)."""

    def __init__(self, context: grpc.aio.ServicerContext[Any, Any]) -> None:
        self.grpc = context

    def peer(self) -> str:
        return str(self.grpc.peer() or "unknown")

    def is_active(self) -> bool:
        """False once the call has ended (cancelled, aborted) or its deadline has passed; safe to
        ask from a pool thread."""
        if self.grpc.done():
            return False
        left = self.grpc.time_remaining()
        return left is None or left > 0


def call_from(context: Context) -> Call:
    """The call the interceptor attached; a servicer run without it (a benchmark) gets a bare one."""
    found = call_of(context)
    if found is not None:
        return found
    return Call("", "", context.peer(), is_active=context.is_active)


class ServiceInterceptor(_Base):
    def __init__(self, authenticator: Authenticator | None, max_streams_per_caller: int = 8) -> None:
        self.gate = Gate(authenticator, max_streams_per_caller)

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
        call, error = self.gate.open(method, "", tuple(details.invocation_metadata or ()))
        return self._wrap(handler, call.method, call.request_id, call.caller, error)

    def _wrap(
        self, handler: Any, method: str, request_id: str, caller: Caller | None, error: ServiceError | None
    ) -> Any:
        """The same handler (a grpc RpcMethodHandler namedtuple) with its behaviour wrapped."""

        async def begin(context: grpc.aio.ServicerContext[Any, Any]) -> tuple[Call, Context]:
            context.set_trailing_metadata((("x-request-id", request_id),))
            carrier = Context(context)
            call = Call(method, request_id, carrier.peer(), caller, carrier.is_active)
            found = self.gate.authenticator.settle(call.peer, error) if self.gate.authenticator else error
            if found is not None:
                await self.fail(call, context, found)
            attach(carrier, call)
            return call, carrier

        def single(behavior: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
            async def run(request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
                call, carrier = await begin(context)
                try:
                    _undecodable(request)
                    response = await behavior(_decoded(request) if handler.request_streaming else request, carrier)
                except Exception as e:
                    await self.fail(call, context, e)
                self.gate.finish(call, None)
                return response

            return run

        def stream(behavior: Callable[..., AsyncIterator[Any]]) -> Callable[..., AsyncIterator[Any]]:
            async def run(request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> AsyncIterator[Any]:
                call, carrier = await begin(context)
                try:
                    slot = self.gate.take_slot(call)
                except ServiceError as e:
                    await self.fail(call, context, e)
                try:
                    _undecodable(request)
                    requests = _decoded(request) if handler.request_streaming else request
                    async for response in behavior(requests, carrier):
                        yield response
                except Exception as e:
                    await self.fail(call, context, e)
                finally:
                    self.gate.give_slot(slot)
                self.gate.finish(call, None)

            return run

        kind = kind_of(handler)
        wrap = stream if handler.response_streaming else single
        return handler._replace(
            request_deserializer=_decoding(handler.request_deserializer), **{kind: wrap(getattr(handler, kind))}
        )

    async def fail(self, call: Call, context: grpc.aio.ServicerContext[Any, Any], error: BaseException) -> NoReturn:
        """Ends the call with the error's status (raises), after metrics and the log line."""
        self.gate.finish(call, error)
        found = status.grpc_status(error, call.request_id)
        await context.abort(found.code, found.details, (("x-request-id", call.request_id), *found.trailing_metadata))
        raise AssertionError("abort returns only by raising")  # pragma: no cover
