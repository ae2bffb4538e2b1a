"""8 threads x 1,000 CheckStation calls on one server: every verdict is the golden one.

durable_rules gives silently wrong answers when two evaluations share a sid; this is the test
that would see it. Expectations come from the golden cases, not from our code.
"""

from __future__ import annotations

import random
import sys
import threading

import grpc
import pytest
from google.protobuf import json_format

from ruralpost.service.config import DEFAULT_RULES_DIR
from ruralpost.service.golden import cases
from ruralpost.v1 import common_pb2, station_pb2, station_pb2_grpc

THREADS = 8
CALLS_PER_THREAD = 1_000


@pytest.mark.slow
def test_concurrent_checks_all_match_their_golden_verdicts(channel: grpc.Channel) -> None:
    # switch threads as often as possible, so evaluations interleave inside the engine adapter
    old_interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        _run(channel)
    finally:
        sys.setswitchinterval(old_interval)


def _run(channel: grpc.Channel) -> None:
    golden = [
        c for c in cases.load_cases(DEFAULT_RULES_DIR) if c.pack == "stations" and not c.input.get("code_holders")
    ]
    requests = [
        (
            station_pb2.CheckStationRequest(
                station=json_format.ParseDict(c.input["station"], station_pb2.Station()), as_of=c.input["as_of"]
            ),
            c.outcome,
            c.rule_ids,
        )
        for c in golden
    ]
    # distinct sign codes per case would be irrelevant: nothing is registered, so no duplicates
    stub = station_pb2_grpc.StationServiceStub(channel)
    wrong: list[str] = []
    done = []
    lock = threading.Lock()

    def worker(seed: int) -> None:
        rng = random.Random(seed)
        count = 0
        for _ in range(CALLS_PER_THREAD):
            request, outcome, rule_ids = rng.choice(requests)
            verdict = stub.CheckStation(request).verdict
            got = (common_pb2.Outcome.Name(verdict.outcome), tuple(r.rule_id for r in verdict.reasons))
            if got != (outcome, rule_ids):
                with lock:
                    wrong.append(f"{request.station.station_id}: expected {outcome} {rule_ids}, got {got}")
            count += 1
        with lock:
            done.append(count)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(done) == THREADS * CALLS_PER_THREAD
    assert wrong == []
