"""Server lifecycle: build, start, stop with grace; health checking and reflection."""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import threading
from collections.abc import Iterator
from concurrent import futures
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from ruralpost.service.api.auth import Authenticator, load_callers
from ruralpost.service.api.calls import Runtime
from ruralpost.service.api.interceptors import ServiceInterceptor
from ruralpost.service.api.metrics import serve_metrics
from ruralpost.service.api.quota_service import QuotaServicer
from ruralpost.service.api.rules_service import RulesServicer
from ruralpost.service.api.station_service import StationServicer
from ruralpost.service.api.subsidy_service import SubsidyServicer
from ruralpost.service.rulebook.packs import RulebookError
from ruralpost.service.ruleset import DEFAULT_RULES_DIR, ActiveRules
from ruralpost.service.store import open_store
from ruralpost.v1 import (
    claim_pb2,
    claim_pb2_grpc,
    progress_pb2,
    progress_pb2_grpc,
    rules_pb2,
    rules_pb2_grpc,
    station_pb2,
    station_pb2_grpc,
)

log = logging.getLogger(__name__)

MAX_MESSAGE_BYTES = 64 * 1024 * 1024  # a 200,000-parcel claim fits
SERVICE_NAMES = (
    station_pb2.DESCRIPTOR.services_by_name["StationService"].full_name,
    progress_pb2.DESCRIPTOR.services_by_name["QuotaService"].full_name,
    claim_pb2.DESCRIPTOR.services_by_name["SubsidyService"].full_name,
    rules_pb2.DESCRIPTOR.services_by_name["RulesService"].full_name,
)


LOOPBACK_HOSTS = ("127.", "localhost", "[::1]", "::1")


class ConfigError(ValueError):
    """The server would start unsafe or cannot start as configured."""


@dataclass
class Config:
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
    metrics_port: int | None = None
    # handlers outside the product API (the benchmark's no-op baselines)
    extra_handlers: list[grpc.GenericRpcHandler[Any, Any]] = field(default_factory=list)


@dataclass
class Running:
    server: grpc.Server
    port: int
    runtime: Runtime
    health: health.HealthServicer


def is_loopback(listen: str) -> bool:
    host = listen.rsplit(":", 1)[0]
    return host.startswith(LOOPBACK_HOSTS)


def _credentials(config: Config) -> grpc.ServerCredentials | None:
    if not config.tls_cert and not config.tls_key:
        if config.client_ca:
            raise ConfigError("--client-ca needs --tls-cert and --tls-key")
        return None
    if not (config.tls_cert and config.tls_key):
        raise ConfigError("TLS needs both --tls-cert and --tls-key")
    ca = config.client_ca.read_bytes() if config.client_ca else None
    return grpc.ssl_server_credentials([(config.tls_key.read_bytes(), config.tls_cert.read_bytes())],
                                       root_certificates=ca, require_client_auth=ca is not None)


def build(config: Config, options: tuple[tuple[str, Any], ...] = ()) -> Running:
    """A started server with every service registered; the caller stops it (see `running`)."""
    if not is_loopback(config.listen) and config.auth_file is None and not config.insecure:
        raise ConfigError(f"refusing to listen on {config.listen} without --auth-file "
                          "(give --insecure to allow it on a trusted network)")
    authenticator = Authenticator(load_callers(config.auth_file)) if config.auth_file else None
    credentials = _credentials(config)
    runtime = Runtime(rules=ActiveRules(config.rules_dir), store=open_store(config.db),
                      max_stream_items=config.max_stream_items)
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=config.threads, thread_name_prefix="rpc"),
        interceptors=[ServiceInterceptor(authenticator, config.max_streams_per_caller)],
        options=[
            ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
            ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
            *options,
        ],
    )
    station_pb2_grpc.add_StationServiceServicer_to_server(StationServicer(runtime), server)
    rules_pb2_grpc.add_RulesServiceServicer_to_server(RulesServicer(runtime), server)
    progress_pb2_grpc.add_QuotaServiceServicer_to_server(QuotaServicer(runtime), server)
    claim_pb2_grpc.add_SubsidyServiceServicer_to_server(SubsidyServicer(runtime), server)
    if config.extra_handlers:
        server.add_generic_rpc_handlers(tuple(config.extra_handlers))
    health_servicer = health.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    reflection.enable_server_reflection(
        (*SERVICE_NAMES, health.SERVICE_NAME, reflection.SERVICE_NAME), server)
    if credentials is None:
        port = server.add_insecure_port(config.listen)
    else:
        port = server.add_secure_port(config.listen, credentials)
    if port == 0:
        runtime.store.close()
        raise OSError(f"cannot listen on {config.listen}")
    server.start()
    for name in ("", *SERVICE_NAMES):
        health_servicer.set(name, health_pb2.HealthCheckResponse.SERVING)
    log.info("listening on %s (port %d), rules %s", config.listen, port, runtime.rules.current.version)
    return Running(server, port, runtime, health_servicer)


