"""One door from exceptions to statuses: domain errors keep their code, anything else is INTERNAL
with a request id and never its text; a handler kind the interceptor does not wrap stops the start."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import grpc
import pytest
from prometheus_client import REGISTRY

from ruralpost.service.api.interceptors import ServiceInterceptor, UnsupportedHandler
from ruralpost.service.config import Config
from ruralpost.service.errors import AlreadyExists
from ruralpost.service.server import Running, running

SECRET = "connection string postgresql://admin:hunter2@db"


async def _boom(request: bytes, context: object) -> bytes:
    raise RuntimeError(SECRET)


async def _refuse(request: bytes, context: object) -> bytes:
    raise AlreadyExists("申报编号已用于内容不同的已入账申报 (claim id taken)")


def _handlers() -> grpc.GenericRpcHandler:  # type: ignore[type-arg]
    # A service under /ruralpost.: the interceptor (auth, statuses, metrics) applies to it.
    return grpc.method_handlers_generic_handler(
        "ruralpost.test.Faults",
        {
            "Boom": grpc.unary_unary_rpc_method_handler(_boom),
            "Refuse": grpc.unary_unary_rpc_method_handler(_refuse),
        },
    )


@pytest.fixture
def faulty(tmp_path: Path) -> Iterator[Running]:
    config = Config(listen="127.0.0.1:0", db=str(tmp_path / "f.db"), grace_seconds=1, extra_handlers=[_handlers()])
    with running(config) as r:
        yield r


def _call(r: Running, method: str, request_id: str = "") -> grpc.RpcError:
    with grpc.insecure_channel(f"127.0.0.1:{r.port}") as ch:
        call = ch.unary_unary(f"/ruralpost.test.Faults/{method}")
        with pytest.raises(grpc.RpcError) as info:
            call(b"", timeout=10, metadata=(("x-request-id", request_id),) if request_id else None)
    return info.value


def _count(method: str, code: str) -> float:
    return REGISTRY.get_sample_value("ruralpost_requests_total", {"method": method, "code": code}) or 0.0


def test_an_unexpected_exception_is_internal_with_the_request_id_not_its_text(faulty: Running) -> None:
    before = _count("Boom", "INTERNAL")
    error = _call(faulty, "Boom", request_id="req-42")
    assert error.code() == grpc.StatusCode.INTERNAL
    assert "req-42" in (error.details() or "") and "内部错误" in (error.details() or "")
    assert "hunter2" not in (error.details() or "")
    assert _count("Boom", "INTERNAL") == before + 1  # the metrics record what the caller saw


def test_a_domain_error_keeps_its_code_and_message(faulty: Running) -> None:
    before = _count("Refuse", "ALREADY_EXISTS")
    error = _call(faulty, "Refuse")
    assert error.code() == grpc.StatusCode.ALREADY_EXISTS
    assert error.details() == "申报编号已用于内容不同的已入账申报 (claim id taken)"
    assert _count("Refuse", "ALREADY_EXISTS") == before + 1


def test_every_kind_of_handler_is_wrapped_and_a_broken_one_refused() -> None:
    async def echo(request: bytes, context: object) -> bytes:
        return request

    async def echoes(request: bytes, context: object) -> AsyncIterator[bytes]:
        yield request

    ok = {
        "Unary": grpc.unary_unary_rpc_method_handler(echo),
        "ServerStream": grpc.unary_stream_rpc_method_handler(echoes),
        "ClientStream": grpc.stream_unary_rpc_method_handler(echo),
        "Bidi": grpc.stream_stream_rpc_method_handler(echoes),
    }
    ServiceInterceptor.check_handlers("ruralpost.test.Kinds", ok)
    interceptor = ServiceInterceptor(None)
    for name, handler in ok.items():
        wrapped = interceptor._wrap(handler, f"/ruralpost.test.Kinds/{name}")
        kind = next(k for k in ("unary_unary", "unary_stream", "stream_unary", "stream_stream") if getattr(handler, k))
        assert getattr(wrapped, kind) is not getattr(handler, kind)  # every kind goes through the interceptor
    broken = ok["ClientStream"]._replace(stream_unary=None)
    with pytest.raises(UnsupportedHandler, match=r"ruralpost\.test\.Kinds/ClientStream"):
        ServiceInterceptor.check_handlers("ruralpost.test.Kinds", {"ClientStream": broken})

    def blocking(request: bytes, context: object) -> bytes:
        return request

    with pytest.raises(UnsupportedHandler, match=r"Kinds/Sync: .* not async: it would block the event loop"):
        ServiceInterceptor.check_handlers("Kinds", {"Sync": grpc.unary_unary_rpc_method_handler(blocking)})
