"""The claim ledger on SQLite and PostgreSQL: idempotent commits, dry runs, never paying twice.

Every test runs on a fresh SQLite file and, when reachable, on a PostgreSQL schema of its own
(backends.db). The race tests run two server replicas on one database with concurrent clients.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from typing import Any

import grpc
import pytest
from google.protobuf import json_format

from ruralpost.service.config import Config
from ruralpost.service.server import Running, running
from ruralpost.service.store import ClaimRecord, Commit, Store, open_store
from ruralpost.v1 import claim_pb2, claim_pb2_grpc
from tests.backends import decision_count, ledger_counts, paid_by, payer_of

METHOD = "/ruralpost.v1.SubsidyService/EvaluateClaim"


def upbound_claim(claim_id: str, waybills: list[str], **fields: Any) -> claim_pb2.Claim:
    data = {
        "claimId": claim_id,
        "programme": "jingle-2023",
        "operator": "山西壹公里信息科技有限公司",
        "kind": "CLAIM_KIND_UPBOUND_AGRICULTURAL",
        "period": "2023-07",
        "declaredPieces": len(waybills),
        "requestedAmountFen": str(100 * len(waybills)),
        "parcels": [
            {
                "waybill": w,
                "shippedOn": "2023-07-03",
                "productCategory": "藜麦",
                "platform": "拼多多",
                "originCounty": "静乐县",
                "destinationCounty": "太原市",
            }
            for w in waybills
        ],
    }
    data.update(fields)
    return json_format.ParseDict(data, claim_pb2.Claim())


@contextlib.contextmanager
def replicas(db_url: str, count: int) -> Iterator[list[Running]]:
    """`count` servers sharing one database, as replicas behind a load balancer would."""
    with contextlib.ExitStack() as stack:
        yield [
            stack.enter_context(running(Config(listen="127.0.0.1:0", db=db_url, grace_seconds=1))) for _ in range(count)
        ]


@pytest.fixture
def server(db: str) -> Iterator[Running]:
    with replicas(db, 1) as (r,):
        yield r


def raw_call(port: int) -> tuple[grpc.Channel, Callable[[claim_pb2.EvaluateClaimRequest], bytes]]:
    """EvaluateClaim returning the response bytes exactly as they came over the wire."""
    channel = grpc.insecure_channel(f"127.0.0.1:{port}")
    call = channel.unary_unary(
        METHOD, request_serializer=claim_pb2.EvaluateClaimRequest.SerializeToString, response_deserializer=None
    )
    return channel, call


def test_commit_then_same_claim_returns_stored_answer_byte_for_byte(server: Running) -> None:
    claim = upbound_claim("C-1", ["SF10000001", "SF10000002", "SF10000003", "SF10000003"])
    channel, call = raw_call(server.port)
    with channel:
        first = call(claim_pb2.EvaluateClaimRequest(claim=claim, commit=True, accept_provisional_rates=True))
        answer = claim_pb2.EvaluateClaimResponse.FromString(first)
        assert answer.committed and answer.eligible_pieces == 3 and answer.approved_amount_fen == 300
        assert ledger_counts(server.runtime.store) == (1, 3)
        # the same claim again (commit or dry run) gets the stored answer, byte for byte
        assert call(claim_pb2.EvaluateClaimRequest(claim=claim, commit=True, accept_provisional_rates=True)) == first
        assert call(claim_pb2.EvaluateClaimRequest(claim=claim, commit=False)) == first
    assert ledger_counts(server.runtime.store) == (1, 3)
    assert paid_by(server.runtime.store, "C-1") == ["SF10000001", "SF10000002", "SF10000003"]


def test_same_id_other_contents_already_exists(server: Running) -> None:
    with grpc.insecure_channel(f"127.0.0.1:{server.port}") as ch:
        stub = claim_pb2_grpc.SubsidyServiceStub(ch)
        stub.EvaluateClaim(
            claim_pb2.EvaluateClaimRequest(
                claim=upbound_claim("C-2", ["SF20000001"]), commit=True, accept_provisional_rates=True
            )
        )
        for commit in (True, False):
            with pytest.raises(grpc.RpcError) as e:
                stub.EvaluateClaim(
                    claim_pb2.EvaluateClaimRequest(
                        claim=upbound_claim("C-2", ["SF20000001", "SF20000002"]), commit=commit
                    )
                )
            assert e.value.code() == grpc.StatusCode.ALREADY_EXISTS
            assert "C-2" in (e.value.details() or "")
    assert ledger_counts(server.runtime.store) == (1, 1)


def test_dry_run_changes_nothing(server: Running) -> None:
    claim = upbound_claim("C-3", ["SF30000001", "SF30000002"])
    with grpc.insecure_channel(f"127.0.0.1:{server.port}") as ch:
        stub = claim_pb2_grpc.SubsidyServiceStub(ch)
        dry = stub.EvaluateClaim(claim_pb2.EvaluateClaimRequest(claim=claim))
        again = stub.EvaluateClaim(claim_pb2.EvaluateClaimRequest(claim=claim))
        assert not dry.committed and dry == again and dry.eligible_pieces == 2
        assert ledger_counts(server.runtime.store) == (0, 0)
        # a dry run of another claim listing the same waybills sees nothing paid
        other = stub.EvaluateClaim(
            claim_pb2.EvaluateClaimRequest(
                claim=upbound_claim("C-3b", ["SF30000001"]), commit=True, accept_provisional_rates=True
            )
        )
        assert other.eligible_pieces == 1
        after = stub.EvaluateClaim(claim_pb2.EvaluateClaimRequest(claim=claim))
    assert [list(j.rule_ids) for j in after.rejections] == [["SUB-DUP-LEDGER"]]
    assert ledger_counts(server.runtime.store) == (1, 1)
    assert decision_count(server.runtime.store) == 4


def test_ineligible_commit_records_the_claim_and_pays_nothing(server: Running) -> None:
    claim = upbound_claim("C-4", ["SF40000001"], operator="某某快递有限公司")
    with grpc.insecure_channel(f"127.0.0.1:{server.port}") as ch:
        r = claim_pb2_grpc.SubsidyServiceStub(ch).EvaluateClaim(
            claim_pb2.EvaluateClaimRequest(claim=claim, commit=True, accept_provisional_rates=True)
        )
    assert r.outcome == claim_pb2.CLAIM_OUTCOME_INELIGIBLE and r.committed
    assert ledger_counts(server.runtime.store) == (1, 0)


def record(claim_id: str, waybills: list[str]) -> ClaimRecord:
    return ClaimRecord(
        claim_id=claim_id,
        digest="d" * 64,
        programme="jingle-2023",
        operator="op",
        kind="UPBOUND_AGRICULTURAL",
        period="2023-07",
        outcome="CLAIM_OUTCOME_ELIGIBLE",
        eligible_pieces=len(waybills),
        rejected_pieces=0,
        approved_amount_fen=100 * len(waybills),
        ruleset_version="v",
        reference_version="r",
        provisional_rates_accepted=False,
        response=b"\x08\x01",
        waybills=sorted(waybills),
    )


@pytest.fixture
def store(db: str) -> Iterator[Store]:
    s = open_store(db)
    try:
        yield s
    finally:
        s.close()


def test_commit_is_all_or_nothing(store: Store) -> None:
    ledger = store.ledger
    assert ledger.commit(record("A", ["W1", "W2"])) is Commit.COMMITTED
    # a waybill already paid: nothing of the second claim is written
    assert ledger.commit(record("B", ["W3", "W2", "W4"])) is Commit.WAYBILL_TAKEN
    assert ledger.stored_claim("B") is None
    assert payer_of(store, "W3") is None and payer_of(store, "W2") == "A"
    # the claim id already committed
    assert ledger.commit(record("A", ["W9"])) is Commit.CLAIM_EXISTS
    assert payer_of(store, "W9") is None
    assert ledger.paid_among(["W1", "W3", "W2", "W9"]) == {"W1", "W2"}
    assert ledger.paid_among([]) == set()
    stored = ledger.stored_claim("A")
    assert stored is not None and stored.response == b"\x08\x01" and stored.digest == "d" * 64
    assert ledger_counts(store) == (1, 2)


def test_paid_among_many_waybills(store: Store) -> None:
    paid = [f"P{i:09d}" for i in range(0, 12_000, 3)]
    assert store.ledger.commit(record("BIG", paid)) is Commit.COMMITTED
    asked = [f"P{i:09d}" for i in range(12_000)]
    assert store.ledger.paid_among(asked) == set(paid)


def _race(ports: list[int], requests: list[claim_pb2.EvaluateClaimRequest]) -> list[bytes]:
    """Sends the requests at once, one client thread each, spread over the replicas."""
    answers: list[bytes] = [b""] * len(requests)
    errors: list[BaseException] = []
    barrier = threading.Barrier(len(requests))

    def client(i: int) -> None:
        channel, call = raw_call(ports[i % len(ports)])
        with channel:
            try:
                grpc.channel_ready_future(channel).result(timeout=10)
                barrier.wait()
                answers[i] = call(requests[i], timeout=120)
            except BaseException as e:  # reported below, with the others
                errors.append(e)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(len(requests))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    return answers


@pytest.mark.slow
def test_racing_commits_pay_a_shared_waybill_once(db: str) -> None:
    with replicas(db, 2) as servers:
        ports = [s.port for s in servers]
        for round_ in range(3):
            shared = [f"SHARED{round_}00001", f"SHARED{round_}00002"]
            requests = []
            for c in range(6):
                own = [f"R{round_}C{c}N{n:05d}" for n in range(1500)]
                # half the claims list the shared waybills in reverse order: lock order must not matter
                waybills = own[:700] + (shared if c % 2 else shared[::-1]) + own[700:]
                requests.append(
                    claim_pb2.EvaluateClaimRequest(
                        claim=upbound_claim(f"RACE-{round_}-{c}", waybills), commit=True, accept_provisional_rates=True
                    )
                )
            answers = [claim_pb2.EvaluateClaimResponse.FromString(a) for a in _race(ports, requests)]
            assert all(a.committed for a in answers)
            for waybill in shared:
                payer = payer_of(servers[0].runtime.store, waybill)
                winners = [a.claim_id for a in answers if waybill not in {j.waybill for j in a.rejections}]
                assert winners == [payer], (waybill, winners, payer)
                losers = [j for a in answers for j in a.rejections if j.waybill == waybill]
                assert len(losers) == 5 and all(list(j.rule_ids) == ["SUB-DUP-LEDGER"] for j in losers)
            assert sum(a.eligible_pieces for a in answers) == 6 * 1500 + 2
            assert ledger_counts(servers[0].runtime.store) == (6 * (round_ + 1), (round_ + 1) * (6 * 1500 + 2))
            assert sum(a.approved_amount_fen for a in answers) == 100 * (6 * 1500 + 2)


@pytest.mark.slow
def test_racing_commits_of_one_claim_give_one_answer(db: str) -> None:
    with replicas(db, 2) as servers:
        claim = upbound_claim("SAME-1", [f"SAME{n:06d}" for n in range(2000)])
        request = claim_pb2.EvaluateClaimRequest(claim=claim, commit=True, accept_provisional_rates=True)
        answers = _race([s.port for s in servers], [request] * 6)
        assert len(set(answers)) == 1
        assert ledger_counts(servers[1].runtime.store) == (1, 2000)
