"""SIGKILL in the middle of committing claims, on SQLite and PostgreSQL: after a restart every
acknowledged commit is there byte for byte, no waybill is paid twice, no claim is half-written."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import grpc
import pytest

from ruralpost.service.store import open_store
from ruralpost.v1 import claim_pb2, claim_pb2_grpc
from tests.backends import ledger_counts, paid_by
from tests.support import free_port

pytestmark = pytest.mark.slow  # servers in subprocesses, killed mid-commit

OPERATOR = "山西壹公里信息科技有限公司"
CLAIMS, PARCELS, SHARED = 120, 300, 40  # claim i shares SHARED waybills with claim i + 1


@contextmanager
def serving(db: str) -> Iterator[tuple[subprocess.Popen[str], str]]:
    port = free_port()
    cli = Path(sys.executable).parent / "ruralpost"
    proc = subprocess.Popen(
        [str(cli), "serve", "--workers", "1", "--listen", f"127.0.0.1:{port}", "--db", db],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    target = f"127.0.0.1:{port}"
    try:
        with grpc.insecure_channel(target) as ch:
            grpc.channel_ready_future(ch).result(timeout=30)
        yield proc, target
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()


def _claim(i: int) -> claim_pb2.Claim:
    claim = claim_pb2.Claim(
        claim_id=f"CRASH-{i:03d}",
        programme="jingle-2023",
        operator=OPERATOR,
        kind=claim_pb2.CLAIM_KIND_UPBOUND_AGRICULTURAL,
        period="2023-07",
        declared_pieces=PARCELS,
    )
    first = i * (PARCELS - SHARED)
    for n in range(first, first + PARCELS):
        claim.parcels.add(
            waybill=f"SF{n:012d}",
            shipped_on="2023-07-15",
            product_category="藜麦",
            platform="拼多多",
            origin_county="静乐县",
            destination_county="太原市小店区",
        )
    return claim


def test_sigkill_while_committing_loses_no_acknowledged_claim(db: str) -> None:
    acknowledged: dict[str, bytes] = {}
    lock = threading.Lock()
    with serving(db) as (proc, target):

        def commit(start: int) -> None:
            with grpc.insecure_channel(target) as ch:
                stub = claim_pb2_grpc.SubsidyServiceStub(ch)
                for i in range(start, CLAIMS, 4):
                    try:
                        answer = stub.EvaluateClaim(
                            claim_pb2.EvaluateClaimRequest(claim=_claim(i), commit=True, accept_provisional_rates=True),
                            timeout=30,
                        )
                    except grpc.RpcError:
                        return  # the server is gone
                    assert answer.committed
                    with lock:
                        acknowledged[answer.claim_id] = answer.SerializeToString(deterministic=True)

        threads = [threading.Thread(target=commit, args=(k,)) for k in range(4)]
        for t in threads:
            t.start()
        deadline = time.monotonic() + 60
        while len(acknowledged) < 8 and time.monotonic() < deadline:
            time.sleep(0.01)
        proc.send_signal(signal.SIGKILL)  # in the middle of the other threads' commits
        for t in threads:
            t.join()
    assert 8 <= len(acknowledged) < CLAIMS, "the kill should land while claims are being committed"

    with serving(db) as (_, target), grpc.insecure_channel(target) as ch:
        stub = claim_pb2_grpc.SubsidyServiceStub(ch)
        for claim_id, stored in acknowledged.items():
            again = stub.EvaluateClaim(
                claim_pb2.EvaluateClaimRequest(
                    claim=_claim(int(claim_id[-3:])), commit=True, accept_provisional_rates=True
                ),
                timeout=30,
            )
            assert again.SerializeToString(deterministic=True) == stored, claim_id

    store = open_store(db)
    try:
        ledger = store.ledger
        claims, paid = ledger_counts(store)
        assert claims >= len(acknowledged)
        total = 0
        for i in range(CLAIMS):
            stored_claim = ledger.stored_claim(f"CRASH-{i:03d}")
            if stored_claim is None:
                assert paid_by(store, f"CRASH-{i:03d}") == []  # nothing of an unrecorded claim
                continue
            response = claim_pb2.EvaluateClaimResponse.FromString(stored_claim.response)
            waybills = paid_by(store, response.claim_id)
            assert len(waybills) == response.eligible_pieces  # all of its waybills or none
            total += len(waybills)
        assert paid == total  # every paid waybill belongs to exactly one recorded claim
    finally:
        store.close()
