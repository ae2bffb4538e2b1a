"""What every call needs before and after the shared code, whichever door it came through: a request
id, the caller and its role, a stream slot, and at the end the metrics and the log line.

The gRPC interceptor and the HTTP door's Connect interceptor both go through one `Gate`, so a
token, a role, a stream limit and a metric mean the same on both doors.
"""

from __future__ import annotations

import itertools
import json
import logging
import os
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterable

from ruralpost.service.api import metrics, status
from ruralpost.service.api.auth import Authenticator, Caller
from ruralpost.service.api.call import Call, _always
from ruralpost.service.errors import PermissionDenied, ResourceExhausted, ServiceError

log = logging.getLogger("ruralpost.calls")

Metadata = Iterable[tuple[str, str | bytes]]


class _StreamSlots:
    """Concurrent streams per caller: one caller cannot take the server's whole attention (or,
    over the HTTP door, every worker thread)."""

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


class _RequestIds:
    """32 hex digits unique per call: a random prefix per process and a counter.

    uuid4() reads the system's randomness on every call (a system call on the hot path); a
    forked worker draws its own prefix, so workers never repeat each other's ids.
    """

    def __init__(self) -> None:
        self.reset()
        os.register_at_fork(after_in_child=self.reset)

    def reset(self) -> None:
        self._prefix = os.urandom(8).hex()
        self._count = itertools.count()

    def new(self) -> str:
        return f"{self._prefix}{next(self._count):016x}"


_IDS = _RequestIds()


def request_id_of(metadata: Metadata) -> str:
    """The client's `x-request-id`, or a new one."""
    return next((str(v) for k, v in metadata if k.lower() == "x-request-id"), "") or _IDS.new()


class Gate:
    def __init__(self, authenticator: Authenticator | None, max_streams_per_caller: int = 8) -> None:
        self.authenticator = authenticator
        self.slots = _StreamSlots(max_streams_per_caller)

    def open(
        self,
        path: str,
        peer: str,
        metadata: Metadata = (),
        caller: Caller | None = None,
        is_active: Callable[[], bool] = _always,
    ) -> tuple[Call, ServiceError | None]:
        """The call of `path` ("/ruralpost.v1.StationService/CheckStation"), and the error that
        refuses it (no or unknown token, a role that may not call it), for the door to answer
        after `finish`. A caller the door authenticated already (the console's session) is
        checked for its role only."""
        metadata = tuple(metadata)
        call = Call(path.rsplit("/", 1)[-1], request_id_of(metadata), peer, is_active=is_active)
        if self.authenticator is None:
            return call, None
        try:
            call.caller = caller if caller is not None else self.authenticator.caller(metadata, peer)
        except ServiceError as e:
            return call, e
        if not call.caller.may_call(path):
            return call, PermissionDenied(f"{call.caller.name} ({call.caller.role}) may not call {path}")
        return call, None

    def take_slot(self, call: Call) -> str:
        """One of the caller's stream slots (RESOURCE_EXHAUSTED when all are taken); give it back."""
        slot = call.caller.name if call.caller else call.peer
        self.slots.take(slot)
        return slot

    def give_slot(self, slot: str) -> None:
        self.slots.give(slot)

    @staticmethod
    def finish(call: Call, error: BaseException | None) -> None:
        """Metrics for every call; a structured log line (errors at WARNING, the rest at DEBUG)."""
        elapsed = time.perf_counter() - call.started
        code = "OK" if error is None else status.code_of(error).name
        metrics.observe_call(call.method, code, elapsed)
        level = logging.DEBUG if code == "OK" else logging.WARNING
        if log.isEnabledFor(level):
            log.log(
                level,
                json.dumps(
                    {
                        "request_id": call.request_id,
                        "method": call.method,
                        "caller": call.who,
                        "code": code,
                        "ms": round(elapsed * 1e3, 3),
                    },
                    ensure_ascii=False,
                ),
            )
