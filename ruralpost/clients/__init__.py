"""Clients of the ruralpost service: a typed library, the batch CLI, reports, examples.

Talks gRPC only (never imports `service`); both sides share the generated `ruralpost.v1` package.
"""

from ruralpost.clients.sdk.client import ClientOptions, RuralpostClient, connect
from ruralpost.clients.sdk.errors import RuralpostError, Violation

__all__ = ["ClientOptions", "RuralpostClient", "RuralpostError", "Violation", "connect"]
