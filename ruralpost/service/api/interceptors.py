"""One server interceptor for what every call needs: auth, request id, limits, logs, metrics."""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import grpc
from google.rpc import code_pb2

from ruralpost.service.api import metrics
from ruralpost.service.api.auth import Authenticator, Caller, PermissionDenied, attach
from ruralpost.service.errors import ServiceError, abort

log = logging.getLogger("ruralpost.calls")


class ResourceExhausted(ServiceError):
    code = code_pb2.RESOURCE_EXHAUSTED


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


def _metadata(details: grpc.HandlerCallDetails) -> tuple[tuple[str, Any], ...]:
    return tuple(details.invocation_metadata or ())


if TYPE_CHECKING:  # the stubs make the interceptor generic; the runtime class is not
    _Base = grpc.ServerInterceptor[Any, Any]
else:
    _Base = grpc.ServerInterceptor


class ServiceInterceptor(_Base):
    def __init__(self, authenticator: Authenticator | None, max_streams_per_caller: int = 8) -> None:
        self.authenticator = authenticator
        self.slots = _StreamSlots(max_streams_per_caller)

    def intercept_service(self, continuation: Callable[[grpc.HandlerCallDetails], Any],
                          details: grpc.HandlerCallDetails) -> Any:
        handler = continuation(details)
        method: str = details.method
        if handler is None or not method.startswith("/ruralpost."):
            return handler
        metadata = _metadata(details)
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
        return self._wrap(handler, method, request_id, caller, error)

    def _wrap(self, handler: Any, method: str, request_id: str, caller: Caller | None,
              error: ServiceError | None) -> Any:
        """The same handler (a grpc RpcMethodHandler namedtuple) with its behaviour wrapped."""
        short = method.rsplit("/", 1)[-1]
        streaming = handler.request_streaming or handler.response_streaming
        who = caller.name if caller else ""

        def begin(context: grpc.ServicerContext) -> float:
            # trailing, not initial, metadata: sending headers early blocks the worker thread
            context.set_trailing_metadata((("x-request-id", request_id),))
            if error is not None:
                self._finish(short, request_id, who, context, time.perf_counter(), error)
                abort(context, error)
            if caller is not None:
                attach(context, caller)
            return time.perf_counter()

        def unary(behavior: Callable[..., Any]) -> Callable[..., Any]:
            def run(request: Any, context: grpc.ServicerContext) -> Any:
                start = begin(context)
                try:
                    response = behavior(request, context)
                except BaseException as e:
                    self._finish(short, request_id, who, context, start, e)
                    raise
                self._finish(short, request_id, who, context, start, None)
                return response
            return run

        def stream(behavior: Callable[..., Iterator[Any]]) -> Callable[..., Iterator[Any]]:
            def run(request: Any, context: grpc.ServicerContext) -> Iterator[Any]:
                start = begin(context)
                slot = who or context.peer()
                try:
                    self.slots.take(slot)
                except ServiceError as e:
                    self._finish(short, request_id, who, context, start, e)
                    abort(context, e)
                    raise
                try:
                    yield from behavior(request, context)
                except BaseException as e:
                    self._finish(short, request_id, who, context, start, e)
                    raise
                finally:
                    self.slots.give(slot)
                self._finish(short, request_id, who, context, start, None)
            return run

        if not streaming and handler.unary_unary:
            return handler._replace(unary_unary=unary(handler.unary_unary))
        if handler.stream_stream:
            return handler._replace(stream_stream=stream(handler.stream_stream))
        if handler.unary_stream:
            return handler._replace(unary_stream=stream(handler.unary_stream))
        return handler

    @staticmethod
    def _finish(method: str, request_id: str, who: str, context: grpc.ServicerContext, start: float,
                error: BaseException | None) -> None:
        """Metrics for every call; a structured log line (errors at WARNING, the rest at DEBUG)."""
        elapsed = time.perf_counter() - start
        if isinstance(error, ServiceError):
            code = code_pb2.Code.Name(error.code)
        else:  # a servicer's abort() raises after setting the status on the context
            status = context.code() if hasattr(context, "code") else None
            code = status.name if status is not None else ("OK" if error is None else "INTERNAL")
        metrics.REQUESTS.labels(method, code).inc()
        metrics.LATENCY.labels(method).observe(elapsed)
        level = logging.DEBUG if code == "OK" else logging.WARNING
        if log.isEnabledFor(level):
            log.log(level, json.dumps({"request_id": request_id, "method": method, "caller": who or context.peer(),
                                       "code": code, "ms": round(elapsed * 1e3, 3)}, ensure_ascii=False))
