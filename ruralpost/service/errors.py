"""The one place that maps domain errors to gRPC status codes with rich details."""

from __future__ import annotations

from dataclasses import dataclass

import grpc
from google.protobuf import any_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status


@dataclass(frozen=True)
class FieldViolation:
    field: str
    description: str


class ServiceError(Exception):
    """An error a caller gets back as a status; `code` is a google.rpc code."""

    code: int = code_pb2.INTERNAL

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def details(self) -> list[any_pb2.Any]:
        return []

    def to_status(self) -> status_pb2.Status:
        return status_pb2.Status(code=self.code, message=self.message, details=self.details())


class InvalidArgument(ServiceError):
    """The request cannot be evaluated at all; every bad field is named."""

    code = code_pb2.INVALID_ARGUMENT

    def __init__(self, violations: list[FieldViolation]) -> None:
        fields = ", ".join(v.field for v in violations)
        super().__init__(f"invalid request: {fields}")
        self.violations = violations

    def details(self) -> list[any_pb2.Any]:
        detail = any_pb2.Any()
        detail.Pack(error_details_pb2.BadRequest(field_violations=[
            error_details_pb2.BadRequest.FieldViolation(field=v.field, description=v.description)
            for v in self.violations
        ]))
        return [detail]


class AlreadyExists(ServiceError):
    code = code_pb2.ALREADY_EXISTS


class FailedPrecondition(ServiceError):
    code = code_pb2.FAILED_PRECONDITION


class Unavailable(ServiceError):
    code = code_pb2.UNAVAILABLE


def abort(context: grpc.ServicerContext, error: ServiceError) -> None:
    """Ends the call with the error's status and details (raises)."""
    context.abort_with_status(rpc_status.to_status(error.to_status()))
