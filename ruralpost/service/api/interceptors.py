"""The gRPC door's interceptor: what every call needs (auth, request id, limits, statuses, logs,
metrics) through the `Gate` the HTTP door shares, and the `Call` the servicers hand on.

Every exception a servicer raises ends here and becomes a status through `status.py`, so a call
never answers UNKNOWN, and the metrics record the code the caller saw.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, NoReturn

import grpc

from ruralpost.service.api import status
from ruralpost.service.api.auth import Authenticator, Caller
from ruralpost.service.api.call import Call, attach, call_of
from ruralpost.service.api.gate import Gate
from ruralpost.service.errors import ServiceError

# (request_streaming, response_streaming) -> the handler attribute holding the behaviour
KINDS = {
    (False, False): "unary_unary",
    (False, True): "unary_stream",
    (True, False): "stream_unary",
    (True, True): "stream_stream",
}


class UnsupportedHandler(ValueError):
    """A method of a kind the interceptor does not wrap: it would skip authentication."""


def kind_of(handler: Any) -> str:
    """The handler's kind, refusing one whose behaviour is missing for that kind."""
    kind = KINDS[(bool(handler.request_streaming), bool(handler.response_streaming))]
    if getattr(handler, kind, None) is None:
        raise UnsupportedHandler(f"a {kind} handler without a {kind} behaviour")
    return kind


if TYPE_CHECKING:  # the stubs make the interceptor generic; the runtime class is not
    _Base = grpc.ServerInterceptor[Any, Any]
else:
    _Base = grpc.ServerInterceptor


def call_from(context: grpc.ServicerContext) -> Call:
    """The call the interceptor attached; a servicer run without it (a benchmark) gets a bare one."""
    found = call_of(context)
    if found is not None:
        return found
    return Call("", "", str(context.peer() or "unknown"), is_active=context.is_active)


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

    def intercept_service(
        self, continuation: Callable[[grpc.HandlerCallDetails], Any], details: grpc.HandlerCallDetails
    ) -> Any:
        handler = continuation(details)
        method: str = details.method
        if handler is None or not method.startswith("/ruralpost."):
            return handler  # health and reflection stay open
        call, error = self.gate.open(method, "", tuple(details.invocation_metadata or ()))
        return self._wrap(handler, call.method, call.request_id, call.caller, error)

    def _wrap(
        self, handler: Any, method: str, request_id: str, caller: Caller | None, error: ServiceError | None
    ) -> Any:
        """The same handler (a grpc RpcMethodHandler namedtuple) with its behaviour wrapped."""

        def begin(context: grpc.ServicerContext) -> Call:
            # trailing, not initial, metadata: sending headers early blocks the worker thread
            context.set_trailing_metadata((("x-request-id", request_id),))
            call = Call(method, request_id, str(context.peer() or "unknown"), caller, context.is_active)
            if error is not None:
                self.fail(call, context, error)
            attach(context, call)
            return call

        def single(behavior: Callable[..., Any]) -> Callable[..., Any]:
            def run(request: Any, context: grpc.ServicerContext) -> Any:
                call = begin(context)
                try:
                    response = behavior(request, context)
                except Exception as e:
                    self.fail(call, context, e)
                self.gate.finish(call, None)
                return response

            return run

        def stream(behavior: Callable[..., Iterator[Any]]) -> Callable[..., Iterator[Any]]:
            def run(request: Any, context: grpc.ServicerContext) -> Iterator[Any]:
                call = begin(context)
                try:
                    slot = self.gate.take_slot(call)
                except ServiceError as e:
                    self.fail(call, context, e)
                try:
                    yield from behavior(request, context)
                except Exception as e:
                    self.fail(call, context, e)
                finally:
                    self.gate.give_slot(slot)
                self.gate.finish(call, None)

            return run

        kind = kind_of(handler)
        wrap = stream if handler.response_streaming else single
        return handler._replace(**{kind: wrap(getattr(handler, kind))})

    def fail(self, call: Call, context: grpc.ServicerContext, error: BaseException) -> NoReturn:
        """Ends the call with the error's status (raises), after metrics and the log line."""
        self.gate.finish(call, error)
        status.abort(context, error, call.request_id)
