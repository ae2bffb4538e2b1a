"""Domain errors: what went wrong, in words a caller can act on. No gRPC here.

`api/status.py` is the one place that turns them (and anything unexpected) into statuses.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from ruralpost.limits import MAX_NAMED, MAX_VIOLATION_BYTES, MAX_VIOLATIONS
from ruralpost.service import dates

CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")  # refused in any text field (a tab is allowed)
_ENUM_NUMBERS: dict[type, frozenset[int]] = {}  # an enum type's numbers: fixed by the generated code
# Lengths no real value reaches: longer is a mistake or an attack, refused with the field named.


@dataclass(frozen=True)
class FieldViolation:
    field: str
    description: str


class ServiceError(Exception):
    """An error the caller gets back as a status with this message."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidArgument(ServiceError):
    """The request cannot be evaluated at all; the first MAX_VIOLATIONS bad fields are named and
    the rest counted, so a request of 100,000 bad fields gets an answer of a few kilobytes."""

    def __init__(self, violations: list[FieldViolation]) -> None:
        size, kept = 0, 0
        for v in violations[:MAX_VIOLATIONS]:
            size += len(v.field.encode()) + len(v.description.encode()) + 8
            if kept and size > MAX_VIOLATION_BYTES:
                break
            kept += 1
        self.violations = violations[:kept]
        self.omitted = len(violations) - kept
        named = ", ".join(v.field for v in violations[:MAX_NAMED])
        if len(violations) > MAX_NAMED:
            named += ", …"
        more = f" 另有 {self.omitted:,} 处未列出 (and {self.omitted:,} more)" if self.omitted else ""
        super().__init__(f"invalid request: {named}{more}")


class Unauthenticated(ServiceError):
    """No token, or one the auth file does not know."""


class PermissionDenied(ServiceError):
    """The caller's role or operator does not allow this."""


class AlreadyExists(ServiceError):
    """A claim id committed with other contents."""


class FailedPrecondition(ServiceError):
    """The service is not in a state to do this (e.g. a rule folder that does not load)."""


class ResourceExhausted(ServiceError):
    """A per-caller or per-stream limit was reached."""


class Unavailable(ServiceError):
    """Try again later: the database is unreachable, or commits kept racing."""


class Violations:
    """Collects every bad field of a request, then raises them all at once."""

    def __init__(self) -> None:
        self.items: list[FieldViolation] = []

    def add(self, field: str, description: str) -> None:
        self.items.append(FieldViolation(field, description))

    def raise_if_any(self) -> None:
        if self.items:
            raise InvalidArgument(self.items)

    def string(self, field: str, value: str, limit: int) -> None:
        if len(value) > limit:
            self.add(field, f"longer than {limit} characters ({len(value)})")
        elif CONTROL.search(value):
            self.add(field, "contains control characters")

    def date(self, field: str, value: str, required: bool = False) -> dt.date | None:
        if not value:
            if required:
                self.add(field, "required, YYYY-MM-DD")
            return None
        try:
            return dates.parse_date(value)
        except ValueError as e:
            self.add(field, str(e))
            return None

    def enum(self, field: str, value: int, enum_type: type) -> None:
        """UNSPECIFIED is a missing fact (INCOMPLETE), an unknown number a malformed one."""
        numbers = _ENUM_NUMBERS.get(enum_type)
        if numbers is None:
            numbers = _ENUM_NUMBERS[enum_type] = frozenset(enum_type.DESCRIPTOR.values_by_number)  # type: ignore[attr-defined]
        if value not in numbers:
            self.add(field, f"unknown enum number {value}")
