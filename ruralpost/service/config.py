"""The server's settings and their defaults, light enough for the CLI to read without the server."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import grpc

# The rule packs ship inside the package (package data), so an installed `ruralpost` finds them.
DEFAULT_RULES_DIR = Path(__file__).resolve().parents[1] / "rules"


class ConfigError(ValueError):
    """The server would start unsafe or cannot start as configured."""


def host_port(listen: str) -> tuple[str, int]:
    """HOST:PORT (an IPv6 host in brackets) as the host to bind and the port."""
    host, sep, port = listen.rpartition(":")
    if not sep or not host or not port.isdigit() or int(port) > 65535:
        raise ConfigError(f"{listen!r} is not HOST:PORT")
    return host.removeprefix("[").removesuffix("]"), int(port)


@dataclass
class Config:
    """How `ruralpost serve` runs; the defaults here are the only ones (the CLI shows them)."""

    listen: str = "127.0.0.1:50051"
    db: str = "var/ruralpost.db"
    rules_dir: Path = DEFAULT_RULES_DIR
    threads: int = 16
    grace_seconds: float = 5.0
    auth_file: Path | None = None
    insecure: bool = False  # allow listening beyond loopback without an auth file
    tls_cert: Path | None = None
    tls_key: Path | None = None
    client_ca: Path | None = None  # mTLS: clients must present a certificate signed by this CA
    max_streams_per_caller: int = 8
    max_stream_items: int = 1_000_000
    metrics_listen: str | None = None  # HOST:PORT of the Prometheus endpoint
    # The HTTP door (Connect protocol, gRPC-Web) and the web console, off unless a HOST:PORT is given.
    http_listen: str | None = None
    http_threads: int = 8
    console_dir: Path = Path("var/console")  # uploads and results of the console, a folder per job
    console_job_hours: float = 24.0  # results kept for download this long
    session_seconds: float = 8 * 3600.0  # a console login lasts a working day (12 hours at most)
    cookie_secure: bool = False  # console cookies `Secure` even over plain HTTP: TLS ends at a proxy
    max_upload_bytes: int = 32 * 1024 * 1024
    max_station_rows: int = 20_000  # the console's limit; the CLI streams any number
    # handlers outside the product API (the benchmark's no-op baselines)
    extra_handlers: list[grpc.GenericRpcHandler[Any, Any]] = field(default_factory=list)
