"""One server interceptor for what every call needs: auth, request id, limits, statuses, logs, metrics.

Every exception a servicer raises ends here and becomes a status through `status.py`, so a call
never answers UNKNOWN, and the metrics record the code the caller saw.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, NoReturn

import grpc

from ruralpost.service.api import metrics, status
from ruralpost.service.api.auth import Authenticator, Caller, attach
from ruralpost.service.errors import PermissionDenied, ResourceExhausted, ServiceError

log = logging.getLogger("ruralpost.calls")

# (request_streaming, response_streaming) -> the handler attribute holding the behaviour
KINDS = {
    (False, False): "unary_unary",
    (False, True): "unary_stream",
    (True, False): "stream_unary",
    (True, True): "stream_stream",
}


class _StreamSlots:
    """Concurrent streams per caller: one caller cannot hold every worker thread."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._open: defaultdict[str, int] = defaultdict(int)
        self._lock = threading.Lock()

    def take(self, who: str) -> None:
        with self._lock:
            if self._open[who] >= self.limit:
                raise ResourceExhausted(f"{who} has {self.limit} streams open already; wait for one to end")
            self._open[who] += 1

    def give(self, who: str) -> None:
        with self._lock:
            self._open[who] -= 1


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


class ServiceInterceptor(_Base):
    def __init__(self, authenticator: Authenticator | None, max_streams_per_caller: int = 8) -> None:
        self.authenticator = authenticator
        self.slots = _StreamSlots(max_streams_per_caller)

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
        metadata = tuple(details.invocation_metadata or ())
        request_id = next((str(v) for k, v in metadata if k == "x-request-id"), "") or uuid.uuid4().hex
        caller: Caller | None = None
        error: ServiceError | None = None
        if self.authenticator is not None:
            try:
                caller = self.authenticator.caller(metadata)
                if not caller.may_call(method):
                    error = PermissionDenied(f"{caller.name} ({caller.role}) may not call {method}")
            except ServiceError as e:
                error = e
        return self._wrap(handler, method.rsplit("/", 1)[-1], request_id, caller, error)

    def _wrap(
        self, handler: Any, method: str, request_id: str, caller: Caller | None, error: ServiceError | None
    ) -> Any:
        """The same handler (a grpc RpcMethodHandler namedtuple) with its behaviour wrapped."""
        who = caller.name if caller else ""

        def begin(context: grpc.ServicerContext) -> float:
            # trailing, not initial, metadata: sending headers early blocks the worker thread
            context.set_trailing_metadata((("x-request-id", request_id),))
            start = time.perf_counter()
            if error is not None:
                self.fail(method, request_id, who, context, start, error)
            if caller is not None:
                attach(context, caller)
            return start

        def single(behavior: Callable[..., Any]) -> Callable[..., Any]:
            def run(request: Any, context: grpc.ServicerContext) -> Any:
                start = begin(context)
                try:
                    response = behavior(request, context)
                except Exception as e:
                    self.fail(method, request_id, who, context, start, e)
                self._finish(method, request_id, who, context, start, None)
                return response

            return run

        def stream(behavior: Callable[..., Iterator[Any]]) -> Callable[..., Iterator[Any]]:
            def run(request: Any, context: grpc.ServicerContext) -> Iterator[Any]:
                start = begin(context)
                slot = who or context.peer()
                try:
                    self.slots.take(slot)
                except ServiceError as e:
                    self.fail(method, request_id, who, context, start, e)
                try:
                    yield from behavior(request, context)
                except Exception as e:
                    self.fail(method, request_id, who, context, start, e)
                finally:
                    self.slots.give(slot)
                self._finish(method, request_id, who, context, start, None)

            return run

        kind = kind_of(handler)
        wrap = stream if handler.response_streaming else single
        return handler._replace(**{kind: wrap(getattr(handler, kind))})

    def fail(
        self, method: str, request_id: str, who: str, context: grpc.ServicerContext, start: float, error: BaseException
    ) -> NoReturn:
        """Ends the call with the error's status (raises), after metrics and the log line."""
        self._finish(method, request_id, who, context, start, error)
        status.abort(context, error, request_id)

    @staticmethod
    def _finish(
        method: str, request_id: str, who: str, context: grpc.ServicerContext, start: float, error: BaseException | None
    ) -> None:
        """Metrics for every call; a structured log line (errors at WARNING, the rest at DEBUG)."""
        elapsed = time.perf_counter() - start
        code = "OK" if error is None else status.code_of(error).name
        metrics.REQUESTS.labels(method, code).inc()
        metrics.LATENCY.labels(method).observe(elapsed)
        level = logging.DEBUG if code == "OK" else logging.WARNING
        if log.isEnabledFor(level):
            log.log(
                level,
                json.dumps(
                    {
                        "request_id": request_id,
                        "method": method,
                        "caller": who or context.peer(),
                        "code": code,
                        "ms": round(elapsed * 1e3, 3),
                    },
                    ensure_ascii=False,
                ),
            )
