"""What a call that did not give an answer tells its caller: status code, message, bad fields."""

from __future__ import annotations

from typing import Any

import grpc
from grpc_status import rpc_status

from ruralpost.clients.badrequest import Violation, violations_of

# Codes that say "the service could not be reached or would not serve" rather than "your data".
CONNECTION_CODES = frozenset(
    {
        grpc.StatusCode.UNAVAILABLE,
        grpc.StatusCode.DEADLINE_EXCEEDED,
        grpc.StatusCode.UNIMPLEMENTED,
        grpc.StatusCode.UNAUTHENTICATED,
        grpc.StatusCode.PERMISSION_DENIED,
        grpc.StatusCode.CANCELLED,
        grpc.StatusCode.RESOURCE_EXHAUSTED,
        grpc.StatusCode.INTERNAL,
        grpc.StatusCode.UNKNOWN,
    }
)
_BY_NUMBER = {code.value[0]: code for code in grpc.StatusCode}

__all__ = ["CONNECTION_CODES", "RuralpostError", "Violation", "violations_of"]


class RuralpostError(Exception):
    """A call or a stream item the service refused or could not answer."""

    def __init__(self, code: grpc.StatusCode, message: str, violations: list[Violation] | None = None) -> None:
        super().__init__(f"{code.name}: {message}")
        self.code = code
        self.message = message
        self.violations = violations or []

    @property
    def is_connection(self) -> bool:
        """True when the service was not reached or not serving (the CLI exits 2)."""
        return self.code in CONNECTION_CODES

    @classmethod
    def from_rpc_error(cls, error: grpc.RpcError) -> RuralpostError:
        call: Any = error
        code = call.code() if hasattr(call, "code") else grpc.StatusCode.UNKNOWN
        message = (call.details() if hasattr(call, "details") else "") or str(error)
        try:
            status = rpc_status.from_call(call)
        except (ValueError, AttributeError):
            status = None
        return cls(code, message, violations_of(status))

    @classmethod
    def from_status(cls, status: Any) -> RuralpostError:
        """From a stream item's `error` (a google.rpc.Status)."""
        code = _BY_NUMBER.get(int(status.code), grpc.StatusCode.UNKNOWN)
        return cls(code, str(status.message), violations_of(status))
