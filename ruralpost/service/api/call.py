"""One call as the shared per-call code sees it, whichever door it came through (gRPC, HTTP, console).

The doors differ in how a caller, a request id and "is the client still there?" arrive; past the
door a `Call` carries them, so the code that validates, decides and records never sees a
`grpc.ServicerContext` or an HTTP request. The call being served is the `current()` one: the gate
sets it when the call opens (a context variable, so every task and every piece of work handed to
the pool sees its own call).
"""

from __future__ import annotations

import contextvars
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from ruralpost.service.api.auth import Caller


def _always() -> bool:
    return True


@dataclass
class Call:
    method: str  # the method's short name, "CheckStation"
    request_id: str
    peer: str  # the client's address as the door reports it
    caller: Caller | None = None  # None when the server runs without an auth file
    is_active: Callable[[], bool] = _always  # False once the client is gone or its deadline passed
    started: float = field(default_factory=time.perf_counter)

    @property
    def who(self) -> str:
        """The decision log's caller: the authenticated name when auth is on, else the peer."""
        return self.caller.name if self.caller else self.peer


_CURRENT: contextvars.ContextVar[Call] = contextvars.ContextVar("ruralpost_call")


def current() -> Call:
    """The call being served; code run without a gate (a benchmark, a test) gets a bare one."""
    found = _CURRENT.get(None)
    return found if found is not None else Call("", "", "")


def enter(call: Call) -> contextvars.Token[Call]:
    """Makes `call` the current one (the gate does, when the call opens)."""
    return _CURRENT.set(call)


def leave(token: contextvars.Token[Call]) -> None:
    _CURRENT.reset(token)
