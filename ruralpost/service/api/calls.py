"""What every servicer shares: the runtime it works on and the decision-log entry it writes."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TypeVar

import grpc
from google.protobuf.message import Message

from ruralpost.service.api.auth import caller_of
from ruralpost.service.api.interceptors import ResourceExhausted
from ruralpost.service.api.metrics import observe_verdict
from ruralpost.service.errors import ServiceError, abort
from ruralpost.service.ruleset import ActiveRules
from ruralpost.service.store import DecisionRow, Store

T = TypeVar("T")


@dataclass
class Runtime:
    """The state a servicer needs: active rules, the store and the per-call limits."""

    rules: ActiveRules
    store: Store
    max_stream_items: int = 1_000_000


def digest(message: Message) -> str:
    return hashlib.sha256(message.SerializeToString(deterministic=True)).hexdigest()[:32]


def caller(context: grpc.ServicerContext) -> str:
    """Who called: the authenticated name when auth is on, else the peer address."""
    known = caller_of(context)
    return known.name if known else str(context.peer() or "unknown")


def record(runtime: Runtime, subject: str, method: str, subject_id: str, who: str, input_digest: str,
           outcome: str, rule_ids: list[str], ruleset_version: str, as_of: str) -> None:
    """Every evaluation: a decision-log row (what, when, who, input digest, verdict, version) and
    the verdict metrics."""
    runtime.store.log_decision(DecisionRow(
        method=method, subject_id=subject_id[:256], caller=who[:256], input_digest=input_digest,
        outcome=outcome, rule_ids=",".join(rule_ids), ruleset_version=ruleset_version, as_of=as_of,
        at=dt.datetime.now(dt.UTC),
    ))
    observe_verdict(subject, outcome, rule_ids)

def unary(context: grpc.ServicerContext, work: Callable[[], T]) -> T:
    """Runs a unary method's work, turning a ServiceError into its status."""
    try:
        return work()
    except ServiceError as e:
        abort(context, e)
        raise  # unreachable: abort raises




def stream_items(context: grpc.ServicerContext, requests: Iterator[T], limit: int) -> Iterator[tuple[int, T]]:
    """(index, request) of a stream, until the client is gone or its deadline has passed (work
    stops with it); past `limit` items the stream ends with RESOURCE_EXHAUSTED."""
    for index, request in enumerate(requests):
        if not context.is_active():
            return
        if index >= limit:
            abort(context, ResourceExhausted(f"more than {limit} items in one stream; split the batch"))
        yield index, request
