"""Clients of the ruralpost service: the SDK (`sdk`), spreadsheets (`sheets`), reports (`reports`),
the client commands (`cli`) and examples. This package's names are the SDK's.

Talks gRPC only (never imports `service`); both sides share the generated `ruralpost.v1` package.
"""

from ruralpost.clients.sdk.client import ClientOptions, RuralpostClient, connect
from ruralpost.clients.sdk.errors import RuralpostError, Violation

__all__ = ["ClientOptions", "RuralpostClient", "RuralpostError", "Violation", "connect"]
