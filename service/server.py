"""Server lifecycle: build, start, stop with grace; health checking and reflection."""

from __future__ import annotations

import contextlib
import logging
import signal
import threading
from collections.abc import Iterator
from concurrent import futures
from dataclasses import dataclass, field
from pathlib import Path

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection
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

from .ruleset import DEFAULT_RULES_DIR, ActiveRules
from .servicers.common import Runtime
from .servicers.rules import RulesServicer
from .servicers.station import StationServicer
from .servicers.subsidy import SubsidyServicer
from .store import open_store

log = logging.getLogger(__name__)

MAX_MESSAGE_BYTES = 64 * 1024 * 1024  # a 200,000-parcel claim fits
SERVICE_NAMES = (
    station_pb2.DESCRIPTOR.services_by_name["StationService"].full_name,
    progress_pb2.DESCRIPTOR.services_by_name["QuotaService"].full_name,
    claim_pb2.DESCRIPTOR.services_by_name["SubsidyService"].full_name,
    rules_pb2.DESCRIPTOR.services_by_name["RulesService"].full_name,
)


@dataclass
class Config:
    listen: str = "127.0.0.1:50051"
    db: str = "var/ruralpost.db"
    rules_dir: Path = DEFAULT_RULES_DIR
    threads: int = 16
    grace_seconds: float = 5.0
    extra_services: list[str] = field(default_factory=list)


@dataclass
class Running:
    server: grpc.Server
    port: int
    runtime: Runtime
    health: health.HealthServicer


def build(config: Config) -> Running:
    """A started server with every service registered; the caller stops it (see `running`)."""
    runtime = Runtime(rules=ActiveRules(config.rules_dir), store=open_store(config.db))
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=config.threads, thread_name_prefix="rpc"),
        options=[
            ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
            ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
        ],
    )
    station_pb2_grpc.add_StationServiceServicer_to_server(StationServicer(runtime), server)
    rules_pb2_grpc.add_RulesServiceServicer_to_server(RulesServicer(runtime), server)
    claim_pb2_grpc.add_SubsidyServiceServicer_to_server(SubsidyServicer(runtime), server)
    # Not implemented yet: the generated base classes answer UNIMPLEMENTED.
    progress_pb2_grpc.add_QuotaServiceServicer_to_server(progress_pb2_grpc.QuotaServiceServicer(), server)
    health_servicer = health.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    reflection.enable_server_reflection(
        (*SERVICE_NAMES, health.SERVICE_NAME, reflection.SERVICE_NAME), server)
    port = server.add_insecure_port(config.listen)
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


def serve(config: Config) -> None:
    """Runs until SIGINT or SIGTERM, then stops gracefully."""
    done = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: done.set())
    r = build(config)
    print(f"ruralpost serving on {config.listen} (port {r.port}), db {config.db}, "
          f"ruleset {r.runtime.rules.current.version}", flush=True)
    done.wait()
    log.info("stopping (grace %.1fs)", config.grace_seconds)
    stop(r, config.grace_seconds)
