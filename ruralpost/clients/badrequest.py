"""The bad fields a google.rpc.Status names. Shared by the SDK's errors and the spreadsheet batch,
which reads a stream item's refusal without the SDK (the console runs it in the server)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from google.rpc import error_details_pb2  # type: ignore[import-untyped, unused-ignore]


@dataclass(frozen=True)
class Violation:
    """One bad field of a request, as the server's google.rpc.BadRequest names it."""

    field: str
    description: str


def violations_of(status: Any) -> list[Violation]:
    """The BadRequest field violations in a google.rpc.Status (none when it carries none)."""
    found: list[Violation] = []
    if status is None:
        return found
    for detail in status.details:
        bad = error_details_pb2.BadRequest()
        if detail.Is(bad.DESCRIPTOR):
            detail.Unpack(bad)
            found += [Violation(v.field, v.description) for v in bad.field_violations]
    return found
