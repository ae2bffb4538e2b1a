"""One call as the shared per-call code sees it, whichever door it came through (gRPC, HTTP, console).

The doors differ in how a caller, a request id and "is the client still there?" arrive; past the
door a `Call` carries them, so the code that validates, decides and records never sees a
`grpc.ServicerContext` or an HTTP request.
"""

from __future__ import annotations

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


# The door attaches the call to its own per-call object (a grpc context, a Connect RequestContext).
_ATTR = "_ruralpost_call"


def attach(carrier: object, call: Call) -> None:
    setattr(carrier, _ATTR, call)


def call_of(carrier: object) -> Call | None:
    found: Call | None = getattr(carrier, _ATTR, None)
    return found
