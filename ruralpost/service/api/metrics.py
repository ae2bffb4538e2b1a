"""Prometheus metrics: requests, latency, verdicts by outcome, rules fired (served on --metrics-listen).

Under `--workers` every worker counts its own calls. prometheus_client then keeps values in files
under PROMETHEUS_MULTIPROC_DIR (the `serve` command sets it before this module is imported: the
library picks memory or files at import), and the parent serves their sum.
"""

from __future__ import annotations

import os
from typing import Any

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram, multiprocess, start_http_server

from ruralpost.service.config import host_port

# Where the workers' values are, as prometheus_client saw it at import (None: in memory).
MULTIPROCESS_DIR = os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None

REQUESTS = Counter("ruralpost_requests_total", "gRPC calls by method and status code", ["method", "code"])
LATENCY = Histogram(
    "ruralpost_request_seconds",
    "gRPC call latency",
    ["method"],
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
VERDICTS = Counter("ruralpost_verdicts_total", "verdicts by subject and outcome", ["subject", "outcome"])
RULES_FIRED = Counter("ruralpost_rules_fired_total", "reasons given, by rule id", ["rule_id"])


def observe_call(method: str, code: str, seconds: float) -> None:
    """A call's count by status code and its latency."""
    _child(REQUESTS, method, code).inc()
    _child(LATENCY, method).observe(seconds)


def observe_verdict(subject: str, outcome: str, rule_ids: list[str]) -> None:
    _child(VERDICTS, subject, outcome).inc()
    for rule_id in rule_ids:
        _child(RULES_FIRED, rule_id).inc()


_CHILDREN: dict[tuple[object, ...], Any] = {}


def _child(metric: Counter | Histogram, *labels: str) -> Any:
    """`metric.labels(*labels)`, looked up once: the library takes a lock and checks the labels on
    every call, a few µs each, three or more times per call."""
    key = (metric, *labels)
    found = _CHILDREN.get(key)
    if found is None:
        found = _CHILDREN[key] = metric.labels(*labels)
    return found


def workers_registry() -> CollectorRegistry:
    """The sum over every worker's files, live or dead (a restarted worker's counts stay counted)."""
    if MULTIPROCESS_DIR is None:
        raise RuntimeError("PROMETHEUS_MULTIPROC_DIR was not set before prometheus_client was imported")
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, path=MULTIPROCESS_DIR)  # type: ignore[no-untyped-call]
    return registry


def worker_ended(pid: int) -> None:
    """Drops what only a live worker reports (live gauges); its counters stay in the sum."""
    if MULTIPROCESS_DIR is not None:
        multiprocess.mark_process_dead(pid, path=MULTIPROCESS_DIR)  # type: ignore[no-untyped-call]


def serve_metrics(listen: str, registry: CollectorRegistry = REGISTRY) -> int:
    """Serves `registry` over HTTP at HOST:PORT (/metrics); returns the port (PORT 0: a free one)."""
    host, port = host_port(listen)
    server, _ = start_http_server(port, addr=host, registry=registry)
    return int(server.server_port)
