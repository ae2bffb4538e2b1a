"""What every call needs before and after the shared code, whichever door it came through: a request
id, the caller and its role, a stream slot, and at the end the metrics and the log line.

Every door (the gRPC interceptor, the HTTP door's Connect interceptor, the console) serves a call
the same way: `async with gate.call(path, peer, metadata) as call:` opens it (request id, token,
role, stream slot; the current `Call`), and on the way out records the metrics and the log line
and maps an exception, once, to the status the caller gets (`Refused`). The door only writes that
status in its own protocol, so a token, a role, a stream limit and a metric mean the same on all.
"""

from __future__ import annotations

import itertools
import json
import logging
import os
import re
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterable

from google.rpc import status_pb2

from ruralpost.service.api import call as calls
from ruralpost.service.api import metrics, status
from ruralpost.service.api.auth import Authenticator, Caller
from ruralpost.service.api.call import Call, _always
from ruralpost.service.api.throttle import address
from ruralpost.service.errors import PermissionDenied, ResourceExhausted

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


def _slot_of(found: Call) -> str:
    """Whose stream slots a stream takes: the caller's, or without an auth file its client address
    (without the port: one client cannot take more slots by opening more connections)."""
    return found.caller.name if found.caller else address(found.peer)


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


# A client's request id is kept when it is short and plain (it goes into our log lines and headers).
_CLIENT_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")


def request_id_of(metadata: Metadata) -> str:
    """The client's `x-request-id` when it is at most 64 of [A-Za-z0-9._-], else a new one."""
    given = next((v for k, v in metadata if k.lower() == "x-request-id"), "")
    if isinstance(given, str) and _CLIENT_ID.fullmatch(given):
        return given
    return _IDS.new()


class Refused(Exception):
    """A call ended by an error, already counted and logged: the status its caller gets (the one
    mapping of `status.py`), for the door to write in its own protocol."""

    def __init__(self, call: Call, error: BaseException, found: status_pb2.Status, code: str) -> None:
        super().__init__(found.message)
        self.call, self.error, self.status, self.code = call, error, found, code


class Gate:
    def __init__(self, authenticator: Authenticator | None, max_streams_per_caller: int = 8) -> None:
        self.authenticator = authenticator
        self.slots = _StreamSlots(max_streams_per_caller)

    def call(
        self,
        path: str,
        peer: str,
        metadata: Metadata = (),
        *,
        caller: Caller | None = None,
        is_active: Callable[[], bool] = _always,
        stream: bool = False,
        counted: Callable[[Exception], Exception] | None = None,
        request_id: str = "",
    ) -> _Opening:
        """The call of `path` ("/ruralpost.v1.StationService/CheckStation") for the `async with`
        block, the current one meanwhile. Opening it checks the token (a caller the door
        authenticated already, the console's session, for its role only) and, for a `stream`,
        takes one of the caller's stream slots. Whatever error ends the call or refuses it
        leaves as `Refused`, after the metrics and the log line; `counted` says what a door's own
        error counts as. `request_id`: the one the door has already written (`request_id_of`)."""
        return _Opening(self, path, peer, metadata, caller, is_active, stream, counted, request_id)

    def _admit(self, found: Call, path: str, metadata: Metadata, caller: Caller | None) -> None:
        if caller is not None:
            if not caller.may_call(path):
                raise PermissionDenied(f"{caller.name} ({caller.role}) may not call {path}")
            found.caller = caller
        else:
            found.caller = self.admit(path, metadata, found.peer)

    def admit(self, path: str, metadata: Metadata, peer: str = "") -> Caller | None:
        """The caller of `path` from its metadata alone (None without an auth file); raises
        UNAUTHENTICATED (no or unknown token) or PERMISSION_DENIED (a role that may not call it).
        Cheap and without a trace: a door asks it before reading a body."""
        if self.authenticator is None:
            return None
        caller = self.authenticator.caller(metadata, peer)
        if not caller.may_call(path):
            raise PermissionDenied(f"{caller.name} ({caller.role}) may not call {path}")
        return caller

    def _refused(self, found: Call, error: Exception, seen: Exception) -> Refused:
        self.finish(found, seen)
        return Refused(found, error, status.status_of(seen, found.request_id), status.code_of(seen).name)

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


class _Opening:
    """`Gate.call`'s context manager: a class rather than a generator, as every call of every door
    enters and leaves one (the generator's machinery cost more than what it runs)."""

    __slots__ = (
        "caller", "counted", "found", "gate", "is_active", "metadata",
        "path", "peer", "request_id", "slot", "stream", "token",
    )  # fmt: skip

    def __init__(
        self,
        gate: Gate,
        path: str,
        peer: str,
        metadata: Metadata,
        caller: Caller | None,
        is_active: Callable[[], bool],
        stream: bool,
        counted: Callable[[Exception], Exception] | None,
        request_id: str,
    ) -> None:
        self.gate, self.path, self.peer, self.metadata, self.caller = gate, path, peer, metadata, caller
        self.is_active, self.stream, self.counted, self.request_id = is_active, stream, counted, request_id
        self.slot: str | None = None

    async def __aenter__(self) -> Call:
        metadata = tuple(self.metadata)
        request_id = self.request_id or request_id_of(metadata)
        found = self.found = Call(self.path.rsplit("/", 1)[-1], request_id, self.peer, is_active=self.is_active)
        self.token = calls.enter(found)
        try:
            self.gate._admit(found, self.path, metadata, self.caller)
            if self.stream:
                slot = _slot_of(found)
                self.gate.slots.take(slot)
                self.slot = slot
        except Exception as e:
            calls.leave(self.token)
            raise self._refused(e) from None
        except BaseException:
            calls.leave(self.token)
            raise
        return found

    async def __aexit__(self, kind: type[BaseException] | None, error: BaseException | None, _tb: object) -> None:
        try:
            try:
                if isinstance(error, Exception):
                    raise self._refused(error) from None
            finally:
                if self.slot is not None:
                    self.gate.slots.give(self.slot)
            if error is None:
                self.gate.finish(self.found, None)
        finally:
            calls.leave(self.token)

    def _refused(self, error: Exception) -> Refused:
        return self.gate._refused(self.found, error, self.counted(error) if self.counted else error)
