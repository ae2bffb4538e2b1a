"""The CLI pointed at the HTTP door instead of the gRPC port: one line saying which port to use."""

from __future__ import annotations

import pytest

from ruralpost.cli import main
from ruralpost.service.server import Running


def test_a_client_pointed_at_the_http_port_is_told_to_use_the_grpc_port(
    http_server: Running, capsys: pytest.CaptureFixture[str]
) -> None:
    address = f"127.0.0.1:{http_server.http_port}"
    assert main(["rules", "--server", address, "--attempts", "1"]) == 2
    out, err = capsys.readouterr()
    assert out == "" and len(err.splitlines()) == 1, err
    assert f"无法连接 {address}：这是 HTTP 端口" in err and "use the gRPC port (--listen)" in err
