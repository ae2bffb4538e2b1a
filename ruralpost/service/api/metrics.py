"""Prometheus metrics: requests, latency, verdicts by outcome, rules fired (served on --metrics-port)."""

from __future__ import annotations

from prometheus_client import Counter, Histogram, start_http_server

REQUESTS = Counter("ruralpost_requests_total", "gRPC calls by method and status code", ["method", "code"])
LATENCY = Histogram(
    "ruralpost_request_seconds",
    "gRPC call latency",
    ["method"],
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
VERDICTS = Counter("ruralpost_verdicts_total", "verdicts by subject and outcome", ["subject", "outcome"])
RULES_FIRED = Counter("ruralpost_rules_fired_total", "reasons given, by rule id", ["rule_id"])


def observe_verdict(subject: str, outcome: str, rule_ids: list[str]) -> None:
    VERDICTS.labels(subject, outcome).inc()
    for rule_id in rule_ids:
        RULES_FIRED.labels(rule_id).inc()


def serve_metrics(port: int, host: str = "127.0.0.1") -> None:
    start_http_server(port, addr=host)
