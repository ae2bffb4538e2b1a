"""The one mapping from exceptions to statuses, with a catch-all, for both doors.

A domain error becomes its code with its message (and a BadRequest naming every bad field); any
other exception becomes INTERNAL with the request id and never its text, which is logged instead.
gRPC gets the google.rpc.Status (`grpc_status`); the HTTP door the same code, message and details as a
Connect error (`connect_error`: Connect's codes are gRPC's, spelled in lower case on the wire).
"""

from __future__ import annotations

import logging

import grpc
from connectrpc.code import Code as ConnectCode
from connectrpc.errors import ConnectError
from google.protobuf import any_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status

from ruralpost.service import errors

log = logging.getLogger("ruralpost.calls")

CODES: dict[type[errors.ServiceError], grpc.StatusCode] = {
    errors.InvalidArgument: grpc.StatusCode.INVALID_ARGUMENT,
    errors.Unauthenticated: grpc.StatusCode.UNAUTHENTICATED,
    errors.PermissionDenied: grpc.StatusCode.PERMISSION_DENIED,
    errors.AlreadyExists: grpc.StatusCode.ALREADY_EXISTS,
    errors.FailedPrecondition: grpc.StatusCode.FAILED_PRECONDITION,
    errors.ResourceExhausted: grpc.StatusCode.RESOURCE_EXHAUSTED,
    errors.Unavailable: grpc.StatusCode.UNAVAILABLE,
}


def code_of(error: BaseException) -> grpc.StatusCode:
    """The status code an exception stands for: its class's, or INTERNAL. A ConnectError is the
    HTTP door's own refusal of a message it cannot decode: its code stands."""
    if isinstance(error, ConnectError):  # a client that went away: Connect spells it CANCELED
        return grpc.StatusCode["CANCELLED" if error.code is ConnectCode.CANCELED else error.code.name]
    for kind in type(error).__mro__:
        code = CODES.get(kind)
        if code is not None:
            return code
    return grpc.StatusCode.INTERNAL


def _details(error: BaseException) -> list[any_pb2.Any]:
    if not isinstance(error, errors.InvalidArgument):
        return []
    detail = any_pb2.Any()
    detail.Pack(
        error_details_pb2.BadRequest(
            field_violations=[
                error_details_pb2.BadRequest.FieldViolation(field=v.field, description=v.description)
                for v in error.violations
            ]
        )
    )
    return [detail]


def status_of(error: BaseException, request_id: str) -> status_pb2.Status:
    """The google.rpc.Status a caller gets for the exception (also a stream item's `error`)."""
    code = code_of(error)
    if isinstance(error, ConnectError) and code != grpc.StatusCode.INTERNAL:
        return status_pb2.Status(code=getattr(code_pb2, code.name), message=error.message, details=error.details)
    if isinstance(error, errors.ServiceError) and code != grpc.StatusCode.INTERNAL:
        message = error.message
    else:
        log.error("internal error, request id %s", request_id, exc_info=error)
        message = f"内部错误，请求编号 {request_id} (internal error; request id {request_id})"
    return status_pb2.Status(code=getattr(code_pb2, code.name), message=message, details=_details(error))


def grpc_status(found: status_pb2.Status) -> grpc.Status:
    """The status a gRPC call ends with: code, message and the google.rpc.Status in the trailing
    metadata."""
    return rpc_status.to_status(found)


def connect_error(found: status_pb2.Status) -> ConnectError:
    """The Connect error the HTTP door answers: the code, message and details gRPC would give (an
    INVALID_ARGUMENT carries its google.rpc.BadRequest)."""
    name = code_pb2.Code.Name(found.code)
    code = ConnectCode.CANCELED if name == "CANCELLED" else ConnectCode[name]
    return ConnectError(code, found.message, details=list(found.details))
