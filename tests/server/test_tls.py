"""TLS and mutual TLS with certificates made by openssl for the test."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import grpc
import pytest

from ruralpost.service.config import Config
from ruralpost.service.server import running
from ruralpost.v1 import station_pb2_grpc
from tests.support import code, station_request


def _openssl(*args: str) -> None:
    subprocess.run(["openssl", *args], check=True, capture_output=True)


@pytest.fixture
def pki(tmp_path: Path) -> Path:
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed: cannot make test certificates")
    d = tmp_path / "pki"
    d.mkdir()
    _openssl(
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "2",
        "-subj",
        "/CN=test-ca",
        "-keyout",
        str(d / "ca.key"),
        "-out",
        str(d / "ca.pem"),
    )
    for name, cn in (("server", "localhost"), ("client", "yigongli-system")):
        _openssl(
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-subj",
            f"/CN={cn}",
            "-keyout",
            str(d / f"{name}.key"),
            "-out",
            str(d / f"{name}.csr"),
        )
        ext = d / f"{name}.ext"
        ext.write_text("subjectAltName=DNS:localhost,IP:127.0.0.1\n")
        _openssl(
            "x509",
            "-req",
            "-in",
            str(d / f"{name}.csr"),
            "-CA",
            str(d / "ca.pem"),
            "-CAkey",
            str(d / "ca.key"),
            "-CAcreateserial",
            "-days",
            "2",
            "-extfile",
            str(ext),
            "-out",
            str(d / f"{name}.pem"),
        )
    return d


def test_tls_and_mutual_tls(tmp_path: Path, pki: Path) -> None:
    ca = (pki / "ca.pem").read_bytes()
    config = Config(
        listen="127.0.0.1:0",
        db=str(tmp_path / "t.db"),
        tls_cert=pki / "server.pem",
        tls_key=pki / "server.key",
        client_ca=pki / "ca.pem",
        grace_seconds=0,
    )
    with running(config) as r:
        target = f"localhost:{r.port}"
        with grpc.secure_channel(target, grpc.ssl_channel_credentials(root_certificates=ca)) as ch:
            assert (
                code(lambda: station_pb2_grpc.StationServiceStub(ch).CheckStation(station_request(), timeout=5))
                == grpc.StatusCode.UNAVAILABLE
            )  # no client certificate
        creds = grpc.ssl_channel_credentials(
            root_certificates=ca,
            private_key=(pki / "client.key").read_bytes(),
            certificate_chain=(pki / "client.pem").read_bytes(),
        )
        with grpc.secure_channel(target, creds) as ch:
            verdict = station_pb2_grpc.StationServiceStub(ch).CheckStation(station_request(), timeout=5).verdict
            assert verdict.subject_id == "KJH-XZ-01"
        with grpc.insecure_channel(target) as ch:
            assert (
                code(lambda: station_pb2_grpc.StationServiceStub(ch).CheckStation(station_request(), timeout=5))
                == grpc.StatusCode.UNAVAILABLE
            )