def stop(running: Running, grace: float) -> None:
    """Health NOT_SERVING first (load balancers drain), then stop with a grace period."""
    running.health.enter_graceful_shutdown()
    running.server.stop(grace).wait()
    running.runtime.store.close()


@contextlib.contextmanager
def running(config: Config) -> Iterator[Running]:
    """A server for the duration of a `with` block; tests start it on port 0."""
    r = build(config)
    try:
        yield r
    finally:
        stop(r, config.grace_seconds)


def reload_rules(r: Running) -> None:
    """Activates the rule folder's current contents if they load and pass their golden cases."""
    try:
        ruleset, passed = r.runtime.rules.reload()
        log.info("rules reloaded: ruleset %s (%d golden cases passed)", ruleset.version, passed)
    except RulebookError as e:
        log.error("rules not reloaded, ruleset %s stays: %s", r.runtime.rules.current.version, e)


def serve(config: Config, options: tuple[tuple[str, Any], ...] = (), metrics: bool = True) -> None:
    """Runs until SIGINT or SIGTERM, then stops gracefully; SIGHUP reloads the rules."""
    done = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: done.set())
    r = build(config, options)
    if config.metrics_port and metrics:
        serve_metrics(config.metrics_port)
    signal.signal(signal.SIGHUP, lambda *_: threading.Thread(target=reload_rules, args=(r,)).start())
    print(f"ruralpost serving on {config.listen} (port {r.port}), db {config.db}, "
          f"ruleset {r.runtime.rules.current.version}", flush=True)
    done.wait()
    log.info("stopping (grace %.1fs)", config.grace_seconds)
    stop(r, config.grace_seconds)


def serve_workers(config: Config, workers: int) -> int:
    """N pre-forked worker processes sharing the port (SO_REUSEPORT); one core each.

    The parent checks the configuration and creates the schema once, forks before any gRPC
    object exists, forwards SIGTERM/SIGINT/SIGHUP to the workers and restarts one that dies.
    """
    if not is_loopback(config.listen) and config.auth_file is None and not config.insecure:
        raise ConfigError(f"refusing to listen on {config.listen} without --auth-file")
    if config.listen.endswith(":0"):
        raise ConfigError("--workers needs a fixed port: the workers share it")
    ActiveRules(config.rules_dir)  # fail here, not in N workers, when the rules do not load
    open_store(config.db).close()  # create the schema once
    if config.metrics_port:
        serve_metrics(config.metrics_port)  # the parent's registry; workers count their own calls
    children: dict[int, int] = {}
    stopping = threading.Event()

    def spawn(slot: int) -> None:
        pid = os.fork()
        if pid == 0:
            try:
                serve(config, options=(("grpc.so_reuseport", 1),), metrics=False)
            finally:
                os._exit(0)
        children[pid] = slot

    def forward(sig: int, _frame: object) -> None:
        if sig in (signal.SIGTERM, signal.SIGINT):
            stopping.set()
        for pid in list(children):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)

    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, forward)
    for slot in range(workers):
        spawn(slot)
    print(f"ruralpost: {workers} workers on {config.listen}", flush=True)
    status = 0
    while children:
        try:
            pid, code = os.wait()
        except ChildProcessError:
            break
        slot = children.pop(pid, -1)
        if not stopping.is_set() and slot >= 0:
            log.error("worker %d (pid %d) ended with %d; starting a new one", slot, pid, code)
            spawn(slot)
        elif code:
            status = 1
    return status
